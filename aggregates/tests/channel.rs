//! Given/when/then tests of the channel aggregate.

use aggregates::channel::{Channel, ChannelCommand, ChannelError, ChannelEvent};
use aggregates::values::{ChannelDescription, ChannelName};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use cqrs_es::DomainEvent;
use uuid::Uuid;

const CHAN: Uuid = Uuid::from_u128(0xC4A7);
const OWNER: Uuid = Uuid::from_u128(0x0111);
const BOB: Uuid = Uuid::from_u128(0xB0B);
const CAROL: Uuid = Uuid::from_u128(0xCA201);

fn cname(s: &str) -> ChannelName {
    ChannelName::parse(s).unwrap()
}
fn desc(s: &str) -> ChannelDescription {
    ChannelDescription::parse(s).unwrap()
}

fn created() -> ChannelEvent {
    ChannelEvent::ChannelCreated {
        channel_id: CHAN,
        name: cname("general"),
        description: Some(desc("Talk about anything")),
        owner_id: OWNER,
    }
}

fn joined(user_id: Uuid) -> ChannelEvent {
    ChannelEvent::MemberJoined { user_id }
}

fn transferred(previous_owner_id: Uuid, new_owner_id: Uuid) -> ChannelEvent {
    ChannelEvent::ChannelOwnershipTransferred {
        previous_owner_id,
        new_owner_id,
    }
}

fn update(actor: Uuid, name: Option<&str>, description: Option<Option<&str>>) -> ChannelCommand {
    ChannelCommand::Update {
        actor,
        name: name.map(cname),
        description: description.map(|d| d.map(desc)),
    }
}

fn updated(name: Option<&str>, description: Option<Option<&str>>) -> ChannelEvent {
    ChannelEvent::ChannelUpdated {
        name: name.map(cname),
        description: description.map(|d| d.map(desc)),
    }
}

fn transfer(actor: Uuid, new_owner_id: Uuid) -> ChannelCommand {
    ChannelCommand::TransferOwnership { actor, new_owner_id }
}

fn create_cmd() -> ChannelCommand {
    ChannelCommand::Create {
        channel_id: CHAN,
        name: cname("general"),
        description: Some(desc("Talk about anything")),
        owner_id: OWNER,
    }
}

/// A channel owned by OWNER with BOB as a second member.
fn given_channel() -> AggregateTestExecutor<Channel> {
    TestFramework::<Channel>::with(()).given(vec![created(), joined(OWNER), joined(BOB)])
}

fn given_deleted_channel() -> AggregateTestExecutor<Channel> {
    given_channel().and(vec![ChannelEvent::ChannelDeleted {}])
}

#[tokio::test]
async fn create_emits_created_then_owner_joined() {
    TestFramework::<Channel>::with(())
        .given_no_previous_events()
        .when_async(create_cmd())
        .await
        .then_expect_events(vec![created(), joined(OWNER)]);
}

#[tokio::test]
async fn create_twice_is_refused() {
    given_channel()
        .when_async(create_cmd())
        .await
        .then_expect_error(ChannelError::AlreadyExists);
    given_deleted_channel()
        .when_async(create_cmd())
        .await
        .then_expect_error(ChannelError::AlreadyExists);
}

#[tokio::test]
async fn update_by_owner_records_only_changes() {
    // The unchanged name is dropped from the event.
    given_channel()
        .when_async(update(OWNER, Some("general"), Some(Some("New topic"))))
        .await
        .then_expect_events(vec![updated(None, Some(Some("New topic")))]);
    given_channel()
        .when_async(update(OWNER, Some("random"), None))
        .await
        .then_expect_events(vec![updated(Some("random"), None)]);
}

