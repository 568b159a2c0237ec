//! Given/when/then tests of the user aggregate.

use aggregates::user::{Profile, ProfileChanges, User, UserCommand, UserError, UserEvent};
use aggregates::values::ProfilePicture;
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use uuid::Uuid;

mod user_fixtures;

use user_fixtures::*;

fn profile() -> Profile {
    Profile {
        first_name: Some(name("Alice")),
        last_name: Some(name("Liddell")),
        bio: Some(bio("Down the rabbit hole")),
        profile_picture: None,
    }
}

fn registered() -> UserEvent {
    UserEvent::UserRegistered {
        user_id: ALICE,
        username: username("alice").into(),
        email: email("alice@example.com").into(),
        profile: profile(),
    }
}

fn register_cmd() -> UserCommand {
    UserCommand::Register {
        user_id: ALICE,
        username: username("alice"),
        email: email("alice@example.com"),
        profile: profile(),
    }
}

fn update(changes: ProfileChanges) -> UserCommand {
    UserCommand::UpdateProfile {
        actor: ALICE,
        changes,
        password_changed: false,
    }
}

fn given_alice() -> AggregateTestExecutor<User> {
    TestFramework::<User>::with(()).given(vec![registered()])
}

fn given_deleted_alice() -> AggregateTestExecutor<User> {
    TestFramework::<User>::with(()).given(vec![registered(), UserEvent::UserDeleted {}])
}

#[tokio::test]
async fn register() {
    TestFramework::<User>::with(())
        .given_no_previous_events()
        .when_async(register_cmd())
        .await
        .then_expect_events(vec![registered()]);
}

#[tokio::test]
async fn register_twice_is_refused() {
    given_alice()
        .when_async(register_cmd())
        .await
        .then_expect_error(UserError::AlreadyRegistered);
}

#[tokio::test]
async fn register_again_after_delete_is_refused() {
    // The stream id is taken forever; a deleted account is not re-registered in place.
    given_deleted_alice()
        .when_async(register_cmd())
        .await
        .then_expect_error(UserError::AlreadyRegistered);
}

#[tokio::test]
async fn update_by_someone_else_is_not_permitted() {
    given_alice()
        .when_async(UserCommand::UpdateProfile {
            actor: MALLORY,
            changes: ProfileChanges {
                bio: Some(Some(bio("pwned"))),
                ..Default::default()
            },
            password_changed: true,
        })
        .await
        .then_expect_error(UserError::NotPermitted);
}

