//! `Idempotency-Key` on message and file posts: a retried post returns the original message (same
//! id, 201), across restarts and nodes; the same key with a different request is a 422.
//!
//! The key reserves a message id before the command runs (table `idempotency_keys`). A retry
//! re-runs the post with that same id, so whatever happened to the first attempt (finished, still
//! running on another node, or died with the process) the event store lets exactly one post of
//! that id in, and the loser meets `AlreadyExists`. Keys are scoped to the user and kept for
//! [`RETENTION`].

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::read::views::MessageRead;

/// How long a key is remembered (Stripe's figure: long enough for any client's retry policy).
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// Longest key accepted (room for a UUID, a ULID or a client's own composite key).
pub const MAX_KEY_LEN: usize = 255;

/// A client's idempotency key: 1 to [`MAX_KEY_LEN`] visible ASCII characters.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key, if `raw` is one.
    pub fn parse(raw: &[u8]) -> Option<Self> {
        let ok = !raw.is_empty() && raw.len() <= MAX_KEY_LEN && raw.iter().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(String::from_utf8_lossy(raw).into_owned()))
    }
}

/// Why a key could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The key was used before with a different request.
    #[error("Idempotency-Key was already used with a different request")]
    Reused,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The key's row kept disappearing under a concurrent sweep.
    #[error("the key could not be claimed")]
    Contended,
}

/// What identifies "the same request" for a key: the kind of post, the channel and the body
/// (for files: name, declared type and every byte, hashed while streaming).
pub struct Fingerprint(Sha256);

impl Fingerprint {
    pub fn new(kind: &str, channel_id: Uuid) -> Self {
        let mut hash = Sha256::new();
        hash.update(kind.as_bytes());
        hash.update([0]);
        hash.update(channel_id.as_bytes());
        Self(hash)
    }

    /// Adds a length-prefixed field, so that ("ab", "c") and ("a", "bc") differ.
    pub fn field(mut self, bytes: &[u8]) -> Self {
        self.0.update((bytes.len() as u64).to_be_bytes());
        self.0.update(bytes);
        self
    }

    /// Adds raw bytes (a streamed body, chunk by chunk).
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(self) -> Vec<u8> {
        self.0.finalize().to_vec()
    }
}

/// What to do with a post under a key.
pub enum Claim {
    /// The key is new: post with this (freshly reserved) id.
    Fresh(Uuid),
    /// A retry whose original has not answered yet (or died): post again with the original's id;
    /// `AlreadyExists` then means the original did land.
    Retry(Uuid),
    /// A retry of a post that answered: the original body.
    Replay(Box<MessageRead>),
}

/// Reserves `key` for this request, or finds what an earlier request with it did. An expired key
/// (older than [`RETENTION`], not yet swept) is taken over as if new.
pub async fn claim(
    pool: &PgPool,
    user_id: Uuid,
    key: &IdempotencyKey,
    fingerprint: Fingerprint,
) -> Result<Claim, ClaimError> {
    let hash = fingerprint.finish();
    let fresh = Uuid::now_v7();
    // Two tries: the row can be swept between the upsert and the read (then the second upsert wins).
    for _ in 0..2 {
        let reserved: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys AS k (user_id, key, request_hash, message_id)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, key) DO UPDATE
                SET request_hash = EXCLUDED.request_hash, message_id = EXCLUDED.message_id,
                    response = NULL, created_at = now()
              WHERE k.created_at < now() - make_interval(secs => $5)
             RETURNING message_id",
        )
        .bind(user_id)
        .bind(&key.0)
        .bind(&hash)
        .bind(fresh)
        .bind(RETENTION.as_secs_f64())
        .fetch_optional(pool)
        .await?;
        if reserved.is_some() {
            return Ok(Claim::Fresh(fresh));
        }
        let earlier: Option<(Vec<u8>, Uuid, Option<sqlx::types::Json<MessageRead>>)> = sqlx::query_as(
            "SELECT request_hash, message_id, response FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        )
        .bind(user_id)
        .bind(&key.0)
        .fetch_optional(pool)
        .await?;
        let Some((earlier_hash, message_id, response)) = earlier else {
            continue;
        };
        if earlier_hash != hash {
            return Err(ClaimError::Reused);
        }
        return Ok(match response {
            Some(sqlx::types::Json(message)) => Claim::Replay(Box::new(message)),
            None => Claim::Retry(message_id),
        });
    }
    Err(ClaimError::Contended)
}

/// Stores the answer of the post made under `key`, for later retries to replay. Failing to store
/// it loses nothing: a retry then re-runs the post, meets `AlreadyExists` and reads it back.
pub async fn record(pool: &PgPool, user_id: Uuid, key: &IdempotencyKey, message: &MessageRead) {
    let stored = sqlx::query("UPDATE idempotency_keys SET response = $3 WHERE user_id = $1 AND key = $2")
        .bind(user_id)
        .bind(&key.0)
        .bind(sqlx::types::Json(message))
        .execute(pool)
        .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "could not store an idempotent response");
    }
}

/// Forgets keys past their retention (run periodically by every node; idempotent).
pub async fn sweep(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)")
            .bind(RETENTION.as_secs_f64())
            .execute(pool)
            .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse(b"3f2a-retry_1").is_some());
        assert!(IdempotencyKey::parse(&[b'k'; MAX_KEY_LEN]).is_some());
        for bad in [
            &b""[..],
            b"has space",
            b"tab\t",
            b"nul\0",
            "é".as_bytes(),
            &[b'k'; MAX_KEY_LEN + 1],
        ] {
            assert!(IdempotencyKey::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn fingerprints_separate_fields() {
        let channel = Uuid::now_v7();
        let a = Fingerprint::new("text", channel)
            .field(b"ab")
            .field(b"c")
            .finish();
        let b = Fingerprint::new("text", channel)
            .field(b"a")
            .field(b"bc")
            .finish();
        let again = Fingerprint::new("text", channel)
            .field(b"ab")
            .field(b"c")
            .finish();
        assert_ne!(a, b);
        assert_eq!(a, again);
        assert_ne!(
            a,
            Fingerprint::new("file", channel)
                .field(b"ab")
                .field(b"c")
                .finish()
        );
        assert_ne!(
            a,
            Fingerprint::new("text", Uuid::now_v7())
                .field(b"ab")
                .field(b"c")
                .finish()
        );
    }
}
