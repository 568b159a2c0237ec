//! Sealing and opening the personal fields of one stored event's payload.

use serde_json::Value;

use super::catalog::{field_aad, personal_fields, ACTOR_METADATA};
use super::cipher::{is_sealed, DataKey, SealError};

/// Where a stored event is: its identity, for the associated data of its fields.
#[derive(Debug, Clone, Copy)]
pub struct EventPlace<'a> {
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub sequence: i64,
    pub event_type: &'a str,
}

impl EventPlace<'_> {
    fn aad(&self, path: &str) -> String {
        field_aad(
            self.aggregate_type,
            self.aggregate_id,
            self.sequence,
            self.event_type,
            path,
        )
    }

    /// Metadata entries are bound to the event as well, under a path of their own.
    fn metadata_aad(&self, path: &str) -> String {
        self.aad(&format!("metadata.{path}"))
    }

    /// The event's personal fields.
    pub fn fields(&self) -> &'static [&'static str] {
        personal_fields(self.aggregate_type, self.event_type)
    }
}

/// The value at `path` (dot-separated keys) below `root`.
fn slot<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(root, |value, key| value.get(key))
}

fn slot_mut<'v>(root: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    path.split('.').try_fold(root, |value, key| value.get_mut(key))
}

/// Seals the values at `paths` below `root` in place (a null stays null: nothing to hide).
fn seal_in(root: &mut Value, paths: &[&str], key: &DataKey, aad: impl Fn(&str) -> String) {
    for path in paths {
        if let Some(value) = slot_mut(root, path) {
            if !value.is_null() && !is_sealed(value) {
                *value = key.seal(&aad(path), value);
            }
        }
    }
}

/// Opens the sealed values at `paths` below `root` in place, or sets them to null (erased) when
/// the key is gone. Values stored in the clear (a log written before sealing) stay as they are.
fn open_in(
    root: &mut Value,
    paths: &[&str],
    key: Option<&DataKey>,
    aad: impl Fn(&str) -> String,
) -> Result<(), SealError> {
    for path in paths {
        if let Some(value) = slot_mut(root, path) {
            if is_sealed(value) {
                *value = match key {
                    Some(key) => key.open(&aad(path), value)?,
                    None => Value::Null,
                };
            }
        }
    }
    Ok(())
}

/// Seals every personal field of `payload` in place.
pub fn seal(place: EventPlace<'_>, key: &DataKey, payload: &mut Value) {
    if let Some(body) = payload.get_mut(place.event_type) {
        seal_in(body, place.fields(), key, |path| place.aad(path));
    }
}

/// Whether `payload` holds a sealed personal field.
pub fn has_sealed(place: EventPlace<'_>, payload: &Value) -> bool {
    let Some(body) = payload.get(place.event_type) else {
        return false;
    };
    place
        .fields()
        .iter()
        .any(|path| slot(body, path).is_some_and(is_sealed))
}

/// Whether `payload` holds a personal field in the clear (a log written before sealing).
pub fn has_plain(place: EventPlace<'_>, payload: &Value) -> bool {
    let Some(body) = payload.get(place.event_type) else {
        return false;
    };
    place
        .fields()
        .iter()
        .any(|path| slot(body, path).is_some_and(|v| !v.is_null() && !is_sealed(v)))
}

/// Whether `metadata` holds a personal entry in the clear.
pub fn metadata_has_plain(metadata: &Value) -> bool {
    ACTOR_METADATA
        .iter()
        .any(|path| slot(metadata, path).is_some_and(|v| !v.is_null() && sealed_entry(v).is_none()))
}

/// `payload` with its sealed fields opened with `key`, or set to null (erased) when the key is
/// gone (`None`). Fields stored in the clear (a log written before sealing) stay as they are. A
/// field that does not open with its key is an error: altered, or moved from another event.
pub fn open(place: EventPlace<'_>, key: Option<&DataKey>, payload: &Value) -> Result<Value, SealError> {
    let mut opened = payload.clone();
    open_in_place(place, key, &mut opened)?;
    Ok(opened)
}

/// [`open`] without the copy: `payload` becomes what readers see (partly opened on an error).
pub fn open_in_place(
    place: EventPlace<'_>,
    key: Option<&DataKey>,
    payload: &mut Value,
) -> Result<(), SealError> {
    match payload.get_mut(place.event_type) {
        Some(body) => open_in(body, place.fields(), key, |path| place.aad(path)),
        None => Ok(()),
    }
}

/// Metadata holds strings only (cqrs-es reads it as a map of strings), so a sealed entry is the
/// sealed value's text behind this prefix.
const SEALED_ENTRY: &str = "sealed:";

fn sealed_entry(value: &Value) -> Option<Value> {
    let text = value.as_str()?.strip_prefix(SEALED_ENTRY)?;
    Some(serde_json::json!({ "sealed": text }))
}

/// Seals the actor's personal entries of an event's `metadata` (its client address) in place,
/// under the actor's key. Without one (no actor, or one without a key) they are left out: never
/// stored in the clear.
pub fn seal_metadata(place: EventPlace<'_>, actor_key: Option<&DataKey>, metadata: &mut Value) {
    for path in ACTOR_METADATA {
        let Some(value) = slot_mut(metadata, path) else {
            continue;
        };
        if value.is_null() || sealed_entry(value).is_some() {
            continue;
        }
        match actor_key {
            Some(key) => {
                let sealed = key.seal(&place.metadata_aad(path), value);
                let text = sealed["sealed"].as_str().unwrap_or_default();
                *value = Value::String(format!("{SEALED_ENTRY}{text}"));
            }
            None => {
                if let Some(entries) = metadata.as_object_mut() {
                    entries.remove(*path);
                }
            }
        }
    }
}

