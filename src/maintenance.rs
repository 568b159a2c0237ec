//! Housekeeping every node runs: forgetting request state that no longer means anything
//! (expired idempotency keys, full rate-limit buckets, revocations of expired tokens). Each sweep
//! is one idempotent DELETE, so nodes running it at once only repeat each other.

use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::auth::credentials;
use crate::limits::shared;
use crate::service::idempotency;

/// Often enough that the tables stay small, rarely enough to cost nothing.
const EVERY: Duration = Duration::from_secs(15 * 60);

pub fn spawn_sweeper(pool: PgPool) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            sweep(&pool).await;
        }
    })
}

/// One round; failures are logged and retried next round (nothing depends on a sweep).
pub async fn sweep(pool: &PgPool) {
    let results = [
        ("idempotency keys", idempotency::sweep(pool).await),
        ("rate-limit buckets", shared::sweep(pool).await),
        ("revoked tokens", credentials::sweep_revoked(pool).await),
    ];
    for (what, result) in results {
        match result {
            Ok(0) => {}
            Ok(n) => tracing::debug!(removed = n, "swept {what}"),
            Err(error) => tracing::warn!(%error, "could not sweep {what}"),
        }
    }
}
