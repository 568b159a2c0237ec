//! Use cases: what a request (or a background task) does, over the commands, the read side and
//! the stores. Adapters (`http`, `ws`, `cli`) call this layer; it never knows about them.

pub mod idempotency;
pub mod posting;
