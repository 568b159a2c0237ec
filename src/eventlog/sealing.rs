//! Personal data on the command side: sealed before an append, opened when a stream loads
//! (ARCHITECTURE.md "Personal data", `projections::personal`). Aggregates only ever see
//! plaintext, or `Personal::Erased` where a key was destroyed.

use cqrs_es::persist::{PersistenceError, SerializedEvent};
use projections::personal::{self, fields, EventPlace, MasterKey};
use sqlx::PgPool;
use uuid::Uuid;

fn place(event: &SerializedEvent) -> EventPlace<'_> {
    EventPlace {
        aggregate_type: &event.aggregate_type,
        aggregate_id: &event.aggregate_id,
        sequence: event.sequence as i64,
        event_type: &event.event_type,
    }
}

fn subject(event: &SerializedEvent) -> Result<Uuid, PersistenceError> {
    Uuid::parse_str(&event.aggregate_id).map_err(|e| PersistenceError::UnknownError(Box::new(e)))
}

fn unknown(e: impl std::error::Error + Send + Sync + 'static) -> PersistenceError {
    PersistenceError::UnknownError(Box::new(e))
}

fn the_master_key() -> Result<&'static MasterKey, PersistenceError> {
    personal::installed().ok_or_else(|| {
        PersistenceError::UnknownError("no master key installed: personal data cannot be sealed".into())
    })
}

/// `events` with their personal fields sealed. A stream's first event brings a new data key for
/// its subject in its metadata (the append keeps it: migration 0013); later events use the kept
/// key, or bring one if the stream predates sealing.
pub async fn seal_for_append(
    pool: &PgPool,
    events: &[SerializedEvent],
) -> Result<Vec<SerializedEvent>, PersistenceError> {
    let mut sealed = events.to_vec();
    for event in &mut sealed {
        if place(event).fields().is_empty() {
            continue;
        }
        let master = the_master_key()?;
        let subject = subject(event)?;
        let kept = if event.sequence == 1 {
            None
        } else {
            let mut conn = pool
                .acquire()
                .await
                .map_err(|e| PersistenceError::ConnectionError(Box::new(e)))?;
            personal::data_keys(&mut conn, master, &[subject])
                .await
                .map_err(unknown)?
                .remove(&subject)
        };
        let key = match kept {
            Some(key) => key,
            None => {
                let body = &event.payload[&event.event_type];
                let id = |field: &str| {
                    body.get(field)
                        .and_then(|v| v.as_str())
                        .and_then(|v| Uuid::parse_str(v).ok())
                };
                let actor = event
                    .metadata
                    .get("actor_id")
                    .and_then(|v| v.as_str())
                    .and_then(|v| Uuid::parse_str(v).ok());
                let owner = id("author_id").or(actor).unwrap_or(subject);
                let (key, entry) = personal::new_data_key(master, subject, owner, id("channel_id"));
                event.metadata["data_key"] = entry;
                key
            }
        };
        // Disjoint fields: the place borrows the identity while the payload changes.
        let place = EventPlace {
            aggregate_type: &event.aggregate_type,
            aggregate_id: &event.aggregate_id,
            sequence: event.sequence as i64,
            event_type: &event.event_type,
        };
        fields::seal(place, &key, &mut event.payload);
    }
    Ok(sealed)
}

/// Opens the sealed fields of a loaded stream (all of one subject): with its key, or as erased
/// where the key was destroyed. A field that does not open is an error, never shown as erased.
pub async fn open_stream(pool: &PgPool, events: &mut [SerializedEvent]) -> Result<(), PersistenceError> {
    let Some(first) = events.iter().find(|e| fields::has_sealed(place(e), &e.payload)) else {
        return Ok(());
    };
    let master = the_master_key()?;
    let subject = subject(first)?;
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| PersistenceError::ConnectionError(Box::new(e)))?;
    let key = personal::data_keys(&mut conn, master, &[subject])
        .await
        .map_err(unknown)?
        .remove(&subject);
    for event in events.iter_mut() {
        if fields::has_sealed(place(event), &event.payload) {
            event.payload = fields::open(place(event), key.as_ref(), &event.payload).map_err(unknown)?;
        }
    }
    Ok(())
}
