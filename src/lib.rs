//! The `zync` server: adapters around the pure domain in `aggregates` and the read models in
//! `projections`.

pub mod allocator;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod eventlog;
pub mod http;
pub mod limits;
pub mod live;
pub mod maintenance;
pub mod metrics;
pub mod reactors;
pub mod read;
pub mod secret;
pub mod service;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod ws;
