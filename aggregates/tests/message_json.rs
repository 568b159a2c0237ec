//! The message events' stored JSON and its versions: kept forever, so its shape is checked here,
//! apart from the given/when/then tests of `message.rs`.

mod message_fixtures;

use aggregates::message::{DeletionReason, MessageEvent, MessageKind};
use cqrs_es::DomainEvent;
use message_fixtures::*;

#[test]
fn events_round_trip_through_serde() {
    let events = vec![
        text_posted(),
        MessageEvent::TextMessagePosted {
            message_id: MSG,
            channel_id: CHAN,
            author_id: AUTHOR,
            content: text("multi-line\n«unicode» 😀\ttab \"quotes\"").into(),
        },
        file_posted("image/png", MessageKind::Image),
        file_posted("video/mp4", MessageKind::Video),
        file_posted("audio/ogg", MessageKind::Audio),
        file_posted("application/pdf", MessageKind::File),
        MessageEvent::MessageEdited {
            channel_id: CHAN,
            content: text("v2").into(),
        },
        deleted(AUTHOR, DeletionReason::ByAuthor),
        deleted(OWNER, DeletionReason::ByChannelOwner),
        deleted(OWNER, DeletionReason::ChannelCleared),
    ];
    for event in events {
        let json = serde_json::to_value(&event).unwrap();
        // The guard trigger reads `payload -> event_type`: the serde tag must be the event type.
        let tags: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(tags, [&event.event_type()]);
        // Version 2 of edits and deletions added `channel_id`; posts are still at version 1.
        let version = match event {
            MessageEvent::MessageEdited { .. } | MessageEvent::MessageDeleted { .. } => "2",
            _ => "1",
        };
        assert_eq!(event.event_version(), version);
        assert!(MessageEvent::readable(&event.event_type(), version));
        let back: MessageEvent = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, event, "{json}");
    }
}

/// Version 1 of an edit and a deletion, as stored before `channel_id` (kept forever): upcast,
/// they read as version 2 with the channel of their message's post; nothing else reads them.
#[test]
fn version_1_edits_and_deletions_upcast_to_version_2() {
    let mut edit = serde_json::json!({"MessageEdited": {"content": "v2"}});
    let mut deletion = serde_json::json!({"MessageDeleted": {
        "deleted_by": "00000000-0000-0000-0000-000000000111",
        "reason": "channel_cleared",
    }});
    assert!(
        serde_json::from_value::<MessageEvent>(edit.clone()).is_err(),
        "needs the channel"
    );
    for (event_type, payload) in [("MessageEdited", &mut edit), ("MessageDeleted", &mut deletion)] {
        assert!(MessageEvent::needs_channel(event_type, "1"));
        assert!(!MessageEvent::needs_channel(event_type, "2"));
        assert!(MessageEvent::readable(event_type, "1"));
        assert!(!MessageEvent::readable(event_type, "3"));
        MessageEvent::upcast_v1(event_type, payload, CHAN);
    }
    assert!(!MessageEvent::needs_channel("TextMessagePosted", "1"));
    assert!(!MessageEvent::readable("TextMessagePosted", "2"));
    assert_eq!(
        serde_json::from_value::<MessageEvent>(edit).unwrap(),
        MessageEvent::MessageEdited {
            channel_id: CHAN,
            content: text("v2").into(),
        }
    );
    assert_eq!(
        serde_json::from_value::<MessageEvent>(deletion).unwrap(),
        deleted(OWNER, DeletionReason::ChannelCleared)
    );
    let post = serde_json::to_value(text_posted()).unwrap();
    assert_eq!(
        MessageEvent::posted_channel("TextMessagePosted", &post),
        Some(CHAN)
    );
}

/// Stored events are kept forever and the SQL guard triggers (migrations/0002) read these shapes
/// (the membership check reads `channel_id` / `author_id` of a posted message): changing any of them
/// needs an upcaster for the events already stored, not just an edit here.
#[test]
fn stored_json_shape_is_stable() {
    assert_eq!(
        serde_json::to_value(text_posted()).unwrap(),
        serde_json::json!({"TextMessagePosted": {
            "message_id": "00000000-0000-0000-0000-000000003e55",
            "channel_id": "00000000-0000-0000-0000-00000000c4a7",
            "author_id": "00000000-0000-0000-0000-000000000a07",
            "content": "hello",
        }})
    );
    // The stored file is flattened into the event; `message_type` is lowercase.
    assert_eq!(
        serde_json::to_value(file_posted("image/png", MessageKind::Image)).unwrap(),
        serde_json::json!({"FileMessagePosted": {
            "message_id": "00000000-0000-0000-0000-000000003e55",
            "channel_id": "00000000-0000-0000-0000-00000000c4a7",
            "author_id": "00000000-0000-0000-0000-000000000a07",
            "message_type": "image",
            "s3_key": "media/0190a0b0-0000-7000-8000-000000000001.png",
            "content_type": "image/png",
            "original_filename": "cat.png",
        }})
    );
    // Version 2: the channel is named.
    assert_eq!(
        serde_json::to_value(deleted(OWNER, DeletionReason::ChannelCleared)).unwrap(),
        serde_json::json!({"MessageDeleted": {
            "channel_id": "00000000-0000-0000-0000-00000000c4a7",
            "deleted_by": "00000000-0000-0000-0000-000000000111",
            "reason": "channel_cleared",
        }})
    );
    assert_eq!(
        serde_json::to_value(DeletionReason::ByChannelOwner).unwrap(),
        serde_json::json!("by_channel_owner")
    );
}
