//! Black-box tests: the real server on a random port against a real PostgreSQL (one cluster per
//! test run, a fresh database per test), driven over HTTP.

#[path = "../common/db.rs"]
mod db;
mod support;

mod users;
mod channels;
mod messages;
mod feed;
mod projector;
mod messages_history;
mod messages_concurrency;
mod users_support;
mod users_update;
mod users_events;
mod auth;
mod http_conventions;
mod channels_admin;
mod channels_members;
mod channels_http;
mod users_read;
mod messages_validation;
