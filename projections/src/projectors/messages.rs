//! `messages`: live messages of live channels. Deleted messages, and all messages of a deleted
//! channel, leave the read table (the events keep them for the audit log).

use aggregates::channel::ChannelEvent;
use aggregates::message::{MessageEvent, MessageKind};
use sqlx::PgConnection;

use super::qualified;
use crate::event::RecordedEvent;
use crate::ProjectionError;

pub struct MessagesProjector {
    table: String,
}

impl MessagesProjector {
    pub fn new(schema: &str) -> Self {
        Self {
            table: qualified(schema, "messages"),
        }
    }

    async fn project(
        &self,
        conn: &mut PgConnection,
        ev: &RecordedEvent,
        event: &MessageEvent,
    ) -> Result<(), ProjectionError> {
        let id = ev.aggregate_uuid()?;
        let at = ev.recorded_at;
        let t = &self.table;
        match event {
            MessageEvent::TextMessagePosted {
                channel_id,
                author_id,
                content,
                ..
            } => {
                sqlx::query(&format!(
                    "INSERT INTO {t} (id, channel_id, author_id, message_type, content, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6)"
                ))
                .bind(id)
                .bind(channel_id)
                .bind(author_id)
                .bind(MessageKind::Text.as_str())
                .bind(content.as_str())
                .bind(at)
                .execute(conn)
                .await?;
            }
            MessageEvent::FileMessagePosted {
                channel_id,
                author_id,
                message_type,
                file,
                ..
            } => {
                sqlx::query(&format!(
                    "INSERT INTO {t} (id, channel_id, author_id, message_type, s3_key, content_type,
                                      original_filename, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
                ))
                .bind(id)
                .bind(channel_id)
                .bind(author_id)
                .bind(message_type.as_str())
                .bind(file.s3_key.as_str())
                .bind(file.content_type.as_str())
                .bind(file.original_filename.as_str())
                .bind(at)
                .execute(conn)
                .await?;
            }
            MessageEvent::MessageEdited { content } => {
                sqlx::query(&format!(
                    "UPDATE {t} SET content = $2, updated_at = $3 WHERE id = $1"
                ))
                .bind(id)
                .bind(content.as_str())
                .bind(at)
                .execute(conn)
                .await?;
            }
            MessageEvent::MessageDeleted { .. } => {
                sqlx::query(&format!("DELETE FROM {t} WHERE id = $1"))
                    .bind(id)
                    .execute(conn)
                    .await?;
            }
        }
        Ok(())
    }

    /// A deleted channel takes its messages out of the read table.
    async fn channel_event(
        &self,
        conn: &mut PgConnection,
        ev: &RecordedEvent,
        event: &ChannelEvent,
    ) -> Result<(), ProjectionError> {
        if let ChannelEvent::ChannelDeleted {} = event {
            sqlx::query(&format!("DELETE FROM {} WHERE channel_id = $1", self.table))
                .bind(ev.aggregate_uuid()?)
                .execute(conn)
                .await?;
        }
        Ok(())
    }
}

super::projector!(MessagesProjector, "messages", ["messages"], Message => project, Channel => channel_event);
