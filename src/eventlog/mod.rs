//! The event log as stored: the only code of `src/` that knows the `events` table, its columns
//! and the event type names (the `projections` crate, which reads the feed, is the other place).
//! Everything above asks typed questions here: an aggregate's stream, a user's memberships over
//! time, what file a message was posted with, a consistent snapshot to audit.

pub mod memberships;
pub mod messages;
pub mod names;
pub mod older_log;
pub mod sealing;
pub mod snapshot;
pub mod streams;

/// SQL for the log's last position (0 when empty): one backward step of the position index.
/// Positions of rolled-back appends count too.
pub const HEAD_POSITION_SQL: &str = "(SELECT coalesce(max(global_position), 0) FROM events)";
