//! The master key against the database (recognised at start, before anything is written) and
//! the data keys kept there.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{DataKey, MasterKey, SealError};

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error(
        "the master key is not the one this database's personal data is sealed with \
         (set ZYNC_MASTER_KEY to that key, the same on every node)"
    )]
    Wrong,
    #[error("this process already serves another master key")]
    AnotherInstalled,
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

/// This process's master key. A process serves one database's personal data: the server and
/// every operator command install the key they checked at start, and every reader of the log
/// (projections, live stream, audit, rebuilds) opens sealed fields with it.
static MASTER: OnceLock<MasterKey> = OnceLock::new();

/// Makes `master` the process's master key; a second, different key is refused.
pub fn install(master: &MasterKey) -> Result<(), MasterKeyError> {
    let installed = MASTER.get_or_init(|| master.clone());
    if installed.to_hex() == master.to_hex() {
        Ok(())
    } else {
        Err(MasterKeyError::AnotherInstalled)
    }
}

/// The installed master key, if any.
pub fn installed() -> Option<&'static MasterKey> {
    MASTER.get()
}

/// A fresh data key for `subject`, and the `data_key` metadata entry that makes the append keep
/// it (migration 0013): wrapped by `master`, owned by `owner`, destroyed with `channel`.
pub fn new_data_key(
    master: &MasterKey,
    subject: Uuid,
    owner: Uuid,
    channel: Option<Uuid>,
) -> (DataKey, Value) {
    let key = DataKey::generate();
    let entry = json!({
        "owner": owner,
        "channel": channel,
        "wrapped": STANDARD.encode(master.wrap(subject, &key)),
    });
    (key, entry)
}

/// Gives every live user a data key who has none (they registered before personal data was
/// sealed): the client address of every event a user causes is sealed under it. Users who
/// register now bring theirs with their registration. Concurrent starts agree (one insert wins).
pub async fn ensure_user_keys(pool: &PgPool, master: &MasterKey) -> Result<u64, sqlx::Error> {
    let keyless: Vec<Uuid> = sqlx::query_scalar(
        "SELECT user_id FROM user_identity_claims c
          WHERE NOT EXISTS (SELECT 1 FROM data_keys k WHERE k.subject_id = c.user_id)",
    )
    .fetch_all(pool)
    .await?;
    let wanted: Vec<NewKey> = keyless
        .into_iter()
        .map(|user| NewKey {
            subject: user,
            owner: user,
            channel: None,
        })
        .collect();
    let mut conn = pool.acquire().await?;
    insert_data_keys(&mut conn, master, &wanted).await
}

/// A subject that needs a data key: whose data it is, and the channel whose deletion destroys it.
#[derive(Debug, Clone, Copy)]
pub struct NewKey {
    pub subject: Uuid,
    pub owner: Uuid,
    pub channel: Option<Uuid>,
}

