//! `PATCH /users/{user_id}` and `DELETE /users/{user_id}`.

use serde_json::{json, Value};

use crate::support::{Resp, TestApp, TestUser};
use crate::users_support::{assert_unauthorized, assert_user_read, locs, register_raw, token_for};

const TAKEN: &str = "Username or email already registered.";
const WRONG_LOGIN: &str = "Incorrect username or password";

/// Registers `username` with a full profile and logs in.
async fn register_full(app: &TestApp, username: &str) -> (TestUser, Value) {
    let password = format!("pw-{username}-secret");
    let user = register_raw(
        app,
        json!({
            "username": username, "email": format!("{username}@example.com"), "password": password,
            "first_name": "First", "last_name": "Last", "bio": "Hello", "profile_picture": "pics/me.png",
        }),
    )
    .await
    .expect(201);
    let token = token_for(app, username, &password).await;
    let id = user["id"].as_str().unwrap().to_string();
    (
        TestUser {
            id,
            username: username.into(),
            password,
            token,
        },
        user,
    )
}

async fn patch_self(app: &TestApp, user: &TestUser, body: Value) -> Resp {
    app.patch(&format!("/users/{}", user.id), Some(&user.token), body)
        .await
}

fn time(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap()
}

/// `after` equals `before` except for `changed` (and `updated_at`).
#[track_caller]
fn only_changed(before: &Value, after: &Value, changed: &[(&str, Value)]) {
    assert_user_read(after);
    for (key, value) in after.as_object().unwrap() {
        if let Some((_, expected)) = changed.iter().find(|(k, _)| k == key) {
            assert_eq!(value, expected, "{key}");
        } else if key != "updated_at" {
            assert_eq!(value, &before[key], "{key} should not change");
        }
    }
}

#[tokio::test]
async fn partial_update_changes_only_the_given_fields() {
    let app = TestApp::spawn().await;
    let (alice, before) = register_full(&app, "alice").await;

    let after = patch_self(&app, &alice, json!({"first_name": "Alicia"}))
        .await
        .expect(200);
    only_changed(&before, &after, &[("first_name", json!("Alicia"))]);
    assert!(
        time(&after["updated_at"]) > time(&before["updated_at"]),
        "{before} -> {after}"
    );
    assert_eq!(app.get("/users/me", Some(&alice.token)).await.expect(200), after);

    let after2 = patch_self(
        &app,
        &alice,
        json!({"bio": "New bio", "profile_picture": "pics/new.png"}),
    )
    .await
    .expect(200);
    only_changed(
        &after,
        &after2,
        &[
            ("bio", json!("New bio")),
            ("profile_picture", json!("pics/new.png")),
        ],
    );

    // An empty patch changes nothing, and neither do fields that are not the client's to set.
    let same = patch_self(&app, &alice, json!({})).await.expect(200);
    assert_eq!(same, after2);
    let forced =
        json!({"id": uuid::Uuid::now_v7(), "status": "suspended", "created_at": "2000-01-01T00:00:00Z"});
    assert_eq!(patch_self(&app, &alice, forced).await.expect(200), after2);
    // Without the trailing slash too.
    let other = app
        .patch(
            &format!("/users/{}/", alice.id),
            Some(&alice.token),
            json!({"last_name": "Smith"}),
        )
        .await
        .expect(200);
    only_changed(&after2, &other, &[("last_name", json!("Smith"))]);
}

#[tokio::test]
async fn null_clears_a_profile_field_and_absent_leaves_it() {
    let app = TestApp::spawn().await;
    let (alice, before) = register_full(&app, "alice").await;
    let after = patch_self(&app, &alice, json!({"bio": null})).await.expect(200);
    only_changed(&before, &after, &[("bio", Value::Null)]);
    let after2 = patch_self(
        &app,
        &alice,
        json!({"first_name": null, "last_name": null, "profile_picture": null}),
    )
    .await
    .expect(200);
    only_changed(
        &after,
        &after2,
        &[
            ("first_name", Value::Null),
            ("last_name", Value::Null),
            ("profile_picture", Value::Null),
        ],
    );
    let me = app.get("/users/me", Some(&alice.token)).await.expect(200);
    assert_eq!(me, after2);
}

