//! Causal delivery: nothing is announced before the read tables can answer for it.
//!
//! The feed is final (see `projections::feed`) as soon as an event commits, but the read tables
//! behind the REST endpoints follow a projection cycle later. A frame sent in between would
//! name a message that `GET /messages/{id}` does not know yet, on this node or any other. So the
//! hub and every replay of the log (`GET /v1/events`, a resumed socket) stop at the projected
//! position: the least checkpoint of the live read tables, which all nodes share.

use std::time::Duration;

use projections::FeedCursor;
use sqlx::PgPool;
use tokio::sync::{watch, Notify};

/// How often a node that runs no projections asks the database while it waits. Such nodes are
/// unusual (tests, say); a node that projects is told at once by its runner.
const DATABASE_POLL: Duration = Duration::from_millis(20);
/// A wait longer than this is logged: the projections are stuck (an event this build cannot
/// read, say) and this node's sockets are held back with them (`/readyz` says so too).
const STALL_WARNING: Duration = Duration::from_secs(10);

/// Where the read tables are, as this node learns it.
#[derive(Clone)]
pub enum ProjectedPosition {
    /// This node runs the projections: its runner reports after every cycle, including cycles
    /// that only found another node had moved the checkpoints (every node's runner is woken by
    /// the same appends and queues on the same lock, so it learns within one cycle).
    Runner(watch::Receiver<FeedCursor>),
    /// Ask the database.
    Database,
}

impl ProjectedPosition {
    /// Returns once the read tables have passed `target`, with where they are (`>= target`).
    /// `wake` is poked on appends (the database variant re-checks then, besides its poll).
    pub async fn wait_past(
        &mut self,
        pool: &PgPool,
        target: FeedCursor,
        wake: &Notify,
    ) -> Result<FeedCursor, sqlx::Error> {
        let started = tokio::time::Instant::now();
        let mut warned = false;
        loop {
            match self {
                Self::Runner(progress) => {
                    let passed =
                        tokio::time::timeout(STALL_WARNING, progress.wait_for(|c| *c >= target)).await;
                    match passed.map(|r| r.map(|reached| *reached)) {
                        Ok(Ok(reached)) => return Ok(reached),
                        // The runner is gone (shutting down): ask the database instead.
                        Ok(Err(_)) => *self = Self::Database,
                        Err(_) => {}
                    }
                }
                Self::Database => {
                    let reached = Self::current(pool).await?;
                    if reached >= target {
                        return Ok(reached);
                    }
                    let _ = tokio::time::timeout(DATABASE_POLL, wake.notified()).await;
                }
            }
            if !warned && started.elapsed() >= STALL_WARNING {
                warned = true;
                tracing::warn!(
                    position = target.position,
                    "live delivery is waiting for the projections, which are not advancing"
                );
            }
        }
    }

    /// The position now, from the database: what replays stop at. (A node's runner may learn of
    /// another node's cycle a moment late; a replay should not stop short of what its caller was
    /// just told elsewhere.)
    pub async fn current(pool: &PgPool) -> Result<FeedCursor, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        projections::runner::projected(&mut conn).await
    }
}
