//! `messages`: live messages of live channels. Deleted messages, and all messages of a deleted
//! channel, leave the read table (the events keep them for the audit log).

use aggregates::channel::ChannelEvent;
use aggregates::message::{MessageEvent, MessageKind};
use aggregates::user::UserEvent;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{delete_any, qualified, Changes, Loaded, Overlay, Projectable, ReadModel};
use crate::copy::BinaryRows;
use crate::event::DecodedEvent;
use crate::ProjectionError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub author_id: Uuid,
    #[sqlx(try_from = "String")]
    pub message_type: MessageKind,
    pub content: Option<String>,
    pub s3_key: Option<String>,
    pub content_type: Option<String>,
    pub original_filename: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct MessagesModel {
    table: String,
}

impl MessagesModel {
    pub fn new(schema: &str) -> Self {
        Self {
            table: qualified(schema, "messages"),
        }
    }

    /// Inserts rows the batch created, by binary COPY: a rebuild writes a million of them.
    async fn insert(&self, conn: &mut PgConnection, rows: &[&MessageRow]) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut data = BinaryRows::new(10);
        for r in rows {
            data.row(&[
                &r.id,
                &r.channel_id,
                &r.author_id,
                &r.message_type,
                &r.content.as_deref(),
                &r.s3_key.as_deref(),
                &r.content_type.as_deref(),
                &r.original_filename.as_deref(),
                &r.created_at,
                &r.updated_at,
            ]);
        }
        data.copy_into(conn, &self.table, COLUMNS).await?;
        Ok(())
    }

    /// Writes rows the batch changed over what is stored.
    async fn upsert(&self, conn: &mut PgConnection, rows: &[&MessageRow]) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(&format!(
            "INSERT INTO {table} ({COLUMNS})
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                                  $6::text[], $7::text[], $8::text[], $9::timestamptz[],
                                  $10::timestamptz[]) {UPSERT}",
            table = self.table
        ))
        .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.channel_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.author_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.message_type.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.content.as_deref()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.s3_key.as_deref()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.content_type.as_deref()).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.original_filename.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
        .execute(conn)
        .await?;
        Ok(())
    }
}

const COLUMNS: &str = "id, channel_id, author_id, message_type, content, s3_key, content_type, \
                       original_filename, created_at, updated_at";

/// How an update of an existing row is written.
const UPSERT: &str =
    "ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, updated_at = EXCLUDED.updated_at";

impl ReadModel for MessagesModel {
    type Key = Uuid;
    type Row = MessageRow;
    const NAME: &'static str = "messages";
    const TABLES: &'static [&'static str] = &["messages"];

    fn in_schema(schema: &str) -> Self {
        Self::new(schema)
    }

    fn touches(&self, (ev, decoded): Projectable<'_>, keys: &mut Vec<Uuid>) -> Result<(), ProjectionError> {
        if let DecodedEvent::Message(MessageEvent::MessageEdited { .. }) = decoded {
            keys.push(ev.aggregate_uuid()?);
        }
        Ok(())
    }

    fn fold(
        &self,
        rows: &mut Overlay<Uuid, MessageRow>,
        (ev, decoded): Projectable<'_>,
    ) -> Result<(), ProjectionError> {
        let id = ev.aggregate_uuid()?;
        let at = ev.recorded_at;
        match decoded {
            DecodedEvent::Message(MessageEvent::TextMessagePosted {
                channel_id,
                author_id,
                content,
                ..
            }) => rows.put(
                id,
                MessageRow {
                    id,
                    channel_id: *channel_id,
                    author_id: *author_id,
                    message_type: MessageKind::Text,
                    // An erased text reads as null (docs/personal-data.md).
                    content: content.known().map(|c| c.as_str().to_owned()),
                    s3_key: None,
                    content_type: None,
                    original_filename: None,
                    created_at: at,
                    updated_at: at,
                },
            ),
            DecodedEvent::Message(MessageEvent::FileMessagePosted {
                channel_id,
                author_id,
                message_type,
                file,
                ..
            }) => rows.put(
                id,
                MessageRow {
                    id,
                    channel_id: *channel_id,
                    author_id: *author_id,
                    message_type: *message_type,
                    content: None,
                    s3_key: Some(file.s3_key.as_str().to_owned()),
                    content_type: Some(file.content_type.as_str().to_owned()),
                    original_filename: file.original_filename.known().map(|n| n.as_str().to_owned()),
                    created_at: at,
                    updated_at: at,
                },
            ),
            DecodedEvent::Message(MessageEvent::MessageEdited { content, .. }) => {
                if let Some(row) = rows.get_mut(&id) {
                    row.content = content.known().map(|c| c.as_str().to_owned());
                    row.updated_at = at;
                }
            }
            DecodedEvent::Message(MessageEvent::MessageDeleted { .. }) => rows.remove(&id),
            // A deleted channel takes its messages out of the read table.
            DecodedEvent::Channel(ChannelEvent::ChannelDeleted {}) => {
                rows.purge_channel(id, |_, row| row.channel_id == id)
            }
            // An erased author's messages stay (the conversation keeps its shape), without
            // their texts and file names, as a rebuild folds them once the keys are gone.
            DecodedEvent::User(UserEvent::UserErased {}) => rows.erase_user(id, |row| {
                let personal =
                    row.author_id == id && (row.content.is_some() || row.original_filename.is_some());
                if personal {
                    row.content = None;
                    row.original_filename = None;
                }
                personal
            }),
            _ => {}
        }
        Ok(())
    }

    fn load<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        keys: &'a [Uuid],
    ) -> BoxFuture<'a, Loaded<Uuid, MessageRow>> {
        async move {
            let rows: Vec<MessageRow> = sqlx::query_as(&format!(
                "SELECT id, channel_id, author_id, message_type, content, s3_key, content_type,
                        original_filename, created_at, updated_at
                   FROM {} WHERE id = ANY($1)",
                self.table
            ))
            .bind(keys)
            .fetch_all(conn)
            .await?;
            Ok(rows.into_iter().map(|r| (r.id, r)).collect())
        }
        .boxed()
    }

    fn store<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        changes: Changes<'a, Uuid, MessageRow>,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            let t = &self.table;
            delete_any(&mut *conn, t, "channel_id", changes.purged_channels).await?;
            if !changes.erased_users.is_empty() {
                sqlx::query(&format!(
                    "UPDATE {t} SET content = NULL, original_filename = NULL
                      WHERE author_id = ANY($1) AND (content IS NOT NULL OR original_filename IS NOT NULL)"
                ))
                .bind(changes.erased_users)
                .execute(&mut *conn)
                .await?;
            }
            let deleted: Vec<Uuid> = changes.deleted.iter().map(|k| **k).collect();
            delete_any(&mut *conn, t, "id", &deleted).await?;
            self.insert(&mut *conn, &changes.inserted).await?;
            self.upsert(conn, &changes.updated).await
        }
        .boxed()
    }
}
