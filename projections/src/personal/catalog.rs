//! Which fields of which events hold personal data, and under whose key they are sealed. Every
//! new event field is checked against ARCHITECTURE.md "Personal data" and listed here (and in
//! docs/personal-data.md) if it holds any.

use aggregates::aggregate_types::MESSAGE;

/// The personal fields of an event: paths inside its body (`payload[event_type]`), each sealed
/// under the data key of the event's own aggregate (a message's content under that message's
/// key), so destroying the key erases them.
pub fn personal_fields(aggregate_type: &str, event_type: &str) -> &'static [&'static str] {
    match (aggregate_type, event_type) {
        (MESSAGE, "TextMessagePosted" | "MessageEdited") => &["content"],
        (MESSAGE, "FileMessagePosted") => &["original_filename"],
        _ => &[],
    }
}

/// The associated data of a sealed field: the event's identity and the field's path, so a
/// ciphertext copied to another event or field is refused.
pub fn field_aad(
    aggregate_type: &str,
    aggregate_id: &str,
    sequence: i64,
    event_type: &str,
    path: &str,
) -> String {
    format!("{aggregate_type}/{aggregate_id}/{sequence}/{event_type}/{path}")
}
