//! Memberships: join, leave, members, my/user/shared memberships.

use serde_json::{json, Value};

use crate::channels::{assert_channel_read, field, time};
use crate::support::TestApp;

const MISSING: &str = "00000000-0000-7000-8000-000000000000";

fn id_of(channel: &Value) -> String {
    channel["id"].as_str().unwrap().to_string()
}

// ---- join ------------------------------------------------------------------------------------

#[tokio::test]
async fn join_returns_the_membership() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let channel = app.create_channel(&alice, "general").await;
    let id = id_of(&channel);

    let joined = app
        .post(&format!("/channels/{id}/join"), Some(&bob.token), json!({}))
        .await
        .expect(201);
    let mut keys: Vec<&String> = joined.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["channel_id", "joined_at", "user_id"]);
    assert_eq!(joined["user_id"], bob.id.as_str());
    assert_eq!(joined["channel_id"], id.as_str());
    assert!(time(&joined["joined_at"]) >= time(&channel["created_at"]));

    let members = app
        .get(&format!("/channels/{id}/members"), Some(&bob.token))
        .await
        .expect(200);
    assert_eq!(field(&members, "username"), ["alice", "bob"]);
    assert_eq!(members[1]["id"], bob.id.as_str());
    assert_eq!(members[1]["status"], "active");
    let mine = app
        .get("/channels/my-memberships", Some(&bob.token))
        .await
        .expect(200);
    assert_eq!(mine, json!([channel]));
}

#[tokio::test]
async fn join_without_a_body_and_join_errors() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let id = id_of(&app.create_channel(&alice, "general").await);
    let url = app.url(&format!("/channels/{id}/join"));

    // Clients send no body at all.
    let resp = app
        .client
        .post(&url)
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(TestApp::read(resp).await.expect(201)["user_id"], bob.id.as_str());

    let again = app
        .post(&format!("/channels/{id}/join"), Some(&bob.token), json!({}))
        .await;
    assert_eq!(
        (again.status, again.detail()),
        (409, "User is already a member of this channel.")
    );
    let owner = app
        .post(&format!("/channels/{id}/join"), Some(&alice.token), json!({}))
        .await;
    assert_eq!(
        (owner.status, owner.detail()),
        (409, "User is already a member of this channel.")
    );
    let missing = app
        .post(&format!("/channels/{MISSING}/join"), Some(&bob.token), json!({}))
        .await;
    assert_eq!((missing.status, missing.detail()), (404, "Channel not found"));

    let members = app
        .get(&format!("/channels/{id}/members"), Some(&alice.token))
        .await
        .expect(200);
    assert_eq!(field(&members, "username"), ["alice", "bob"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_users_join_concurrently() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let id = id_of(&app.create_channel(&owner, "busy").await);
    let app_ref = &app;
    let users = futures::future::join_all(
        (0..20).map(|i| async move { app_ref.register(&format!("user{i:02}")).await }),
    )
    .await;

    let joins = users.iter().map(|u| {
        let (client, url, token) = (
            app.client.clone(),
            app.url(&format!("/channels/{id}/join")),
            u.token.clone(),
        );
        tokio::spawn(
            async move { TestApp::read(client.post(url).bearer_auth(token).send().await.unwrap()).await },
        )
    });
    for (user, joined) in users.iter().zip(futures::future::join_all(joins).await) {
        let body = joined.unwrap().expect(201);
        assert_eq!(body["user_id"], user.id.as_str());
        assert_eq!(body["channel_id"], id.as_str());
    }

    let members = app
        .get(&format!("/channels/{id}/members"), Some(&owner.token))
        .await
        .expect(200);
    let mut ids = field(&members, "id");
    assert_eq!(ids.len(), 21);
    ids.sort();
    let mut expected: Vec<String> = users
        .iter()
        .map(|u| u.id.clone())
        .chain([owner.id.clone()])
        .collect();
    expected.sort();
    assert_eq!(ids, expected);
}

// ---- leave -----------------------------------------------------------------------------------

#[tokio::test]
async fn member_leaves_with_204_and_loses_access() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let id = id_of(&app.create_channel(&alice, "general").await);
    app.join(&bob, &id).await;

    let left = app
        .delete(&format!("/channels/{id}/leave"), Some(&bob.token))
        .await;
    assert_eq!(left.status, 204);
    assert_eq!(left.body, Value::Null, "204 has an empty body");

    let members = app
        .get(&format!("/channels/{id}/members"), Some(&alice.token))
        .await
        .expect(200);
    assert_eq!(field(&members, "username"), ["alice"]);
    assert_eq!(
        app.get("/channels/my-memberships", Some(&bob.token))
            .await
            .expect(200),
        json!([])
    );
    let r = app
        .get(&format!("/channels/{id}/members"), Some(&bob.token))
        .await;
    assert_eq!(
        (r.status, r.detail()),
        (403, "You are not a member of this channel")
    );
    let r = app
        .delete(&format!("/channels/{id}/leave"), Some(&bob.token))
        .await;
    assert_eq!(
        (r.status, r.detail()),
        (404, "User is not a member of this channel.")
    );
    // And may come back.
    app.join(&bob, &id).await;
    let members = app
        .get(&format!("/channels/{id}/members"), Some(&bob.token))
        .await
        .expect(200);
    assert_eq!(field(&members, "username"), ["alice", "bob"]);
}

