//! `channels`: live channels with their current owner. A deleted channel's row is removed.

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
pub struct ChannelRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub owner_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct ChannelsModel {
    table: String,
}

impl ChannelsModel {
    pub fn new(schema: &str) -> Self {
        Self {
            table: qualified(schema, "channels"),
        }
    }

    /// Inserts `rows`, or with `on_conflict` upserts them.
    async fn write(
        &self,
        conn: &mut PgConnection,
        rows: &[&ChannelRow],
        on_conflict: &str,
    ) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(&format!(
            "INSERT INTO {table} (id, name, description, owner_id, created_at, updated_at)
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[],
                                  $5::timestamptz[], $6::timestamptz[]) {on_conflict}",
            table = self.table
        ))
        .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.description.as_deref()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.owner_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// How an update of an existing row is written.
const UPSERT: &str = "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, owner_id = EXCLUDED.owner_id, updated_at = EXCLUDED.updated_at";

impl ReadModel for ChannelsModel {
    type Key = Uuid;
    type Row = ChannelRow;
    const NAME: &'static str = "channels";
    const TABLES: &'static [&'static str] = &["channels"];

    fn in_schema(schema: &str) -> Self {
        Self::new(schema)
    }

    fn touches(&self, (ev, decoded): Projectable<'_>, keys: &mut Vec<Uuid>) -> Result<(), ProjectionError> {
        if let DecodedEvent::Channel(
            ChannelEvent::ChannelUpdated { .. } | ChannelEvent::ChannelOwnershipTransferred { .. },
        ) = decoded
        {
            keys.push(ev.aggregate_uuid()?);
        }
        Ok(())
    }

    fn fold(
        &self,
        rows: &mut Overlay<Uuid, ChannelRow>,
        (ev, decoded): Projectable<'_>,
    ) -> Result<(), ProjectionError> {
        let DecodedEvent::Channel(event) = decoded else {
            return Ok(());
        };
        let id = ev.aggregate_uuid()?;
        let at = ev.recorded_at;
        match event {
            ChannelEvent::ChannelCreated {
                name,
                description,
                owner_id,
                ..
            } => rows.put(
                id,
                ChannelRow {
                    id,
                    name: name.as_str().to_owned(),
                    description: description.as_ref().map(|d| d.as_str().to_owned()),
                    owner_id: *owner_id,
                    created_at: at,
                    updated_at: at,
                },
            ),
            ChannelEvent::ChannelUpdated { name, description } => {
                if let Some(row) = rows.get_mut(&id) {
                    if let Some(name) = name {
                        row.name = name.as_str().to_owned();
                    }
                    if let Some(description) = description {
                        row.description = description.as_ref().map(|d| d.as_str().to_owned());
                    }
                    row.updated_at = at;
                }
            }
            ChannelEvent::ChannelOwnershipTransferred { new_owner_id, .. } => {
                if let Some(row) = rows.get_mut(&id) {
                    row.owner_id = *new_owner_id;
                    row.updated_at = at;
                }
            }
            ChannelEvent::ChannelDeleted {} => rows.remove(&id),
            ChannelEvent::MemberJoined { .. } | ChannelEvent::MemberLeft { .. } => {}
        }
        Ok(())
    }

    fn load<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        keys: &'a [Uuid],
    ) -> BoxFuture<'a, Loaded<Uuid, ChannelRow>> {
        async move {
            let rows: Vec<ChannelRow> = sqlx::query_as(&format!(
                "SELECT id, name, description, owner_id, created_at, updated_at FROM {} WHERE id = ANY($1)",
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
        changes: Changes<'a, Uuid, ChannelRow>,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            let deleted: Vec<Uuid> = changes.deleted.iter().map(|k| **k).collect();
            delete_any(&mut *conn, &self.table, "id", &deleted).await?;
            self.write(&mut *conn, &changes.inserted, "").await?;
            self.write(conn, &changes.updated, UPSERT).await
        }
        .boxed()
    }
}
