//! The `user_credentials` table: password hashes and token versions, outside the event store.

use sqlx::PgPool;
use uuid::Uuid;

use super::token::TokenId;

/// Inserts the credentials of a user about to be registered. Written before the registration
/// event: if the append then fails, [`remove`] deletes the row; if the process dies in between, the
/// row is an orphan nobody can log in with (login goes through `user_identity_claims`).
pub async fn insert(pool: &PgPool, user_id: Uuid, password_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO user_credentials (user_id, password_hash) VALUES ($1, $2)")
        .bind(user_id)
        .bind(password_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn remove(pool: &PgPool, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_credentials WHERE user_id = $1")
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// What [`change_password`] replaced, for [`restore_password`] to put back.
#[derive(Debug)]
pub struct PreviousPassword {
    hash: String,
    token_version: i32,
}

/// Replaces the hash and bumps the token version, which invalidates every older token. Returns
/// what it replaced (`None`: no credentials, the user is gone).
pub async fn change_password(
    pool: &PgPool,
    user_id: Uuid,
    password_hash: &str,
) -> Result<Option<PreviousPassword>, sqlx::Error> {
    let previous: Option<(String, i32)> = sqlx::query_as(
        "WITH old AS (
             SELECT password_hash, token_version FROM user_credentials WHERE user_id = $1 FOR UPDATE
         )
         UPDATE user_credentials c
            SET password_hash = $2, token_version = old.token_version + 1, updated_at = now()
           FROM old
          WHERE c.user_id = $1
         RETURNING old.password_hash, old.token_version",
    )
    .bind(user_id)
    .bind(password_hash)
    .fetch_optional(pool)
    .await?;
    Ok(previous.map(|(hash, token_version)| PreviousPassword { hash, token_version }))
}

/// Undoes a [`change_password`] to `password_hash` whose change was then refused, hash and token
/// version both (the refused request's own tokens stay valid). Only if nothing changed them since:
/// a concurrent password change that was recorded must not be undone.
pub async fn restore_password(
    pool: &PgPool,
    user_id: Uuid,
    password_hash: &str,
    previous: &PreviousPassword,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE user_credentials
            SET password_hash = $3, token_version = $4, updated_at = now()
          WHERE user_id = $1 AND password_hash = $2 AND token_version = $4 + 1",
    )
    .bind(user_id)
    .bind(password_hash)
    .bind(&previous.hash)
    .bind(previous.token_version)
    .execute(pool)
    .await?;
    Ok(())
}

/// Login lookup: the live user with this username (case-insensitive), their hash and version.
pub async fn for_login(pool: &PgPool, username: &str) -> Result<Option<(Uuid, String, i32)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.user_id, c.password_hash, c.token_version
           FROM user_identity_claims i JOIN user_credentials c USING (user_id)
          WHERE i.username_key = identity_key($1)",
    )
    .bind(username)
    .fetch_optional(pool)
    .await
}

/// The current token version of a live user, unless the token `jti` was revoked (`POST /logout`);
/// `None` once deleted. One query: it runs on every authenticated request.
pub async fn session_version(pool: &PgPool, user_id: Uuid, jti: Uuid) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT c.token_version
           FROM user_credentials c JOIN user_identity_claims i USING (user_id)
          WHERE c.user_id = $1
            AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = $2)",
    )
    .bind(user_id)
    .bind(jti)
    .fetch_optional(pool)
    .await
}

/// Revokes one token until it expires, and tells every node (NOTIFY on `notify_channel`, sent at
/// commit) so that sockets opened with it close too. One statement: both or neither.
pub async fn revoke_token(
    pool: &PgPool,
    user_id: Uuid,
    token: TokenId,
    notify_channel: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH revoked AS (
             INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2))
             ON CONFLICT (jti) DO NOTHING
         )
         SELECT pg_notify($3, $4)",
    )
    .bind(token.jti)
    .bind(token.expires_at as f64)
    .bind(notify_channel)
    .bind(user_id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets revocations of tokens that have expired anyway.
pub async fn sweep_revoked(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < now()")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
