//! The `zync` server: adapters around the pure domain in `aggregates` and the read models in
//! `projections`.

pub mod allocator;
pub mod app;
pub mod audit;
mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
mod eventlog;
mod http;
pub mod limits;
pub mod live;
pub mod maintenance;
mod metrics;
pub mod reactors;
mod read;
mod secret;
mod service;
mod state;
pub mod storage;
pub mod telemetry;
mod ws;
