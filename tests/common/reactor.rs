//! Waiting for the file-removal reactor, shared by the in-process and the multi-process tests.

use std::time::Duration;

/// Waits (bounded) until the file-removal reactor has acted on every event in the log so far
/// (its checkpoint is past the last one), so that what a test then sees in the store is final:
/// the objects removed are gone, and the ones still there are meant to stay.
pub async fn file_removal_caught_up(pool: &sqlx::PgPool) {
    for _ in 0..600 {
        let caught_up: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM projection_checkpoints WHERE name = $1)
                AND NOT EXISTS (
                    SELECT 1 FROM events e JOIN projection_checkpoints c ON c.name = $1
                     WHERE (e.tx_id, e.global_position) > (c.last_tx, c.last_position))",
        )
        .bind(zync::reactors::FileRemoval::NAME)
        .fetch_one(pool)
        .await
        .unwrap();
        if caught_up {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the file-removal reactor did not catch up with the log");
}