#[tokio::test]
async fn username_and_email_changes_are_checked_for_uniqueness() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    app.register("bob").await;
    for body in [
        json!({"username": "bob"}),
        json!({"username": "BOB"}),
        json!({"email": "bob@example.com"}),
        json!({"email": "Bob@Example.com"}),
    ] {
        let resp = patch_self(&app, &alice, body.clone()).await;
        assert_eq!(resp.status, 400, "{body}: {}", resp.body);
        assert_eq!(resp.body, json!({"detail": TAKEN}));
    }
    // A refused change leaves the profile alone.
    let me = app.get("/users/me", Some(&alice.token)).await.expect(200);
    assert_eq!(
        (me["username"].as_str(), me["email"].as_str()),
        (Some("alice"), Some("alice@example.com"))
    );

    // Renaming to a free name frees the old one, and the new name logs in.
    let renamed = patch_self(
        &app,
        &alice,
        json!({"username": "alicia", "email": "alicia@example.com"}),
    )
    .await
    .expect(200);
    assert_eq!(renamed["username"], "alicia");
    assert_eq!(renamed["email"], "alicia@example.com");
    assert_eq!(
        app.login("alice", &alice.password).await.expect(401),
        json!({"detail": WRONG_LOGIN})
    );
    token_for(&app, "alicia", &alice.password).await;
    register_raw(
        &app,
        json!({"username": "alice", "email": "alice@example.com", "password": "pw-new-alice"}),
    )
    .await
    .expect(201);
    // Changing only the case of one's own name is allowed.
    let cased = patch_self(&app, &alice, json!({"username": "Alicia"}))
        .await
        .expect(200);
    assert_eq!(cased["username"], "Alicia");
}

#[tokio::test]
async fn invalid_changes_are_422() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    assert_eq!(
        locs(&patch_self(&app, &alice, json!({"email": "nope"})).await),
        vec![json!(["body", "email"])]
    );
    assert_eq!(
        locs(&patch_self(&app, &alice, json!({"bio": "b".repeat(1001)})).await),
        vec![json!(["body", "bio"])]
    );
    assert_eq!(
        locs(&patch_self(&app, &alice, json!({"username": "a\u{7}b"})).await),
        vec![json!(["body", "username"])]
    );
    assert_eq!(
        locs(&patch_self(&app, &alice, json!({"password": ""})).await),
        vec![json!(["body", "password"])]
    );
    // Nothing was applied, and the password still works.
    assert_eq!(
        app.get("/users/me", Some(&alice.token)).await.expect(200)["bio"],
        Value::Null
    );
    token_for(&app, "alice", &alice.password).await;
}

#[tokio::test]
async fn only_the_user_may_update_themselves() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let resp = app
        .patch(
            &format!("/users/{}", bob.id),
            Some(&alice.token),
            json!({"bio": "hacked"}),
        )
        .await;
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert_eq!(resp.body, json!({"detail": "Not enough permissions"}));
    assert_eq!(
        app.get("/users/me", Some(&bob.token)).await.expect(200)["bio"],
        Value::Null
    );

    let unknown = uuid::Uuid::now_v7();
    let resp = app
        .patch(
            &format!("/users/{unknown}"),
            Some(&alice.token),
            json!({"bio": "x"}),
        )
        .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.body, json!({"detail": "User not found"}));
    assert_unauthorized(
        &app.patch(&format!("/users/{}", alice.id), None, json!({"bio": "x"}))
            .await,
    );
}

