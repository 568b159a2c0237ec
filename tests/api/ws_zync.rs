//! The Zync socket `GET /ws/{channel_id}?token=`: MessageRead frames only, 1008 closes.

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::support::TestApp;
use crate::users_support::app_secret;
use crate::ws_support::{
    channel_with, expect_close, expect_quiet, frame, frames, native, send_json, send_typing, zync,
};

#[tokio::test]
async fn members_receive_every_message_exactly_as_the_post_returned_it() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let channel = channel_with(&app, &owner, &[&member], "general").await;
    let mut owner_ws = zync(&app, &owner.token, &channel).await;
    let mut member_ws = zync(&app, &member.token, &channel).await;

    // By others and by oneself, in posting order.
    let posted = vec![
        app.post_message(&member, &channel, "hello from member").await,
        app.post_message(&owner, &channel, "hello from owner").await,
        app.post_message(&member, &channel, "ünïcödé 🎉").await,
    ];
    assert_eq!(frames(&mut owner_ws, 3).await, posted);
    assert_eq!(frames(&mut member_ws, 3).await, posted);
}

#[tokio::test]
async fn refusals_close_with_1008() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let stranger = app.register("stranger").await;
    let channel = channel_with(&app, &owner, &[], "general").await;

    let secret = app_secret(&app);
    let now = Utc::now().timestamp();
    let expired = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": owner.id, "ver": 0, "iat": now - 120, "exp": now - 60,
                "iss": "zync", "aud": "zync-api", "jti": uuid::Uuid::now_v7().to_string()}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let unknown = uuid::Uuid::now_v7().to_string();

    for (why, path) in [
        ("no token", format!("/ws/{channel}")),
        ("empty token", format!("/ws/{channel}?token=")),
        ("bad token", format!("/ws/{channel}?token=not-a-jwt")),
        ("expired token", format!("/ws/{channel}?token={expired}")),
        ("not a member", format!("/ws/{channel}?token={}", stranger.token)),
        ("unknown channel", format!("/ws/{unknown}?token={}", owner.token)),
        ("invalid uuid", format!("/ws/not-a-uuid?token={}", owner.token)),
    ] {
        let mut ws = crate::ws_support::open(&app, &path).await;
        expect_close(&mut ws, 1008, why).await;
    }
}

#[tokio::test]
async fn leaving_deleting_the_channel_and_revocations_close_with_1008() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let leaver = app.register("leaver").await;
    let changer = app.register("changer").await;
    let quitter = app.register("quitter").await;
    let channel = channel_with(&app, &owner, &[&leaver, &changer, &quitter], "general").await;
    let other = channel_with(&app, &owner, &[&leaver], "other").await;

    let mut leaver_ws = zync(&app, &leaver.token, &channel).await;
    let mut leaver_other_ws = zync(&app, &leaver.token, &other).await;
    let mut changer_ws = zync(&app, &changer.token, &channel).await;
    let mut quitter_ws = zync(&app, &quitter.token, &channel).await;

    app.delete(&format!("/channels/{channel}/leave"), Some(&leaver.token))
        .await
        .expect(204);
    expect_close(&mut leaver_ws, 1008, "left the channel").await;

    app.patch(
        &format!("/users/{}", changer.id),
        Some(&changer.token),
        json!({"password": "a-brand-new-password"}),
    )
    .await
    .expect(200);
    expect_close(&mut changer_ws, 1008, "password changed").await;

    app.delete(&format!("/users/{}", quitter.id), Some(&quitter.token))
        .await
        .expect(200);
    expect_close(&mut quitter_ws, 1008, "account deleted").await;

    // Leaving one channel doesn't touch the socket of another; deleting that one does.
    let message = app.post_message(&owner, &other, "still here?").await;
    assert_eq!(frame(&mut leaver_other_ws).await, message);
    app.delete(&format!("/channels/{other}"), Some(&owner.token))
        .await
        .expect(200);
    expect_close(&mut leaver_other_ws, 1008, "channel deleted").await;
}

#[tokio::test]
async fn nothing_but_new_messages_is_sent_and_client_frames_are_ignored() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let watcher = app.register("watcher").await;
    let newcomer = app.register("newcomer").await;
    let channel = channel_with(&app, &owner, &[&member, &watcher], "general").await;
    let mut ws = zync(&app, &member.token, &channel).await;
    let (mut typist, _) = native(&app, &owner).await;
    let (mut witness, _) = native(&app, &watcher).await;

    let first = app.post_message(&owner, &channel, "first").await;
    assert_eq!(frame(&mut ws).await, first);

    // Client frames of any kind change nothing.
    send_json(&mut ws, json!({"type": "typing", "channel_id": channel})).await;
    send_json(&mut ws, json!("just a string")).await;

    // Everything that is not a new message: an edit, a deletion, a join, a channel update, a
    // profile change, typing.
    let id = first["id"].as_str().unwrap();
    app.patch(
        &format!("/messages/{id}"),
        Some(&owner.token),
        json!({"content": "edited"}),
    )
    .await
    .expect(200);
    app.delete(&format!("/messages/{id}"), Some(&owner.token))
        .await
        .expect(200);
    app.join(&newcomer, &channel).await;
    app.patch(
        &format!("/channels/{channel}"),
        Some(&owner.token),
        json!({"name": "renamed", "description": "new"}),
    )
    .await
    .expect(200);
    crate::ws_support::touch_profile(&app, &member, "bio").await;
    send_typing(&mut typist, &channel).await;
    // Typing isn't in the log: wait until this node has broadcast it, so it is ahead of the
    // sentinel on every receiver here.
    loop {
        let seen = frame(&mut witness).await;
        if seen["type"] == "typing" {
            break;
        }
    }

    let sentinel = app.post_message(&owner, &channel, "sentinel").await;
    assert_eq!(frame(&mut ws).await, sentinel, "the sentinel is the next frame");
    expect_quiet(&mut ws, "after the sentinel").await;
}
