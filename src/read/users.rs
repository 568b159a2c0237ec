//! User queries.

use std::collections::HashMap;

use sqlx::PgPool;
use uuid::Uuid;

use super::page::Page;
use crate::read::views::UserRead;

const COLUMNS: &str =
    "id, username, email, first_name, last_name, bio, profile_picture, status, created_at, updated_at";

/// A live (not deleted) user.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<UserRead>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 AND status <> 'deleted'"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn list(pool: &PgPool, page: Page) -> Result<Vec<UserRead>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE status <> 'deleted'
          ORDER BY created_at, id OFFSET $1 LIMIT $2"
    ))
    .bind(page.skip)
    .bind(page.limit)
    .fetch_all(pool)
    .await
}

/// The live users among `ids`, by id (the authors embedded in a batch of frames: one query).
pub async fn by_ids(pool: &PgPool, ids: &[Uuid]) -> Result<HashMap<Uuid, UserRead>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<UserRead> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = ANY($1) AND status <> 'deleted'"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|u| (u.id, u)).collect())
}

/// Whether a live user exists, from the strongly consistent identity claims (a user who just
/// registered is there even if the read table lags).
pub async fn exists(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM user_identity_claims WHERE user_id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await
}
