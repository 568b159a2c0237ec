//! The `zync` server: adapters around the pure domain in `aggregates` and the read models in
//! `projections`.

pub mod db;
pub mod http;
