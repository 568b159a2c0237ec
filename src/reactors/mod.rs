//! Reactors: side effects of events that happen outside the database (removing stored files),
//! run from the ordered log by the projection runner, each with its own checkpoint, at least once
//! and idempotently (see `projections::reactor` and ADR 0007). Handlers never do these effects
//! "best effort" after a command: they append the event, and a reactor acts on it.

pub mod file_removal;

use std::sync::Arc;

use projections::{Reactor, RunnerHandle};
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::storage::ObjectStore;
pub use file_removal::FileRemoval;

/// The checkpoint names of every reactor a server runs (for `/metrics`).
pub fn names() -> [&'static str; 1] {
    [FileRemoval::NAME]
}

/// The running reactors of this node.
pub struct Reactors {
    runners: Vec<RunnerHandle>,
    wakes: Vec<Arc<Notify>>,
}

impl Reactors {
    /// Starts every reactor, each its own runner (its own lock and checkpoint). Startup does not
    /// wait for them to catch up: a slow object store must not delay serving.
    pub fn spawn(pool: &PgPool, storage: Arc<dyn ObjectStore>) -> Self {
        let reactors: Vec<Arc<dyn Reactor>> = vec![Arc::new(FileRemoval::new(pool.clone(), storage))];
        let mut started = Self {
            runners: Vec::new(),
            wakes: Vec::new(),
        };
        for reactor in reactors {
            // One each: a `Notify` wakes a single waiting runner.
            let wake = Arc::new(Notify::new());
            let runner = projections::reactor_runner(pool.clone(), reactor).spawn_woken_by(wake.clone());
            started.runners.push(runner);
            started.wakes.push(wake);
        }
        started
    }

    /// What to poke on every append (the node's LISTEN connection does).
    pub fn wakes(&self) -> impl Iterator<Item = Arc<Notify>> + '_ {
        self.wakes.iter().cloned()
    }

    /// Stops them; a reaction in flight is repeated by whoever runs next (at least once).
    pub fn shutdown(&self) {
        self.runners.iter().for_each(RunnerHandle::shutdown);
    }
}
