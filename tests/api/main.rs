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
