//! The rule walk over small hand-written logs.

use aggregates::message::DeletionReason;
use aggregates::values::{ChannelName, MessageContent};
use serde_json::json;

use super::*;

/// Feeds `(aggregate, event)` pairs in order and returns the broken rules by position (1-based).
fn check(log: Vec<(Uuid, DecodedEvent)>) -> Vec<(i64, &'static str)> {
    let mut rules = RuleCheck::default();
    for (i, (aggregate, decoded)) in log.into_iter().enumerate() {
        let event = RecordedEvent {
            global_position: i as i64 + 1,
            tx_id: i as i64 + 1,
            aggregate_type: String::new(),
            aggregate_id: aggregate.to_string(),
            sequence: 1,
            event_type: "Test".into(),
            event_version: "1".into(),
            payload: json!({}),
            metadata: json!({}),
            recorded_at: chrono::Utc::now(),
            posted_in: None,
            opened: None,
            erased: false,
            opened_metadata: None,
        };
        rules.observe(&event, &decoded).unwrap();
    }
    rules.violations().iter().map(|v| (v.position, v.rule)).collect()
}

fn registered(user: Uuid) -> (Uuid, DecodedEvent) {
    let event: UserEvent = serde_json::from_value(json!({"UserRegistered": {
        "user_id": user, "username": "someone", "email": "someone@example.com",
        "first_name": null, "last_name": null, "bio": null, "profile_picture": null}}))
    .unwrap();
    (user, DecodedEvent::User(event))
}

fn channel(id: Uuid, event: ChannelEvent) -> (Uuid, DecodedEvent) {
    (id, DecodedEvent::Channel(event))
}

fn message(id: Uuid, event: MessageEvent) -> (Uuid, DecodedEvent) {
    (id, DecodedEvent::Message(event))
}

fn post(channel_id: Uuid, author_id: Uuid) -> MessageEvent {
    MessageEvent::TextMessagePosted {
        message_id: Uuid::now_v7(),
        channel_id,
        author_id,
        content: MessageContent::parse("hello").unwrap().into(),
    }
}

/// A live owner with a channel they belong to: positions 1-3.
fn world(owner: Uuid, c: Uuid) -> Vec<(Uuid, DecodedEvent)> {
    vec![
        registered(owner),
        channel(
            c,
            ChannelEvent::ChannelCreated {
                channel_id: c,
                name: ChannelName::parse("general").unwrap(),
                description: None,
                owner_id: owner,
            },
        ),
        channel(c, ChannelEvent::MemberJoined { user_id: owner }),
    ]
}

#[test]
fn a_log_that_keeps_every_rule_has_no_violation() {
    let (owner, member, c, m) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut log = world(owner, c);
    log.extend([
        registered(member),
        channel(c, ChannelEvent::MemberJoined { user_id: member }),
        message(m, post(c, member)),
        message(
            m,
            MessageEvent::MessageEdited {
                channel_id: c,
                content: MessageContent::parse("edited").unwrap().into(),
            },
        ),
        channel(c, ChannelEvent::MemberLeft { user_id: member }),
        // Authors may delete what they wrote after leaving.
        message(
            m,
            MessageEvent::MessageDeleted {
                channel_id: c,
                deleted_by: member,
                reason: DeletionReason::ByAuthor,
            },
        ),
        channel(c, ChannelEvent::ChannelDeleted {}),
    ]);
    assert_eq!(check(log), vec![]);
}

#[test]
fn a_post_after_its_authors_leave_breaks_a_rule_at_its_position() {
    let (owner, member, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut log = world(owner, c);
    log.extend([
        registered(member),
        channel(c, ChannelEvent::MemberJoined { user_id: member }),
        channel(c, ChannelEvent::MemberLeft { user_id: member }),
        message(Uuid::now_v7(), post(c, member)),
    ]);
    assert_eq!(check(log), vec![(7, "only members post")]);
}

#[test]
fn events_after_a_channels_deletion_break_rules() {
    let (owner, c, m) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut log = world(owner, c);
    log.extend([
        message(m, post(c, owner)),
        channel(c, ChannelEvent::ChannelDeleted {}),
        message(Uuid::now_v7(), post(c, owner)),
        message(
            m,
            MessageEvent::MessageEdited {
                channel_id: c,
                content: MessageContent::parse("late").unwrap().into(),
            },
        ),
        channel(c, ChannelEvent::MemberJoined { user_id: owner }),
    ]);
    let broken = check(log);
    assert_eq!(
        broken,
        vec![
            (6, "posts go to an existing channel"),
            (7, "only a live message in an existing channel is edited"),
            (
                8,
                "nothing happens to a channel that does not exist (or was deleted)"
            ),
        ]
    );
}

#[test]
fn deletions_by_a_former_owner_and_transfers_to_strangers_break_rules() {
    let (owner, member, stranger, c, m) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let mut log = world(owner, c);
    log.extend([
        registered(member),
        channel(c, ChannelEvent::MemberJoined { user_id: member }),
        message(m, post(c, member)),
        channel(
            c,
            ChannelEvent::ChannelOwnershipTransferred {
                previous_owner_id: owner,
                new_owner_id: member,
            },
        ),
        message(
            m,
            MessageEvent::MessageDeleted {
                channel_id: c,
                deleted_by: owner,
                reason: DeletionReason::ByChannelOwner,
            },
        ),
        registered(stranger),
        channel(
            c,
            ChannelEvent::ChannelOwnershipTransferred {
                previous_owner_id: member,
                new_owner_id: stranger,
            },
        ),
    ]);
    assert_eq!(
        check(log),
        vec![
            (8, "only the author or the channel's owner deletes a message"),
            (10, "ownership passes to a member"),
        ]
    );
}

#[test]
fn a_deleted_user_neither_posts_nor_joins() {
    let (owner, c) = (Uuid::now_v7(), Uuid::now_v7());
    let mut log = world(owner, c);
    log.extend([
        (owner, DecodedEvent::User(UserEvent::UserDeleted {})),
        message(Uuid::now_v7(), post(c, owner)),
    ]);
    assert_eq!(check(log), vec![(5, "only an existing user posts")]);
}
