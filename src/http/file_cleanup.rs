//! Removing stored objects that no message needs any more: a failed or superseded upload's, a
//! deleted file message's, a deleted channel's. Best effort by design: the event log is the source
//! of truth, and an object left behind is only storage (its links still expire).

use futures::StreamExt;
use uuid::Uuid;

use crate::state::AppState;

/// Removes an object no message needs any more; a failure is logged (the object is orphaned,
/// and its links still expire), not the client's problem.
pub(super) async fn remove_object(state: &AppState, key: &str) -> bool {
    match state.storage.delete(key.to_string()).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(key, error = %e, "could not remove a stored file");
            false
        }
    }
}

/// How many objects of a deleted channel are removed at once.
const REMOVE_CONCURRENCY: usize = 8;

/// Removes the objects of every file message of a channel that was just deleted (call it only
/// after the deletion is acknowledged: the event is the source of truth, and no message of the
/// channel can be read or get an access URL any more). Best effort: a failure is logged, never
/// the client's problem. Runs as its own task, so a client that hangs up does not stop it half
/// way; the caller still waits for it, so the answer comes once the objects are gone.
pub(super) async fn remove_channel_objects(state: &AppState, channel_id: Uuid) {
    let state = state.clone();
    let task = tokio::spawn(async move {
        // From the log: a file posted just before the deletion is there even if the read
        // table had not shown it yet (posts and the deletion serialise in the guard trigger).
        let keys = match crate::read::messages::file_keys_posted_in_channel(&state.pool, channel_id).await {
            Ok(keys) => keys,
            Err(e) => {
                tracing::warn!(%channel_id, error = %e, "could not list a deleted channel's files");
                return;
            }
        };
        let total = keys.len();
        let removed = futures::stream::iter(keys)
            .map(|key| {
                let state = &state;
                async move { remove_object(state, &key).await }
            })
            .buffer_unordered(REMOVE_CONCURRENCY)
            .filter(|removed| futures::future::ready(*removed))
            .count()
            .await;
        if removed < total {
            tracing::warn!(%channel_id, total, removed, "some files of a deleted channel were not removed");
        }
    });
    if let Err(e) = task.await {
        tracing::warn!(%channel_id, error = %e, "removing a deleted channel's files failed");
    }
}
