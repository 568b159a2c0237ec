//! Running a projection (or reactor) set in the background: its loop, woken by appends, and the
//! handle through which the rest of the node waits for it or stops it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::feed::{wake_on_append, FeedCursor};
use crate::runner::{ProjectionRunner, SAFETY_POLL};

impl ProjectionRunner {
    /// Runs in the background until the handle is dropped or shut down: woken by LISTEN/NOTIFY,
    /// by [`RunnerHandle::wake`], and by a slow safety poll.
    pub fn spawn(self) -> RunnerHandle {
        let wake = Arc::new(Notify::new());
        let listener = tokio::spawn(wake_on_append(self.pool.clone(), vec![wake.clone()]));
        let mut handle = self.spawn_woken_by(wake);
        handle.tasks.push(listener);
        handle
    }

    /// [`spawn`](Self::spawn) without a LISTEN connection of its own: `wake` is poked on every
    /// append by one the caller shares (a connection, and a signal from PostgreSQL at every
    /// commit, per listener: one per process is enough).
    pub fn spawn_woken_by(self, wake: Arc<Notify>) -> RunnerHandle {
        let (progress_tx, progress_rx) = watch::channel(FeedCursor::START);
        let runner = tokio::spawn(run_loop(self, wake.clone(), progress_tx));
        RunnerHandle {
            progress: progress_rx,
            wake,
            tasks: vec![runner],
        }
    }
}

async fn run_loop(runner: ProjectionRunner, wake: Arc<Notify>, progress: watch::Sender<FeedCursor>) {
    let mut backoff = Duration::from_millis(50);
    if let Err(e) = runner.init().await {
        tracing::error!(error = %e, "could not initialise projection checkpoints");
    }
    loop {
        match runner.run_once().await {
            Ok((read, cursor)) => {
                backoff = Duration::from_millis(50);
                progress.send_if_modified(|current| {
                    let advanced = cursor > *current;
                    if advanced {
                        *current = cursor;
                    }
                    advanced
                });
                if read == 0 {
                    let _ = tokio::time::timeout(SAFETY_POLL, wake.notified()).await;
                } else if (read as i64) < runner.reader.batch_size && !runner.pace.is_zero() {
                    tokio::time::sleep(runner.pace).await;
                }
            }
            Err(error) => {
                tracing::error!(set = ?runner.names, %error, "projection or reactor cycle failed; retrying");
                runner.record_error(&error).await;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// A running projection set: its progress, and a way to nudge it.
pub struct RunnerHandle {
    progress: watch::Receiver<FeedCursor>,
    wake: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunnerHandle {
    /// Asks for a cycle now (after an append on this node, say).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The cursor every projector of the set has passed.
    pub fn current(&self) -> FeedCursor {
        *self.progress.borrow()
    }

    /// A receiver of [`current`](Self::current), changed after every cycle that moved it: a
    /// reader that must not run ahead of the read tables waits on it.
    pub fn progress(&self) -> watch::Receiver<FeedCursor> {
        self.progress.clone()
    }

    /// Waits until the projections have passed `target`; false on timeout.
    pub async fn wait_for(&self, target: FeedCursor, timeout: Duration) -> bool {
        if self.current() >= target {
            return true;
        }
        self.wake();
        let mut rx = self.progress.clone();
        tokio::time::timeout(timeout, rx.wait_for(|c| *c >= target))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Stops the background tasks. An in-flight cycle is rolled back, never half-applied.
    pub fn shutdown(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for RunnerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