#[tokio::test]
async fn password_change_revokes_old_password_and_tokens() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let second_session = token_for(&app, "alice", &alice.password).await;
    let new_password = "brand-new-passw0rd";
    let updated = patch_self(&app, &alice, json!({"password": new_password, "bio": "changed"}))
        .await
        .expect(200);
    assert_user_read(&updated);
    assert_eq!(updated["bio"], "changed");
    assert!(!updated.to_string().contains(new_password));

    let resp = app.login("alice", &alice.password).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.body, json!({"detail": WRONG_LOGIN}));
    let fresh = token_for(&app, "alice", new_password).await;

    // Every token issued before the change is dead; the new one works.
    assert_unauthorized(&app.get("/users/me", Some(&alice.token)).await);
    assert_unauthorized(&app.get("/users/me", Some(&second_session)).await);
    assert_eq!(
        app.get("/users/me", Some(&fresh)).await.expect(200)["id"],
        alice.id.as_str()
    );
    // Changing it again with the new token works, and kills that token too.
    patch_self(
        &app,
        &TestUser {
            token: fresh.clone(),
            ..alice.clone()
        },
        json!({"password": "third-passw0rd"}),
    )
    .await
    .expect(200);
    assert_unauthorized(&app.get("/users/me", Some(&fresh)).await);
    token_for(&app, "alice", "third-passw0rd").await;
}

/// The password and the profile change together or not at all: a refused update (the name is
/// taken) leaves the old password, its tokens, and no recorded password change.
#[tokio::test]
async fn a_refused_update_keeps_the_old_password() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    app.register("bob").await;
    let resp = patch_self(
        &app,
        &alice,
        json!({"username": "bob", "password": "never-applied-1"}),
    )
    .await;
    assert_eq!(resp.expect(400), json!({"detail": TAKEN}));
    app.get("/users/me", Some(&alice.token)).await.expect(200);
    token_for(&app, "alice", &alice.password).await;
    assert_eq!(
        app.login("alice", "never-applied-1").await.expect(401),
        json!({"detail": WRONG_LOGIN})
    );
    let changes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'UserPasswordChanged'",
    )
    .bind(&alice.id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(changes, 0);
}

#[tokio::test]
async fn delete_is_self_only() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let resp = app
        .delete(&format!("/users/{}", bob.id), Some(&alice.token))
        .await;
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert_eq!(resp.body, json!({"detail": "Not enough permissions"}));
    assert_eq!(
        app.get("/users/me", Some(&bob.token)).await.expect(200)["status"],
        "active"
    );

    let resp = app
        .delete(&format!("/users/{}", uuid::Uuid::now_v7()), Some(&alice.token))
        .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.body, json!({"detail": "User not found"}));
    assert_unauthorized(&app.delete(&format!("/users/{}", bob.id), None).await);
}

#[tokio::test]
async fn deleted_user_is_gone_and_the_name_is_free_again() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let extra_session = token_for(&app, "alice", &alice.password).await;

    let ack = app
        .delete(&format!("/users/{}", alice.id), Some(&alice.token))
        .await
        .expect(200);
    let obj = ack.as_object().unwrap();
    assert_eq!(obj.len(), 1, "{ack}");
    assert!(!ack["message"].as_str().unwrap().is_empty());

    for token in [&alice.token, &extra_session] {
        assert_unauthorized(&app.get("/users/me", Some(token)).await);
        assert_unauthorized(
            &app.patch(&format!("/users/{}", alice.id), Some(token), json!({"bio": "x"}))
                .await,
        );
        assert_unauthorized(&app.delete(&format!("/users/{}", alice.id), Some(token)).await);
    }
    let resp = app.login("alice", &alice.password).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.body, json!({"detail": WRONG_LOGIN}));
    let resp = app.get(&format!("/users/{}", alice.id), Some(&bob.token)).await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.body, json!({"detail": "User not found"}));
    let resp = app
        .patch(
            &format!("/users/{}", alice.id),
            Some(&bob.token),
            json!({"bio": "x"}),
        )
        .await;
    assert_eq!(resp.status, 404, "{}", resp.body);
    let listed = app.get("/users/", Some(&bob.token)).await.expect(200);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != alice.id.as_str()),
        "{listed}"
    );

    // Name and e-mail can be registered again, as a different user.
    let again = app.register("alice").await;
    assert_ne!(again.id, alice.id);
    let me = app.get("/users/me", Some(&again.token)).await.expect(200);
    assert_eq!(
        (me["username"].as_str(), me["status"].as_str()),
        (Some("alice"), Some("active"))
    );
    // The old tokens stay dead even though the name is live again.
    assert_unauthorized(&app.get("/users/me", Some(&alice.token)).await);
    let resp = app.get(&format!("/users/{}", alice.id), Some(&again.token)).await;
    assert_eq!(resp.status, 404);
}
