//! Owner-only `/channels` routes: update, delete, change_owner.

use serde_json::{json, Value};

use crate::channels::{assert_channel_read, assert_issue, field, time};
use crate::support::{TestApp, TestUser};

const MISSING: &str = "00000000-0000-7000-8000-000000000000";

/// alice owns "general"; bob is a member; carol is a stranger.
async fn setup(app: &TestApp) -> (TestUser, TestUser, TestUser, String) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let id = app.create_channel(&alice, "general").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.join(&bob, &id).await;
    (alice, bob, carol, id)
}

// ---- update ----------------------------------------------------------------------------------

#[tokio::test]
async fn owner_updates_name_and_description() {
    let app = TestApp::spawn().await;
    let (alice, bob, _, id) = setup(&app).await;
    let path = format!("/channels/{id}");
    let before = app.get(&path, Some(&bob.token)).await.expect(200);

    let renamed = app
        .patch(&path, Some(&alice.token), json!({"name": "  random "}))
        .await
        .expect(200);
    assert_channel_read(&renamed);
    assert_eq!(renamed["name"], "random");
    assert_eq!(
        renamed["description"], "about general",
        "absent fields are left alone"
    );
    assert_eq!(renamed["created_at"], before["created_at"]);
    assert!(time(&renamed["updated_at"]) > time(&before["updated_at"]));
    assert_eq!(app.get(&path, Some(&bob.token)).await.expect(200), renamed);

    let described = app
        .patch(&path, Some(&alice.token), json!({"description": "new"}))
        .await
        .expect(200);
    assert_eq!(
        (described["name"].clone(), described["description"].clone()),
        (json!("random"), json!("new"))
    );
    let cleared = app
        .patch(&path, Some(&alice.token), json!({"description": null}))
        .await
        .expect(200);
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["name"], "random");
    // An empty update changes nothing.
    let same = app.patch(&path, Some(&alice.token), json!({})).await.expect(200);
    assert_eq!(same, cleared);
    assert_eq!(app.get(&path, Some(&alice.token)).await.expect(200), cleared);
    let listed = app
        .get("/channels/my-memberships", Some(&bob.token))
        .await
        .expect(200);
    assert_eq!(listed, json!([cleared]));
}

#[tokio::test]
async fn only_the_owner_may_update_and_missing_is_404_first() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, id) = setup(&app).await;
    let path = format!("/channels/{id}");
    for (who, user) in [("member", &bob), ("stranger", &carol)] {
        let r = app.patch(&path, Some(&user.token), json!({"name": "mine"})).await;
        assert_eq!(r.status, 403, "{who}: {}", r.body);
        assert!(r.detail().contains("owner"), "{who}: {}", r.body);
    }
    let r = app
        .patch(
            &format!("/channels/{MISSING}"),
            Some(&carol.token),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!((r.status, r.detail()), (404, "Channel not found"));
    assert_eq!(
        app.get(&path, Some(&alice.token)).await.expect(200)["name"],
        "general"
    );
}

#[tokio::test]
async fn update_validates_the_body() {
    let app = TestApp::spawn().await;
    let (alice, _, _, id) = setup(&app).await;
    let path = format!("/channels/{id}");
    let t = Some(alice.token.as_str());
    assert_issue(
        &app.patch(&path, t, json!({"name": "n".repeat(101)})).await,
        json!(["body", "name"]),
        "string_too_long",
    );
    assert_issue(
        &app.patch(&path, t, json!({"name": " "})).await,
        json!(["body", "name"]),
        "string_too_short",
    );
    assert_issue(
        &app.patch(&path, t, json!({"name": 7})).await,
        json!(["body", "name"]),
        "string_type",
    );
    assert_issue(
        &app.patch(&path, t, json!({"description": "d".repeat(1001)}))
            .await,
        json!(["body", "description"]),
        "string_too_long",
    );
    assert_issue(
        &app.patch(&path, t, json!("str")).await,
        json!(["body"]),
        "model_attributes_type",
    );
    let unchanged = app.get(&path, t).await.expect(200);
    assert_eq!(
        (unchanged["name"].clone(), unchanged["description"].clone()),
        (json!("general"), json!("about general"))
    );
}

// ---- delete ----------------------------------------------------------------------------------

