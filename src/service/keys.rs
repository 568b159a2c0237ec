//! The keys of personal data, for operators (docs/personal-data.md): sealing a log written before
//! sealing (ADR 0011), and rotating the master key.

use projections::personal::{self, MasterKey, RotationError};
use sqlx::PgPool;

use crate::eventlog::older_log::{self, Progress};
use crate::storage::nodes;

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("no master key is installed in this process")]
    NoMasterKey,
    #[error(
        "servers are running on this database ({0}); stop every one of them first: they would keep \
         the old master key"
    )]
    ServersRunning(String),
    #[error("the new master key is the current one")]
    SameKey,
    #[error(transparent)]
    Rotation(#[from] RotationError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn master() -> Result<&'static MasterKey, KeysError> {
    personal::installed().ok_or(KeysError::NoMasterKey)
}

/// Seals every personal field an older log holds in the clear (resumable; see
/// [`older_log::seal_older_log`]).
pub async fn seal_older_log(pool: &PgPool, report: impl FnMut(Progress)) -> Result<Progress, KeysError> {
    Ok(older_log::seal_older_log(pool, master()?, report).await?)
}

/// Re-wraps every data key under `new`. Refused while a server runs: it would go on wrapping new
/// keys with the old master key, and could not unwrap the re-wrapped ones.
pub async fn rotate_master_key(pool: &PgPool, new: &MasterKey) -> Result<u64, KeysError> {
    let old = master()?;
    if old.to_hex() == new.to_hex() {
        return Err(KeysError::SameKey);
    }
    let running = nodes::live_nodes(pool).await?;
    if !running.is_empty() {
        return Err(KeysError::ServersRunning(running.join(", ")));
    }
    Ok(personal::rotate_master_key(pool, old, new).await?)
}
