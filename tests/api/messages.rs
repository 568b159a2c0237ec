//! `/messages` routes: posting, reading, editing and deleting one message; who may do what.
//! Validation is in `messages_validation.rs`, history and clearing in `messages_history.rs`,
//! concurrency in `messages_concurrency.rs`.

use serde_json::{json, Value};

use crate::support::{TestApp, TestUser};

/// A channel owned by `owner`, with `member` in it and `stranger` outside it.
pub struct Room {
    pub owner: TestUser,
    pub member: TestUser,
    pub stranger: TestUser,
    pub channel: String,
}

pub async fn room(app: &TestApp) -> Room {
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let stranger = app.register("stranger").await;
    let channel = app.create_channel(&owner, "general").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.join(&member, &channel).await;
    Room {
        owner,
        member,
        stranger,
        channel,
    }
}

pub fn post_path(channel: &str) -> String {
    format!("/messages/channels/{channel}/messages")
}

pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every MessageRead field of a text message, with its author embedded.
#[track_caller]
pub fn assert_text_message(m: &Value, author: &TestUser, channel: &str, content: &str) {
    let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "author",
            "author_id",
            "channel_id",
            "content",
            "content_type",
            "created_at",
            "id",
            "message_type",
            "original_filename",
            "s3_key",
            "updated_at"
        ]
    );
    uuid::Uuid::parse_str(m["id"].as_str().unwrap()).expect("id is a UUID");
    assert_eq!(m["author_id"], author.id.as_str());
    assert_eq!(m["channel_id"], channel);
    assert_eq!(m["message_type"], "text");
    assert_eq!(m["content"], content);
    assert_eq!(m["s3_key"], Value::Null);
    assert_eq!(m["content_type"], Value::Null);
    assert_eq!(m["original_filename"], Value::Null);
    let created = chrono::DateTime::parse_from_rfc3339(m["created_at"].as_str().unwrap()).unwrap();
    let updated = chrono::DateTime::parse_from_rfc3339(m["updated_at"].as_str().unwrap()).unwrap();
    assert!(updated >= created);
    let a = &m["author"];
    assert_eq!(a["id"], author.id.as_str());
    assert_eq!(a["username"], author.username.as_str());
    assert_eq!(a["email"], format!("{}@example.com", author.username));
    assert_eq!(a["status"], "active");
    assert!(a.get("password").is_none() && a.get("password_hash").is_none());
}

#[tokio::test]
async fn post_returns_the_full_message_and_get_reads_it_back() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let m = app
        .post(
            &post_path(&r.channel),
            Some(&r.member.token),
            json!({"content": "hello, world"}),
        )
        .await
        .expect(201);
    assert_text_message(&m, &r.member, &r.channel, "hello, world");
    assert_eq!(m["created_at"], m["updated_at"]);
    let id = m["id"].as_str().unwrap();

    // Read-your-writes: visible at once, to the author and to the other members.
    for user in [&r.member, &r.owner] {
        let got = app
            .get(&format!("/messages/{id}"), Some(&user.token))
            .await
            .expect(200);
        assert_eq!(got, m);
    }
    // Also under the other trailing-slash form, and content is kept verbatim.
    let m2 = app
        .post(
            &format!("{}/", post_path(&r.channel)),
            Some(&r.owner.token),
            json!({"content": "  padded  "}),
        )
        .await
        .expect(201);
    assert_text_message(&m2, &r.owner, &r.channel, "  padded  ");
}

#[tokio::test]
async fn posting_needs_membership_and_an_existing_channel() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let resp = app
        .post(
            &post_path(&r.channel),
            Some(&r.stranger.token),
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.detail(), "You are not a member of this channel");
    let missing = uuid::Uuid::now_v7();
    let resp = app
        .post(
            &post_path(&missing.to_string()),
            Some(&r.member.token),
            json!({"content": "hi"}),
        )
        .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.detail(), "Channel not found");
    let history = app
        .get(&format!("/messages/channel/{}", r.channel), Some(&r.owner.token))
        .await
        .expect(200);
    assert_eq!(history, json!([]));
}

#[tokio::test]
async fn reading_a_message_needs_membership_of_its_channel() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let m = app.post_message(&r.member, &r.channel, "members only").await;
    let path = format!("/messages/{}", m["id"].as_str().unwrap());
    for user in [&r.member, &r.owner] {
        assert_eq!(app.get(&path, Some(&user.token)).await.expect(200), m);
    }
    let resp = app.get(&path, Some(&r.stranger.token)).await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.detail(), "You are not a member of this channel");
    let resp = app
        .get(
            &format!("/messages/{}", uuid::Uuid::now_v7()),
            Some(&r.member.token),
        )
        .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.detail(), "Message not found");
}

#[tokio::test]
async fn only_the_author_edits() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let m = app.post_message(&r.member, &r.channel, "first draft").await;
    let path = format!("/messages/{}", m["id"].as_str().unwrap());

    for user in [&r.owner, &r.stranger] {
        let resp = app
            .patch(&path, Some(&user.token), json!({"content": "hijacked"}))
            .await;
        assert_eq!(resp.status, 403, "{}: {}", user.username, resp.body);
        assert_eq!(resp.detail(), "Only the author can edit this message");
    }
    let resp = app
        .patch(
            &format!("/messages/{}", uuid::Uuid::now_v7()),
            Some(&r.member.token),
            json!({"content": "x"}),
        )
        .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.detail(), "Message not found");

    let edited = app
        .patch(&path, Some(&r.member.token), json!({"content": "final"}))
        .await
        .expect(200);
    assert_text_message(&edited, &r.member, &r.channel, "final");
    assert_eq!(edited["id"], m["id"]);
    assert_eq!(edited["created_at"], m["created_at"]);
    let at = |v: &Value, f: &str| chrono::DateTime::parse_from_rfc3339(v[f].as_str().unwrap()).unwrap();
    assert!(at(&edited, "updated_at") > at(&m, "updated_at"), "{edited}");
    // Read-your-writes, for the other members too.
    assert_eq!(app.get(&path, Some(&r.owner.token)).await.expect(200), edited);
    // Same content again: accepted, nothing new recorded.
    let again = app
        .patch(&path, Some(&r.member.token), json!({"content": "final"}))
        .await
        .expect(200);
    assert_eq!(again, edited);
    let edits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'Message' AND aggregate_id = $1
            AND event_type = 'MessageEdited'",
    )
    .bind(m["id"].as_str().unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(edits, 1);
}

