//! Golden files for the audit output: hand-built events and states (fixed ids, times, positions)
//! rendered by the pure formatters and compared byte for byte with `tests/golden/`.
//!
//! When a change to the output is intended, regenerate and review the difference:
//!
//! ```sh
//! ZYNC_UPDATE_GOLDEN=1 cargo test --test api audit_golden
//! git diff tests/golden/
//! ```

use std::path::PathBuf;

use aggregates::channel::ChannelEvent;
use aggregates::message::{DeletionReason, MessageEvent, MessageKind, StoredFile};
use aggregates::user::{Profile, ProfileChanges, UserEvent};
use aggregates::values::{
    Bio, ChannelDescription, ChannelName, ContentType, Email, FileName, MessageContent, PersonName,
    StorageKey, Username,
};
use chrono::{DateTime, Duration, Utc};
use cqrs_es::DomainEvent;
use projections::RecordedEvent;
use serde_json::json;
use uuid::Uuid;
use zync::audit::format::{json_line, table_header, table_row, EventLine};
use zync::audit::state::{ChannelAsOf, ChannelHistory, Existence, MemberAsOf, MessageAsOf};
use zync::audit::state_format::channel_table;
use zync::audit::summary::Summarizer;
use zync::audit::Bound;

const ALICE: &str = "01900000-0000-7000-8000-0000000000a1";
const BOB: &str = "01900000-0000-7000-8000-0000000000b0";
const CHANNEL: &str = "01900000-0000-7000-8000-0000000000c1";
const M1: &str = "01900000-0000-7000-8000-0000000000d1";
const M2: &str = "01900000-0000-7000-8000-0000000000d2";
const M3: &str = "01900000-0000-7000-8000-0000000000d3";
const M4: &str = "01900000-0000-7000-8000-0000000000d4";

fn id(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    "2026-03-01T09:00:00.250000Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(seconds)
}

