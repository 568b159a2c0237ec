//! Sealing and opening the personal fields of one stored event's payload.

use serde_json::Value;

use super::catalog::{field_aad, personal_fields};
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

    /// The event's personal fields.
    pub fn fields(&self) -> &'static [&'static str] {
        personal_fields(self.aggregate_type, self.event_type)
    }
}

fn body_mut<'v>(payload: &'v mut Value, event_type: &str) -> Option<&'v mut serde_json::Map<String, Value>> {
    payload.get_mut(event_type)?.as_object_mut()
}

/// Seals every personal field of `payload` in place (a null field stays null: nothing to hide).
pub fn seal(place: EventPlace<'_>, key: &DataKey, payload: &mut Value) {
    let Some(body) = body_mut(payload, place.event_type) else {
        return;
    };
    for path in place.fields() {
        if let Some(value) = body.get_mut(*path) {
            if !value.is_null() && !is_sealed(value) {
                *value = key.seal(&place.aad(path), value);
            }
        }
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
        .any(|path| body.get(*path).is_some_and(is_sealed))
}

/// `payload` with its sealed fields opened with `key`, or set to null (erased) when the key is
/// gone (`None`). Fields stored in the clear (a log written before sealing) stay as they are. A
/// field that does not open with its key is an error: altered, or moved from another event.
pub fn open(place: EventPlace<'_>, key: Option<&DataKey>, payload: &Value) -> Result<Value, SealError> {
    let mut opened = payload.clone();
    let Some(body) = body_mut(&mut opened, place.event_type) else {
        return Ok(opened);
    };
    for path in place.fields() {
        if let Some(value) = body.get_mut(*path) {
            if is_sealed(value) {
                *value = match key {
                    Some(key) => key.open(&place.aad(path), value)?,
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
}
