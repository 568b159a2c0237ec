//! Black-box tests: the real server on a random port against a real PostgreSQL (one cluster per
//! test run, a fresh database per test), driven over HTTP.

#[path = "../common/db.rs"]
mod db;
mod support;

mod audit_as_of;
mod audit_golden;
mod audit_replay;
mod audit_support;
mod audit_unknown;
mod auth;
mod authz_matrix;
mod authz_support;
mod cancellation;
mod channels;
mod channels_admin;
mod channels_http;
mod channels_members;
mod cli_migrate;
mod cli_projections;
mod cli_support;
mod commands_outcome;
mod data_keys;
mod erasure;
mod event_versions;
mod events_paging;
mod events_support;
mod events_visibility;
mod export;
mod feed;
mod files_lifecycle;
mod files_limits;
mod files_local;
mod files_origin;
mod files_reactor;
mod files_s3;
mod files_support;
mod health;
mod history;
mod http_conventions;
mod idempotency;
mod input_limits;
mod live_hub;
mod log_order;
mod logout;
mod maintenance;
mod master_key;
mod messages;
mod messages_concurrency;
mod messages_history;
mod messages_validation;
mod metrics;
mod older_log;
mod personal_data;
mod projector;
mod rate_limits;
#[path = "../common/reactor.rs"]
mod reactor;
#[path = "../common/s3_server.rs"]
mod s3_server;
mod slow_clients;
mod usernames;
mod users;
mod users_events;
mod users_read;
mod users_support;
mod users_update;
mod ws_backpressure;
mod ws_cluster;
mod ws_lifecycle;
mod ws_native;
mod ws_support;
mod ws_zync;
