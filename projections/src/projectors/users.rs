//! `users`: one row per account, kept after deletion with status `deleted` so old messages can
//! still name their author's id.

use aggregates::user::UserEvent;
use sqlx::PgConnection;

use super::qualified;
use crate::event::RecordedEvent;
use crate::ProjectionError;

pub struct UsersProjector {
    table: String,
}

impl UsersProjector {
    pub fn new(schema: &str) -> Self {
        Self {
            table: qualified(schema, "users"),
        }
    }

    async fn project(
        &self,
        conn: &mut PgConnection,
        ev: &RecordedEvent,
        event: &UserEvent,
    ) -> Result<(), ProjectionError> {
        let id = ev.aggregate_uuid()?;
        let at = ev.recorded_at;
        let t = &self.table;
        match event {
            UserEvent::UserRegistered {
                username,
                email,
                profile,
                ..
            } => {
                sqlx::query(&format!(
                    "INSERT INTO {t} (id, username, email, first_name, last_name, bio, profile_picture,
                                      status, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8)"
                ))
                .bind(id)
                .bind(username.as_str())
                .bind(email.as_str())
                .bind(profile.first_name.as_ref().map(|v| v.as_str()))
                .bind(profile.last_name.as_ref().map(|v| v.as_str()))
                .bind(profile.bio.as_ref().map(|v| v.as_str()))
                .bind(profile.profile_picture.as_ref().map(|v| v.as_str()))
                .bind(at)
                .execute(conn)
                .await?;
            }
            UserEvent::UserProfileUpdated { changes: c } => {
                // For nullable fields a flag says whether the event set the value (possibly to
                // null) or left it alone.
                sqlx::query(&format!(
                    "UPDATE {t} SET
                        username        = coalesce($2, username),
                        email           = coalesce($3, email),
                        first_name      = CASE WHEN $4 THEN $5 ELSE first_name END,
                        last_name       = CASE WHEN $6 THEN $7 ELSE last_name END,
                        bio             = CASE WHEN $8 THEN $9 ELSE bio END,
                        profile_picture = CASE WHEN $10 THEN $11 ELSE profile_picture END,
                        updated_at      = $12
                      WHERE id = $1"
                ))
                .bind(id)
                .bind(c.username.as_ref().map(|v| v.as_str()))
                .bind(c.email.as_ref().map(|v| v.as_str()))
                .bind(c.first_name.is_some())
                .bind(c.first_name.as_ref().and_then(|v| v.as_ref()).map(|v| v.as_str()))
                .bind(c.last_name.is_some())
                .bind(c.last_name.as_ref().and_then(|v| v.as_ref()).map(|v| v.as_str()))
                .bind(c.bio.is_some())
                .bind(c.bio.as_ref().and_then(|v| v.as_ref()).map(|v| v.as_str()))
                .bind(c.profile_picture.is_some())
                .bind(
                    c.profile_picture
                        .as_ref()
                        .and_then(|v| v.as_ref())
                        .map(|v| v.as_str()),
                )
                .bind(at)
                .execute(conn)
                .await?;
            }
            UserEvent::UserPasswordChanged {} => {
                sqlx::query(&format!("UPDATE {t} SET updated_at = $2 WHERE id = $1"))
                    .bind(id)
                    .bind(at)
                    .execute(conn)
                    .await?;
            }
            UserEvent::UserDeleted {} => {
                sqlx::query(&format!(
                    "UPDATE {t} SET status = 'deleted', updated_at = $2 WHERE id = $1"
                ))
                .bind(id)
                .bind(at)
                .execute(conn)
                .await?;
            }
        }
        Ok(())
    }
}

super::projector!(UsersProjector, "users", ["users"], User => project);