/// Compares with `tests/golden/<name>`, or rewrites it when `ZYNC_UPDATE_GOLDEN` is set.
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("ZYNC_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (ZYNC_UPDATE_GOLDEN=1 creates it)", path.display()));
    assert!(
        actual == expected,
        "output differs from {}; if intended, rerun with ZYNC_UPDATE_GOLDEN=1 and review the diff.\n\
         --- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Hand-built events: every event type, in one made-up channel's life.
fn events() -> Vec<RecordedEvent> {
    // (aggregate type, (version, payload)): each event as stored at its current version.
    let user = |e: UserEvent| ("User", (e.event_version(), serde_json::to_value(e).unwrap()));
    let channel = |e: ChannelEvent| ("Channel", (e.event_version(), serde_json::to_value(e).unwrap()));
    let message = |e: MessageEvent| ("Message", (e.event_version(), serde_json::to_value(e).unwrap()));
    let text = |s: &str| MessageContent::parse(s).unwrap();
    let rows = vec![
        // (aggregate id, actor, request id, event). A registration's actor is the new user;
        // alice's has none, as an event appended outside a request would, to pin how that reads.
        (
            ALICE,
            None,
            "req-0001",
            user(UserEvent::UserRegistered {
                user_id: id(ALICE),
                username: Username::parse("alice").unwrap().into(),
                email: Email::from_checked("alice@example.com").unwrap().into(),
                profile: Profile::default(),
            }),
        ),
        (
            BOB,
            Some(BOB),
            "req-0002",
            user(UserEvent::UserRegistered {
                user_id: id(BOB),
                username: Username::parse("bob").unwrap().into(),
                email: Email::from_checked("bob@example.com").unwrap().into(),
                profile: Profile {
                    first_name: Some(PersonName::parse("Bob").unwrap()),
                    bio: Some(Bio::parse("builds things").unwrap()),
                    ..Profile::default()
                },
            }),
        ),
        (
            CHANNEL,
            Some(ALICE),
            "req-0003",
            channel(ChannelEvent::ChannelCreated {
                channel_id: id(CHANNEL),
                name: ChannelName::parse("general").unwrap(),
                description: Some(ChannelDescription::parse("Everything & nothing").unwrap()),
                owner_id: id(ALICE),
            }),
        ),
        (
            CHANNEL,
            Some(ALICE),
            "req-0003",
            channel(ChannelEvent::MemberJoined { user_id: id(ALICE) }),
        ),
        (
            CHANNEL,
            Some(BOB),
            "req-0004",
            channel(ChannelEvent::MemberJoined { user_id: id(BOB) }),
        ),
        (
            M1,
            Some(ALICE),
            "req-0005",
            message(MessageEvent::TextMessagePosted {
                message_id: id(M1),
                channel_id: id(CHANNEL),
                author_id: id(ALICE),
                content: text("Hello, \"world\"\nsecond line").into(),
            }),
        ),
        (
            M1,
            Some(ALICE),
            "a-client-chosen-request-id-that-is-far-too-long-to-fit",
            message(MessageEvent::MessageEdited {
                channel_id: id(CHANNEL),
                content: text("Hello, world").into(),
            }),
        ),
        (
            M2,
            Some(BOB),
            "req\t0007",
            message(MessageEvent::FileMessagePosted {
                message_id: id(M2),
                channel_id: id(CHANNEL),
                author_id: id(BOB),
                message_type: MessageKind::Image,
                file: StoredFile {
                    s3_key: StorageKey::parse("media/01900000-0000-7000-8000-0000000000d2.png").unwrap(),
                    content_type: ContentType::parse("image/png").unwrap(),
                    original_filename: FileName::parse("cat.png").unwrap().into(),
                },
            }),
        ),
        (
            M3,
            Some(BOB),
            "req-0008",
            message(MessageEvent::MessageEdited {
                channel_id: id(CHANNEL),
                content: text("fixed typo").into(),
            }),
        ),
        (
            CHANNEL,
            Some(ALICE),
            "req-0009",
            channel(ChannelEvent::ChannelUpdated {
                name: Some(ChannelName::parse("lobby").unwrap()),
                description: Some(None),
            }),
        ),
        (
            BOB,
            Some(BOB),
            "req-0010",
            user(UserEvent::UserProfileUpdated {
                changes: ProfileChanges {
                    username: Some(Username::parse("bobby").unwrap()),
                    first_name: Some(Some(PersonName::parse("Robert").unwrap())),
                    bio: Some(None),
                    ..ProfileChanges::default()
                },
            }),
        ),
        (
            M2,
            Some(ALICE),
            "req-0011",
            message(MessageEvent::MessageDeleted {
                channel_id: id(CHANNEL),
                deleted_by: id(ALICE),
                reason: DeletionReason::ByChannelOwner,
            }),
        ),
        (
            M4,
            Some(BOB),
            "req-0012",
            message(MessageEvent::TextMessagePosted {
                message_id: id(M4),
                channel_id: id(CHANNEL),
                author_id: id(BOB),
                content: text(&"a very long message that goes on and on ".repeat(3)).into(),
            }),
        ),
        (
            M4,
            Some(ALICE),
            "req-0013",
            message(MessageEvent::MessageDeleted {
                channel_id: id(CHANNEL),
                deleted_by: id(ALICE),
                reason: DeletionReason::ChannelCleared,
            }),
        ),
        (
            M1,
            Some(ALICE),
            "req-0014",
            message(MessageEvent::MessageDeleted {
                channel_id: id(CHANNEL),
                deleted_by: id(ALICE),
                reason: DeletionReason::ByAuthor,
            }),
        ),
        (
            CHANNEL,
            Some(ALICE),
            "req-0015",
            channel(ChannelEvent::ChannelOwnershipTransferred {
                previous_owner_id: id(ALICE),
                new_owner_id: id(BOB),
            }),
        ),
        (
            CHANNEL,
            Some(ALICE),
            "req-0016",
            channel(ChannelEvent::MemberLeft { user_id: id(ALICE) }),
        ),
        (
            ALICE,
            Some(ALICE),
            "req-0017",
            user(UserEvent::UserPasswordChanged {}),
        ),
        (
            CHANNEL,
            Some(BOB),
            "req-0018",
            channel(ChannelEvent::ChannelDeleted {}),
        ),
        (ALICE, Some(ALICE), "req-0019", user(UserEvent::UserDeleted {})),
    ];
    let mut sequences = std::collections::HashMap::new();
    rows.into_iter()
        .enumerate()
        .map(
            |(i, (aggregate_id, actor, request_id, (aggregate_type, (event_version, payload))))| {
                let i = i as i64;
                let sequence = sequences.entry(aggregate_id).or_insert(0);
                *sequence += 1;
                let mut metadata = json!({"request_id": request_id, "client_addr": "203.0.113.7"});
                if let Some(actor) = actor {
                    metadata["actor_id"] = json!(actor);
                }
                RecordedEvent {
                    // Positions with a gap (a rolled-back append took 4), as real logs have.
                    global_position: 100 + i + i64::from(i >= 4),
                    tx_id: 7000 + i,
                    aggregate_type: aggregate_type.to_string(),
                    aggregate_id: aggregate_id.to_string(),
                    sequence: *sequence,
                    event_type: payload.as_object().unwrap().keys().next().unwrap().clone(),
                    event_version,
                    payload,
                    metadata,
                    recorded_at: at(i * 61) + Duration::microseconds(i * 1001),
                    posted_in: None,
                    opened: None,
                    erased: false,
                    opened_metadata: None,
                }
            },
        )
        .collect()
}

/// Both renderings of the replay, through the same summarizer the CLI uses.
fn render() -> (String, String) {
    let mut summarizer = Summarizer::default();
    let mut table = format!("{}\n", table_header());
    let mut jsonl = String::new();
    for event in &events() {
        let decoded = event.decode().expect("a known event");
        let summary = summarizer.summarize(event.aggregate_uuid().unwrap(), &decoded, event.erased);
        let line = EventLine {
            event,
            summary: &summary,
        };
        table.push_str(&format!("{}\n", table_row(&line)));
        jsonl.push_str(&format!("{}\n", json_line(&line)));
    }
    (table, jsonl)
}

#[test]
fn audit_golden_replay_table() {
    golden("audit_replay.table", &render().0);
}

#[test]
fn audit_golden_replay_jsonl() {
    golden("audit_replay.jsonl", &render().1);
}

#[test]
fn audit_golden_channel_as_of_table() {
    let message =
        |mid: &str, author: &str, name: Option<&str>, content: Option<&str>, minutes: i64| MessageAsOf {
            id: id(mid),
            channel_id: id(CHANNEL),
            author_id: id(author),
            author_username: name.map(String::from),
            message_type: if content.is_some() {
                MessageKind::Text
            } else {
                MessageKind::Image
            },
            content: content.map(String::from),
            s3_key: content.is_none().then(|| "media/x.png".to_string()),
            content_type: content.is_none().then(|| "image/png".to_string()),
            original_filename: content.is_none().then(|| "cat.png".to_string()),
            created_at: at(minutes * 60),
            updated_at: at(minutes * 60 + if mid == M1 { 30 } else { 0 }),
            edited: mid == M1,
        };
    let state = ChannelHistory {
        channel_id: id(CHANNEL),
        as_of: Bound::Position(42),
        last_position: Some(41),
        status: Existence::Live,
        channel: Some(ChannelAsOf {
            id: id(CHANNEL),
            name: "general".into(),
            description: Some("Everything & nothing".into()),
            owner_id: id(ALICE),
            owner_username: Some("alice".into()),
            created_at: at(0),
            updated_at: at(90),
        }),
        members: vec![
            MemberAsOf {
                user_id: id(ALICE),
                username: Some("alice".into()),
                joined_at: at(0),
            },
            MemberAsOf {
                user_id: id(BOB),
                username: Some("bobby".into()),
                joined_at: at(45),
            },
        ],
        messages: vec![
            message(M1, ALICE, Some("alice"), Some("Hello, \"world\"\nsecond line"), 1),
            message(M2, BOB, None, None, 2),
        ],
        deleted_message_ids: vec![id(M3)],
    };
    golden("audit_channel_as_of.table", &channel_table(&state));
}
