//! The master key against the database: recognised at start before anything is written.

use sqlx::PgPool;

use super::MasterKey;

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error(
        "the master key is not the one this database's personal data is sealed with \
         (set ZYNC_MASTER_KEY to that key, the same on every node)"
    )]
    Wrong,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Checks that `master` is the database's master key; the first server to start with a database
/// records it. Concurrent first starts agree: one insert wins and every one checks against it.
pub async fn check_master_key(pool: &PgPool, master: &MasterKey) -> Result<(), MasterKeyError> {
    sqlx::query("INSERT INTO master_key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
        .bind(master.check_value())
        .execute(pool)
        .await?;
    let recorded: Vec<u8> = sqlx::query_scalar("SELECT sealed FROM master_key_check WHERE id = 1")
        .fetch_one(pool)
        .await?;
    if master.verifies(&recorded) {
        Ok(())
    } else {
        Err(MasterKeyError::Wrong)
    }
}