/// Keeps fresh data keys for `wanted` (outside an append: users registered before sealing, and
/// the subjects of an older log being sealed); a subject
/// that already has one keeps it. The keys as stored are then read back with [`data_keys`].
/// Returns how many were added.
pub async fn insert_data_keys(
    conn: &mut PgConnection,
    master: &MasterKey,
    wanted: &[NewKey],
) -> Result<u64, sqlx::Error> {
    if wanted.is_empty() {
        return Ok(0);
    }
    let added = sqlx::query(
        "INSERT INTO data_keys (subject_id, owner_id, channel_id, wrapped)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bytea[])
         ON CONFLICT (subject_id) DO NOTHING",
    )
    .bind(wanted.iter().map(|k| k.subject).collect::<Vec<_>>())
    .bind(wanted.iter().map(|k| k.owner).collect::<Vec<_>>())
    .bind(wanted.iter().map(|k| k.channel).collect::<Vec<_>>())
    .bind(
        wanted
            .iter()
            .map(|k| master.wrap(k.subject, &DataKey::generate()))
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(added)
}

/// The data keys of `subjects` that still exist, unwrapped (a destroyed key is simply absent).
pub async fn data_keys(
    conn: &mut PgConnection,
    master: &MasterKey,
    subjects: &[Uuid],
) -> Result<HashMap<Uuid, DataKey>, KeyError> {
    let mut wanted: Vec<Uuid> = subjects.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut rows = Vec::with_capacity(wanted.len());
    let mut unsettled = wanted.as_slice();
    let mut outside = Vec::new();
    if wanted.len() >= STRETCH_MIN {
        // A large batch (a rebuild's, an audit's) is mostly the posts of one stretch of time,
        // whose ids (UUIDv7) are neighbours in the primary key: walking that stretch of the
        // index once is several times cheaper for PostgreSQL than one descent per id. The ids
        // outside it (edits of older messages, users) are looked up one by one, and so is all
        // of it when the stretch holds too many other keys to walk to its end.
        let skip = wanted.len() / 20;
        let stretch = &wanted[skip..wanted.len() - skip];
        let (first, last) = (stretch[0], stretch[stretch.len() - 1]);
        let limit = 2 * stretch.len() as i64 + 100;
        let walked: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
            "SELECT subject_id, wrapped FROM data_keys WHERE subject_id BETWEEN $1 AND $2
              ORDER BY subject_id LIMIT $3",
        )
        .bind(first)
        .bind(last)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        if (walked.len() as i64) < limit {
            // Walked to the end: a wanted id of the stretch that it did not meet has no key.
            rows.extend(
                walked
                    .into_iter()
                    .filter(|(id, _)| stretch.binary_search(id).is_ok()),
            );
            outside.extend_from_slice(&wanted[..skip]);
            outside.extend_from_slice(&wanted[wanted.len() - skip..]);
            unsettled = &outside;
        }
    }
    if !unsettled.is_empty() {
        // The array behind a sub-select: seeing a rebuild's 25,000 ids, the planner would scan
        // the whole table (several times slower on a million keys, measured); not seeing their
        // number, it walks the primary key, which is what a batch of any size wants.
        let probed: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
            "SELECT subject_id, wrapped FROM data_keys WHERE subject_id = ANY((SELECT $1::uuid[])::uuid[])",
        )
        .bind(unsettled)
        .fetch_all(&mut *conn)
        .await?;
        rows.extend(probed);
    }
    rows.into_iter()
        .map(|(subject, wrapped)| Ok((subject, master.unwrap(subject, &wrapped)?)))
        .collect()
}

/// From how many subjects [`data_keys`] walks a stretch of the primary key first.
const STRETCH_MIN: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("a data key does not unwrap with the master key: {0}")]
    Seal(#[from] SealError),
}

/// Keys re-wrapped per round trip by [`rotate_master_key`].
const ROTATION_BATCH: i64 = 10_000;

/// Re-wraps every data key under `new` and records `new` as the database's master key, in one
/// transaction: a failure leaves everything under `old`. The data keys themselves, and so every
/// sealed field of the log, do not change. Returns how many keys were re-wrapped.
pub async fn rotate_master_key(
    pool: &PgPool,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<u64, RotationError> {
    let mut tx = crate::tx::begin(pool).await?;
    let recorded: Vec<u8> = sqlx::query_scalar("SELECT sealed FROM master_key_check WHERE id = 1 FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    if !old.verifies(&recorded) {
        return Err(RotationError::WrongKey);
    }
    // New keys (appends) wait for the rotation; it then answers for all of them.
    sqlx::query("LOCK TABLE data_keys IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let mut rewrapped = 0;
    let mut after = Uuid::nil();
    loop {
        let rows: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
            "SELECT subject_id, wrapped FROM data_keys WHERE subject_id > $1 ORDER BY subject_id LIMIT $2",
        )
        .bind(after)
        .bind(ROTATION_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(&(last, _)) = rows.last() else {
            break;
        };
        after = last;
        let mut subjects = Vec::with_capacity(rows.len());
        let mut wrapped = Vec::with_capacity(rows.len());
        for (subject, old_wrapped) in rows {
            let key = old.unwrap(subject, &old_wrapped)?;
            wrapped.push(new.wrap(subject, &key));
            subjects.push(subject);
        }
        rewrapped += sqlx::query(
            "UPDATE data_keys k SET wrapped = r.wrapped
               FROM unnest($1::uuid[], $2::bytea[]) AS r(subject_id, wrapped)
              WHERE k.subject_id = r.subject_id",
        )
        .bind(&subjects)
        .bind(&wrapped)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    sqlx::query("UPDATE master_key_check SET sealed = $1 WHERE id = 1")
        .bind(new.check_value())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rewrapped)
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("the current master key is not this database's")]
    WrongKey,
    #[error("a data key does not unwrap with the current master key: {0}")]
    Seal(#[from] SealError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
