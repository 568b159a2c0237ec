//! Runs a set of projectors over the feed, checkpointed and exactly once.
//!
//! Each cycle is one transaction: take the set's advisory lock (so with several server nodes only
//! one applies a given event), read the checkpoints, read the next batch of the feed, apply it to
//! every projector that has not seen it, advance the checkpoints, commit. A crash anywhere rolls
//! the whole cycle back, and the next start resumes from the committed checkpoint.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use crate::event::RecordedEvent;
use crate::feed::{FeedCursor, FeedReader};
use crate::projectors::{Projectable, Projector};
use crate::read_ahead::ReadAhead;
use crate::ProjectionError;

/// `pg_snapshot_xmin` (every transaction below it has ended) or `pg_snapshot_xmax` (every
/// transaction below it had started) of a fresh snapshot.
async fn feed_horizon(pool: &PgPool, bound: &'static str) -> Result<i64, ProjectionError> {
    let sql = format!("SELECT {bound}(pg_current_snapshot())::text::bigint");
    Ok(sqlx::query_scalar(&sql).fetch_one(pool).await?)
}

/// Polling interval used when no notification arrives (a lost LISTEN connection, say).
pub(crate) const SAFETY_POLL: Duration = Duration::from_secs(1);

/// How a cycle's commit waits for the WAL.
#[derive(Debug, Clone, Copy)]
enum Commit {
    /// Without waiting for the flush (`synchronous_commit = off`). Read tables and their
    /// checkpoint are derived from the log and commit together: a database crash can only take
    /// back the last cycles whole, and the runner applies them again from the durable log. Not
    /// waiting for a disk flush per cycle takes it off every post's path, to the answer and to
    /// the sockets alike (ADR 0004).
    Relaxed,
    /// The caller's transaction does more than a cycle (a rebuild's swap): commit as usual.
    Durable,
}

pub struct ProjectionRunner {
    pub(crate) pool: PgPool,
    projectors: Vec<Box<dyn Projector>>,
    /// Checkpoint row names, parallel to `projectors`.
    pub(crate) names: Vec<String>,
    pub(crate) reader: FeedReader,
    lock_key: i64,
    /// Rest after a cycle that emptied the feed before the next (zero: go on at once).
    pub(crate) pace: Duration,
}

impl ProjectionRunner {
    /// Runs `projectors` with checkpoints named after them (the live read tables).
    pub fn new(pool: PgPool, projectors: Vec<Box<dyn Projector>>) -> Self {
        Self::with_checkpoint_prefix(pool, projectors, "")
    }

