//! Zync's read side: the gap-free event feed and the checkpointed projectors that turn events
//! into the relational read tables the HTTP queries use.
//!
//! The same projector code serves live updates, catch-up after downtime and full rebuilds: a
//! projector only ever sees events in feed order, from its checkpoint on. The same runner also
//! drives reactors ([`reactor`]): side effects outside the database, at least once.

pub mod copy;
pub mod event;
pub mod feed;
pub mod handle;
pub mod personal;
pub mod projectors;
pub mod reactor;
pub mod read_ahead;
pub mod rebuild;
pub mod rules;
pub mod runner;
pub mod shadow;
pub mod status;
pub mod tx;
pub mod verify;

pub use event::{DecodedEvent, RecordedEvent};
pub use feed::{FeedCursor, FeedReader};
pub use handle::RunnerHandle;
pub use reactor::{reactor_runner, ReactionError, Reactor};
pub use runner::ProjectionRunner;

/// The live projections: every read model into `public`, as one set under one lock. Servers run
/// it; operator commands take its lock to pause it.
pub fn live_runner(pool: sqlx::PgPool) -> ProjectionRunner {
    ProjectionRunner::new(pool, projectors::all("public"))
}

/// FNV-1a: a hash that is the same in every process, node and build (std's hasher is randomly
/// seeded per process), for keys other processes must compute alike: advisory lock keys, paths.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Why a batch could not be projected.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// An event this build does not understand. Fatal by design: skipping it would silently
    /// corrupt the read tables.
    #[error("event at position {position} has unknown type {aggregate_type}/{event_type} v{event_version}")]
    UnknownEvent {
        position: i64,
        aggregate_type: String,
        event_type: String,
        event_version: String,
    },
    /// Sealed personal data that does not open: altered, moved from another event, or wrapped
    /// by another master key. Never skipped, never shown as erased.
    #[error("event at position {position}: {source}")]
    Sealed {
        position: i64,
        source: personal::SealError,
    },
    #[error("event at position {position} ({event_type}) could not be decoded: {source}")]
    Undecodable {
        position: i64,
        event_type: String,
        source: serde_json::Error,
    },
    /// A reactor's effect failed; the event is retried, never skipped.
    #[error("reactor {reactor} failed at position {position}: {message}")]
    Reaction {
        reactor: &'static str,
        position: i64,
        message: String,
    },
}