#[tokio::test]
async fn only_the_owner_may_delete() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, id) = setup(&app).await;
    let path = format!("/channels/{id}");
    for (who, user) in [("member", &bob), ("stranger", &carol)] {
        let r = app.delete(&path, Some(&user.token)).await;
        assert_eq!(r.status, 403, "{who}: {}", r.body);
    }
    let r = app
        .delete(&format!("/channels/{MISSING}"), Some(&alice.token))
        .await;
    assert_eq!((r.status, r.detail()), (404, "Channel not found"));
    assert_eq!(
        app.get(&path, Some(&carol.token)).await.expect(200)["id"],
        id.as_str()
    );
}

#[tokio::test]
async fn deleted_channel_disappears_everywhere() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, id) = setup(&app).await;
    let other = app.create_channel(&alice, "other").await;
    app.join(&bob, other["id"].as_str().unwrap()).await;
    let path = format!("/channels/{id}");

    let ack = app.delete(&path, Some(&alice.token)).await.expect(200);
    assert_eq!(ack, json!({"message": "Channel deleted successfully"}));

    for user in [&alice, &bob, &carol] {
        let r = app.get(&path, Some(&user.token)).await;
        assert_eq!((r.status, r.detail()), (404, "Channel not found"));
    }
    let t = Some(bob.token.as_str());
    assert_eq!(
        field(&app.get("/channels/", t).await.expect(200), "name"),
        ["other"]
    );
    assert_eq!(
        field(&app.get("/channels/my-memberships", t).await.expect(200), "name"),
        ["other"]
    );
    assert_eq!(
        field(&app.get("/channels/owners", t).await.expect(200), "channel_name"),
        ["other"]
    );
    let theirs = app
        .get(&format!("/channels/user/{}/memberships", alice.id), t)
        .await
        .expect(200);
    assert_eq!(field(&theirs, "name"), ["other"]);
    let shared = app
        .get(&format!("/channels/user/{}/shared-memberships", alice.id), t)
        .await
        .expect(200);
    assert_eq!(field(&shared, "name"), ["other"]);

    let after = [
        app.get(&format!("{path}/members"), Some(&alice.token)).await,
        app.post(&format!("{path}/join"), Some(&carol.token), json!({}))
            .await,
        app.delete(&format!("{path}/leave"), Some(&bob.token)).await,
        app.delete(&path, Some(&alice.token)).await,
        app.patch(&path, Some(&alice.token), json!({"name": "back"}))
            .await,
        app.patch(
            &format!("{path}/change_owner?new_owner_id={}", bob.id),
            Some(&alice.token),
            json!({}),
        )
        .await,
    ];
    for r in after {
        assert_eq!((r.status, r.detail()), (404, "Channel not found"));
    }
}

// ---- change_owner ----------------------------------------------------------------------------

#[tokio::test]
async fn change_owner_to_a_non_member_makes_them_a_member_and_frees_the_old_owner() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, id) = setup(&app).await;
    let path = format!("/channels/{id}/change_owner?new_owner_id={}", carol.id);

    let changed = app.patch(&path, Some(&alice.token), json!({})).await.expect(200);
    assert_channel_read(&changed);
    assert_eq!(changed["owner_id"], carol.id.as_str());
    assert_eq!(changed["name"], "general");
    assert_eq!(
        app.get(&format!("/channels/{id}"), Some(&bob.token))
            .await
            .expect(200),
        changed
    );

    let members = app
        .get(&format!("/channels/{id}/members"), Some(&carol.token))
        .await
        .expect(200);
    assert_eq!(field(&members, "username"), ["alice", "bob", "carol"]);
    let owners = app.get("/channels/owners", Some(&bob.token)).await.expect(200);
    assert_eq!(
        owners,
        json!([{"channel_id": id, "channel_name": "general", "owner_id": carol.id, "owner_name": "carol"}])
    );

    // Powers moved with the ownership.
    let r = app
        .patch(
            &format!("/channels/{id}"),
            Some(&alice.token),
            json!({"name": "nope"}),
        )
        .await;
    assert_eq!(r.status, 403);
    app.patch(
        &format!("/channels/{id}"),
        Some(&carol.token),
        json!({"name": "carols"}),
    )
    .await
    .expect(200);
    let r = app
        .delete(&format!("/channels/{id}/leave"), Some(&carol.token))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // The old owner may leave now.
    let left = app
        .delete(&format!("/channels/{id}/leave"), Some(&alice.token))
        .await;
    assert_eq!((left.status, left.body.clone()), (204, Value::Null));
    let members = app
        .get(&format!("/channels/{id}/members"), Some(&carol.token))
        .await
        .expect(200);
    assert_eq!(field(&members, "username"), ["bob", "carol"]);
}

