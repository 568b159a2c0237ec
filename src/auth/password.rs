//! Password hashing: argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
//!
//! Hashing is CPU-bound for tens of milliseconds, so it runs on the blocking pool, never on the
//! async workers, and at most one hash per core at a time: more would not finish sooner, only
//! hold 19 MiB each while they wait for a core (a login burst would otherwise cost memory in
//! proportion to its size). Unknown usernames are verified against a dummy hash so that "no such user" and
//! "wrong password" take the same time.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// The longest password accepted; argon2 would take anything, but a megabyte "password" is abuse.
pub const MAX_PASSWORD_CHARS: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// A hash of a random password, computed once, to verify against when the user is unknown.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = uuid::Uuid::new_v4().to_string();
        hash_blocking(&random).unwrap_or_default()
    })
}

/// Runs `work` on the blocking pool once one of the per-core permits is free.
async fn limited<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, PasswordError> {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    let permits =
        PERMITS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));
    let _permit = permits.acquire().await.expect("the semaphore is never closed");
    Ok(tokio::task::spawn_blocking(work).await?)
}

/// Hashes a password on the blocking pool.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    limited(move || hash_blocking(&password)).await?
}

/// Verifies on the blocking pool. `stored` is `None` for an unknown user: the same work is done
/// against a dummy hash and the answer is false.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, PasswordError> {
    let stored: Arc<str> = match &stored {
        Some(s) => Arc::from(s.as_str()),
        None => Arc::from(dummy_hash()),
    };
    let known = stored_is_real(&stored, dummy_hash());
    let ok = limited(move || {
        PasswordHash::new(&stored)
            .map(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await?;
    Ok(ok && known)
}

fn stored_is_real(stored: &str, dummy: &str) -> bool {
    stored != dummy
}

/// Warms the dummy hash at startup so the first unknown-user login is not slower than others.
pub async fn warm_up() {
    let _ = limited(dummy_hash).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("wrong horse".into(), Some(h)).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(!verify("anything".into(), None).await.unwrap());
        assert!(!verify("anything".into(), Some("not a hash".into()))
            .await
            .unwrap());
    }
}