#[tokio::test]
async fn update_can_clear_the_description() {
    given_channel()
        .when_async(update(OWNER, None, Some(None)))
        .await
        .then_expect_events(vec![updated(None, Some(None))]);
    // Once cleared, clearing again is a no-op.
    given_channel()
        .and(vec![updated(None, Some(None))])
        .when_async(update(OWNER, None, Some(None)))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn no_op_update_emits_nothing() {
    let same = Some(Some("Talk about anything"));
    for (name, description) in [
        (None, None),
        (Some("general"), None),
        (None, same),
        (Some("general"), same),
    ] {
        given_channel()
            .when_async(update(OWNER, name, description))
            .await
            .then_expect_events(vec![]);
    }
}

#[tokio::test]
async fn update_by_non_owner_is_refused() {
    for actor in [BOB, CAROL] {
        given_channel()
            .when_async(update(actor, Some("mine"), None))
            .await
            .then_expect_error(ChannelError::NotOwner);
    }
}

#[tokio::test]
async fn transfer_to_non_member_joins_them_first() {
    given_channel()
        .when_async(transfer(OWNER, CAROL))
        .await
        .then_expect_events(vec![joined(CAROL), transferred(OWNER, CAROL)]);
    // Once applied, CAROL is a member.
    given_channel()
        .and(vec![joined(CAROL), transferred(OWNER, CAROL)])
        .when_async(ChannelCommand::Join { user_id: CAROL })
        .await
        .then_expect_error(ChannelError::AlreadyMember);
}

#[tokio::test]
async fn transfer_to_member_emits_only_the_transfer() {
    given_channel()
        .when_async(transfer(OWNER, BOB))
        .await
        .then_expect_events(vec![transferred(OWNER, BOB)]);
}

#[tokio::test]
async fn transfer_to_self_is_a_no_op_and_non_owner_is_refused() {
    given_channel()
        .when_async(transfer(OWNER, OWNER))
        .await
        .then_expect_events(vec![]);
    given_channel()
        .when_async(transfer(BOB, BOB))
        .await
        .then_expect_error(ChannelError::NotOwner);
}

#[tokio::test]
async fn after_transfer_old_owner_can_leave_and_new_owner_cannot() {
    let after = || given_channel().and(vec![transferred(OWNER, BOB)]);
    after()
        .when_async(ChannelCommand::Leave { user_id: OWNER })
        .await
        .then_expect_events(vec![ChannelEvent::MemberLeft { user_id: OWNER }]);
    after()
        .when_async(ChannelCommand::Leave { user_id: BOB })
        .await
        .then_expect_error(ChannelError::OwnerCannotLeave);
    // Owner-only commands follow the new owner.
    after()
        .when_async(ChannelCommand::Delete { actor: OWNER })
        .await
        .then_expect_error(ChannelError::NotOwner);
    after()
        .when_async(transfer(BOB, OWNER))
        .await
        .then_expect_events(vec![transferred(BOB, OWNER)]);
}

#[tokio::test]
async fn join_and_join_twice() {
    given_channel()
        .when_async(ChannelCommand::Join { user_id: CAROL })
        .await
        .then_expect_events(vec![joined(CAROL)]);
    for user_id in [BOB, OWNER] {
        given_channel()
            .when_async(ChannelCommand::Join { user_id })
            .await
            .then_expect_error(ChannelError::AlreadyMember);
    }
}

#[tokio::test]
async fn leave_and_rejoin() {
    let left = ChannelEvent::MemberLeft { user_id: BOB };
    given_channel()
        .when_async(ChannelCommand::Leave { user_id: BOB })
        .await
        .then_expect_events(vec![left.clone()]);
    given_channel()
        .and(vec![left])
        .when_async(ChannelCommand::Join { user_id: BOB })
        .await
        .then_expect_events(vec![joined(BOB)]);
}

#[tokio::test]
async fn leave_refusals() {
    given_channel()
        .when_async(ChannelCommand::Leave { user_id: CAROL })
        .await
        .then_expect_error(ChannelError::NotAMember);
    given_channel()
        .and(vec![ChannelEvent::MemberLeft { user_id: BOB }])
        .when_async(ChannelCommand::Leave { user_id: BOB })
        .await
        .then_expect_error(ChannelError::NotAMember);
    given_channel()
        .when_async(ChannelCommand::Leave { user_id: OWNER })
        .await
        .then_expect_error(ChannelError::OwnerCannotLeave);
}

#[tokio::test]
async fn delete_by_owner_only() {
    given_channel()
        .when_async(ChannelCommand::Delete { actor: OWNER })
        .await
        .then_expect_events(vec![ChannelEvent::ChannelDeleted {}]);
    for actor in [BOB, CAROL] {
        given_channel()
            .when_async(ChannelCommand::Delete { actor })
            .await
            .then_expect_error(ChannelError::NotOwner);
    }
}

fn every_command_but_create() -> Vec<ChannelCommand> {
    vec![
        update(OWNER, Some("x"), None),
        update(OWNER, None, None), // a no-op update must not pass silently either
        update(BOB, Some("x"), None),
        transfer(OWNER, BOB),
        transfer(OWNER, OWNER),
        ChannelCommand::Delete { actor: OWNER },
        ChannelCommand::Delete { actor: CAROL },
        ChannelCommand::Join { user_id: CAROL },
        ChannelCommand::Join { user_id: BOB },
        ChannelCommand::Leave { user_id: BOB },
        ChannelCommand::Leave { user_id: OWNER },
        ChannelCommand::Leave { user_id: CAROL },
    ]
}

#[tokio::test]
async fn everything_on_a_deleted_or_missing_channel_is_not_found() {
    for cmd in every_command_but_create() {
        given_deleted_channel()
            .when_async(cmd.clone())
            .await
            .then_expect_error(ChannelError::NotFound);
        TestFramework::<Channel>::with(())
            .given_no_previous_events()
            .when_async(cmd)
            .await
            .then_expect_error(ChannelError::NotFound);
    }
}

#[test]
fn is_member_reflects_joins_and_leaves() {
    use cqrs_es::Aggregate;
    let mut channel = Channel::default();
    for event in [
        created(),
        joined(OWNER),
        joined(BOB),
        ChannelEvent::MemberLeft { user_id: BOB },
    ] {
        channel.apply(event);
    }
    assert!(channel.is_member(OWNER));
    assert!(!channel.is_member(BOB));
    assert!(!channel.is_member(CAROL));
}

fn all_events() -> Vec<ChannelEvent> {
    vec![
        created(),
        ChannelEvent::ChannelCreated {
            channel_id: CHAN,
            name: cname("général 🎉"),
            description: None,
            owner_id: OWNER,
        },
        updated(Some("random"), Some(Some("d"))),
        updated(None, Some(None)),
        updated(None, None),
        transferred(OWNER, BOB),
        ChannelEvent::ChannelDeleted {},
        joined(BOB),
        ChannelEvent::MemberLeft { user_id: BOB },
    ]
}

#[test]
fn error_messages() {
    assert_eq!(ChannelError::NotFound.to_string(), "Channel not found");
    assert_eq!(
        ChannelError::AlreadyMember.to_string(),
        "User is already a member of this channel."
    );
    assert_eq!(
        ChannelError::NotAMember.to_string(),
        "User is not a member of this channel."
    );
}

#[test]
fn events_round_trip_through_serde() {
    for event in all_events() {
        let json = serde_json::to_value(&event).unwrap();
        // The guard trigger reads `payload -> event_type`: the serde tag must be the event type.
        let tags: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(tags, [&event.event_type()]);
        assert_eq!(event.event_version(), "1");
        let back: ChannelEvent = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, event, "{json}");
    }
}