#[tokio::test]
async fn change_owner_to_a_member_and_to_oneself() {
    let app = TestApp::spawn().await;
    let (alice, bob, _, id) = setup(&app).await;
    let to_self = format!("/channels/{id}/change_owner?new_owner_id={}", alice.id);
    assert_eq!(
        app.patch(&to_self, Some(&alice.token), json!({}))
            .await
            .expect(200)["owner_id"],
        alice.id.as_str()
    );
    let to_bob = format!("/channels/{id}/change_owner?new_owner_id={}", bob.id);
    assert_eq!(
        app.patch(&to_bob, Some(&alice.token), json!({}))
            .await
            .expect(200)["owner_id"],
        bob.id.as_str()
    );
    let members = app
        .get(&format!("/channels/{id}/members"), Some(&bob.token))
        .await
        .expect(200);
    assert_eq!(field(&members, "username"), ["alice", "bob"]);
    // Back again: bob is the owner now, alice is not.
    assert_eq!(
        app.patch(&to_self, Some(&alice.token), json!({})).await.status,
        403
    );
    assert_eq!(
        app.patch(&to_self, Some(&bob.token), json!({})).await.expect(200)["owner_id"],
        alice.id.as_str()
    );
}

#[tokio::test]
async fn change_owner_errors() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, id) = setup(&app).await;
    let base = format!("/channels/{id}/change_owner");
    let a = Some(alice.token.as_str());

    let r = app.patch(&base, a, json!({})).await;
    assert_issue(&r, json!(["query", "new_owner_id"]), "missing");
    let r = app.patch(&format!("{base}?new_owner_id=bob"), a, json!({})).await;
    assert_issue(&r, json!(["query", "new_owner_id"]), "uuid_parsing");

    let r = app
        .patch(&format!("{base}?new_owner_id={MISSING}"), a, json!({}))
        .await;
    assert_eq!((r.status, r.detail()), (404, "New owner not found"));
    let r = app
        .patch(
            &format!("/channels/{MISSING}/change_owner?new_owner_id={}", bob.id),
            a,
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.detail()), (404, "Channel not found"));
    for (who, user) in [("member", &bob), ("stranger", &carol)] {
        let r = app
            .patch(
                &format!("{base}?new_owner_id={}", user.id),
                Some(&user.token),
                json!({}),
            )
            .await;
        assert_eq!(r.status, 403, "{who}: {}", r.body);
    }
    // A deleted account cannot receive a channel.
    app.delete(&format!("/users/{}", carol.id), Some(&carol.token))
        .await
        .expect(200);
    let r = app
        .patch(&format!("{base}?new_owner_id={}", carol.id), a, json!({}))
        .await;
    assert_eq!((r.status, r.detail()), (404, "New owner not found"));

    let unchanged = app.get(&format!("/channels/{id}"), a).await.expect(200);
    assert_eq!(unchanged["owner_id"], alice.id.as_str());
    let members = app.get(&format!("/channels/{id}/members"), a).await.expect(200);
    assert_eq!(field(&members, "username"), ["alice", "bob"]);
}

// ---- read-your-writes ------------------------------------------------------------------------

#[tokio::test]
async fn every_write_is_visible_to_the_next_read() {
    let app = TestApp::spawn().await;
    let (alice, bob, _, id) = setup(&app).await;
    let path = format!("/channels/{id}");
    for i in 0..10 {
        let name = format!("round-{i}");
        let written = app
            .patch(&path, Some(&alice.token), json!({"name": name}))
            .await
            .expect(200);
        assert_eq!(written["name"], name.as_str());
        assert_eq!(app.get(&path, Some(&bob.token)).await.expect(200), written);
        let c = app.create_channel(&bob, &format!("extra-{i}")).await;
        let mine = app
            .get("/channels/my-memberships", Some(&bob.token))
            .await
            .expect(200);
        assert!(mine.as_array().unwrap().contains(&c), "round {i}");
        assert_eq!(
            app.delete(&format!("{path}/leave"), Some(&bob.token))
                .await
                .status,
            204
        );
        let members = app
            .get(&format!("{path}/members"), Some(&alice.token))
            .await
            .expect(200);
        assert_eq!(field(&members, "username"), ["alice"], "round {i}");
        app.join(&bob, &id).await;
        let members = app
            .get(&format!("{path}/members"), Some(&alice.token))
            .await
            .expect(200);
        assert_eq!(field(&members, "username"), ["alice", "bob"], "round {i}");
    }
}
