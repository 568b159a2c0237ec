//! The workloads of issue 6. Each returns an [`Outcome`](crate::report::Outcome) (or the raw
//! figures the outcome needs, when its baseline is measured later in the run).

pub mod history;
pub mod idle;
pub mod rebuild;
pub mod rooms;
pub mod send;
