//! The audit log read back: every change in order with who made it (`zync audit replay`), and
//! a channel, user or message reconstructed as of a moment (`--as-of`,
//! `GET /v1/channels/{id}/history`).
//!
//! Reads go through one read-only snapshot and see only final events, as the projections' feed
//! does (`projections/src/feed.rs`), so an audit shows exactly what the read tables were built
//! from. An event this build cannot decode stops the audit with its position: skipping it would
//! present a history that is not the one stored.

pub mod as_of;
pub mod bound;
pub mod format;
pub mod replay;
pub mod state;
pub mod state_format;
pub mod summary;

pub use crate::eventlog::snapshot::Selection;
pub use as_of::{channel_as_of, message_as_of, user_as_of};
pub use bound::Bound;
pub use replay::{replay, ReplayRequest};
pub use state::ChannelHistory;

use projections::{DecodedEvent, ProjectionError, RecordedEvent};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// An event this build does not understand; the message names its position.
    #[error("{0}")]
    Event(ProjectionError),
    #[error("no event has position {0}")]
    NoSuchPosition(i64),
    #[error("the event at position {0} is not final yet (an earlier transaction is still open); retry in a moment")]
    NotFinal(i64),
    #[error("could not write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl From<ProjectionError> for AuditError {
    fn from(e: ProjectionError) -> Self {
        match e {
            ProjectionError::Database(e) => AuditError::Database(e),
            other => AuditError::Event(other),
        }
    }
}

/// Decodes a stored event and its aggregate id, failing with the event's position when this build
/// does not know its type or version, or cannot read its payload or id.
pub(crate) fn decode(event: &RecordedEvent) -> Result<(Uuid, DecodedEvent), ProjectionError> {
    let decoded = event.decode()?;
    Ok((event.aggregate_uuid()?, decoded))
}
