//! `/messages` history routes (order, skip/limit, keyset cursors) and clearing a channel.

use serde_json::{json, Value};

use crate::messages::{assert_text_message, ids, room};
use crate::support::{TestApp, TestUser};

/// Posts `n` messages one after another; their ids in posting order.
async fn post_many(app: &TestApp, author: &TestUser, channel: &str, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let m = app.post_message(author, channel, &format!("message {i}")).await;
        out.push(m["id"].as_str().unwrap().to_string());
    }
    out
}

async fn page(app: &TestApp, user: &TestUser, path: &str) -> Vec<String> {
    ids(&app.get(path, Some(&user.token)).await.expect(200))
}

#[tokio::test]
async fn history_is_oldest_first_with_skip_limit_and_cursors() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let posted = post_many(&app, &r.member, &r.channel, 30).await;
    let base = format!("/messages/channel/{}", r.channel);
    let h = |q: &str| format!("{base}?{q}");

    let all = app.get(&base, Some(&r.owner.token)).await.expect(200);
    assert_eq!(ids(&all), posted);
    for (i, m) in all.as_array().unwrap().iter().enumerate() {
        assert_text_message(m, &r.member, &r.channel, &format!("message {i}"));
    }
    assert_eq!(page(&app, &r.owner, &format!("{base}/")).await, posted);

    // Offset pages.
    assert_eq!(page(&app, &r.owner, &h("skip=5&limit=10")).await, posted[5..15]);
    assert_eq!(page(&app, &r.owner, &h("skip=25")).await, posted[25..]);
    assert_eq!(page(&app, &r.owner, &h("skip=30")).await, Vec::<String>::new());
    assert_eq!(page(&app, &r.owner, &h("limit=0")).await, Vec::<String>::new());
    assert_eq!(page(&app, &r.owner, &h("limit=100000")).await, posted);

    // Keyset pages: "load older" takes the newest `limit` before the cursor, still oldest first.
    assert_eq!(
        page(&app, &r.owner, &h(&format!("limit=10&before={}", posted[20]))).await,
        posted[10..20]
    );
    assert_eq!(
        page(&app, &r.owner, &h(&format!("limit=10&before={}", posted[5]))).await,
        posted[..5]
    );
    assert_eq!(
        page(&app, &r.owner, &h(&format!("before={}", posted[0]))).await,
        Vec::<String>::new()
    );
    assert_eq!(
        page(&app, &r.owner, &h(&format!("limit=10&after={}", posted[5]))).await,
        posted[6..16]
    );
    assert_eq!(
        page(&app, &r.owner, &h(&format!("limit=10&after={}", posted[25]))).await,
        posted[26..]
    );
    assert_eq!(
        page(&app, &r.owner, &h(&format!("after={}", posted[29]))).await,
        Vec::<String>::new()
    );
    // `skip` counts from the cursor.
    assert_eq!(
        page(
            &app,
            &r.owner,
            &h(&format!("limit=5&skip=2&before={}", posted[20]))
        )
        .await,
        posted[13..18]
    );
    assert_eq!(
        page(
            &app,
            &r.owner,
            &h(&format!("limit=5&skip=2&after={}", posted[10]))
        )
        .await,
        posted[13..18]
    );
    // Walking the whole history backwards, ten at a time, visits every message once.
    let mut walked: Vec<String> = vec![];
    let mut cursor = String::new();
    loop {
        let q = if cursor.is_empty() {
            "limit=10&skip=20".to_string()
        } else {
            format!("limit=10&before={cursor}")
        };
        let chunk = page(&app, &r.owner, &h(&q)).await;
        let Some(first) = chunk.first().cloned() else {
            break;
        };
        walked.splice(0..0, chunk);
        cursor = first;
    }
    assert_eq!(walked, posted);

    // An id that never was a message: an empty page, not an error.
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(
        page(&app, &r.owner, &h(&format!("before={unknown}"))).await,
        Vec::<String>::new()
    );
    assert_eq!(
        page(&app, &r.owner, &h(&format!("after={unknown}"))).await,
        Vec::<String>::new()
    );
    // A cursor whose message was deleted meanwhile keeps its place.
    app.delete(&format!("/messages/{}", posted[20]), Some(&r.member.token))
        .await
        .expect(200);
    assert_eq!(
        page(&app, &r.owner, &h(&format!("limit=3&before={}", posted[20]))).await,
        posted[17..20]
    );
    assert_eq!(
        page(&app, &r.owner, &h(&format!("limit=3&after={}", posted[20]))).await,
        posted[21..24]
    );

    // Bad query parameters are 422s.
    for q in [
        "skip=-1".to_string(),
        "limit=-1".to_string(),
        "limit=ten".to_string(),
        "before=nope".to_string(),
        format!("before={}&after={}", posted[1], posted[2]),
    ] {
        let resp = app.get(&h(&q), Some(&r.owner.token)).await;
        assert_eq!(resp.status, 422, "{q}: {}", resp.body);
        assert_eq!(resp.body["detail"][0]["loc"][0], "query", "{q}: {}", resp.body);
    }
}

