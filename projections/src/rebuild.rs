//! Rebuilding read tables from position 0 while servers keep serving.
//!
//! The projections are built into copies in [`REBUILD_SCHEMA`] by the same projectors the servers
//! run, with their own checkpoints (`zync_rebuild/<name>`), so an interrupted rebuild resumes where
//! it stopped. Once caught up, [`Rebuild::swap`] takes the live projections' lock, applies the last
//! few events, and replaces the live tables and checkpoints in one transaction: readers see the
//! old tables until commit and the complete new ones after.
//!
//! Only one rebuild of a projection runs at a time, cluster-wide: each holds a session advisory
//! lock per projection on its own connection, released when the process ends however it ends.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use tokio::task::JoinHandle;

use crate::feed::FeedCursor;
use crate::projectors::{self, Projector};
use crate::read_ahead::{joined, Fetched, ReadAhead};
use crate::runner::ProjectionRunner;
use crate::shadow;
use crate::ProjectionError;

/// Where rebuilds build their tables.
pub const REBUILD_SCHEMA: &str = "zync_rebuild";

/// Events per cycle: large batches are what make a rebuild fast (a few set-based statements
/// per batch per table), small enough to keep each transaction short.
pub const REBUILD_BATCH: i64 = 25_000;

/// How long the swap waits for each table's readers before letting go and trying again. The swap
/// locks at most four tables in turn, so its waits add up to well under PostgreSQL's
/// `deadlock_timeout` (1 s): when a reader holds one table and waits for another the swap holds,
/// the swap gives way before the deadlock detector would cancel the reader.
const SWAP_LOCK_TIMEOUT: &str = "150ms";
const SWAP_ATTEMPTS: u32 = 50;

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("unknown projection {0:?} (known: {known})", known = projectors::names().join(", "))]
    UnknownProjection(String),
    #[error("a rebuild of {0} is already running (only one at a time, cluster-wide)")]
    AlreadyRunning(String),
    #[error("readers kept the live tables busy; the rebuilt tables were not swapped in (rerun: the rebuild resumes)")]
    SwapBusy,
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

impl From<sqlx::Error> for RebuildError {
    fn from(e: sqlx::Error) -> Self {
        Self::Projection(e.into())
    }
}

/// A rebuild in progress: it owns its projections' rebuild locks until dropped.
pub struct Rebuild {
    pool: PgPool,
    names: Vec<&'static str>,
    runner: ProjectionRunner,
    /// Holds the session locks; closing it (drop) releases them.
    _locks: PgConnection,
    /// Projections whose earlier, interrupted rebuild is being resumed.
    pub resumed: Vec<&'static str>,
    /// The next batch, decoding while the current one is written.
    decoding: Option<JoinHandle<Result<ReadAhead, ProjectionError>>>,
    /// The batch after it, being fetched.
    fetching: Option<JoinHandle<Result<Fetched, ProjectionError>>>,
}

impl Rebuild {
    /// Locks the named projections (all of them for an empty list) and prepares their copies:
    /// kept from an interrupted run when still current, created empty otherwise.
    pub async fn begin(pool: &PgPool, requested: &[String]) -> Result<Self, RebuildError> {
        Self::begin_with_batch(pool, requested, REBUILD_BATCH).await
    }