#[tokio::test]
async fn author_or_channel_owner_deletes() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let other = app.register("other").await;
    app.join(&other, &r.channel).await;
    let by_member = app.post_message(&r.member, &r.channel, "mine").await;
    let by_member2 = app.post_message(&r.member, &r.channel, "also mine").await;
    let by_owner = app.post_message(&r.owner, &r.channel, "the owner's").await;
    let path = |m: &Value| format!("/messages/{}", m["id"].as_str().unwrap());

    // Another member, or a stranger, can't delete; a member can't delete the owner's message.
    for (user, m) in [
        (&other, &by_member),
        (&r.stranger, &by_member),
        (&r.member, &by_owner),
    ] {
        let resp = app.delete(&path(m), Some(&user.token)).await;
        assert_eq!(resp.status, 403, "{}: {}", user.username, resp.body);
        assert_eq!(
            resp.detail(),
            "Only the author or the channel owner can delete this message"
        );
    }
    // The author deletes their own; the owner deletes someone else's.
    for (user, m) in [(&r.member, &by_member), (&r.owner, &by_member2)] {
        let body = app.delete(&path(m), Some(&user.token)).await.expect(200);
        assert_eq!(body, json!({"message": "Message deleted successfully"}));
        // Read-your-writes: gone at once, from the message route and from history.
        let resp = app.get(&path(m), Some(&r.owner.token)).await;
        assert_eq!(resp.status, 404);
        assert_eq!(resp.detail(), "Message not found");
        let resp = app.delete(&path(m), Some(&user.token)).await;
        assert_eq!(resp.status, 404);
        let resp = app
            .patch(&path(m), Some(&r.member.token), json!({"content": "back"}))
            .await;
        assert_eq!(resp.status, 404);
    }
    let history = app
        .get(&format!("/messages/channel/{}", r.channel), Some(&other.token))
        .await
        .expect(200);
    assert_eq!(crate::messages::ids(&history), [by_owner["id"].as_str().unwrap()]);

    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT payload -> 'MessageDeleted' ->> 'reason' FROM events
          WHERE aggregate_type = 'Message' AND event_type = 'MessageDeleted' ORDER BY global_position",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(reasons, ["by_author", "by_channel_owner"]);
    let resp = app
        .delete(
            &format!("/messages/{}", uuid::Uuid::now_v7()),
            Some(&r.owner.token),
        )
        .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.detail(), "Message not found");
}

#[tokio::test]
async fn a_member_who_leaves_can_no_longer_post_read_or_edit() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let m = app.post_message(&r.member, &r.channel, "before leaving").await;
    let path = format!("/messages/{}", m["id"].as_str().unwrap());
    let resp = app
        .delete(&format!("/channels/{}/leave", r.channel), Some(&r.member.token))
        .await;
    assert_eq!(resp.status, 204, "{}", resp.body);

    let t = Some(r.member.token.as_str());
    let resp = app
        .post(&post_path(&r.channel), t, json!({"content": "after leaving"}))
        .await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.detail(), "You are not a member of this channel");
    for p in [
        path.clone(),
        format!("/messages/channel/{}", r.channel),
        format!("/messages/channel/{}/user/{}", r.channel, r.member.id),
    ] {
        let resp = app.get(&p, t).await;
        assert_eq!(resp.status, 403, "{p}: {}", resp.body);
        assert_eq!(resp.detail(), "You are not a member of this channel");
    }
    let resp = app
        .patch(&path, t, json!({"content": "edited after leaving"}))
        .await;
    assert_eq!(resp.status, 403);
    // Their message stays, unchanged, for the remaining members; their own messages elsewhere
    // are no longer visible to them here.
    assert_eq!(
        app.get(&path, Some(&r.owner.token)).await.expect(200)["content"],
        "before leaving"
    );
    let mine = app
        .get(&format!("/messages/user/{}", r.member.id), t)
        .await
        .expect(200);
    assert_eq!(mine, json!([]));
    // An author may still delete what they wrote.
    app.delete(&path, t).await.expect(200);
    // Joining again restores access.
    app.join(&r.member, &r.channel).await;
    app.post_message(&r.member, &r.channel, "back again").await;
}

#[tokio::test]
async fn a_deleted_authors_messages_stay_with_a_null_author() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let m = app.post_message(&r.member, &r.channel, "soon orphaned").await;
    let path = format!("/messages/{}", m["id"].as_str().unwrap());
    app.delete(&format!("/users/{}", r.member.id), Some(&r.member.token))
        .await
        .expect(200);

    let got = app.get(&path, Some(&r.owner.token)).await.expect(200);
    assert_eq!(got["author"], Value::Null);
    assert_eq!(got["author_id"], r.member.id.as_str());
    assert_eq!(got["content"], "soon orphaned");
    let history = app
        .get(&format!("/messages/channel/{}", r.channel), Some(&r.owner.token))
        .await;
    assert_eq!(history.expect(200), json!([got]));
    // The owner can still remove it.
    app.delete(&path, Some(&r.owner.token)).await.expect(200);
}
