//! Queries over the read tables (and the strongly consistent guard tables where an authorization
//! decision must not lag behind a just-committed change).

pub mod channels;
pub mod messages;
pub mod page;
pub mod users;
pub mod views;