#[tokio::test]
async fn history_needs_membership_of_an_existing_channel() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    app.post_message(&r.owner, &r.channel, "hi").await;
    let paths = [
        format!("/messages/channel/{}", r.channel),
        format!("/messages/channel/{}/user/{}", r.channel, r.owner.id),
    ];
    for p in &paths {
        let resp = app.get(p, Some(&r.stranger.token)).await;
        assert_eq!(resp.status, 403, "{p}: {}", resp.body);
        assert_eq!(resp.detail(), "You are not a member of this channel");
        let missing = p.replace(&r.channel, &uuid::Uuid::now_v7().to_string());
        let resp = app.get(&missing, Some(&r.owner.token)).await;
        assert_eq!(resp.status, 404, "{missing}: {}", resp.body);
        assert_eq!(resp.detail(), "Channel not found");
    }
}

#[tokio::test]
async fn a_users_messages_in_one_channel() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let mut by_member = vec![];
    for i in 0..4 {
        app.post_message(&r.owner, &r.channel, &format!("owner {i}"))
            .await;
        by_member.push(
            app.post_message(&r.member, &r.channel, &format!("member {i}"))
                .await,
        );
    }
    // The same author elsewhere doesn't show up here.
    let elsewhere = app.create_channel(&r.member, "elsewhere").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post_message(&r.member, &elsewhere, "elsewhere").await;

    let base = format!("/messages/channel/{}/user/{}", r.channel, r.member.id);
    let got = app.get(&base, Some(&r.owner.token)).await.expect(200);
    assert_eq!(got, Value::Array(by_member.clone()));
    let expected: Vec<String> = by_member
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        page(&app, &r.owner, &format!("{base}?skip=1&limit=2")).await,
        expected[1..3]
    );
    assert_eq!(
        page(&app, &r.owner, &format!("{base}?after={}", expected[1])).await,
        expected[2..]
    );
    // Someone who never posted, or no such user: an empty list.
    for user in [r.stranger.id.clone(), uuid::Uuid::now_v7().to_string()] {
        let resp = app
            .get(
                &format!("/messages/channel/{}/user/{user}", r.channel),
                Some(&r.owner.token),
            )
            .await;
        assert_eq!(resp.expect(200), json!([]));
    }
}

