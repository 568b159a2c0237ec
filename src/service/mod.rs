//! Use cases: what a request (or a background task) does, over the commands, the read side and
//! the stores. Adapters (`http`, `ws`, `cli`) call this layer; it never knows about them.
//!
//! Each use case returns a typed error; the adapters map it to a status or a close code. Where
//! the contract answers 404 or 403 before it validates a body, the adapter asks first (from the
//! guard tables, through `read`); the aggregates re-check every rule, so a use case called
//! without that early answer is refused all the same.

pub mod channels;
pub mod export;
pub mod files;
pub mod idempotency;
pub mod keys;
pub mod messages;
pub mod posting;
pub mod users;

use crate::commands::CommandError;

/// Why a use case over one aggregate failed: its command, or a read around it.
#[derive(Debug, thiserror::Error)]
pub enum UseCaseError<E: std::error::Error> {
    #[error(transparent)]
    Command(#[from] CommandError<E>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl<E: std::error::Error> UseCaseError<E> {
    /// The aggregate's own refusal (`NotFound` for a read-back that finds nothing, say).
    pub fn domain(e: E) -> Self {
        Self::Command(CommandError::Domain(e))
    }
}
