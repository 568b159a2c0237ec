//! Which stored objects the log says file messages were posted with. Read from the log, not the
//! read tables: once a message or its channel is deleted the read tables no longer hold it, and
//! the log says the same on a first run, after a crash, or when a reactor replays from position 0.

use aggregates::aggregate_types::MESSAGE;
use sqlx::PgPool;
use uuid::Uuid;

/// The storage key of a file message (its first event, found by the events' primary key); `None`
/// for a text message or a message the log does not have.
pub async fn file_key_of_message(pool: &PgPool, message_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let key: Option<Option<String>> = sqlx::query_scalar(
        "SELECT payload -> event_type ->> 's3_key' FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2 AND event_type = 'FileMessagePosted'",
    )
    .bind(MESSAGE)
    .bind(message_id.to_string())
    .fetch_optional(pool)
    .await?;
    Ok(key.flatten())
}

/// Storage keys of every file message ever posted in a channel (the `events_posts_by_channel`
/// index, migration 0006). A file posted just before the channel's deletion is there too: posts
/// and the deletion serialise in the guard trigger, so the post precedes the deletion in the log
/// and no post can follow it. Keys of messages deleted earlier are included; removing an object
/// twice is harmless.
pub async fn file_keys_posted_in_channel(
    pool: &PgPool,
    channel_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    let keys: Vec<Option<String>> = sqlx::query_scalar(&format!(
        "SELECT payload -> event_type ->> 's3_key' FROM events
          WHERE aggregate_type = '{MESSAGE}' AND event_type = 'FileMessagePosted'
            AND (payload -> event_type ->> 'channel_id') = $1::uuid::text
          ORDER BY global_position"
    ))
    .bind(channel_id)
    .fetch_all(pool)
    .await?;
    Ok(keys.into_iter().flatten().collect())
}
