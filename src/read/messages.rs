//! Message queries. Histories are oldest first, ordered by `(created_at, id)`, which the
//! `messages_channel_history` / `messages_by_author` indexes serve directly.

use projections::projectors::MessageRow;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Row};
use uuid::Uuid;

use super::page::{Cursor, Page};
use crate::eventlog;
use crate::read::views::{MessageRead, UserRead};

/// Message columns plus the author's, for the embedded `author` (null once deleted).
const SELECT: &str = "
SELECT m.id, m.author_id, m.channel_id, m.message_type, m.content, m.s3_key, m.content_type,
       m.original_filename, m.created_at, m.updated_at,
       u.id AS u_id, u.username AS u_username, u.email AS u_email, u.first_name AS u_first_name,
       u.last_name AS u_last_name, u.bio AS u_bio, u.profile_picture AS u_profile_picture,
       u.status AS u_status, u.created_at AS u_created_at, u.updated_at AS u_updated_at
  FROM messages m LEFT JOIN users u ON u.id = m.author_id AND u.status <> 'deleted'";

fn decode(row: &PgRow) -> Result<MessageRead, sqlx::Error> {
    let author = match row.try_get::<Option<Uuid>, _>("u_id")? {
        Some(id) => Some(UserRead {
            id,
            username: row.try_get("u_username")?,
            email: row.try_get("u_email")?,
            first_name: row.try_get("u_first_name")?,
            last_name: row.try_get("u_last_name")?,
            bio: row.try_get("u_bio")?,
            profile_picture: row.try_get("u_profile_picture")?,
            status: row
                .try_get::<String, _>("u_status")?
                .try_into()
                .map_err(|e: String| sqlx::Error::Decode(e.into()))?,
            created_at: row.try_get("u_created_at")?,
            updated_at: row.try_get("u_updated_at")?,
        }),
        None => None,
    };
    Ok(MessageRead::new(MessageRow::from_row(row)?, author))
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<MessageRead>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT} WHERE m.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Filters for a history page.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Channel(Uuid),
    ChannelAuthor(Uuid, Uuid),
    /// An author's messages in channels `viewer` belongs to.
    AuthorVisibleTo {
        author: Uuid,
        viewer: Uuid,
    },
}

/// A page of history, oldest first. With a cursor, `skip` applies after the cursor; `before`
/// takes the `limit` messages just older than the cursor (the natural "load older" page).
pub async fn history(
    pool: &PgPool,
    scope: Scope,
    page: Page,
    cursor: Cursor,
) -> Result<Vec<MessageRead>, sqlx::Error> {
    let (filter, a, b) = match scope {
        Scope::Channel(c) => ("m.channel_id = $1 AND $2::uuid IS NULL", c, None),
        Scope::ChannelAuthor(c, author) => ("m.channel_id = $1 AND m.author_id = $2", c, Some(author)),
        Scope::AuthorVisibleTo { author, viewer } => (
            "m.author_id = $1 AND m.channel_id IN (SELECT channel_id FROM channel_members WHERE user_id = $2)",
            author,
            Some(viewer),
        ),
    };
    // The cursor's (created_at, id). `created_at` is the recorded time of the message's first
    // event, so the position is read from the log: a cursor whose message was deleted meanwhile
    // (the usual case for a client paging while others delete) keeps its place. An id that never
    // was a message yields an empty page.
    let key = format!("{}, $5::uuid", eventlog::messages::posted_at_sql(5));
    let (cursor_id, order, keyset) = match cursor {
        Cursor::None => (None, "ASC", String::from("$5::uuid IS NULL")),
        Cursor::After(id) => (Some(id), "ASC", format!("(m.created_at, m.id) > ({key})")),
        Cursor::Before(id) => (Some(id), "DESC", format!("(m.created_at, m.id) < ({key})")),
    };
    let sql = format!(
        "SELECT * FROM ({SELECT} WHERE {filter} AND {keyset}
           ORDER BY m.created_at {order}, m.id {order} OFFSET $3 LIMIT $4) page
          ORDER BY created_at, id"
    );
    let rows = sqlx::query(&sql)
        .bind(a)
        .bind(b)
        .bind(page.skip)
        .bind(page.limit)
        .bind(cursor_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

/// Ids of a channel's live messages, for clearing it.
pub async fn ids_in_channel(pool: &PgPool, channel_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM messages WHERE channel_id = $1 ORDER BY created_at, id")
        .bind(channel_id)
        .fetch_all(pool)
        .await
}

/// Whether a live message has the object `key` (the `messages_by_file_key` index). A deleted
/// message's object may still be stored for a moment, until the file-removal reactor gets to it;
/// its links must stop working at once all the same.
pub async fn file_is_live(pool: &PgPool, key: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM messages WHERE s3_key = $1)")
        .bind(key)
        .fetch_one(pool)
        .await
}