    /// Checkpoints named `<prefix><projector>`, so a rebuild into other tables keeps its own.
    pub fn with_checkpoint_prefix(pool: PgPool, projectors: Vec<Box<dyn Projector>>, prefix: &str) -> Self {
        let names: Vec<String> = projectors
            .iter()
            .map(|p| format!("{prefix}{}", p.name()))
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        // The same set of projections shares one lock cluster-wide, whichever node runs it.
        let lock_key = crate::stable_hash(sorted.join(",").as_bytes()) as i64;
        Self {
            pool,
            projectors,
            names,
            reader: FeedReader::default(),
            lock_key,
            pace: Duration::ZERO,
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Creates missing checkpoint rows. Done once up front because a write inside a cycle would
    /// give the cycle an xid before it reads the feed (see feed.rs).
    pub async fn init(&self) -> Result<(), ProjectionError> {
        sqlx::query(
            "INSERT INTO projection_checkpoints (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(&self.names)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Reads (and applies) up to `size` events per cycle.
    pub fn with_batch_size(mut self, size: i64) -> Self {
        self.reader.batch_size = size;
        self
    }

    /// Rests `pace` after every cycle that caught up, so that under a steady stream of appends
    /// each cycle gathers that much of it instead of running once per commit. For sets nobody
    /// waits for (reactors): their cycles then cost the database a few round trips per `pace`.
    pub fn with_pace(mut self, pace: Duration) -> Self {
        self.pace = pace;
        self
    }

    /// The advisory lock key this set's cycles hold: whoever holds it (in a transaction) has the
    /// set's tables to itself.
    pub fn lock_key(&self) -> i64 {
        self.lock_key
    }

    /// One cycle in its own transaction. Returns how many events were read and the cursor all
    /// projectors have reached.
    pub async fn run_once(&self) -> Result<(usize, FeedCursor), ProjectionError> {
        let mut tx = crate::tx::begin(&self.pool).await?;
        let (read, cursor) = self.cycle_with(&mut tx, None, Commit::Relaxed).await?;
        if read == 0 {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok((read, cursor))
    }

    /// One cycle inside the caller's transaction, which the caller commits. Lets a caller apply
    /// the last events and do more work (a table swap, a comparison) under the same lock.
    pub async fn cycle(&self, tx: &mut PgConnection) -> Result<(usize, FeedCursor), ProjectionError> {
        self.cycle_with(tx, None, Commit::Durable).await
    }

    /// One cycle in its own transaction that applies `batch`, read ahead by [`Self::fetch_ahead`]
    /// while the previous batch was being written, if it still starts where the checkpoints are.
    pub async fn run_read_ahead(&self, batch: ReadAhead) -> Result<(usize, FeedCursor), ProjectionError> {
        let mut tx = crate::tx::begin(&self.pool).await?;
        let (read, cursor) = self.cycle_with(&mut tx, Some(batch), Commit::Relaxed).await?;
        if read == 0 {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok((read, cursor))
    }

    async fn cycle_with(
        &self,
        tx: &mut PgConnection,
        ahead: Option<ReadAhead>,
        commit: Commit,
    ) -> Result<(usize, FeedCursor), ProjectionError> {
        // One round trip for both: the lock, and how the commit waits for the WAL.
        sqlx::query("SELECT pg_advisory_xact_lock($1), set_config('synchronous_commit', $2, true)")
            .bind(self.lock_key)
            .bind(match commit {
                Commit::Relaxed => "off",
                Commit::Durable => "on",
            })
            .execute(&mut *tx)
            .await?;
        let checkpoints = self.checkpoints(&mut *tx).await?;
        let start = checkpoints.iter().copied().min().unwrap_or(FeedCursor::START);
        let (batch, decoded) = match ahead {
            Some(a) if a.after == start => (a.events, a.decoded),
            // Someone else moved the checkpoints meanwhile: read afresh.
            _ => {
                let batch = self.reader.read_after(&mut *tx, start).await?;
                let decoded = batch
                    .iter()
                    .map(RecordedEvent::decode)
                    .collect::<Result<_, _>>()?;
                (batch, decoded)
            }
        };
        let Some(last) = batch.last().map(RecordedEvent::cursor) else {
            return Ok((0, start));
        };
        for (projector, checkpoint) in self.projectors.iter().zip(&checkpoints) {
            let unseen: Vec<Projectable<'_>> = batch
                .iter()
                .zip(&decoded)
                .filter(|(event, _)| event.cursor() > *checkpoint)
                .collect();
            if !unseen.is_empty() {
                projector.apply_batch(&mut *tx, &unseen).await?;
            }
        }
        sqlx::query(
            "UPDATE projection_checkpoints
                SET last_tx = $2::text::xid8, last_position = $3, updated_at = now(), last_error = NULL
              WHERE name = ANY($1) AND (last_tx, last_position) < ($2::text::xid8, $3)",
        )
        .bind(&self.names)
        .bind(last.tx_id.to_string())
        .bind(last.position)
        .execute(&mut *tx)
        .await?;
        Ok((batch.len(), last))
    }

    /// Runs cycles until the feed has nothing more to give.
    pub async fn catch_up(&self) -> Result<FeedCursor, ProjectionError> {
        loop {
            let (read, cursor) = self.run_once().await?;
            if read == 0 {
                return Ok(cursor);
            }
        }
    }

    /// Applies every event committed before this call. The feed stops at the oldest transaction
    /// still running (anywhere in the cluster: the snapshot horizon is cluster-wide), so a plain
    /// [`catch_up`](Self::catch_up) can end short of events that were already committed; this
    /// waits, up to `patience`, for the transactions that were running when it began to finish.
    /// Returns `(cursor, complete)`: `complete` is false when patience ran out first.
    pub async fn catch_up_committed(
        &self,
        patience: Duration,
    ) -> Result<(FeedCursor, bool), ProjectionError> {
        let started = tokio::time::Instant::now();
        let horizon = feed_horizon(&self.pool, "pg_snapshot_xmax").await?;
        loop {
            // Read the horizon before catching up: events behind it are final once it passes.
            let passed = feed_horizon(&self.pool, "pg_snapshot_xmin").await? >= horizon;
            let cursor = self.catch_up().await?;
            if passed || started.elapsed() >= patience {
                return Ok((cursor, passed));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The cursor every projector of the set has passed (the least of their checkpoints).
    pub async fn position(&self) -> Result<FeedCursor, ProjectionError> {
        let mut conn = self.pool.acquire().await?;
        let checkpoints = self.checkpoints(&mut conn).await?;
        Ok(checkpoints.into_iter().min().unwrap_or(FeedCursor::START))
    }

    /// Checkpoints in the order of `self.projectors`.
    async fn checkpoints(&self, conn: &mut PgConnection) -> Result<Vec<FeedCursor>, ProjectionError> {
        Ok(checkpoints(conn, &self.names).await?)
    }

    pub(crate) async fn record_error(&self, error: &ProjectionError) {
        let result = sqlx::query("UPDATE projection_checkpoints SET last_error = $2 WHERE name = ANY($1)")
            .bind(&self.names)
            .bind(error.to_string())
            .execute(&self.pool)
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record projection error");
        }
    }
}

/// The checkpoints named `names`, in that order (`START` for one not written yet).
async fn checkpoints<S: AsRef<str> + Sync>(
    conn: &mut PgConnection,
    names: &[S],
) -> Result<Vec<FeedCursor>, sqlx::Error> {
    let wanted: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT name, last_tx::text::bigint, last_position FROM projection_checkpoints WHERE name = ANY($1)",
    )
    .bind(&wanted)
    .fetch_all(conn)
    .await?;
    Ok(wanted
        .iter()
        .map(|wanted| {
            rows.iter()
                .find(|(name, _, _)| name == wanted)
                .map(|(_, tx_id, position)| FeedCursor {
                    tx_id: *tx_id,
                    position: *position,
                })
                .unwrap_or(FeedCursor::START)
        })
        .collect())
}

/// Where every live read table is: the least checkpoint of the live set. Whatever the feed holds
/// up to here can be read from the read tables, on any node (they share one database).
pub async fn projected(conn: &mut PgConnection) -> Result<FeedCursor, sqlx::Error> {
    let all = checkpoints(conn, &crate::projectors::names()).await?;
    Ok(all.into_iter().min().unwrap_or(FeedCursor::START))
}
