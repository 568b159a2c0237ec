//! Channel and membership queries.

use sqlx::PgPool;
use uuid::Uuid;

use super::page::Page;
use crate::read::views::{ChannelOwner, ChannelRead, Membership, UserRead};

const COLUMNS: &str = "c.id, c.name, c.description, c.owner_id, c.created_at, c.updated_at";

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<ChannelRead>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM channels c WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn list(pool: &PgPool, page: Page) -> Result<Vec<ChannelRead>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM channels c ORDER BY c.created_at, c.id OFFSET $1 LIMIT $2"
    ))
    .bind(page.skip)
    .bind(page.limit)
    .fetch_all(pool)
    .await
}

/// Channels `user_id` belongs to, by name.
pub async fn of_member(pool: &PgPool, user_id: Uuid, page: Page) -> Result<Vec<ChannelRead>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM channels c JOIN channel_members m ON m.channel_id = c.id
          WHERE m.user_id = $1 ORDER BY c.name, c.id OFFSET $2 LIMIT $3"
    ))
    .bind(user_id)
    .bind(page.skip)
    .bind(page.limit)
    .fetch_all(pool)
    .await
}

/// Channels both users belong to, by name.
pub async fn shared(pool: &PgPool, a: Uuid, b: Uuid, page: Page) -> Result<Vec<ChannelRead>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM channels c
           JOIN channel_members ma ON ma.channel_id = c.id AND ma.user_id = $1
           JOIN channel_members mb ON mb.channel_id = c.id AND mb.user_id = $2
          ORDER BY c.name, c.id OFFSET $3 LIMIT $4"
    ))
    .bind(a)
    .bind(b)
    .bind(page.skip)
    .bind(page.limit)
    .fetch_all(pool)
    .await
}

pub async fn owners(pool: &PgPool, page: Page) -> Result<Vec<ChannelOwner>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id AS channel_id, c.name AS channel_name, c.owner_id, coalesce(u.username, '') AS owner_name
           FROM channels c LEFT JOIN users u ON u.id = c.owner_id
          ORDER BY c.name, c.id OFFSET $1 LIMIT $2",
    )
    .bind(page.skip)
    .bind(page.limit)
    .fetch_all(pool)
    .await
}

/// Live members of a channel, in joining order.
pub async fn members(pool: &PgPool, channel_id: Uuid, page: Page) -> Result<Vec<UserRead>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.bio, u.profile_picture,
                u.status, u.created_at, u.updated_at
           FROM channel_members m JOIN users u ON u.id = m.user_id
          WHERE m.channel_id = $1 AND u.status <> 'deleted'
          ORDER BY m.joined_at, u.id OFFSET $2 LIMIT $3",
    )
    .bind(channel_id)
    .bind(page.skip)
    .bind(page.limit)
    .fetch_all(pool)
    .await
}

pub async fn membership(
    pool: &PgPool,
    channel_id: Uuid,
    user_id: Uuid,
) -> Result<Option<Membership>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, channel_id, joined_at FROM channel_members WHERE channel_id = $1 AND user_id = $2",
    )
    .bind(channel_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// The authoritative state of a channel for an authorization decision: `None` if it does not
/// exist (or was deleted); otherwise its owner and whether `user_id` is a member. Read from the
/// guard tables, which change in the same transaction as the events.
pub async fn access(
    pool: &PgPool,
    channel_id: Uuid,
    user_id: Uuid,
) -> Result<Option<ChannelAccess>, sqlx::Error> {
    let row: Option<(Uuid, bool)> = sqlx::query_as(
        "SELECT g.owner_id,
                EXISTS (SELECT 1 FROM channel_member_guard m WHERE m.channel_id = g.channel_id AND m.user_id = $2)
           FROM channel_guard g WHERE g.channel_id = $1",
    )
    .bind(channel_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(owner_id, is_member)| ChannelAccess {
        is_member,
        is_owner: owner_id == user_id,
    }))
}

#[derive(Debug, Clone, Copy)]
pub struct ChannelAccess {
    pub is_member: bool,
    pub is_owner: bool,
}

/// Whether a live channel exists, from the guard table (strongly consistent).
pub async fn exists(pool: &PgPool, channel_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM channel_guard WHERE channel_id = $1)")
        .bind(channel_id)
        .fetch_one(pool)
        .await
}

/// The live channels `user_id` owns, from the guard table (strongly consistent: an erasure hands
/// every one of them over, even right after its creation).
pub async fn owned_by(pool: &PgPool, user_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT channel_id FROM channel_guard WHERE owner_id = $1 ORDER BY channel_id")
        .bind(user_id)
        .fetch_all(pool)
        .await
}

/// Who takes a channel over from `leaving`: its longest-standing live member besides them (by
/// the read table's `joined_at`; a member it does not show yet comes last), or `None` when
/// nobody else is left. Members come from the guard table, which is always current.
pub async fn successor(pool: &PgPool, channel_id: Uuid, leaving: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT g.user_id
           FROM channel_member_guard g
           JOIN user_identity_claims live ON live.user_id = g.user_id
           LEFT JOIN channel_members m ON m.channel_id = g.channel_id AND m.user_id = g.user_id
          WHERE g.channel_id = $1 AND g.user_id <> $2
          ORDER BY m.joined_at NULLS LAST, g.user_id
          LIMIT 1",
    )
    .bind(channel_id)
    .bind(leaving)
    .fetch_optional(pool)
    .await
}

/// Every channel `user_id` is a member of now, with its name, in the order they joined.
pub async fn memberships_of(pool: &PgPool, user_id: Uuid) -> Result<Vec<NamedMembership>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.channel_id, c.name AS channel_name, m.joined_at
           FROM channel_members m JOIN channels c ON c.id = m.channel_id
          WHERE m.user_id = $1
          ORDER BY m.joined_at, m.channel_id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct NamedMembership {
    pub channel_id: Uuid,
    pub channel_name: String,
    pub joined_at: chrono::DateTime<chrono::Utc>,
}
