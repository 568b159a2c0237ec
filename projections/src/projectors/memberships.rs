//! `channel_members`: who belongs to which live channel, and since when.

use aggregates::channel::ChannelEvent;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{delete_any, qualified, Changes, Loaded, Overlay, Projectable, ReadModel};
use crate::event::DecodedEvent;
use crate::ProjectionError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    pub channel_id: Uuid,
    pub user_id: Uuid,
    pub joined_at: DateTime<Utc>,
}

/// (channel id, user id)
pub type MemberKey = (Uuid, Uuid);

pub struct MembershipsModel {
    table: String,
}

impl MembershipsModel {
    pub fn new(schema: &str) -> Self {
        Self {
            table: qualified(schema, "channel_members"),
        }
    }

    /// Inserts `rows`, or with `on_conflict` upserts them.
    async fn write(
        &self,
        conn: &mut PgConnection,
        rows: &[&MemberRow],
        on_conflict: &str,
    ) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(&format!(
            "INSERT INTO {table} (channel_id, user_id, joined_at)
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) {on_conflict}",
            table = self.table
        ))
        .bind(rows.iter().map(|r| r.channel_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.joined_at).collect::<Vec<_>>())
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// How an update of an existing row is written.
const UPSERT: &str = "ON CONFLICT (channel_id, user_id) DO UPDATE SET joined_at = EXCLUDED.joined_at";

impl ReadModel for MembershipsModel {
    type Key = MemberKey;
    type Row = MemberRow;
    const NAME: &'static str = "memberships";
    const TABLES: &'static [&'static str] = &["channel_members"];

    fn in_schema(schema: &str) -> Self {
        Self::new(schema)
    }

    fn touches(
        &self,
        (ev, decoded): Projectable<'_>,
        keys: &mut Vec<MemberKey>,
    ) -> Result<(), ProjectionError> {
        // A join keeps an existing membership's date, so it needs to know whether there is one.
        if let DecodedEvent::Channel(ChannelEvent::MemberJoined { user_id }) = decoded {
            keys.push((ev.aggregate_uuid()?, *user_id));
        }
        Ok(())
    }

    fn fold(
        &self,
        rows: &mut Overlay<MemberKey, MemberRow>,
        (ev, decoded): Projectable<'_>,
    ) -> Result<(), ProjectionError> {
        let DecodedEvent::Channel(event) = decoded else {
            return Ok(());
        };
        let channel_id = ev.aggregate_uuid()?;
        match event {
            ChannelEvent::MemberJoined { user_id } => {
                let key = (channel_id, *user_id);
                if rows.get(&key).is_none() {
                    rows.put(
                        key,
                        MemberRow {
                            channel_id,
                            user_id: *user_id,
                            joined_at: ev.recorded_at,
                        },
                    );
                }
            }
            ChannelEvent::MemberLeft { user_id } => rows.remove(&(channel_id, *user_id)),
            ChannelEvent::ChannelDeleted {} => rows.purge_channel(channel_id, |key, _| key.0 == channel_id),
            ChannelEvent::ChannelCreated { .. }
            | ChannelEvent::ChannelUpdated { .. }
            | ChannelEvent::ChannelOwnershipTransferred { .. } => {}
        }
        Ok(())
    }

    fn load<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        keys: &'a [MemberKey],
    ) -> BoxFuture<'a, Loaded<MemberKey, MemberRow>> {
        async move {
            let (channels, users): (Vec<Uuid>, Vec<Uuid>) = keys.iter().copied().unzip();
            let rows: Vec<MemberRow> = sqlx::query_as(&format!(
                "SELECT channel_id, user_id, joined_at FROM {}
                  WHERE (channel_id, user_id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))",
                self.table
            ))
            .bind(channels)
            .bind(users)
            .fetch_all(conn)
            .await?;
            Ok(rows.into_iter().map(|r| ((r.channel_id, r.user_id), r)).collect())
        }
        .boxed()
    }

    fn store<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        changes: Changes<'a, MemberKey, MemberRow>,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            let t = &self.table;
            delete_any(&mut *conn, t, "channel_id", changes.purged_channels).await?;
            if !changes.deleted.is_empty() {
                let (channels, users): (Vec<Uuid>, Vec<Uuid>) = changes.deleted.iter().map(|k| **k).unzip();
                sqlx::query(&format!(
                    "DELETE FROM {t}
                      WHERE (channel_id, user_id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))"
                ))
                .bind(channels)
                .bind(users)
                .execute(&mut *conn)
                .await?;
            }
            self.write(&mut *conn, &changes.inserted, "").await?;
            self.write(conn, &changes.updated, UPSERT).await
        }
        .boxed()
    }
}
