//! `users`: one row per account, kept after deletion with status `deleted` so old messages can
//! still name their author's id.

use aggregates::user::UserEvent;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{qualified, Changes, Loaded, Overlay, Projectable, ReadModel};
use crate::event::DecodedEvent;
use crate::ProjectionError;

/// A user row's `status`, as the `users` table stores it (text, with a CHECK of these three).
/// Accounts are active until deleted; the table and the contract allow `suspended`, which no
/// event sets yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Suspended,
    Deleted,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }
}

/// Read back from the text column.
impl TryFrom<String> for UserStatus {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        [Self::Active, Self::Suspended, Self::Deleted]
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| format!("unknown user status {raw:?}"))
    }
}

/// What an erased user's row says for a username (docs/personal-data.md); the e-mail address
/// is empty and the other profile fields null.
pub const ERASED_USERNAME: &str = "Deleted user";

/// Also the account in `zync audit replay --user --as-of` JSON: it is the row as it then was.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub bio: Option<String>,
    pub profile_picture: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct UsersModel {
    table: String,
}

impl UsersModel {
    pub fn new(schema: &str) -> Self {
        Self {
            table: qualified(schema, "users"),
        }
    }

    /// Inserts `rows`, or with `on_conflict` upserts them.
    async fn write(
        &self,
        conn: &mut PgConnection,
        rows: &[&UserRow],
        on_conflict: &str,
    ) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(&format!(
            "INSERT INTO {table} (id, username, email, first_name, last_name, bio, profile_picture,
                             status, created_at, updated_at)
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                                  $6::text[], $7::text[], $8::text[], $9::timestamptz[],
                                  $10::timestamptz[]) {on_conflict}",
            table = self.table
        ))
        .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.username.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.email.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.first_name.as_deref()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.last_name.as_deref()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.bio.as_deref()).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.profile_picture.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>())
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// How an update of an existing row is written.
const UPSERT: &str = "ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, email = EXCLUDED.email, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, bio = EXCLUDED.bio, profile_picture = EXCLUDED.profile_picture, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at";

impl ReadModel for UsersModel {
    type Key = Uuid;
    type Row = UserRow;
    const NAME: &'static str = "users";
    const TABLES: &'static [&'static str] = &["users"];

    fn in_schema(schema: &str) -> Self {
        Self::new(schema)
    }

    fn touches(&self, (ev, decoded): Projectable<'_>, keys: &mut Vec<Uuid>) -> Result<(), ProjectionError> {
        if let DecodedEvent::User(e) = decoded {
            if !matches!(e, UserEvent::UserRegistered { .. }) {
                keys.push(ev.aggregate_uuid()?);
            }
        }
        Ok(())
    }

    fn fold(
        &self,
        rows: &mut Overlay<Uuid, UserRow>,
        (ev, decoded): Projectable<'_>,
    ) -> Result<(), ProjectionError> {
        let DecodedEvent::User(event) = decoded else {
            return Ok(());
        };
        let id = ev.aggregate_uuid()?;
        let at = ev.recorded_at;
        match event {
            UserEvent::UserRegistered {
                username,
                email,
                profile,
                ..
            } => rows.put(
                id,
                UserRow {
                    id,
                    username: username
                        .known()
                        .map_or(ERASED_USERNAME, |v| v.as_str())
                        .to_owned(),
                    email: email.known().map_or("", |v| v.as_str()).to_owned(),
                    first_name: profile.first_name.as_ref().map(|v| v.as_str().to_owned()),
                    last_name: profile.last_name.as_ref().map(|v| v.as_str().to_owned()),
                    bio: profile.bio.as_ref().map(|v| v.as_str().to_owned()),
                    profile_picture: profile.profile_picture.as_ref().map(|v| v.as_str().to_owned()),
                    status: UserStatus::Active,
                    created_at: at,
                    updated_at: at,
                },
            ),
            UserEvent::UserProfileUpdated { changes: c } => {
                if let Some(row) = rows.get_mut(&id) {
                    // Outer `Some`: the event set this field (possibly to null).
                    if let Some(v) = &c.username {
                        row.username = v.as_str().to_owned();
                    }
                    if let Some(v) = &c.email {
                        row.email = v.as_str().to_owned();
                    }
                    if let Some(v) = &c.first_name {
                        row.first_name = v.as_ref().map(|v| v.as_str().to_owned());
                    }
                    if let Some(v) = &c.last_name {
                        row.last_name = v.as_ref().map(|v| v.as_str().to_owned());
                    }
                    if let Some(v) = &c.bio {
                        row.bio = v.as_ref().map(|v| v.as_str().to_owned());
                    }
                    if let Some(v) = &c.profile_picture {
                        row.profile_picture = v.as_ref().map(|v| v.as_str().to_owned());
                    }
                    row.updated_at = at;
                }
            }
            UserEvent::UserPasswordChanged {} => {
                if let Some(row) = rows.get_mut(&id) {
                    row.updated_at = at;
                }
            }
            UserEvent::UserDeleted {} => {
                if let Some(row) = rows.get_mut(&id) {
                    row.status = UserStatus::Deleted;
                    row.updated_at = at;
                }
            }
            UserEvent::UserErased {} => {
                if let Some(row) = rows.get_mut(&id) {
                    *row = UserRow {
                        username: ERASED_USERNAME.to_owned(),
                        email: String::new(),
                        first_name: None,
                        last_name: None,
                        bio: None,
                        profile_picture: None,
                        status: UserStatus::Deleted,
                        updated_at: at,
                        ..row.clone()
                    };
                }
            }
        }
        Ok(())
    }

    fn load<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        keys: &'a [Uuid],
    ) -> BoxFuture<'a, Loaded<Uuid, UserRow>> {
        async move {
            let rows: Vec<UserRow> = sqlx::query_as(&format!(
                "SELECT id, username, email, first_name, last_name, bio, profile_picture, status,
                        created_at, updated_at
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
        changes: Changes<'a, Uuid, UserRow>,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        async move {
            // Users are never deleted or purged, only marked; upserts are the whole story.
            self.write(&mut *conn, &changes.inserted, "").await?;
            self.write(conn, &changes.updated, UPSERT).await
        }
        .boxed()
    }
}