#[tokio::test]
async fn leave_errors() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let carol = app.register("carol").await;
    let id = id_of(&app.create_channel(&alice, "general").await);

    let r = app
        .delete(&format!("/channels/{id}/leave"), Some(&alice.token))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.detail().contains("owner cannot leave"), "{}", r.body);
    let r = app
        .delete(&format!("/channels/{id}/leave"), Some(&carol.token))
        .await;
    assert_eq!(
        (r.status, r.detail()),
        (404, "User is not a member of this channel.")
    );
    let r = app
        .delete(&format!("/channels/{MISSING}/leave"), Some(&carol.token))
        .await;
    assert_eq!((r.status, r.detail()), (404, "Channel not found"));
    let members = app
        .get(&format!("/channels/{id}/members"), Some(&alice.token))
        .await
        .expect(200);
    assert_eq!(field(&members, "username"), ["alice"]);
}

// ---- members ---------------------------------------------------------------------------------

#[tokio::test]
async fn members_is_for_members_only() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let id = id_of(&app.create_channel(&alice, "general").await);
    app.join(&bob, &id).await;

    let r = app
        .get(&format!("/channels/{id}/members"), Some(&carol.token))
        .await;
    assert_eq!(
        (r.status, r.detail()),
        (403, "You are not a member of this channel")
    );
    let r = app
        .get(&format!("/channels/{MISSING}/members"), Some(&carol.token))
        .await;
    assert_eq!((r.status, r.detail()), (404, "Channel not found"));

    let members = app
        .get(&format!("/channels/{id}/members"), Some(&bob.token))
        .await
        .expect(200);
    let me = app.get("/users/me", Some(&alice.token)).await.expect(200);
    assert_eq!(members[0], me, "members are UserRead objects");
    assert_eq!(field(&members, "username"), ["alice", "bob"]);
    let page = app
        .get(
            &format!("/channels/{id}/members?skip=1&limit=1"),
            Some(&bob.token),
        )
        .await
        .expect(200);
    assert_eq!(field(&page, "username"), ["bob"]);
}

// ---- memberships -----------------------------------------------------------------------------

#[tokio::test]
async fn my_memberships_are_the_callers_channels_by_name() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    for name in ["charlie", "alpha", "delta"] {
        app.create_channel(&alice, name).await;
    }
    let bravo = app.create_channel(&bob, "bravo").await;
    let echo = app.create_channel(&bob, "echo").await;
    app.join(&alice, &id_of(&echo)).await;

    let t = Some(alice.token.as_str());
    let mine = app.get("/channels/my-memberships", t).await.expect(200);
    assert_eq!(field(&mine, "name"), ["alpha", "charlie", "delta", "echo"]);
    mine.as_array().unwrap().iter().for_each(assert_channel_read);
    let page = app
        .get("/channels/my-memberships?skip=1&limit=2", t)
        .await
        .expect(200);
    assert_eq!(field(&page, "name"), ["charlie", "delta"]);
    let bobs = app
        .get("/channels/my-memberships", Some(&bob.token))
        .await
        .expect(200);
    assert_eq!(bobs, json!([bravo, echo]));
}

#[tokio::test]
async fn any_user_sees_another_users_memberships() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let zulu = app.create_channel(&bob, "zulu").await;
    let alpha = app.create_channel(&alice, "alpha").await;
    app.join(&bob, &id_of(&alpha)).await;
    app.create_channel(&alice, "alice-only").await;

    let path = format!("/channels/user/{}/memberships", bob.id);
    assert_eq!(
        app.get(&path, Some(&carol.token)).await.expect(200),
        json!([alpha, zulu])
    );
    let page = app
        .get(&format!("{path}?skip=1"), Some(&carol.token))
        .await
        .expect(200);
    assert_eq!(page, json!([zulu]));
    let r = app.get(&format!("{path}?limit=-1"), Some(&carol.token)).await;
    assert_eq!(r.status, 422);
    let carols = app
        .get(
            &format!("/channels/user/{}/memberships", carol.id),
            Some(&bob.token),
        )
        .await;
    assert_eq!(carols.expect(200), json!([]));

    let r = app
        .get(
            &format!("/channels/user/{MISSING}/memberships"),
            Some(&carol.token),
        )
        .await;
    assert_eq!((r.status, r.detail()), (404, "User not found"));
    app.delete(&format!("/users/{}", bob.id), Some(&bob.token))
        .await
        .expect(200);
    let r = app.get(&path, Some(&carol.token)).await;
    assert_eq!((r.status, r.detail()), (404, "User not found"));
}

#[tokio::test]
async fn shared_memberships_are_the_channels_both_belong_to() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let beta = app.create_channel(&alice, "beta").await;
    let alpha = app.create_channel(&bob, "alpha").await;
    app.create_channel(&alice, "alice-only").await;
    app.create_channel(&bob, "bob-only").await;
    app.join(&bob, &id_of(&beta)).await;
    app.join(&alice, &id_of(&alpha)).await;

    let shared = app
        .get(
            &format!("/channels/user/{}/shared-memberships", bob.id),
            Some(&alice.token),
        )
        .await;
    assert_eq!(shared.expect(200), json!([alpha, beta]));
    let back = app
        .get(
            &format!("/channels/user/{}/shared-memberships", alice.id),
            Some(&bob.token),
        )
        .await;
    assert_eq!(back.expect(200), json!([alpha, beta]));
    let page = app
        .get(
            &format!("/channels/user/{}/shared-memberships?skip=1&limit=1", bob.id),
            Some(&alice.token),
        )
        .await;
    assert_eq!(page.expect(200), json!([beta]));
    let none = app
        .get(
            &format!("/channels/user/{}/shared-memberships", carol.id),
            Some(&alice.token),
        )
        .await;
    assert_eq!(none.expect(200), json!([]));
    let r = app
        .get(
            &format!("/channels/user/{MISSING}/shared-memberships"),
            Some(&alice.token),
        )
        .await;
    assert_eq!((r.status, r.detail()), (404, "User not found"));
}
