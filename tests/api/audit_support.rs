//! A small channel history for the audit tests, and running `zync audit replay` on it.
//!
//! Every step goes through the HTTP API, which answers only once the projections have applied
//! the change (read-your-writes). Projections only ever apply final events, so by then the events
//! are final and an audit, which reads final events only, sees them: no polling needed.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use crate::cli_support::{zync, Ran};
use crate::support::{TestApp, TestUser};
use crate::users_support::send_with_request_id;

/// The request id of alice's edit, to find it in the audit.
pub const EDIT_REQUEST_ID: &str = "audit-test-edit-0001";

pub struct Story {
    pub app: TestApp,
    pub alice: TestUser,
    pub bob: TestUser,
    /// "general": owned by alice, bob a member.
    pub channel: String,
    /// alice's message, posted as "first draft", then edited to "final text".
    pub edited: String,
    /// bob's message "hi bob here".
    pub greeting: String,
    /// "random": another channel of alice's, with a message of its own.
    pub other_channel: String,
}

/// alice creates "general", bob joins, alice posts "first draft", bob posts, alice edits her
/// message to "final text"; alice also has "random" with a message of its own.
pub async fn story() -> Story {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let channel = id(&app.create_channel(&alice, "general").await);
    app.join(&bob, &channel).await;
    let edited = id(&app.post_message(&alice, &channel, "first draft").await);
    let greeting = id(&app.post_message(&bob, &channel, "hi bob here").await);
    let other_channel = id(&app.create_channel(&alice, "random").await);
    app.post_message(&alice, &other_channel, "elsewhere").await;
    send_with_request_id(
        &app,
        reqwest::Method::PATCH,
        &format!("/messages/{edited}"),
        Some(&alice.token),
        json!({"content": "final text"}),
        EDIT_REQUEST_ID,
    )
    .await
    .expect(200);
    Story {
        app,
        alice,
        bob,
        channel,
        edited,
        greeting,
        other_channel,
    }
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// `(position, recorded_at)` of each event of an aggregate, in stream order.
pub async fn stream(app: &TestApp, aggregate_type: &str, aggregate_id: &str) -> Vec<(i64, DateTime<Utc>)> {
    sqlx::query_as(
        "SELECT global_position, recorded_at FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Runs `zync audit replay <args>` on the app's database and expects it to succeed.
pub async fn replay(app: &TestApp, args: &[&str]) -> String {
    let ran = replay_raw(app, args).await;
    assert_eq!(ran.code, 0, "audit replay {args:?} failed: {}", ran.stderr);
    ran.stdout
}

pub async fn replay_raw(app: &TestApp, args: &[&str]) -> Ran {
    replay_on(&app.db, args).await
}

/// `zync audit replay <args>` on a database, whether or not a server runs on it.
pub async fn replay_on(db: &PgConnectOptions, args: &[&str]) -> Ran {
    let mut all = vec!["audit", "replay"];
    all.extend_from_slice(args);
    zync(db, &all).await
}

/// `audit replay <args> --format jsonl`, parsed: one object per line.
pub async fn replay_json(app: &TestApp, args: &[&str]) -> Vec<Value> {
    let mut all = args.to_vec();
    all.extend(["--format", "jsonl"]);
    replay(app, &all)
        .await
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

pub fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["event_type"].as_str().unwrap()).collect()
}

pub fn positions(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["position"].as_i64().unwrap()).collect()
}

/// The text of a message in a reconstructed channel (None if it is not readable there).
pub fn text_of<'a>(state: &'a Value, message_id: &str) -> Option<&'a str> {
    state["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message_id)
        .map(|m| m["content"].as_str().unwrap())
}

/// Appends an event by hand (the store is append-only, and the guard trigger lets types it does
/// not know through) at the end of an aggregate's stream; returns its position.
pub async fn append(
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
pub async fn wait_until_final(pool: &PgPool, position: i64) {
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

/// An aggregate's stream as `(sequence, event type, payload)`, with sealed personal fields opened
/// (with the test apps' master key; null where the key was destroyed), as readers of the log see
/// them.
pub async fn opened_stream(
    app: &TestApp,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Vec<(i64, String, Value)> {
    use projections::personal::{self, fields, EventPlace};
    let rows: Vec<(i64, String, Value)> = sqlx::query_as(
        "SELECT sequence, event_type, payload FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let master = personal::installed().expect("the test app installed the master key");
    let subject = uuid::Uuid::parse_str(aggregate_id).unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let key = personal::data_keys(&mut conn, master, &[subject])
        .await
        .unwrap()
        .remove(&subject);
    rows.into_iter()
        .map(|(sequence, event_type, payload)| {
            let place = EventPlace {
                aggregate_type,
                aggregate_id,
                sequence,
                event_type: &event_type,
            };
            let opened = fields::open(place, key.as_ref(), &payload).unwrap();
            (sequence, event_type, opened)
        })
        .collect()
}

/// An event's metadata with its client address opened under the actor's key (null where that
/// key was destroyed), as the audit log shows it.
pub async fn opened_metadata(
    app: &TestApp,
    place: projections::personal::EventPlace<'_>,
    metadata: &Value,
) -> Value {
    use projections::personal::{self, fields};
    let master = personal::installed().expect("the test app installed the master key");
    let actor = uuid::Uuid::parse_str(metadata["actor_id"].as_str().expect("an actor")).unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let key = personal::data_keys(&mut conn, master, &[actor])
        .await
        .unwrap()
        .remove(&actor);
    fields::open_metadata(place, key.as_ref(), metadata).unwrap()
}
