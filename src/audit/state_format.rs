//! Reconstructed states as text: labelled fields, then aligned tables of members and messages.
//! (Their JSON is the states' serde form.) Text is shown whole, in Rust string syntax, so a
//! message keeps to one line however it was written.

use aggregates::message::MessageKind;
use uuid::Uuid;

use super::bound::Bound;
use super::format::time;
use super::state::{ChannelHistory, Existence, MessageAsOf, MessageHistory, UserHistory};

/// The text of a user-supplied value on one line, quoted and escaped, never cut.
fn text(value: &str) -> String {
    format!("{value:?}")
}

fn optional(value: Option<&str>) -> String {
    value.map_or_else(|| "-".to_string(), text)
}

/// `id (username)` when the name is known.
fn person(id: Uuid, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{id} ({name})"),
        None => id.to_string(),
    }
}

/// Label/value lines with the values aligned.
fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(label, value)| format!("{label:<width$}  {value}\n"))
        .collect()
}

/// Rows with every column but the last padded to its widest cell.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            }
        }
        format!("{}\n", out.trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The lines every state starts with.
fn preamble(
    kind: &'static str,
    id: Uuid,
    as_of: &Bound,
    status: Existence,
    last: Option<i64>,
) -> Vec<(&'static str, String)> {
    vec![
        (kind, id.to_string()),
        ("as of", as_of.to_string()),
        ("status", status.as_str().to_string()),
        (
            "last event",
            last.map_or_else(|| "none".to_string(), |p| format!("position {p}")),
        ),
    ]
}

/// What a message said: its text, or the file it carries.
fn body(m: &MessageAsOf) -> String {
    match &m.content {
        Some(content) => text(content),
        // Its key was destroyed (docs/personal-data.md).
        None if m.message_type == MessageKind::Text => "(text erased)".to_string(),
        None => format!(
            "[{}] {} ({})",
            m.message_type.as_str(),
            optional(m.original_filename.as_deref()),
            m.content_type.as_deref().unwrap_or("-")
        ),
    }
}

pub fn channel_table(h: &ChannelHistory) -> String {
    let mut pairs = preamble("channel", h.channel_id, &h.as_of, h.status, h.last_position);
    if let Some(c) = &h.channel {
        pairs.extend([
            ("name", text(&c.name)),
            ("description", optional(c.description.as_deref())),
            ("owner", person(c.owner_id, c.owner_username.as_deref())),
            ("created", time(&c.created_at)),
            ("updated", time(&c.updated_at)),
        ]);
    }
    let mut out = fields(&pairs);
    if h.status == Existence::Live {
        let members: Vec<Vec<String>> = h
            .members
            .iter()
            .map(|m| {
                vec![
                    m.user_id.to_string(),
                    m.username.clone().unwrap_or_else(|| "-".into()),
                    time(&m.joined_at),
                ]
            })
            .collect();
        out.push_str(&format!("\nMEMBERS ({})\n", members.len()));
        out.push_str(&table(&["USER", "USERNAME", "JOINED"], &members));
        let messages: Vec<Vec<String>> = h
            .messages
            .iter()
            .map(|m| {
                vec![
                    m.id.to_string(),
                    time(&m.created_at),
                    m.author_username
                        .clone()
                        .unwrap_or_else(|| m.author_id.to_string()),
                    if m.edited { time(&m.updated_at) } else { "-".into() },
                    body(m),
                ]
            })
            .collect();
        out.push_str(&format!("\nMESSAGES ({})\n", messages.len()));
        out.push_str(&table(&["ID", "POSTED", "AUTHOR", "EDITED", "TEXT"], &messages));
    }
    if !h.deleted_message_ids.is_empty() {
        out.push_str(&format!("\nDELETED MESSAGES ({})\n", h.deleted_message_ids.len()));
        for id in &h.deleted_message_ids {
            out.push_str(&format!("{id}\n"));
        }
    }
    out
}

pub fn user_table(h: &UserHistory) -> String {
    let mut pairs = preamble("user", h.user_id, &h.as_of, h.status, h.last_position);
    if let Some(u) = &h.user {
        pairs.extend([
            ("username", text(&u.username)),
            ("email", u.email.clone()),
            ("first name", optional(u.first_name.as_deref())),
            ("last name", optional(u.last_name.as_deref())),
            ("bio", optional(u.bio.as_deref())),
            ("picture", optional(u.profile_picture.as_deref())),
            ("registered", time(&u.created_at)),
            ("updated", time(&u.updated_at)),
        ]);
    }
    fields(&pairs)
}

pub fn message_table(h: &MessageHistory) -> String {
    let mut pairs = preamble("message", h.message_id, &h.as_of, h.status, h.last_position);
    if let Some(channel) = h.channel_id {
        pairs.push(("channel", channel.to_string()));
    }
    if h.channel_deleted {
        pairs.push(("note", "deleted with its channel".to_string()));
    }
    if let Some(m) = &h.message {
        pairs.extend([
            ("author", person(m.author_id, m.author_username.as_deref())),
            ("type", m.message_type.as_str().to_string()),
            ("text", body(m)),
            ("posted", time(&m.created_at)),
            (
                "edited",
                if m.edited {
                    time(&m.updated_at)
                } else {
                    "no".into()
                },
            ),
        ]);
    }
    fields(&pairs)
}
