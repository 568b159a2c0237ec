//! One readable line per change: what happened, to what, and (where the selection showed it
//! earlier) what it was before.

use std::collections::{HashMap, VecDeque};

use aggregates::channel::ChannelEvent;
use aggregates::message::{DeletionReason, MessageEvent};
use aggregates::user::UserEvent;
use projections::DecodedEvent;
use uuid::Uuid;

/// Texts longer than this many characters are cut (with `…`) in summaries; the JSON output
/// carries the full payload.
pub const TEXT_CHARS: usize = 60;

/// How many earlier texts, names and usernames a summarizer remembers, each. A replay of a huge log
/// then holds bounded memory; an edit of something forgotten reads like one whose earlier text
/// is outside the selection.
pub const DEFAULT_RECALL: usize = 100_000;

/// Turns events, in feed order, into summaries, remembering what earlier events said.
pub struct Summarizer {
    texts: Recall,
    channel_names: Recall,
    usernames: Recall,
}

impl Default for Summarizer {
    fn default() -> Self {
        Self::with_recall(DEFAULT_RECALL)
    }
}

impl Summarizer {
    pub fn with_recall(capacity: usize) -> Self {
        Self {
            texts: Recall::new(capacity),
            channel_names: Recall::new(capacity),
            usernames: Recall::new(capacity),
        }
    }

    /// The summary of an event of aggregate `id`; call in feed order. `erased`: its personal
    /// fields' key is gone ([`projections::RecordedEvent::erased`]).
    pub fn summarize(&mut self, id: Uuid, decoded: &DecodedEvent, erased: bool) -> String {
        match decoded {
            // Its fields open as null, which would read as "cleared".
            DecodedEvent::User(UserEvent::UserProfileUpdated { .. }) if erased => {
                format!("updated user {id} (profile erased)")
            }
            DecodedEvent::User(e) => self.user(id, e),
            DecodedEvent::Channel(e) => self.channel(id, e),
            DecodedEvent::Message(e) => self.message(id, e),
        }
    }

    fn user(&mut self, id: Uuid, event: &UserEvent) -> String {
        match event {
            UserEvent::UserRegistered { username, email, .. } => {
                let (Some(username), Some(email)) = (username.known(), email.known()) else {
                    return format!("registered user {id} (profile erased)");
                };
                let name = quote(username.as_str());
                let line = format!("registered user {id} {name} <{email}>");
                self.usernames.put(id, name);
                line
            }
            UserEvent::UserProfileUpdated { changes: c } => {
                let mut parts = Vec::new();
                if let Some(name) = &c.username {
                    let name = quote(name.as_str());
                    parts.push(match self.usernames.put(id, name.clone()) {
                        Some(old) => format!("username {old} -> {name}"),
                        None => format!("username -> {name}"),
                    });
                }
                if let Some(email) = &c.email {
                    parts.push(format!("email -> <{email}>"));
                }
                let optional = [
                    (
                        "first_name",
                        c.first_name.as_ref().map(|v| v.as_ref().map(|v| v.as_str())),
                    ),
                    (
                        "last_name",
                        c.last_name.as_ref().map(|v| v.as_ref().map(|v| v.as_str())),
                    ),
                    ("bio", c.bio.as_ref().map(|v| v.as_ref().map(|v| v.as_str()))),
                    (
                        "profile_picture",
                        c.profile_picture.as_ref().map(|v| v.as_ref().map(|v| v.as_str())),
                    ),
                ];
                for (field, change) in optional {
                    match change {
                        Some(Some(value)) => parts.push(format!("{field} -> {}", quote(value))),
                        Some(None) => parts.push(format!("{field} cleared")),
                        None => {}
                    }
                }
                format!("updated user {id}: {}", parts.join(", "))
            }
            UserEvent::UserPasswordChanged {} => format!("changed the password of user {id}"),
            UserEvent::UserDeleted {} => match self.usernames.get(id) {
                Some(name) => format!("deleted user {id} {name}"),
                None => format!("deleted user {id}"),
            },
            UserEvent::UserErased {} => format!("erased user {id}"),
        }
    }