    /// [`Rebuild::begin`] with `batch` events per step.
    pub async fn begin_with_batch(
        pool: &PgPool,
        requested: &[String],
        batch: i64,
    ) -> Result<Self, RebuildError> {
        let names = resolve(requested)?;
        let mut locks = pool.acquire().await?.detach();
        for name in &names {
            let got: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('zync rebuild ' || $1))")
                    .bind(name)
                    .fetch_one(&mut locks)
                    .await?;
            if !got {
                return Err(RebuildError::AlreadyRunning(name.to_string()));
            }
        }
        let prefix = checkpoint_prefix();
        let mut resumed = Vec::new();
        for registered in projectors::REGISTRY {
            let name = registered.name;
            if !names.contains(&name) {
                continue;
            }
            let mut tx = crate::tx::begin(pool).await?;
            let checkpoint = format!("{prefix}{name}");
            // The copies are UNLOGGED while loading, and PostgreSQL empties unlogged tables when
            // it recovers from a crash; a copy is only trusted if its checkpoint moved since
            // the server last started.
            let has_checkpoint: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM projection_checkpoints
                                 WHERE name = $1 AND updated_at > pg_postmaster_start_time())",
            )
            .bind(&checkpoint)
            .fetch_one(&mut *tx)
            .await?;
            let mut current = has_checkpoint;
            for table in registered.tables {
                current &= shadow::matches_live(&mut tx, REBUILD_SCHEMA, table).await?;
            }
            if current {
                resumed.push(name);
            } else {
                for table in registered.tables {
                    shadow::create_copy(&mut tx, REBUILD_SCHEMA, table).await?;
                }
                sqlx::query("DELETE FROM projection_checkpoints WHERE name = $1")
                    .bind(&checkpoint)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        let runner = shadow_runner(pool, &names).with_batch_size(batch);
        runner.init().await?;
        Ok(Self {
            pool: pool.clone(),
            names,
            runner,
            _locks: locks,
            resumed,
            decoding: None,
            fetching: None,
        })
    }

    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    /// Events in the log, and how many of them the copies already reflect (for progress).
    pub async fn progress(&self) -> Result<(u64, u64), ProjectionError> {
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await?;
        let cursor = self.runner.position().await?;
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE (tx_id, global_position) <= ($1::text::xid8, $2)",
        )
        .bind(cursor.tx_id.to_string())
        .bind(cursor.position)
        .fetch_one(&self.pool)
        .await?;
        Ok((total as u64, done as u64))
    }

    /// Projects the next batch into the copies; `0` read means caught up with the log. The
    /// batches after it are read meanwhile (see [`crate::read_ahead`]): while PostgreSQL writes
    /// this batch, this process decodes the next one and PostgreSQL reads the one after.
    pub async fn step(&mut self) -> Result<(usize, FeedCursor), ProjectionError> {
        let ahead = match self.decoding.take() {
            Some(decoding) => joined(decoding).await?,
            None => self.runner.read_ahead(self.runner.position().await?).await?,
        };
        if ahead.is_empty() {
            return Ok((0, ahead.next_after()));
        }
        let next = match self.fetching.take() {
            Some(fetching) => joined(fetching).await?,
            None => joined(self.runner.fetch_ahead(ahead.next_after())).await?,
        };
        if !next.is_empty() {
            self.fetching = Some(self.runner.fetch_ahead(next.next_after()));
        }
        self.decoding = Some(next.decode());
        self.runner.run_read_ahead(ahead).await
    }

    /// Indexes the copies, applies what is left and swaps the copies in for the live tables,
    /// atomically. Retries when long-running reads of the old tables hold the swap up.
    pub async fn swap(self) -> Result<FeedCursor, RebuildError> {
        // Indexed once, after the bulk of the load, and before the swap's lock is taken.
        let mut conn = self.pool.acquire().await?;
        for table in self.tables() {
            shadow::make_logged(&mut conn, REBUILD_SCHEMA, table).await?;
            shadow::create_indexes(&mut conn, REBUILD_SCHEMA, table).await?;
        }
        drop(conn);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_swap().await {
                Err(ProjectionError::Database(sqlx::Error::Database(e)))
                    if e.code().as_deref() == Some("55P03") =>
                {
                    if attempt >= SWAP_ATTEMPTS {
                        return Err(RebuildError::SwapBusy);
                    }
                    tracing::debug!(attempt, "readers held the live tables; retrying the swap");
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt.min(10)))).await;
                }
                other => return Ok(other?),
            }
        }
    }

    /// The tables of the projections being rebuilt.
    fn tables(&self) -> Vec<&'static str> {
        projectors::REGISTRY
            .iter()
            .filter(|r| self.names.contains(&r.name))
            .flat_map(|r| r.tables.iter().copied())
            .collect()
    }

    async fn try_swap(&self) -> Result<FeedCursor, ProjectionError> {
        let mut tx = crate::tx::begin(&self.pool).await?;
        sqlx::query(&format!("SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'"))
            .execute(&mut *tx)
            .await?;
        // The live projections pause here until commit, so nothing lands in the old tables
        // after the copies have caught up.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(crate::live_runner(self.pool.clone()).lock_key())
            .execute(&mut *tx)
            .await?;
        let cursor = loop {
            let (read, at) = self.runner.cycle(&mut tx).await?;
            if read == 0 {
                break at;
            }
        };
        let tables = self.tables();
        // Every table before any is dropped, each wait bounded (see SWAP_LOCK_TIMEOUT).
        let list: Vec<String> = tables
            .iter()
            .map(|t| format!("public.{}", shadow::quote(t)))
            .collect();
        sqlx::query(&format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            list.join(", ")
        ))
        .execute(&mut *tx)
        .await?;
        for table in tables {
            shadow::swap_in(&mut tx, REBUILD_SCHEMA, table).await?;
        }
        // The live checkpoints become the copies'; the copies' rows go.
        let prefix = checkpoint_prefix();
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, last_tx, last_position, updated_at, last_error)
             SELECT substr(name, length($1) + 1), last_tx, last_position, now(), NULL
               FROM projection_checkpoints WHERE name = ANY($2)
             ON CONFLICT (name) DO UPDATE SET last_tx = EXCLUDED.last_tx,
                 last_position = EXCLUDED.last_position, updated_at = now(), last_error = NULL",
        )
        .bind(&prefix)
        .bind(self.runner.names())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM projection_checkpoints WHERE name = ANY($1)")
            .bind(self.runner.names())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(cursor)
    }
}

fn checkpoint_prefix() -> String {
    format!("{REBUILD_SCHEMA}/")
}

fn shadow_runner(pool: &PgPool, names: &[&'static str]) -> ProjectionRunner {
    let projectors: Vec<Box<dyn Projector>> = projectors::REGISTRY
        .iter()
        .filter(|r| names.contains(&r.name))
        .map(|r| r.build(REBUILD_SCHEMA))
        .collect();
    ProjectionRunner::with_checkpoint_prefix(pool.clone(), projectors, &checkpoint_prefix())
}

/// The requested projection names, checked; all of them when none are named.
fn resolve(requested: &[String]) -> Result<Vec<&'static str>, RebuildError> {
    let known = projectors::names();
    if requested.is_empty() {
        return Ok(known);
    }
    let mut names = Vec::new();
    for wanted in requested {
        let name = known
            .iter()
            .find(|k| **k == wanted.as_str())
            .ok_or_else(|| RebuildError::UnknownProjection(wanted.clone()))?;
        if !names.contains(name) {
            names.push(*name);
        }
    }
    Ok(names)
}

/// Every table the projectors own, in `public`.
pub fn read_tables() -> Vec<&'static str> {
    projectors::REGISTRY
        .iter()
        .flat_map(|r| r.tables.iter().copied())
        .collect()
}
