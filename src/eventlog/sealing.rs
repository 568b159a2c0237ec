//! Personal data on the command side: sealed before an append, opened when a stream loads
//! (ARCHITECTURE.md "Personal data", `projections::personal`). Aggregates only ever see
//! plaintext, or `Personal::Erased` where a key was destroyed.

use std::collections::HashMap;

use cqrs_es::persist::{PersistenceError, SerializedEvent};
use projections::personal::{self, fields, DataKey, EventPlace, MasterKey};
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

fn uuid_at(value: &serde_json::Value, key: &str) -> Option<Uuid> {
    value.get(key)?.as_str().and_then(|v| Uuid::parse_str(v).ok())
}

/// `events` with their personal data sealed, ready to append:
/// - personal fields of the payload under the data key of the event's subject. A stream's first
///   event brings a new key in its metadata (the append keeps it: migration 0013); later events
///   use the kept key, or bring one if the stream predates sealing;
/// - the client address in the metadata under the actor's key (every live user has one: see
///   [`personal::ensure_user_keys`]); without one it is left out, never stored in the clear;
/// - a user's new username and e-mail also travel, in the clear, as `metadata.identity`, which
///   the identity guard reads and the append removes before the row is stored (migration 0014).
pub async fn seal_for_append(
    pool: &PgPool,
    events: &[SerializedEvent],
) -> Result<Vec<SerializedEvent>, PersistenceError> {
    let mut sealed = events.to_vec();
    let needs_subject_key = |e: &SerializedEvent| !place(e).fields().is_empty();
    let has_addr = |e: &SerializedEvent| e.metadata.get("client_addr").is_some_and(|v| !v.is_null());
    if !sealed.iter().any(|e| needs_subject_key(e) || has_addr(e)) {
        return Ok(sealed);
    }
    let master = the_master_key()?;
    // Every key this append needs and may already exist: the actors' from the cache, the rest
    // in one query.
    let mut keys: HashMap<Uuid, DataKey> = HashMap::new();
    let mut wanted = Vec::new();
    for event in &sealed {
        if needs_subject_key(event) && event.sequence > 1 {
            wanted.push(subject(event)?);
        }
        if has_addr(event) {
            if let Some(actor) = uuid_at(&event.metadata, "actor_id") {
                match actor_keys::get(actor) {
                    Some(key) => drop(keys.insert(actor, key)),
                    None => wanted.push(actor),
                }
            }
        }
    }
    if !wanted.is_empty() {
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| PersistenceError::ConnectionError(Box::new(e)))?;
        let found = personal::data_keys(&mut conn, master, &wanted)
            .await
            .map_err(unknown)?;
        for event in &sealed {
            if let Some(actor) = uuid_at(&event.metadata, "actor_id").filter(|_| has_addr(event)) {
                if let Some(key) = found.get(&actor) {
                    actor_keys::put(actor, key.clone());
                }
            }
        }
        keys.extend(found);
    }
    for event in &mut sealed {
        if event.aggregate_type == aggregates::aggregate_types::USER {
            carry_identity(event);
        }
        if needs_subject_key(event) {
            let subject = subject(event)?;
            let key = keys.entry(subject).or_insert_with(|| {
                let body = &event.payload[&event.event_type];
                let actor = uuid_at(&event.metadata, "actor_id");
                let owner = uuid_at(body, "author_id").or(actor).unwrap_or(subject);
                let (key, entry) =
                    personal::new_data_key(master, subject, owner, uuid_at(body, "channel_id"));
                event.metadata["data_key"] = entry;
                key
            });
            // Out of the event while it changes: its place borrows the rest of it.
            let mut payload = std::mem::take(&mut event.payload);
            fields::seal(place(event), key, &mut payload);
            event.payload = payload;
        }
        if has_addr(event) {
            let actor_key = uuid_at(&event.metadata, "actor_id").and_then(|actor| keys.get(&actor));
            let mut metadata = std::mem::take(&mut event.metadata);
            fields::seal_metadata(place(event), actor_key, &mut metadata);
            event.metadata = metadata;
        }
    }
    Ok(sealed)
}

/// Copies a user event's new username and e-mail, before they are sealed, to where the identity
/// guard reads them (`metadata.identity`; migration 0014 removes it before the row is stored).
fn carry_identity(event: &mut SerializedEvent) {
    let body = &event.payload[&event.event_type];
    let changed = body.get("changes").unwrap_or(body);
    let mut identity = serde_json::Map::new();
    for field in ["username", "email"] {
        if let Some(value) = changed.get(field).filter(|v| v.is_string()) {
            identity.insert(field.to_owned(), value.clone());
        }
    }
    if !identity.is_empty() {
        event.metadata["identity"] = serde_json::Value::Object(identity);
    }
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

/// Users' keys this process recently sealed client addresses with, so that an append by a known
/// actor costs no key query (a post is the hot path). Only the write side uses it: readers always
/// ask the database, so a destroyed key is never used to open anything. A key cached here after
/// its user was erased elsewhere cannot seal anything that gets stored: the guard refuses every
/// event by a user who no longer exists, in the same order as the erasure (migration 0008).
mod actor_keys {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    use projections::personal::DataKey;
    use uuid::Uuid;

    /// About 100 bytes each: a few megabytes at most, then it starts over.
    const CAPACITY: usize = 50_000;

    static KEYS: LazyLock<Mutex<HashMap<Uuid, DataKey>>> = LazyLock::new(Default::default);

    pub fn get(user: Uuid) -> Option<DataKey> {
        KEYS.lock().ok()?.get(&user).cloned()
    }

    pub fn put(user: Uuid, key: DataKey) {
        if let Ok(mut keys) = KEYS.lock() {
            if keys.len() >= CAPACITY {
                keys.clear();
            }
            keys.insert(user, key);
        }
    }
}
