//! Reactors: checkpointed consumers of the feed whose effects are outside the database (removing
//! a deleted file's object, say), driven by the same runner as the projections.
//!
//! A reactor is wrapped as a one-member [`Projector`] set of its own, so it gets everything the
//! runner gives projections: its own checkpoint row, its own cluster-wide advisory lock (one node
//! reacts at a time, another carries on if it stops), LISTEN/NOTIFY wake-ups, and retries with
//! backoff. What differs is the guarantee. A projection's rows commit with its checkpoint
//! (exactly once); an effect cannot, so a reactor runs **at least once**: the checkpoint moves
//! only after every reaction of the batch succeeded, and a failure or a crash before the commit
//! repeats the batch's reactions. Reactions must therefore be idempotent. A failed reaction is
//! never skipped: the runner records the error and retries until it succeeds.
//!
//! Its own set means its own lock and checkpoint: a slow or failing reactor never holds back the
//! projections, read-your-writes or live frames (which wait for the projections only).

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::{PgConnection, PgPool};

use crate::projectors::{Projectable, Projector};
use crate::runner::ProjectionRunner;
use crate::ProjectionError;

/// Why a reaction failed; the runner records it and retries the event.
pub type ReactionError = Box<dyn std::error::Error + Send + Sync>;

/// Something that acts on events, once they are final in the log, in feed order.
pub trait Reactor: Send + Sync {
    /// Stable name: its checkpoint row's key (keep it apart from the projections' names).
    fn name(&self) -> &'static str;

    /// Acts on one event (most are none of its business: return `Ok`). Must be idempotent: after
    /// a failure or a crash it is called again for the same event, maybe more than once.
    fn react<'a>(&'a self, event: Projectable<'a>) -> BoxFuture<'a, Result<(), ReactionError>>;
}

/// Events a reactor's cycle reads at most. Small enough that a failure repeats few reactions,
/// large enough that catching up on a long log takes few cycles.
pub const REACTOR_BATCH: i64 = 500;

/// How long a reactor rests after catching up before its next cycle. Nobody waits for its
/// effects, and without a rest it would run a cycle (a transaction, its lock, the checkpoint, a
/// feed read) for nearly every commit, beside the projections, on the hot path; with it, a few
/// per second under any load, and an effect follows its event within about this long.
pub const REACTOR_PACE: std::time::Duration = std::time::Duration::from_millis(250);

/// The runner of one reactor: its own set, lock and checkpoint (named after it).
pub fn reactor_runner(pool: PgPool, reactor: Arc<dyn Reactor>) -> ProjectionRunner {
    ProjectionRunner::new(pool, vec![Box::new(Reacting(reactor))])
        .with_batch_size(REACTOR_BATCH)
        .with_pace(REACTOR_PACE)
}

/// A reactor as the runner's [`Projector`]: reacts to a batch's events in order and stops at
/// the first failure, which rolls the cycle (and so the checkpoint) back.
struct Reacting(Arc<dyn Reactor>);

impl Projector for Reacting {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    /// No tables: a reactor writes nothing a rebuild would have to copy.
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    fn apply_batch<'a>(
        &'a self,
        _conn: &'a mut PgConnection,
        events: &'a [Projectable<'a>],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        async move {
            for event in events {
                self.0
                    .react(*event)
                    .await
                    .map_err(|source| ProjectionError::Reaction {
                        reactor: self.0.name(),
                        position: event.0.global_position,
                        message: source.to_string(),
                    })?;
            }
            Ok(())
        }
        .boxed()
    }
}
