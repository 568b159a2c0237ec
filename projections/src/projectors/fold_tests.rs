//! The folds as pure functions: events in, rows out, no database.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::*;
use crate::event::RecordedEvent;

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap()
}

fn event(aggregate_type: &str, id: Uuid, second: u32, payload: Value) -> RecordedEvent {
    let event_type = payload.as_object().unwrap().keys().next().unwrap().clone();
    RecordedEvent {
        global_position: i64::from(second),
        tx_id: i64::from(second),
        aggregate_type: aggregate_type.into(),
        aggregate_id: id.to_string(),
        sequence: 1,
        event_type,
        event_version: "1".into(),
        payload,
        metadata: json!({}),
        recorded_at: at(second),
        posted_in: None,
        opened: None,
        erased: false,
        opened_metadata: None,
    }
}

fn fold<M: ReadModel>(model: &M, events: &[RecordedEvent]) -> Overlay<M::Key, M::Row> {
    let decoded: Vec<_> = events.iter().map(|e| e.decode().unwrap()).collect();
    fold_in_memory(model, events.iter().zip(&decoded)).unwrap()
}

#[test]
fn a_message_reads_as_edited_and_is_gone_after_deletion() {
    let (m, ch, author) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let posted = event(
        "Message",
        m,
        1,
        json!({"TextMessagePosted": {"message_id": m, "channel_id": ch, "author_id": author, "content": "hello"}}),
    );
    let edited = event(
        "Message",
        m,
        2,
        json!({"MessageEdited": {"channel_id": ch, "content": "hello, edited"}}),
    );
    let deleted = event(
        "Message",
        m,
        3,
        json!({"MessageDeleted": {"channel_id": ch, "deleted_by": author, "reason": "by_author"}}),
    );
    let model = MessagesModel::new("public");

    let rows = fold(&model, &[posted.clone(), edited.clone()]);
    let row = rows.get(&m).unwrap();
    assert_eq!(row.content.as_deref(), Some("hello, edited"));
    assert_eq!((row.created_at, row.updated_at), (at(1), at(2)));

    let rows = fold(&model, &[posted, edited, deleted]);
    assert!(rows.get(&m).is_none());
    assert_eq!(rows.changes().deleted, vec![&m]);
}

#[test]
fn an_edit_of_a_message_the_batch_does_not_know_changes_nothing() {
    let m = Uuid::now_v7();
    let rows = fold(
        &MessagesModel::new("public"),
        &[event(
            "Message",
            m,
            1,
            json!({"MessageEdited": {"channel_id": m, "content": "x"}}),
        )],
    );
    assert!(rows.changes().is_empty());
}

#[test]
fn a_deleted_channel_takes_its_messages_and_members_only() {
    let (ch, other, user) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let post = |m: Uuid, channel: Uuid, s| {
        event(
            "Message",
            m,
            s,
            json!({"TextMessagePosted": {"message_id": m, "channel_id": channel, "author_id": user, "content": "x"}}),
        )
    };
    let (m1, m2) = (Uuid::now_v7(), Uuid::now_v7());
    let events = [
        post(m1, ch, 1),
        post(m2, other, 2),
        event("Channel", ch, 3, json!({"MemberJoined": {"user_id": user}})),
        event("Channel", other, 4, json!({"MemberJoined": {"user_id": user}})),
        event("Channel", ch, 5, json!({"ChannelDeleted": {}})),
    ];
    let messages = fold(&MessagesModel::new("public"), &events);
    assert!(messages.get(&m1).is_none());
    assert!(messages.get(&m2).is_some());
    assert_eq!(messages.changes().purged_channels, &[ch]);

    let members = fold(&MembershipsModel::new("public"), &events);
    assert!(members.get(&(ch, user)).is_none());
    assert!(members.get(&(other, user)).is_some());
}

#[test]
fn rejoining_dates_the_membership_from_the_new_join() {
    let (ch, user) = (Uuid::now_v7(), Uuid::now_v7());
    let joined = |s| event("Channel", ch, s, json!({"MemberJoined": {"user_id": user}}));
    let left = event("Channel", ch, 2, json!({"MemberLeft": {"user_id": user}}));
    let rows = fold(&MembershipsModel::new("public"), &[joined(1), left, joined(3)]);
    assert_eq!(rows.get(&(ch, user)).unwrap().joined_at, at(3));
    // A repeated join (which the aggregate forbids) would keep the first date, like the SQL did.
    let rows = fold(&MembershipsModel::new("public"), &[joined(1), joined(3)]);
    assert_eq!(rows.get(&(ch, user)).unwrap().joined_at, at(1));
}

#[test]
fn a_profile_update_sets_only_the_fields_it_carries_including_to_null() {
    let u = Uuid::now_v7();
    let events = [
        event(
            "User",
            u,
            1,
            json!({"UserRegistered": {"user_id": u, "username": "ann", "email": "ann@example.com",
                   "first_name": "Ann", "last_name": null, "bio": "hi", "profile_picture": null}}),
        ),
        event(
            "User",
            u,
            2,
            json!({"UserProfileUpdated": {"changes": {"bio": null, "last_name": "Lee"}}}),
        ),
        event("User", u, 3, json!({"UserDeleted": {}})),
    ];
    let rows = fold(&UsersModel::new("public"), &events);
    let row = rows.get(&u).unwrap();
    assert_eq!(row.first_name.as_deref(), Some("Ann"));
    assert_eq!(row.last_name.as_deref(), Some("Lee"));
    assert_eq!(row.bio, None);
    assert_eq!(row.status, UserStatus::Deleted);
    assert_eq!(row.updated_at, at(3));
}
