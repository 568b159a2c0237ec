//! Compensation within an upload request: the object an upload just stored is removed again when
//! no message will refer to it (the post was refused or certainly failed, or an idempotent retry
//! answered with the original's own object). Nothing else may use this: objects of messages that
//! were posted are removed only by the file-removal reactor, after their deletion is in the log
//! (`crate::reactors::file_removal`), so a crash can never orphan them.

use crate::state::AppState;

/// Removes an object this request stored and no message refers to. Best effort: a failure is
/// logged (the object is orphaned, but no link to it was ever handed out), not the client's
/// problem.
pub(super) async fn remove_unreferenced_upload(state: &AppState, key: &str) {
    if let Err(e) = state.storage.delete(key.to_string()).await {
        tracing::warn!(key, error = %e, "could not remove an upload no message refers to");
    }
}