/// Stored events are kept forever and the SQL guard triggers (migrations/0002) read these shapes
/// (`payload -> event_type ->> 'owner_id'`, `'new_owner_id'`, `'user_id'`): changing any of them
/// needs an upcaster for the events already stored, not just an edit here.
#[test]
fn stored_json_shape_is_stable() {
    assert_eq!(
        serde_json::to_value(created()).unwrap(),
        serde_json::json!({"ChannelCreated": {
            "channel_id": "00000000-0000-0000-0000-00000000c4a7",
            "name": "general",
            "description": "Talk about anything",
            "owner_id": "00000000-0000-0000-0000-000000000111",
        }})
    );
    let bob = "00000000-0000-0000-0000-000000000b0b";
    assert_eq!(
        serde_json::to_value(joined(BOB)).unwrap(),
        serde_json::json!({"MemberJoined": {"user_id": bob}})
    );
    assert_eq!(
        serde_json::to_value(ChannelEvent::MemberLeft { user_id: BOB }).unwrap(),
        serde_json::json!({"MemberLeft": {"user_id": bob}})
    );
    assert_eq!(
        serde_json::to_value(transferred(OWNER, BOB)).unwrap(),
        serde_json::json!({"ChannelOwnershipTransferred": {
            "previous_owner_id": "00000000-0000-0000-0000-000000000111",
            "new_owner_id": bob,
        }})
    );
    // Absent key = unchanged, `null` = cleared.
    assert_eq!(
        serde_json::to_value(updated(None, Some(None))).unwrap(),
        serde_json::json!({"ChannelUpdated": {"description": null}})
    );
}
