//! Zync's read side: the gap-free event feed and the checkpointed projectors that turn events
//! into the relational read tables the HTTP queries use.
//!
//! The same projector code serves live updates, catch-up after downtime and full rebuilds: a
//! projector only ever sees events in feed order, from its checkpoint on.

pub mod copy;
pub mod event;
pub mod feed;
pub mod projectors;
pub mod rebuild;
pub mod rules;
pub mod runner;
pub mod shadow;
pub mod status;
pub mod tx;
pub mod verify;

pub use event::{DecodedEvent, RecordedEvent};
pub use feed::{FeedCursor, FeedReader};
pub use runner::{ProjectionRunner, RunnerHandle};

/// The live projections: every read model into `public`, as one set under one lock. Servers run
/// it; operator commands take its lock to pause it.
pub fn live_runner(pool: sqlx::PgPool) -> ProjectionRunner {
    ProjectionRunner::new(pool, projectors::all("public"))
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
    #[error("event at position {position} ({event_type}) could not be decoded: {source}")]
    Undecodable {
        position: i64,
        event_type: String,
        source: serde_json::Error,
    },
}
