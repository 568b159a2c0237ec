//! Sealing a log written before personal data was sealed (ADR 0011): the one rewrite of the log
//! ever allowed. Every event keeps its identity, type, version, place and time; only the
//! personal fields of its payload and metadata are replaced by their sealed form, under the keys
//! new appends would have used. Subjects the log says are gone (deleted messages, the messages of
//! deleted channels, erased users) get no usable key: their plaintext leaves the log for good.
//!
//! It runs a batch of events per transaction in feed position order and skips what is sealed
//! already, so it can be interrupted at any point and run again.

use std::collections::{HashMap, HashSet};

use aggregates::aggregate_types::{CHANNEL, MESSAGE, USER};
use projections::personal::{self, fields, EventPlace, MasterKey, NewKey};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::names::{CHANNEL_DELETED, MESSAGE_DELETED, USER_ERASED};

/// Events read (and at most rewritten) per transaction.
const BATCH: i64 = 500;

/// How far a run is: events looked at, and how many of them it sealed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub scanned: i64,
    pub total: i64,
    pub sealed: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    global_position: i64,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    payload: Value,
    metadata: Value,
}

impl Row {
    fn place(&self) -> EventPlace<'_> {
        EventPlace {
            aggregate_type: &self.aggregate_type,
            aggregate_id: &self.aggregate_id,
            sequence: self.sequence,
            event_type: &self.event_type,
        }
    }

    fn plain_payload(&self) -> bool {
        fields::has_plain(self.place(), &self.payload)
    }

    fn plain_metadata(&self) -> bool {
        fields::metadata_has_plain(&self.metadata)
    }

    fn actor(&self) -> Option<Uuid> {
        let actor = self.metadata.get("actor_id")?.as_str()?;
        Uuid::parse_str(actor).ok()
    }
}

/// Seals every personal field still in the clear, reporting after each batch; then destroys the
/// keys of everything the log says was deleted or erased.
pub async fn seal_older_log(
    pool: &PgPool,
    master: &MasterKey,
    mut report: impl FnMut(Progress),
) -> Result<Progress, sqlx::Error> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    let mut progress = Progress {
        total,
        ..Progress::default()
    };
    let mut after = 0_i64;
    loop {
        let mut tx = projections::tx::begin(pool).await?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT global_position, aggregate_type, aggregate_id, sequence, event_type, payload, metadata
               FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.global_position;
        progress.scanned += rows.len() as i64;
        progress.sealed += seal_batch(&mut tx, master, rows).await?;
        tx.commit().await?;
        report(progress);
    }
    destroy_keys_of_the_gone(pool).await?;
    // Each rewritten row left its plaintext version behind, dead: make that space reusable now
    // rather than when autovacuum comes by, and give the planner the new rows' statistics.
    sqlx::query("VACUUM (ANALYZE) events").execute(pool).await?;
    sqlx::query("ANALYZE data_keys").execute(pool).await?;
    Ok(progress)
}

/// Seals one batch in `conn`'s transaction; how many events it rewrote.
async fn seal_batch(conn: &mut PgConnection, master: &MasterKey, rows: Vec<Row>) -> Result<i64, sqlx::Error> {
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|r| r.plain_payload() || r.plain_metadata())
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    let keys = keys_for(conn, master, &rows).await?;
    let mut positions = Vec::with_capacity(rows.len());
    let mut payloads = Vec::with_capacity(rows.len());
    let mut metadatas = Vec::with_capacity(rows.len());
    for mut row in rows {
        if row.plain_payload() {
            if let Some(key) = subject(&row).and_then(|s| keys.get(&s)) {
                // Out of the row while it changes: its place borrows the rest of it.
                let mut payload = std::mem::take(&mut row.payload);
                fields::seal(row.place(), key, &mut payload);
                row.payload = payload;
            }
        }
        if row.plain_metadata() {
            // Nobody to seal it for (an operator's action): it is left out.
            let actor_key = row.actor().and_then(|a| keys.get(&a));
            let mut metadata = std::mem::take(&mut row.metadata);
            fields::seal_metadata(row.place(), actor_key, &mut metadata);
            row.metadata = metadata;
        }
        positions.push(row.global_position);
        payloads.push(row.payload);
        metadatas.push(row.metadata);
    }
    sqlx::query("SET LOCAL zync.rewrite = 'seal-personal-data'")
        .execute(&mut *conn)
        .await?;
    let rewritten = sqlx::query(
        "UPDATE events e SET payload = s.payload, metadata = s.metadata
           FROM unnest($1::bigint[], $2::jsonb[], $3::jsonb[]) AS s(global_position, payload, metadata)
          WHERE e.global_position = s.global_position",
    )
    .bind(&positions)
    .bind(&payloads)
    .bind(&metadatas)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("RESET zync.rewrite").execute(&mut *conn).await?;
    Ok(rewritten as i64)
}