/// Whether `metadata` holds a sealed entry.
pub fn metadata_has_sealed(metadata: &Value) -> bool {
    ACTOR_METADATA
        .iter()
        .any(|path| slot(metadata, path).and_then(sealed_entry).is_some())
}

/// `metadata` with its sealed entries opened with the actor's key, or null where it is gone.
pub fn open_metadata(
    place: EventPlace<'_>,
    actor_key: Option<&DataKey>,
    metadata: &Value,
) -> Result<Value, SealError> {
    let mut opened = metadata.clone();
    for path in ACTOR_METADATA {
        if let Some(value) = slot_mut(&mut opened, path) {
            if let Some(sealed) = sealed_entry(value) {
                *value = match actor_key {
                    Some(key) => key.open(&place.metadata_aad(path), &sealed)?,
                    None => Value::Null,
                };
            }
        }
    }
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn place<'a>(id: &'a str, sequence: i64, event_type: &'static str) -> EventPlace<'a> {
        EventPlace {
            aggregate_type: "Message",
            aggregate_id: id,
            sequence,
            event_type,
        }
    }

    #[test]
    fn personal_fields_are_sealed_and_open_again_the_rest_stays_readable() {
        let key = DataKey::generate();
        let plain = json!({"TextMessagePosted": {"message_id": "m", "channel_id": "c", "author_id": "a",
                                                 "content": "secret words"}});
        let mut sealed = plain.clone();
        seal(place("m", 1, "TextMessagePosted"), &key, &mut sealed);
        let text = sealed.to_string();
        assert!(!text.contains("secret words"), "{text}");
        assert_eq!(sealed["TextMessagePosted"]["author_id"], "a");
        assert!(has_sealed(place("m", 1, "TextMessagePosted"), &sealed));
        assert_eq!(
            open(place("m", 1, "TextMessagePosted"), Some(&key), &sealed).unwrap(),
            plain
        );
        // Without its key, the field reads as erased.
        let erased = open(place("m", 1, "TextMessagePosted"), None, &sealed).unwrap();
        assert_eq!(erased["TextMessagePosted"]["content"], Value::Null);
        assert_eq!(erased["TextMessagePosted"]["author_id"], "a");
    }

    #[test]
    fn a_sealed_field_moved_to_another_event_is_refused() {
        let key = DataKey::generate();
        let mut first = json!({"MessageEdited": {"channel_id": "c", "content": "one"}});
        seal(place("m", 2, "MessageEdited"), &key, &mut first);
        let mut second = json!({"MessageEdited": {"channel_id": "c", "content": "two"}});
        seal(place("m", 3, "MessageEdited"), &key, &mut second);
        // Swap the two ciphertexts.
        let swapped =
            json!({"MessageEdited": {"channel_id": "c", "content": first["MessageEdited"]["content"]}});
        assert_eq!(
            open(place("m", 3, "MessageEdited"), Some(&key), &swapped).unwrap_err(),
            SealError::Refused
        );
        assert!(open(place("m", 3, "MessageEdited"), Some(&key), &second).is_ok());
    }

    #[test]
    fn plaintext_of_an_older_log_reads_as_it_is() {
        let plain = json!({"FileMessagePosted": {"original_filename": "cat.png", "s3_key": "k"}});
        let place = place("m", 1, "FileMessagePosted");
        assert!(!has_sealed(place, &plain));
        assert_eq!(open(place, None, &plain).unwrap(), plain);
    }

    #[test]
    fn a_client_address_is_sealed_as_a_string_and_bound_to_its_event() {
        let key = DataKey::generate();
        let plain = json!({"actor_id": "a", "client_addr": "203.0.113.7"});
        let mut sealed = plain.clone();
        seal_metadata(place("m", 1, "TextMessagePosted"), Some(&key), &mut sealed);
        assert!(sealed["client_addr"].as_str().unwrap().starts_with("sealed:"));
        assert!(!sealed.to_string().contains("203.0.113.7"));
        assert!(metadata_has_sealed(&sealed));
        let at = place("m", 1, "TextMessagePosted");
        assert_eq!(open_metadata(at, Some(&key), &sealed).unwrap(), plain);
        assert_eq!(
            open_metadata(at, None, &sealed).unwrap()["client_addr"],
            Value::Null
        );
        assert_eq!(
            open_metadata(place("m", 2, "MessageEdited"), Some(&key), &sealed).unwrap_err(),
            SealError::Refused
        );
    }

    #[test]
    fn profile_changes_are_sealed_below_changes_and_a_cleared_field_stays_null() {
        let key = DataKey::generate();
        let at = EventPlace {
            aggregate_type: "User",
            aggregate_id: "u",
            sequence: 2,
            event_type: "UserProfileUpdated",
        };
        let plain = json!({"UserProfileUpdated": {"changes": {"username": "alice2", "bio": null}}});
        let mut sealed = plain.clone();
        seal(at, &key, &mut sealed);
        assert!(!sealed.to_string().contains("alice2"));
        assert_eq!(sealed["UserProfileUpdated"]["changes"]["bio"], Value::Null);
        assert!(has_sealed(at, &sealed));
        assert_eq!(open(at, Some(&key), &sealed).unwrap(), plain);
    }
}
