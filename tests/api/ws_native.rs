//! The native socket `GET /v1/ws`: visibility, typing, resume (across a restart), refusals.

use serde_json::json;

use crate::support::TestApp;
use crate::ws_support::{
    channel_with, expect_close, expect_quiet, frame, frames, kind, native, native_now, open, position,
    resume, send_json, send_typing, touch_profile,
};

#[tokio::test]
async fn members_see_their_channels_events_and_strangers_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let visitor = app.register("visitor").await;
    let stranger = app.register("stranger").await;
    let channel = channel_with(&app, &owner, &[&member], "general").await;
    let (mut member_ws, _) = native(&app, &member).await;
    let (mut stranger_ws, _) = native(&app, &stranger).await;

    let posted = app.post_message(&owner, &channel, "hello").await;
    let id = posted["id"].as_str().unwrap();
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
    app.patch(
        &format!("/channels/{channel}"),
        Some(&owner.token),
        json!({"name": "renamed", "description": "about renamed"}),
    )
    .await
    .expect(200);
    app.join(&visitor, &channel).await;
    app.delete(&format!("/channels/{channel}/leave"), Some(&visitor.token))
        .await
        .expect(204);

    let seen = frames(&mut member_ws, 6).await;
    let kinds: Vec<&str> = seen.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "message.created",
            "message.edited",
            "message.deleted",
            "channel.updated",
            "member.joined",
            "member.left"
        ]
    );
    assert_eq!(
        seen[0]["data"], posted,
        "message.created carries the POST's MessageRead"
    );
    assert_eq!(seen[1]["data"]["content"], "edited");
    assert_eq!(seen[3]["data"]["name"], "renamed");
    assert_eq!(seen[4]["data"]["user_id"], visitor.id.as_str());
    let positions: Vec<i64> = seen.iter().map(position).collect();
    assert!(positions.windows(2).all(|w| w[0] != w[1]), "{positions:?}");

    // The stranger's own profile change is the first thing they see: none of the above.
    touch_profile(&app, &stranger, "nobody here").await;
    let first = frame(&mut stranger_ws).await;
    assert_eq!(kind(&first), "user.updated", "{first}");
    assert_eq!(first["data"]["id"], stranger.id.as_str());

    // After leaving, the member sees their own leaving, then nothing of the channel.
    app.delete(&format!("/channels/{channel}/leave"), Some(&member.token))
        .await
        .expect(204);
    let left = frame(&mut member_ws).await;
    assert_eq!(
        (kind(&left), &left["data"]["user_id"]),
        ("member.left", &json!(member.id))
    );
    app.post_message(&owner, &channel, "after you left").await;
    touch_profile(&app, &member, "sentinel").await;
    let next = frame(&mut member_ws).await;
    assert_eq!(
        kind(&next),
        "user.updated",
        "nothing of the channel after leaving: {next}"
    );
    expect_quiet(&mut member_ws, "after the sentinel").await;
    expect_quiet(&mut stranger_ws, "the stranger").await;
}

#[tokio::test]
async fn typing_reaches_the_other_members_only_and_is_never_stored() {
    let app = TestApp::spawn().await;
    let typist = app.register("typist").await;
    let member = app.register("member").await;
    let stranger = app.register("stranger").await;
    let channel = channel_with(&app, &typist, &[&member], "general").await;
    let (mut typist_ws, _) = native(&app, &typist).await;
    let (mut member_ws, _) = native(&app, &member).await;
    let (mut stranger_ws, _) = native(&app, &stranger).await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    send_typing(&mut typist_ws, &channel).await;
    let typing = frame(&mut member_ws).await;
    assert_eq!(
        typing,
        json!({"type": "typing", "data": {"channel_id": channel, "user_id": typist.id}})
    );

    // A stranger's typing in the channel, junk and unknown frames: ignored, nothing relayed.
    send_typing(&mut stranger_ws, &channel).await;
    send_json(&mut stranger_ws, json!({"type": "dance"})).await;
    send_json(&mut stranger_ws, json!({"type": "typing", "channel_id": "nope"})).await;

    // Sentinels after the typing signal, which every socket of this node got first.
    let sentinel = app.post_message(&member, &channel, "sentinel").await;
    let next = frame(&mut typist_ws).await;
    assert_eq!(
        next["data"], sentinel,
        "the typist doesn't get their own typing: {next}"
    );
    assert_eq!(frame(&mut member_ws).await["data"], sentinel);
    touch_profile(&app, &stranger, "sentinel").await;
    let next = frame(&mut stranger_ws).await;
    assert_eq!(kind(&next), "user.updated", "the stranger sees no typing: {next}");
    expect_quiet(&mut member_ws, "the stranger's typing is not relayed").await;

    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(after, stored + 2, "only the sentinels were stored");
}

