//! `channel_members`: who belongs to which live channel, and since when.

use aggregates::channel::ChannelEvent;
use sqlx::PgConnection;

use super::qualified;
use crate::event::RecordedEvent;
use crate::ProjectionError;

pub struct MembershipsProjector {
    table: String,
}

impl MembershipsProjector {
    pub fn new(schema: &str) -> Self {
        Self {
            table: qualified(schema, "channel_members"),
        }
    }

    async fn project(
        &self,
        conn: &mut PgConnection,
        ev: &RecordedEvent,
        event: &ChannelEvent,
    ) -> Result<(), ProjectionError> {
        let channel_id = ev.aggregate_uuid()?;
        let t = &self.table;
        match event {
            ChannelEvent::MemberJoined { user_id } => {
                sqlx::query(&format!(
                    "INSERT INTO {t} (channel_id, user_id, joined_at) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING"
                ))
                .bind(channel_id)
                .bind(user_id)
                .bind(ev.recorded_at)
                .execute(conn)
                .await?;
            }
            ChannelEvent::MemberLeft { user_id } => {
                sqlx::query(&format!("DELETE FROM {t} WHERE channel_id = $1 AND user_id = $2"))
                    .bind(channel_id)
                    .bind(user_id)
                    .execute(conn)
                    .await?;
            }
            ChannelEvent::ChannelDeleted {} => {
                sqlx::query(&format!("DELETE FROM {t} WHERE channel_id = $1"))
                    .bind(channel_id)
                    .execute(conn)
                    .await?;
            }
            ChannelEvent::ChannelCreated { .. }
            | ChannelEvent::ChannelUpdated { .. }
            | ChannelEvent::ChannelOwnershipTransferred { .. } => {}
        }
        Ok(())
    }
}

super::projector!(MembershipsProjector, "memberships", ["channel_members"], Channel => project);
