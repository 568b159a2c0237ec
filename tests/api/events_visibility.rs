//! `GET /v1/events` shows each user what they may see, as of each event's position: a channel's
//! events from when they joined until they left, nothing of channels they are not in.

use serde_json::json;

use crate::events_support::{all_events, concerns_channel, entry, summary};
use crate::support::TestApp;

fn id(v: &serde_json::Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn members_see_their_channels_only_while_they_belong() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    let channel = id(&app.create_channel(&alice, "general").await);

    let before = app.post_message(&alice, &channel, "before bob").await;
    app.join(&bob, &channel).await;
    let during = app.post_message(&alice, &channel, "while bob is here").await;
    app.patch(
        &format!("/messages/{}", id(&during)),
        Some(&alice.token),
        json!({"content": "edited while bob is here"}),
    )
    .await
    .expect(200);
    let doomed = app.post_message(&bob, &channel, "bob's own").await;
    app.delete(&format!("/messages/{}", id(&doomed)), Some(&alice.token))
        .await
        .expect(200);
    app.join(&dave, &channel).await;
    app.delete(&format!("/channels/{channel}/leave"), Some(&bob.token))
        .await
        .expect(204);
    // After bob left: none of this is his to see.
    let after = app.post_message(&alice, &channel, "after bob").await;
    app.patch(
        &format!("/messages/{}", id(&before)),
        Some(&alice.token),
        json!({"content": "edited after bob left"}),
    )
    .await
    .expect(200);
    app.delete(&format!("/channels/{channel}/leave"), Some(&dave.token))
        .await
        .expect(204);

    let (bobs, _) = all_events(&app, &bob.token, 100).await;
    assert_eq!(
        summary(&bobs),
        vec![
            entry("member.joined", &bob.id),
            entry("message.created", &id(&during)),
            entry("message.edited", &id(&during)),
            entry("message.created", &id(&doomed)),
            entry("message.deleted", &id(&doomed)),
            entry("member.joined", &dave.id),
            entry("member.left", &bob.id),
        ],
        "bob's events: {bobs:#?}"
    );
    assert!(bobs.iter().all(|e| concerns_channel(e, &channel)));
    assert_eq!(bobs[2]["data"]["content"], "edited while bob is here");
    assert_eq!(bobs[4]["data"]["deleted_by"], json!(alice.id));

    let (carols, _) = all_events(&app, &carol.token, 100).await;
    assert!(
        carols.iter().all(|e| !concerns_channel(e, &channel)),
        "a stranger sees nothing of the channel: {carols:#?}"
    );
    let message_ids = [&before, &during, &doomed, &after].map(id);
    assert!(carols
        .iter()
        .all(|e| !message_ids.contains(&e["data"]["id"].as_str().unwrap_or_default().to_string())));

    // The owner, a member throughout, sees every message event in order.
    let (alices, _) = all_events(&app, &alice.token, 100).await;
    let messages: Vec<_> = summary(&alices)
        .into_iter()
        .filter(|(kind, _)| kind.starts_with("message."))
        .collect();
    assert_eq!(
        messages,
        vec![
            entry("message.created", &id(&before)),
            entry("message.created", &id(&during)),
            entry("message.edited", &id(&during)),
            entry("message.created", &id(&doomed)),
            entry("message.deleted", &id(&doomed)),
            entry("message.created", &id(&after)),
            entry("message.edited", &id(&before)),
        ]
    );
    assert!(summary(&alices).contains(&entry("member.left", &dave.id)));
}

#[tokio::test]
async fn message_created_carries_exactly_what_the_post_returned() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let channel = id(&app.create_channel(&alice, "general").await);
    app.join(&bob, &channel).await;
    let posted = app.post_message(&alice, &channel, "hello, bob").await;

    let (events, _) = all_events(&app, &bob.token, 100).await;
    let created: Vec<_> = events.iter().filter(|e| e["type"] == "message.created").collect();
    assert_eq!(created.len(), 1, "{events:#?}");
    assert_eq!(created[0]["data"], posted);
    let position = created[0]["position"].as_i64().unwrap();
    assert!(position > 0);
    assert_eq!(
        created[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["data", "position", "type"],
        "frames are exactly {{type, position, data}}"
    );
}

#[tokio::test]
async fn profile_updates_reach_the_user_and_their_channel_peers_only() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let channel = id(&app.create_channel(&alice, "general").await);
    app.join(&bob, &channel).await;

    app.patch(
        &format!("/users/{}", bob.id),
        Some(&bob.token),
        json!({"bio": "likes trains"}),
    )
    .await
    .expect(200);

    let updated = |events: &[serde_json::Value]| -> Vec<serde_json::Value> {
        events
            .iter()
            .filter(|e| e["type"] == "user.updated")
            .cloned()
            .collect()
    };
    let (own, _) = all_events(&app, &bob.token, 100).await;
    let own = updated(&own);
    assert_eq!(own.len(), 1, "{own:#?}");
    assert_eq!(own[0]["data"]["id"], json!(bob.id));
    assert_eq!(own[0]["data"]["bio"], "likes trains");
    assert!(own[0]["data"].get("password").is_none());

    let (peer, _) = all_events(&app, &alice.token, 100).await;
    assert_eq!(updated(&peer), own, "a channel peer sees the same frame");
    let (stranger, _) = all_events(&app, &carol.token, 100).await;
    assert!(updated(&stranger).is_empty(), "{stranger:#?}");
}

#[tokio::test]
async fn the_stream_requires_a_valid_token() {
    let app = TestApp::spawn().await;
    let resp = app.get("/v1/events", None).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.detail(), "Could not validate credentials");
    assert_eq!(resp.headers["www-authenticate"], "Bearer");
    let resp = app.get("/v1/events?after=0", Some("not-a-token")).await;
    assert_eq!(resp.status, 401);

    // A deleted user's token stops working here too.
    let alice = app.register("alice").await;
    app.delete(&format!("/users/{}", alice.id), Some(&alice.token))
        .await
        .expect(200);
    assert_eq!(app.get("/v1/events", Some(&alice.token)).await.status, 401);
}