#[tokio::test]
async fn resume_after_a_restart_delivers_exactly_what_was_missed() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let reader = app.register("reader").await;
    let channel = channel_with(&app, &owner, &[&reader], "general").await;

    let (mut ws, _) = native(&app, &reader).await;
    app.post_message(&owner, &channel, "seen").await;
    let last_seen = position(&frame(&mut ws).await);
    drop(ws);

    let mut missed = Vec::new();
    for i in 0..100 {
        missed.push(app.post_message(&owner, &channel, &format!("missed {i}")).await);
    }
    let db = app.db.clone();
    app.stop().await;
    let app = TestApp::spawn_on(db, |c| c).await;

    let (mut ws, ready) = resume(&app, &reader, last_seen).await;
    assert_eq!(ready, last_seen);
    let replayed = frames(&mut ws, 100).await;
    for (got, want) in replayed.iter().zip(&missed) {
        assert_eq!(kind(got), "message.created");
        assert_eq!(&got["data"], want);
    }
    let live = app.post_message(&owner, &channel, "live").await;
    let next = frame(&mut ws).await;
    assert_eq!(
        next["data"], live,
        "then live, with no duplicate in between: {next}"
    );
    expect_quiet(&mut ws, "nothing after the live one").await;
}

#[tokio::test]
async fn without_resume_the_stream_is_live_from_the_ready_position() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let channel = channel_with(&app, &owner, &[], "general").await;
    let (mut ws, ready) = native_now(&app, &owner).await;
    let known: bool =
        sqlx::query_scalar("SELECT $1 = 0 OR EXISTS (SELECT 1 FROM events WHERE global_position = $1)")
            .bind(ready)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(known, "ready names a place in the log: {ready}");

    // The node may not have broadcast the setup yet: those frames can come first, then ours.
    let message = app.post_message(&owner, &channel, "live").await;
    loop {
        let next = frame(&mut ws).await;
        assert_ne!(next["type"], "ready");
        if next["data"] == message {
            break;
        }
    }
}

#[tokio::test]
async fn resume_from_zero_replays_the_visible_history() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let reader = app.register("reader").await;
    let channel = channel_with(&app, &owner, &[], "general").await;
    app.post_message(&owner, &channel, "before joining").await;
    app.join(&reader, &channel).await;
    let after = app.post_message(&owner, &channel, "after joining").await;

    let (mut ws, ready) = resume(&app, &reader, 0).await;
    assert_eq!(ready, 0);
    let joined = frame(&mut ws).await;
    assert_eq!(
        (kind(&joined), &joined["data"]["user_id"]),
        ("member.joined", &json!(reader.id))
    );
    let message = frame(&mut ws).await;
    assert_eq!(message["data"], after, "nothing from before joining: {message}");
    expect_quiet(&mut ws, "that is all").await;
}

#[tokio::test]
async fn bad_resume_positions_close_with_4400_and_bad_tokens_with_1008() {
    let app = TestApp::spawn().await;
    let user = app.register("user").await;
    for bad in ["999999", "-1", "abc", ""] {
        let mut ws = open(&app, &format!("/v1/ws?token={}&resume_from={bad}", user.token)).await;
        expect_close(&mut ws, 4400, bad).await;
    }
    for (why, path) in [
        ("no token", "/v1/ws".to_string()),
        ("bad token", "/v1/ws?token=garbage".to_string()),
    ] {
        let mut ws = open(&app, &path).await;
        expect_close(&mut ws, 1008, why).await;
    }
}

#[tokio::test]
async fn a_password_change_closes_the_socket_with_1008() {
    let app = TestApp::spawn().await;
    let user = app.register("user").await;
    let (mut ws, _) = native_now(&app, &user).await;
    app.patch(
        &format!("/users/{}", user.id),
        Some(&user.token),
        json!({"password": "a-brand-new-password"}),
    )
    .await
    .expect(200);
    let (seen, code) = crate::ws_support::until_close(&mut ws).await;
    assert_eq!(code, Some(1008), "frames before: {seen:?}");

    // A token issued after the change is fine.
    let token = app
        .login(&user.username, "a-brand-new-password")
        .await
        .expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ws = open(&app, &format!("/v1/ws?token={token}")).await;
    assert_eq!(kind(&frame(&mut ws).await), "ready");
}

#[tokio::test]
async fn both_sockets_are_described_in_the_openapi_spec() {
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json", None).await.expect(200);
    for (path, id) in [("/ws/{channel_id}", "zync_socket"), ("/v1/ws", "native_socket")] {
        let get = &spec["paths"][path]["get"];
        assert_eq!(get["operationId"], id);
        assert!(
            get["description"].as_str().is_some_and(|d| d.contains("1008")),
            "{path}: {get}"
        );
        assert!(get["responses"]["101"].is_object(), "{path}: {get}");
    }
}