#[tokio::test]
async fn update_with_current_values_emits_nothing() {
    given_alice()
        .when_async(update(ProfileChanges {
            username: Some(username("alice")),
            email: Some(email("alice@example.com")),
            first_name: Some(Some(name("Alice"))),
            last_name: Some(Some(name("Liddell"))),
            bio: Some(Some(bio("Down the rabbit hole"))),
            profile_picture: Some(None),
        }))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn empty_update_emits_nothing() {
    given_alice()
        .when_async(update(ProfileChanges::default()))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn partial_update_records_only_changed_fields() {
    given_alice()
        .when_async(update(ProfileChanges {
            username: Some(username("alice")),                 // unchanged: dropped
            email: Some(email("alice@wonderland.example")),    // changed
            first_name: Some(Some(name("Alice"))),             // unchanged: dropped
            last_name: None,                                   // not given
            bio: Some(Some(bio("Through the looking glass"))), // changed
            profile_picture: Some(Some(ProfilePicture::parse("media/a.png").unwrap())), // set
        }))
        .await
        .then_expect_events(vec![UserEvent::UserProfileUpdated {
            changes: ProfileChanges {
                email: Some(email("alice@wonderland.example")),
                bio: Some(Some(bio("Through the looking glass"))),
                profile_picture: Some(Some(ProfilePicture::parse("media/a.png").unwrap())),
                ..Default::default()
            },
        }]);
}

#[tokio::test]
async fn username_case_change_is_a_change() {
    let changes = ProfileChanges {
        username: Some(username("Alice")),
        ..Default::default()
    };
    given_alice()
        .when_async(update(changes.clone()))
        .await
        .then_expect_events(vec![UserEvent::UserProfileUpdated { changes }]);
}

#[tokio::test]
async fn clearing_a_nullable_field() {
    let clear_bio = ProfileChanges {
        bio: Some(None),
        ..Default::default()
    };
    given_alice()
        .when_async(update(clear_bio.clone()))
        .await
        .then_expect_events(vec![UserEvent::UserProfileUpdated {
            changes: clear_bio.clone(),
        }]);
    // Clearing it again changes nothing.
    given_alice()
        .and(vec![UserEvent::UserProfileUpdated {
            changes: clear_bio.clone(),
        }])
        .when_async(update(clear_bio))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn applied_updates_are_the_new_baseline() {
    let first = ProfileChanges {
        username: Some(username("alice2")),
        email: Some(email("a2@example.com")),
        first_name: Some(None),
        last_name: Some(Some(name("Smith"))),
        bio: Some(Some(bio(""))),
        profile_picture: Some(Some(ProfilePicture::parse("media/p.png").unwrap())),
    };
    // Re-sending the same changes after they were applied is a no-op ...
    given_alice()
        .and(vec![UserEvent::UserProfileUpdated {
            changes: first.clone(),
        }])
        .when_async(update(first))
        .await
        .then_expect_events(vec![]);
    // ... and the old values now count as changes.
    given_alice()
        .and(vec![UserEvent::UserProfileUpdated {
            changes: ProfileChanges {
                username: Some(username("alice2")),
                first_name: Some(None),
                ..Default::default()
            },
        }])
        .when_async(update(ProfileChanges {
            username: Some(username("alice")),
            first_name: Some(Some(name("Alice"))),
            ..Default::default()
        }))
        .await
        .then_expect_events(vec![UserEvent::UserProfileUpdated {
            changes: ProfileChanges {
                username: Some(username("alice")),
                first_name: Some(Some(name("Alice"))),
                ..Default::default()
            },
        }]);
}

#[tokio::test]
async fn update_with_a_new_password_records_both_in_one_command() {
    let changes = ProfileChanges {
        bio: Some(Some(bio("Through the looking glass"))),
        ..Default::default()
    };
    let with_password = |changes| UserCommand::UpdateProfile {
        actor: ALICE,
        changes,
        password_changed: true,
    };
    given_alice()
        .when_async(with_password(changes.clone()))
        .await
        .then_expect_events(vec![
            UserEvent::UserProfileUpdated { changes },
            UserEvent::UserPasswordChanged {},
        ]);
    // A password alone, or with values that change nothing: only the password is recorded.
    given_alice()
        .when_async(with_password(ProfileChanges {
            username: Some(username("alice")),
            ..Default::default()
        }))
        .await
        .then_expect_events(vec![UserEvent::UserPasswordChanged {}]);
}

#[tokio::test]
async fn change_password_by_self() {
    given_alice()
        .when_async(UserCommand::ChangePassword { actor: ALICE })
        .await
        .then_expect_events(vec![UserEvent::UserPasswordChanged {}]);
}

#[tokio::test]
async fn change_password_by_someone_else_is_not_permitted() {
    given_alice()
        .when_async(UserCommand::ChangePassword { actor: MALLORY })
        .await
        .then_expect_error(UserError::NotPermitted);
}

#[tokio::test]
async fn delete_by_self() {
    given_alice()
        .when_async(UserCommand::Delete { actor: ALICE })
        .await
        .then_expect_events(vec![UserEvent::UserDeleted {}]);
}

#[tokio::test]
async fn delete_by_someone_else_is_not_permitted() {
    given_alice()
        .when_async(UserCommand::Delete { actor: MALLORY })
        .await
        .then_expect_error(UserError::NotPermitted);
}

fn every_command_but_register(actor: Uuid) -> Vec<UserCommand> {
    vec![
        UserCommand::UpdateProfile {
            actor,
            changes: ProfileChanges {
                bio: Some(Some(bio("x"))),
                ..Default::default()
            },
            password_changed: false,
        },
        // Even a no-op update must not succeed silently on a missing user.
        UserCommand::UpdateProfile {
            actor,
            changes: ProfileChanges::default(),
            password_changed: false,
        },
        UserCommand::UpdateProfile {
            actor,
            changes: ProfileChanges::default(),
            password_changed: true,
        },
        UserCommand::ChangePassword { actor },
        UserCommand::Delete { actor },
    ]
}

#[tokio::test]
async fn any_command_after_delete_is_not_found() {
    // NotFound wins over NotPermitted: a deleted account's existence is not revealed.
    for actor in [ALICE, MALLORY] {
        for cmd in every_command_but_register(actor) {
            given_deleted_alice()
                .when_async(cmd)
                .await
                .then_expect_error(UserError::NotFound);
        }
    }
}

#[tokio::test]
async fn commands_on_a_never_registered_user_are_not_found() {
    for cmd in every_command_but_register(ALICE) {
        TestFramework::<User>::with(())
            .given_no_previous_events()
            .when_async(cmd)
            .await
            .then_expect_error(UserError::NotFound);
    }
}

#[test]
fn error_messages() {
    assert_eq!(UserError::AlreadyRegistered.to_string(), "User already exists");
    assert_eq!(UserError::NotFound.to_string(), "User not found");
    assert_eq!(UserError::NotPermitted.to_string(), "Not enough permissions");
}
