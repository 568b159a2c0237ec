//! Messages as the log knows them: the stored objects file messages were posted with (read from
//! the log, not the read tables: once a message or its channel is deleted the read tables no
//! longer hold it, and the log says the same on a first run, after a crash, or when a reactor
//! replays from position 0), and when a message was posted.

use aggregates::aggregate_types::MESSAGE;
use sqlx::PgPool;
use uuid::Uuid;

use super::names::FILE_MESSAGE_POSTED;

/// SQL for the time the message whose id is bound as `${param}` (a uuid) was posted: its first
/// event's `recorded_at` (the messages' `created_at`), found by the events' primary key; NULL for
/// an id that never was a message. Still answers once the message is deleted.
pub fn posted_at_sql(param: u32) -> String {
    format!(
        "(SELECT e.recorded_at FROM events e
           WHERE e.aggregate_type = '{MESSAGE}' AND e.aggregate_id = ${param}::uuid::text AND e.sequence = 1)"
    )
}

/// The storage key of a file message (its first event, found by the events' primary key); `None`
/// for a text message or a message the log does not have.
pub async fn file_key_of_message(pool: &PgPool, message_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let key: Option<Option<String>> = sqlx::query_scalar(&format!(
        "SELECT payload -> event_type ->> 's3_key' FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2 AND event_type = '{FILE_MESSAGE_POSTED}'"
    ))
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
          WHERE aggregate_type = '{MESSAGE}' AND event_type = '{FILE_MESSAGE_POSTED}'
            AND (payload -> event_type ->> 'channel_id') = $1::uuid::text
          ORDER BY global_position"
    ))
    .bind(channel_id)
    .fetch_all(pool)
    .await?;
    Ok(keys.into_iter().flatten().collect())
}

/// Storage keys of every file message `author_id` ever posted (the `events_by_actor` index,
/// migration 0006: an author is the actor of their posts), for their erasure.
pub async fn file_keys_posted_by(pool: &PgPool, author_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    let keys: Vec<Option<String>> = sqlx::query_scalar(&format!(
        "SELECT payload -> event_type ->> 's3_key' FROM events
          WHERE (metadata ->> 'actor_id') = $1::uuid::text
            AND aggregate_type = '{MESSAGE}' AND event_type = '{FILE_MESSAGE_POSTED}'
            AND (payload -> event_type ->> 'author_id') = $1::uuid::text
          ORDER BY global_position"
    ))
    .bind(author_id)
    .fetch_all(pool)
    .await?;
    Ok(keys.into_iter().flatten().collect())
}
