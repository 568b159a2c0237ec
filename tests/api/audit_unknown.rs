//! An event this build cannot read stops an audit loudly, naming its position; it is never
//! skipped.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::audit_support::{replay_on, story, stream, Story};
use crate::cli_support::Ran;

/// Appends an event by hand (the store is append-only, and the guard trigger lets types it does
/// not know through) at the end of an aggregate's stream; returns its position.
async fn append(
    pool: &PgPool,
    aggregate: (&str, &str),
    event_type: &str,
    version: &str,
    payload: Value,
) -> i64 {
    let (aggregate_type, aggregate_id) = aggregate;
    sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT $1, $2, max(sequence) + 1, $3, $4, $5, '{\"request_id\": \"by-hand\"}'
           FROM events WHERE aggregate_type = $1 AND aggregate_id = $2
         RETURNING global_position",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(event_type)
    .bind(version)
    .bind(payload)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Waits until the event at `position` is final (below the snapshot xmin, which is cluster-wide:
/// another test's open transaction can hold it back a moment). Audits read final events only.
async fn wait_until_final(pool: &PgPool, position: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let fin: bool = sqlx::query_scalar(
            "SELECT tx_id < pg_snapshot_xmin(pg_current_snapshot()) FROM events WHERE global_position = $1",
        )
        .bind(position)
        .fetch_one(pool)
        .await
        .unwrap();
        if fin {
            return;
        }
        assert!(Instant::now() < deadline, "event {position} never became final");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

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
