//! An event this build cannot read stops an audit loudly, naming its position; it is never
//! skipped.

use serde_json::json;

use crate::audit_support::{append, replay_on, story, stream, wait_until_final, Story};
use crate::cli_support::Ran;

#[track_caller]
fn assert_stopped_at(ran: &Ran, position: i64, what: &str) {
    assert_eq!(ran.code, 2, "stdout: {}\nstderr: {}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains(&format!("event at position {position} ")) && ran.stderr.contains(what),
        "stderr should name position {position} and {what:?}: {}",
        ran.stderr
    );
}

#[tokio::test]
async fn events_this_build_cannot_read_stop_the_audit_with_their_position() {
    let Story {
        app,
        bob,
        channel,
        edited,
        greeting,
        ..
    } = story().await;
    let (db, pool) = (app.db.clone(), app.pool.clone());
    let edit = stream(&app, "Message", &edited).await[1].0;
    // The server's projectors would stop at these events too (by design); stop it first.
    app.stop().await;
    let unknown_type = append(
        &pool,
        ("Channel", &channel),
        "ChannelArchived",
        "1",
        json!({"ChannelArchived": {}}),
    )
    .await;
    let bad_payload = append(
        &pool,
        ("Message", &greeting),
        "MessageEdited",
        "1",
        json!({"MessageEdited": {"content": 42}}),
    )
    .await;
    let future_version = append(
        &pool,
        ("User", &bob.id),
        "UserDeleted",
        "2",
        json!({"UserDeleted": {}}),
    )
    .await;
    // The last of the three, appended after the others: once it is final, they are.
    wait_until_final(&pool, future_version).await;

    // The table printed everything before the unknown event, then stopped.
    let table = replay_on(&db, &["--channel", &channel]).await;
    assert_stopped_at(&table, unknown_type, "unknown type Channel/ChannelArchived v1");
    assert_eq!(
        table.stdout.lines().count(),
        7,
        "header and the six readable events:\n{}",
        table.stdout
    );
    assert!(!table.stdout.contains("ChannelArchived"));

    let message = replay_on(&db, &["--message", &greeting, "--format", "jsonl"]).await;
    assert_stopped_at(&message, bad_payload, "could not be decoded");
    assert_eq!(message.stdout.lines().count(), 1, "the post, then the stop");

    assert_stopped_at(
        &replay_on(&db, &["--user", &bob.id]).await,
        future_version,
        "UserDeleted v2",
    );
    assert_stopped_at(&replay_on(&db, &["--all"]).await, unknown_type, "ChannelArchived");

    // A reconstruction that reaches the event stops too; one from before it does not need it.
    let at = unknown_type.to_string();
    assert_stopped_at(
        &replay_on(&db, &["--channel", &channel, "--as-of", &at]).await,
        unknown_type,
        "ChannelArchived",
    );
    let earlier = replay_on(&db, &["--channel", &channel, "--as-of", &edit.to_string()]).await;
    assert_eq!(earlier.code, 0, "{}", earlier.stderr);

    // A window that leaves the event out is readable.
    let before = replay_on(&db, &["--channel", &channel, "--until", &edit.to_string()]).await;
    assert_eq!(before.code, 0, "{}", before.stderr);
}
