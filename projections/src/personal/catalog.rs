//! Which fields of which events hold personal data, and under whose key they are sealed. Every
//! new event field is checked against ARCHITECTURE.md "Personal data" and listed here (and in
//! docs/personal-data.md) if it holds any.

use aggregates::aggregate_types::{MESSAGE, USER};

/// The personal fields of an event: paths inside its body (`payload[event_type]`, keys separated
/// by dots), each sealed under the data key of the event's own aggregate (a message's content
/// under that message's key, a profile under its user's), so destroying the key erases them.
pub fn personal_fields(aggregate_type: &str, event_type: &str) -> &'static [&'static str] {
    match (aggregate_type, event_type) {
        (MESSAGE, "TextMessagePosted" | "MessageEdited") => &["content"],
        (MESSAGE, "FileMessagePosted") => &["original_filename"],
        (USER, "UserRegistered") => &[
            "username",
            "email",
            "first_name",
            "last_name",
            "bio",
            "profile_picture",
        ],
        (USER, "UserProfileUpdated") => &[
            "changes.username",
            "changes.email",
            "changes.first_name",
            "changes.last_name",
            "changes.bio",
            "changes.profile_picture",
        ],
        _ => &[],
    }
}

/// The personal entries of any event's metadata: sealed under the data key of the user who caused
/// the event (`metadata.actor_id`), so erasing that user erases where they connected from.
pub const ACTOR_METADATA: &[&str] = &["client_addr"];

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
