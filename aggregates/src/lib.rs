//! Zync's domain: the user, channel and message aggregates.
//!
//! Pure code: no database, HTTP, storage or token handling lives here. Commands carry
//! already-validated values (see [`values`]); events are past tense, serialised with a stable
//! `event_type` and `event_version` because the event store keeps them forever.

pub mod channel;
pub mod message;
pub mod personal;
pub mod user;
pub mod values;

/// The `aggregate_type` column values used in the event store. Stable: changing one orphans
/// every stored stream of that type.
pub mod aggregate_types {
    pub const USER: &str = "User";
    pub const CHANNEL: &str = "Channel";
    pub const MESSAGE: &str = "Message";
}
