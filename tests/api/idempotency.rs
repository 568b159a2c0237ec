//! `Idempotency-Key` on message and file posts: a retry returns the original message (same id,
//! 201) and posts nothing more, across restarts and whatever happened to the first attempt; the
//! same key with a different request is a 422.

use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};

use crate::files_support::{file_part, files_room, multipart, stored_objects, upload_path};
use crate::messages::{room, Room};
use crate::support::{Resp, TestApp, TestUser};

fn text_path(channel: &str) -> String {
    format!("/messages/channels/{channel}/messages")
}

pub async fn post_keyed(app: &TestApp, user: &TestUser, channel: &str, key: &str, content: &str) -> Resp {
    let resp = app
        .client
        .post(app.url(&text_path(channel)))
        .bearer_auth(&user.token)
        .header("Idempotency-Key", key)
        .json(&json!({ "content": content }))
        .send()
        .await
        .expect("post sent");
    TestApp::read(resp).await
}

async fn upload_keyed(app: &TestApp, user: &TestUser, channel: &str, key: &str, bytes: &[u8]) -> Resp {
    let (content_type, body) = multipart(&[file_part("notes.txt", "text/plain", bytes)]);
    let resp = app
        .client
        .post(app.url(&upload_path(channel)))
        .bearer_auth(&user.token)
        .header("Idempotency-Key", key)
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("upload sent");
    TestApp::read(resp).await
}

async fn history(app: &TestApp, user: &TestUser, channel: &str) -> Vec<Value> {
    app.get(&format!("/messages/channel/{channel}"), Some(&user.token))
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_retry_returns_the_original_and_posts_once_even_after_a_restart() {
    let app = TestApp::spawn().await;
    let Room { member, channel, .. } = room(&app).await;

    let first = post_keyed(&app, &member, &channel, "retry-1", "hello")
        .await
        .expect(201);
    let again = post_keyed(&app, &member, &channel, "retry-1", "hello")
        .await
        .expect(201);
    assert_eq!(again, first, "the retry answers with exactly the original body");

    // Edited since: a retry still answers with what the first request got.
    let id = first["id"].as_str().unwrap();
    app.patch(
        &format!("/messages/{id}"),
        Some(&member.token),
        json!({"content": "edited"}),
    )
    .await
    .expect(200);
    let db = app.db.clone();
    app.stop().await;
    let app = TestApp::spawn_on(db, |c| c).await;
    let after_restart = post_keyed(&app, &member, &channel, "retry-1", "hello")
        .await
        .expect(201);
    assert_eq!(after_restart, first);

    let posted = history(&app, &member, &channel).await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0]["id"], first["id"]);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_a_422_and_keys_belong_to_their_user() {
    let app = TestApp::spawn().await;
    let Room {
        owner,
        member,
        channel,
        ..
    } = room(&app).await;

    let first = post_keyed(&app, &member, &channel, "k", "hello")
        .await
        .expect(201);
    let other_body = post_keyed(&app, &member, &channel, "k", "hello!").await;
    assert_eq!(other_body.status, 422, "{:?}", other_body.body);
    assert_eq!(
        other_body.detail(),
        "Idempotency-Key was already used with a different request"
    );
    let other_channel = app.create_channel(&member, "elsewhere").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        post_keyed(&app, &member, &other_channel, "k", "hello")
            .await
            .status,
        422
    );

    // Another user's "k" is their own key.
    let owners = post_keyed(&app, &owner, &channel, "k", "hello").await.expect(201);
    assert_ne!(owners["id"], first["id"]);
    assert_eq!(history(&app, &member, &channel).await.len(), 2);
}

#[tokio::test]
async fn malformed_keys_are_refused_before_anything_is_posted() {
    let app = TestApp::spawn().await;
    let Room { member, channel, .. } = room(&app).await;
    for bad in [String::new(), "has space".into(), "k".repeat(256)] {
        let refused = post_keyed(&app, &member, &channel, &bad, "hello").await;
        assert_eq!(refused.status, 422, "{bad:?}: {:?}", refused.body);
        assert_eq!(
            refused.body["detail"][0]["loc"],
            json!(["header", "Idempotency-Key"])
        );
    }
    assert!(history(&app, &member, &channel).await.is_empty());
}

#[tokio::test]
async fn concurrent_retries_of_one_key_post_exactly_once() {
    let app = TestApp::spawn().await;
    let Room { member, channel, .. } = room(&app).await;
    let attempts =
        futures::future::join_all((0..8).map(|_| post_keyed(&app, &member, &channel, "burst", "once"))).await;
    let ids: Vec<Value> = attempts
        .into_iter()
        .map(|r| r.expect(201)["id"].clone())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(history(&app, &member, &channel).await.len(), 1);
}

/// The first attempt died at either point a crash can hit: after reserving the key (nothing
/// posted), or after posting but before storing its answer. The retry finishes the job, once.
#[tokio::test]
async fn a_retry_completes_or_finds_an_attempt_that_died_midway() {
    let app = TestApp::spawn().await;
    let Room { member, channel, .. } = room(&app).await;

    let landed = post_keyed(&app, &member, &channel, "died-after-post", "one")
        .await
        .expect(201);
    sqlx::query("UPDATE idempotency_keys SET response = NULL WHERE key = 'died-after-post'")
        .execute(&app.pool)
        .await
        .unwrap();
    let retried = post_keyed(&app, &member, &channel, "died-after-post", "one")
        .await
        .expect(201);
    assert_eq!(retried["id"], landed["id"]);

    let reserved = post_keyed(&app, &member, &channel, "died-before-post", "two")
        .await
        .expect(201);
    let id = reserved["id"].as_str().unwrap();
    // Make it as if that attempt had reserved its id and died: no message, no answer.
    app.delete(&format!("/messages/{id}"), Some(&member.token))
        .await
        .expect(200);
    let fresh_id = uuid::Uuid::now_v7();
    sqlx::query(
        "UPDATE idempotency_keys SET response = NULL, message_id = $1 WHERE key = 'died-before-post'",
    )
    .bind(fresh_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let completed = post_keyed(&app, &member, &channel, "died-before-post", "two")
        .await
        .expect(201);
    assert_eq!(completed["id"], fresh_id.to_string());
    assert_eq!(completed["content"], "two");

    let ids: Vec<Value> = history(&app, &member, &channel)
        .await
        .into_iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, vec![landed["id"].clone(), completed["id"].clone()]);
}

#[tokio::test]
async fn a_retried_upload_returns_the_original_and_keeps_one_object() {
    let (app, files, Room { member, channel, .. }) = files_room().await;

    let first = upload_keyed(&app, &member, &channel, "upload-1", b"the same bytes")
        .await
        .expect(201);
    let again = upload_keyed(&app, &member, &channel, "upload-1", b"the same bytes")
        .await
        .expect(201);
    assert_eq!(again, first);
    assert_eq!(stored_objects(&files).len(), 1, "the retry's copy is removed");

    let changed = upload_keyed(&app, &member, &channel, "upload-1", b"other bytes!!!").await;
    assert_eq!(changed.status, 422, "{:?}", changed.body);
    assert_eq!(stored_objects(&files).len(), 1);
    // A text post under an upload's key is a different request too.
    assert_eq!(
        post_keyed(&app, &member, &channel, "upload-1", "text")
            .await
            .status,
        422
    );
    assert_eq!(history(&app, &member, &channel).await.len(), 1);
}
