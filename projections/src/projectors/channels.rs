//! `channels`: live channels with their current owner. A deleted channel's row is removed.

use aggregates::channel::ChannelEvent;
use sqlx::PgConnection;

use super::qualified;
use crate::event::RecordedEvent;
use crate::ProjectionError;

pub struct ChannelsProjector {
    table: String,
}

impl ChannelsProjector {
    pub fn new(schema: &str) -> Self {
        Self {
            table: qualified(schema, "channels"),
        }
    }

    async fn project(
        &self,
        conn: &mut PgConnection,
        ev: &RecordedEvent,
        event: &ChannelEvent,
    ) -> Result<(), ProjectionError> {
        let id = ev.aggregate_uuid()?;
        let at = ev.recorded_at;
        let t = &self.table;
        match event {
            ChannelEvent::ChannelCreated {
                name,
                description,
                owner_id,
                ..
            } => {
                sqlx::query(&format!(
                    "INSERT INTO {t} (id, name, description, owner_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5)"
                ))
                .bind(id)
                .bind(name.as_str())
                .bind(description.as_ref().map(|d| d.as_str()))
                .bind(owner_id)
                .bind(at)
                .execute(conn)
                .await?;
            }
            ChannelEvent::ChannelUpdated { name, description } => {
                sqlx::query(&format!(
                    "UPDATE {t} SET name = coalesce($2, name),
                                    description = CASE WHEN $3 THEN $4 ELSE description END,
                                    updated_at = $5
                      WHERE id = $1"
                ))
                .bind(id)
                .bind(name.as_ref().map(|n| n.as_str()))
                .bind(description.is_some())
                .bind(description.as_ref().and_then(|d| d.as_ref()).map(|d| d.as_str()))
                .bind(at)
                .execute(conn)
                .await?;
            }
            ChannelEvent::ChannelOwnershipTransferred { new_owner_id, .. } => {
                sqlx::query(&format!(
                    "UPDATE {t} SET owner_id = $2, updated_at = $3 WHERE id = $1"
                ))
                .bind(id)
                .bind(new_owner_id)
                .bind(at)
                .execute(conn)
                .await?;
            }
            ChannelEvent::ChannelDeleted {} => {
                sqlx::query(&format!("DELETE FROM {t} WHERE id = $1"))
                    .bind(id)
                    .execute(conn)
                    .await?;
            }
            ChannelEvent::MemberJoined { .. } | ChannelEvent::MemberLeft { .. } => {}
        }
        Ok(())
    }
}

super::projector!(ChannelsProjector, "channels", ["channels"], Channel => project);
