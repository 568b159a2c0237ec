//! The user events' stored JSON: kept forever, so its shape is checked here, apart from the
//! given/when/then tests of `user.rs`.

use aggregates::user::{Profile, ProfileChanges, UserEvent};
use cqrs_es::DomainEvent;

mod user_fixtures;

use user_fixtures::*;

fn registered() -> UserEvent {
    UserEvent::UserRegistered {
        user_id: ALICE,
        username: username("alice").into(),
        email: email("alice@example.com").into(),
        profile: Profile {
            first_name: Some(name("Alice")),
            last_name: Some(name("Liddell")),
            bio: Some(bio("Down the rabbit hole")),
            profile_picture: None,
        },
    }
}

#[test]
fn events_round_trip_through_serde() {
    let events = vec![
        registered(),
        UserEvent::UserRegistered {
            user_id: MALLORY,
            username: username("mallory").into(),
            email: email("m@example.com").into(),
            profile: Profile::default(),
        },
        UserEvent::UserProfileUpdated {
            changes: ProfileChanges {
                username: Some(username("alice2")),
                email: Some(email("a2@example.com")),
                first_name: Some(None),
                last_name: Some(Some(name("Smith"))),
                bio: Some(Some(bio(""))),
                profile_picture: None,
            },
        },
        UserEvent::UserProfileUpdated {
            changes: ProfileChanges::default(),
        },
        UserEvent::UserPasswordChanged {},
        UserEvent::UserDeleted {},
    ];
    for event in events {
        let json = serde_json::to_value(&event).unwrap();
        // The guard trigger reads `payload -> event_type`: the serde tag must be the event type.
        let tags: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(tags, [&event.event_type()]);
        assert_eq!(event.event_version(), "1");
        let back: UserEvent = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, event, "{json}");
    }
}

/// Stored events are kept forever and the SQL guard triggers (migrations/0002) read these shapes
/// (`'user_id'`, `'username'`, `'email'`, `'changes' ->> 'username'` / `'email'`): changing any of
/// them (a renamed field, `null` vs. absent, the externally tagged enum) needs an upcaster for the
/// events already stored, not just an edit here.
#[test]
fn stored_json_shape_is_stable() {
    let json = serde_json::to_value(registered()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"UserRegistered": {
            "user_id": "00000000-0000-0000-0000-0000000a11ce",
            "username": "alice",
            "email": "alice@example.com",
            "first_name": "Alice",
            "last_name": "Liddell",
            "bio": "Down the rabbit hole",
            "profile_picture": null,
        }})
    );
    // In a profile update, an absent key means "unchanged" and `null` means "cleared".
    let json = serde_json::to_value(UserEvent::UserProfileUpdated {
        changes: ProfileChanges {
            username: Some(username("alice2")),
            email: Some(email("a2@example.com")),
            bio: Some(None),
            ..Default::default()
        },
    })
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"UserProfileUpdated": {"changes": {
            "username": "alice2",
            "email": "a2@example.com",
            "bio": null,
        }}})
    );
    assert_eq!(
        serde_json::to_value(UserEvent::UserDeleted {}).unwrap(),
        serde_json::json!({"UserDeleted": {}})
    );
}