    fn channel(&mut self, id: Uuid, event: &ChannelEvent) -> String {
        match event {
            ChannelEvent::ChannelCreated {
                name,
                description,
                owner_id,
                ..
            } => {
                let name = quote(name.as_str());
                let mut line = format!("created channel {id} {name} owned by {owner_id}");
                if let Some(d) = description {
                    line.push_str(&format!(", description {}", quote(d.as_str())));
                }
                self.channel_names.put(id, name);
                line
            }
            ChannelEvent::ChannelUpdated { name, description } => {
                let mut parts = Vec::new();
                if let Some(name) = name {
                    let name = quote(name.as_str());
                    parts.push(match self.channel_names.put(id, name.clone()) {
                        Some(old) => format!("name {old} -> {name}"),
                        None => format!("name -> {name}"),
                    });
                }
                match description {
                    Some(Some(d)) => parts.push(format!("description -> {}", quote(d.as_str()))),
                    Some(None) => parts.push("description cleared".into()),
                    None => {}
                }
                format!("updated channel {id}: {}", parts.join(", "))
            }
            ChannelEvent::ChannelOwnershipTransferred {
                previous_owner_id,
                new_owner_id,
            } => format!("transferred channel {id} from {previous_owner_id} to {new_owner_id}"),
            ChannelEvent::ChannelDeleted {} => match self.channel_names.get(id) {
                Some(name) => format!("deleted channel {id} {name}"),
                None => format!("deleted channel {id}"),
            },
            ChannelEvent::MemberJoined { user_id } => format!("user {user_id} joined channel {id}"),
            ChannelEvent::MemberLeft { user_id } => format!("user {user_id} left channel {id}"),
        }
    }

    fn message(&mut self, id: Uuid, event: &MessageEvent) -> String {
        match event {
            MessageEvent::TextMessagePosted {
                channel_id, content, ..
            } => {
                let Some(content) = content.known() else {
                    return format!("posted message {id} in channel {channel_id} (text erased)");
                };
                let text = quote(content.as_str());
                let line = format!("posted message {id} in channel {channel_id}: {text}");
                self.texts.put(id, text);
                line
            }
            MessageEvent::FileMessagePosted {
                channel_id,
                message_type,
                file,
                ..
            } => format!(
                "posted {} message {id} in channel {channel_id}: {} ({})",
                message_type.as_str(),
                file.original_filename
                    .known()
                    .map_or_else(erased, |n| quote(n.as_str())),
                file.content_type
            ),
            MessageEvent::MessageEdited { content, .. } => {
                let Some(content) = content.known() else {
                    return format!("edited message {id} (text erased)");
                };
                let text = quote(content.as_str());
                match self.texts.put(id, text.clone()) {
                    Some(old) => format!("edited message {id}: {old} -> {text}"),
                    None => format!("edited message {id}: {text} (earlier text not in this selection)"),
                }
            }
            MessageEvent::MessageDeleted {
                deleted_by, reason, ..
            } => {
                let how = match reason {
                    DeletionReason::ByAuthor => "by its author".to_string(),
                    DeletionReason::ByChannelOwner => format!("by the channel owner {deleted_by}"),
                    DeletionReason::ChannelCleared => format!("channel cleared by its owner {deleted_by}"),
                };
                match self.texts.get(id) {
                    Some(text) => format!("deleted message {id} ({how}), it read {text}"),
                    None => format!("deleted message {id} ({how})"),
                }
            }
        }
    }
}

/// How a file name whose key was destroyed reads (docs/personal-data.md).
fn erased() -> String {
    "(name erased)".to_string()
}

/// A quoted, one-line, length-bounded rendering of user-supplied text: Rust string syntax, so
/// quotes, newlines and control characters are escaped and a line stays a line.
pub fn quote(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(TEXT_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

/// A bounded map that forgets its oldest entries first.
struct Recall {
    capacity: usize,
    values: HashMap<Uuid, String>,
    order: VecDeque<Uuid>,
}

impl Recall {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            values: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn get(&self, id: Uuid) -> Option<&String> {
        self.values.get(&id)
    }

    /// Stores `value`, returning the one it replaces.
    fn put(&mut self, id: Uuid, value: String) -> Option<String> {
        let old = self.values.insert(id, value);
        if old.is_none() {
            self.order.push_back(id);
            while self.order.len() > self.capacity {
                if let Some(evicted) = self.order.pop_front() {
                    self.values.remove(&evicted);
                }
            }
        }
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_escape_and_cut_long_text() {
        assert_eq!(quote("say \"hi\"\nnow"), r#""say \"hi\"\nnow""#);
        let long = "é".repeat(TEXT_CHARS + 1);
        assert_eq!(quote(&long), format!("\"{}\"…", "é".repeat(TEXT_CHARS)));
        assert_eq!(
            quote(&"é".repeat(TEXT_CHARS)),
            format!("\"{}\"", "é".repeat(TEXT_CHARS))
        );
    }

    #[test]
    fn recall_forgets_the_oldest_first() {
        let mut r = Recall::new(2);
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        r.put(a, "a".into());
        r.put(b, "b".into());
        assert_eq!(r.put(a, "a2".into()).as_deref(), Some("a"));
        r.put(c, "c".into());
        assert!(r.get(a).is_none(), "a was the oldest entry");
        assert_eq!(r.get(b).map(String::as_str), Some("b"));
        assert_eq!(r.get(c).map(String::as_str), Some("c"));
    }
}