#[tokio::test]
async fn a_users_messages_only_in_channels_the_caller_belongs_to() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let private = app.create_channel(&r.member, "private").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a1 = app.post_message(&r.member, &r.channel, "shared 1").await;
    let p1 = app.post_message(&r.member, &private, "private 1").await;
    let a2 = app.post_message(&r.member, &r.channel, "shared 2").await;
    let id = |m: &Value| m["id"].as_str().unwrap().to_string();
    let path = format!("/messages/user/{}", r.member.id);

    // The owner shares only "general" with the author.
    let seen = app.get(&path, Some(&r.owner.token)).await.expect(200);
    assert_eq!(seen, json!([a1, a2]));
    // The author sees all of their own, oldest first.
    assert_eq!(page(&app, &r.member, &path).await, [id(&a1), id(&p1), id(&a2)]);
    // A stranger shares nothing.
    assert_eq!(
        app.get(&path, Some(&r.stranger.token)).await.expect(200),
        json!([])
    );
    // Joining the private channel makes its messages visible at once.
    app.join(&r.owner, &private).await;
    assert_eq!(page(&app, &r.owner, &path).await, [id(&a1), id(&p1), id(&a2)]);
    assert_eq!(
        page(&app, &r.owner, &format!("{path}?skip=1&limit=1")).await,
        [id(&p1)]
    );
    assert_eq!(
        page(&app, &r.owner, &format!("{path}?before={}", id(&a2))).await,
        [id(&a1), id(&p1)]
    );
    // Unknown users have no messages.
    let unknown = format!("/messages/user/{}", uuid::Uuid::now_v7());
    assert_eq!(
        app.get(&unknown, Some(&r.owner.token)).await.expect(200),
        json!([])
    );
}

#[tokio::test]
async fn the_owner_clears_a_channel() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let other = app.create_channel(&r.owner, "other").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let kept = app.post_message(&r.owner, &other, "in another channel").await;
    let mut posted = post_many(&app, &r.member, &r.channel, 12).await;
    posted.extend(post_many(&app, &r.owner, &r.channel, 13).await);
    let clear = format!("/messages/channel/{}/messages", r.channel);

    // Only the owner; not members, not strangers; 404 for no channel.
    for user in [&r.member, &r.stranger] {
        let resp = app.delete(&clear, Some(&user.token)).await;
        assert_eq!(resp.status, 403, "{}: {}", user.username, resp.body);
        assert_eq!(resp.detail(), "Only the channel owner can clear its messages");
    }
    let resp = app
        .delete(
            &format!("/messages/channel/{}/messages", uuid::Uuid::now_v7()),
            Some(&r.owner.token),
        )
        .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.detail(), "Channel not found");
    assert_eq!(
        page(&app, &r.member, &format!("/messages/channel/{}", r.channel)).await,
        posted
    );

    // One already deleted is not counted.
    app.delete(&format!("/messages/{}", posted[3]), Some(&r.member.token))
        .await
        .expect(200);
    let body = app.delete(&clear, Some(&r.owner.token)).await.expect(200);
    assert_eq!(body["count"], 24, "{body}");
    assert!(body["message"].is_string());
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["count", "message"]);

    // Read-your-writes: the history is empty at once, the messages are gone, other channels kept.
    let history = app
        .get(&format!("/messages/channel/{}", r.channel), Some(&r.member.token))
        .await;
    assert_eq!(history.expect(200), json!([]));
    let resp = app
        .get(&format!("/messages/{}", posted[0]), Some(&r.owner.token))
        .await;
    assert_eq!(resp.status, 404);
    let kept_now = app
        .get(
            &format!("/messages/{}", kept["id"].as_str().unwrap()),
            Some(&r.owner.token),
        )
        .await;
    assert_eq!(kept_now.expect(200), kept);

    // The log records why, and who.
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT payload -> 'MessageDeleted' ->> 'reason', payload -> 'MessageDeleted' ->> 'deleted_by'
           FROM events WHERE aggregate_type = 'Message' AND event_type = 'MessageDeleted'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 25);
    let cleared = rows
        .iter()
        .filter(|(reason, by)| reason == "channel_cleared" && by == &r.owner.id)
        .count();
    assert_eq!(cleared, 24);

    // Clearing an empty channel deletes nothing; posting works again afterwards.
    assert_eq!(
        app.delete(&clear, Some(&r.owner.token)).await.expect(200)["count"],
        0
    );
    let fresh = app.post_message(&r.member, &r.channel, "fresh start").await;
    let history = app
        .get(&format!("/messages/channel/{}", r.channel), Some(&r.member.token))
        .await;
    assert_eq!(history.expect(200), json!([fresh]));
}