/// The subject whose key seals an event's payload: its aggregate.
fn subject(row: &Row) -> Option<Uuid> {
    Uuid::parse_str(&row.aggregate_id).ok()
}

/// The keys the batch needs: its subjects' and its actors', made where missing (a message's owned
/// by its author and tied to its channel, as an append would have made it).
async fn keys_for(
    conn: &mut PgConnection,
    master: &MasterKey,
    rows: &[Row],
) -> Result<HashMap<Uuid, personal::DataKey>, sqlx::Error> {
    let mut subjects: HashSet<Uuid> = HashSet::new();
    let mut messages: Vec<String> = Vec::new();
    for row in rows {
        if row.plain_payload() {
            if let Some(subject) = subject(row) {
                if subjects.insert(subject) && row.aggregate_type == MESSAGE {
                    messages.push(row.aggregate_id.clone());
                }
            }
        }
        if row.plain_metadata() {
            subjects.extend(row.actor());
        }
    }
    let subjects: Vec<Uuid> = subjects.into_iter().collect();
    let found = personal::data_keys(conn, master, &subjects)
        .await
        .map_err(key_error)?;
    let origins: HashMap<String, (Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
        "SELECT m.id, o.channel_id, o.author_id FROM unnest($1::text[]) AS m(id),
                LATERAL message_origin(m.id) o",
    )
    .bind(&messages)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(id, channel, author): (String, Option<Uuid>, Option<Uuid>)| (id, (channel, author)))
    .collect();
    let missing: Vec<NewKey> = subjects
        .iter()
        .filter(|s| !found.contains_key(s))
        .map(|&subject| match origins.get(&subject.to_string()) {
            Some(&(channel, author)) => NewKey {
                subject,
                owner: author.unwrap_or(subject),
                channel,
            },
            // A user (their profile, or the addresses they acted from).
            None => NewKey {
                subject,
                owner: subject,
                channel: None,
            },
        })
        .collect();
    personal::insert_data_keys(conn, master, &missing).await?;
    personal::data_keys(conn, master, &subjects)
        .await
        .map_err(key_error)
}

fn key_error(e: personal::KeyError) -> sqlx::Error {
    match e {
        personal::KeyError::Database(e) => e,
        personal::KeyError::Seal(e) => sqlx::Error::Protocol(format!("a data key does not unwrap: {e}")),
    }
}

/// Destroys the keys of every subject the log says is gone: deleted messages, the messages of
/// deleted channels, erased users and what they owned. Appends did this as they happened; for an
/// older log it happens here, once its plaintext is sealed. Running it again changes nothing.
async fn destroy_keys_of_the_gone(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = projections::tx::begin(pool).await?;
    let gone: Vec<uuid::Uuid> = sqlx::query_scalar(&format!(
        "SELECT k.subject_id FROM data_keys k
          WHERE EXISTS (SELECT 1 FROM events e
                         WHERE e.aggregate_type = '{MESSAGE}' AND e.aggregate_id = k.subject_id::text
                           AND e.event_type = '{MESSAGE_DELETED}')
             OR EXISTS (SELECT 1 FROM events e
                         WHERE e.aggregate_type = '{CHANNEL}' AND e.aggregate_id = k.channel_id::text
                           AND e.event_type = '{CHANNEL_DELETED}')
             OR EXISTS (SELECT 1 FROM events e
                         WHERE e.aggregate_type = '{USER}' AND e.event_type = '{USER_ERASED}'
                           AND e.aggregate_id IN (k.owner_id::text, k.subject_id::text))"
    ))
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("SELECT forget_posts($1)")
        .bind(&gone)
        .execute(&mut *tx)
        .await?;
    let destroyed = sqlx::query("DELETE FROM data_keys WHERE subject_id = ANY($1)")
        .bind(&gone)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(destroyed)
}
