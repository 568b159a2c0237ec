//! The HTTP adapter: routes (one module per resource), extractors and errors.

pub mod body_timeout;
pub mod channels;
pub mod docs;
pub mod error;
pub mod errors_map;
pub mod events;
pub mod extract;
pub mod file_cleanup;
pub mod file_links;
pub mod files;
pub mod health;
pub mod history;
pub mod idempotency;
pub mod memberships;
pub mod message_history;
pub mod messages;
pub mod meta;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod schemas;
pub mod server;
pub mod session;
pub mod users;
pub mod validate;
