//! Events and values shared by the message aggregate's tests (`message.rs`, `message_json.rs`).
#![allow(dead_code)] // Each test crate uses its own share of them.

use aggregates::message::{DeletionReason, MessageEvent, MessageKind, StoredFile};
use aggregates::values::{ContentType, FileName, MessageContent, StorageKey};
use uuid::Uuid;

pub const MSG: Uuid = Uuid::from_u128(0x3E55);
pub const CHAN: Uuid = Uuid::from_u128(0xC4A7);
pub const AUTHOR: Uuid = Uuid::from_u128(0xA07);
pub const OWNER: Uuid = Uuid::from_u128(0x0111);
pub const OTHER: Uuid = Uuid::from_u128(0x07E2);

pub fn text(s: &str) -> MessageContent {
    MessageContent::parse_text(s).unwrap()
}

pub fn file(content_type: &str) -> StoredFile {
    StoredFile {
        s3_key: StorageKey::parse("media/0190a0b0-0000-7000-8000-000000000001.png").unwrap(),
        content_type: ContentType::parse(content_type).unwrap(),
        original_filename: FileName::parse("cat.png").unwrap().into(),
    }
}

pub fn text_posted() -> MessageEvent {
    MessageEvent::TextMessagePosted {
        message_id: MSG,
        channel_id: CHAN,
        author_id: AUTHOR,
        content: text("hello").into(),
    }
}

pub fn file_posted(content_type: &str, message_type: MessageKind) -> MessageEvent {
    MessageEvent::FileMessagePosted {
        message_id: MSG,
        channel_id: CHAN,
        author_id: AUTHOR,
        message_type,
        file: file(content_type),
    }
}

pub fn deleted(deleted_by: Uuid, reason: DeletionReason) -> MessageEvent {
    MessageEvent::MessageDeleted {
        channel_id: CHAN,
        deleted_by,
        reason,
    }
}
