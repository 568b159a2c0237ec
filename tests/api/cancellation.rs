//! Clients that hang up mid-request cancel their handler at whatever `.await` it was. Under load,
//! with connections dropped at random points, no pooled connection may be left inside a
//! transaction nobody will end (sqlx 0.8 leaks one when `BEGIN` itself is cancelled: the next
//! borrower's statements then run, uncommitted, inside it), and every acknowledged post is kept.

use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use rand::Rng;
use serde_json::{json, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::support::TestApp;

const CLIENTS: usize = 8;
const REQUESTS_PER_CLIENT: usize = 60;

/// Counts PostgreSQL's warnings that a session's transaction state was not what its client
/// believed: "there is already a transaction in progress" (a `BEGIN` inside a leaked transaction)
/// and "there is no transaction in progress" (a `COMMIT`/`ROLLBACK` after someone else ended it).
/// sqlx reports notices as tracing events; the test's runtime runs the server on this thread.
#[derive(Clone, Default)]
struct TransactionStateWarnings(Arc<AtomicUsize>);

struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for TransactionStateWarnings {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::postgres::notice" {
            return;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        if message.0.contains("transaction in progress") {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Backends of this test's database that sit idle inside a transaction.
async fn idle_in_transaction(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn requests_cancelled_at_random_points_leave_no_open_transaction_and_lose_no_post() {
    let warnings = TransactionStateWarnings::default();
    let _subscriber = tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    let app = TestApp::spawn_with(|mut c| {
        c.limits.messages = None;
        c
    })
    .await;
    let owner = app.register("owner").await;
    let channel = app.create_channel(&owner, "hangups").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let posts = app.url(&format!("/messages/channels/{channel}/messages"));
    let history = app.url(&format!("/v1/channels/{channel}/history"));
    // Cut-off points spread over a whole request as long as one takes here and now (a debug
    // build among hundreds of parallel tests is many times slower than alone): up to twice the
    // slowest of a few uncut posts.
    let mut slowest = Duration::from_millis(30);
    for i in 0..5 {
        let started = std::time::Instant::now();
        app.post_message(&owner, &channel, &format!("timing {i}")).await;
        slowest = slowest.max(started.elapsed());
    }
    let cut_range = (2 * slowest.as_micros()) as u64;

    let clients = (0..CLIENTS).map(|client| {
        let (posts, history, token) = (posts.clone(), history.clone(), owner.token.clone());
        async move {
            let http = reqwest::Client::new();
            let (mut acknowledged, mut cut): (Vec<String>, usize) = (vec![], 0);
            for i in 0..REQUESTS_PER_CLIENT {
                // Cut off anywhere from before the handler starts to after it answered.
                let cut_after = Duration::from_micros(rand::thread_rng().gen_range(0..cut_range));
                let request = if i % 4 == 3 {
                    http.get(&history)
                } else {
                    http.post(&posts)
                        .json(&json!({"content": format!("client {client} post {i}")}))
                };
                let sent = request.bearer_auth(&token).timeout(cut_after).send().await;
                match sent {
                    Ok(response) if response.status() == 201 => {
                        if let Ok(body) = response.json::<Value>().await {
                            acknowledged.push(body["id"].as_str().unwrap().to_string());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => cut += 1,
                }
            }
            (acknowledged, cut)
        }
    });
    let (acknowledged, cut): (Vec<Vec<String>>, Vec<usize>) = join_all(clients).await.into_iter().unzip();
    let acknowledged: Vec<String> = acknowledged.into_iter().flatten().collect();
    let cut: usize = cut.into_iter().sum();
    assert!(
        cut > 0 && !acknowledged.is_empty(),
        "{cut} requests cut off and {} posts acknowledged: the mix tested nothing",
        acknowledged.len()
    );

    // Requests the clients gave up on may still be finishing; once they have, nothing is left
    // inside a transaction. A leaked one never ends by itself, so this waits only for the rest.
    let mut open = i64::MAX;
    for _ in 0..100 {
        open = idle_in_transaction(&app).await;
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open, 0, "pooled connections left inside a transaction");
    assert_eq!(
        warnings.0.load(Ordering::Relaxed),
        0,
        "sessions whose transaction state their connection did not know"
    );

    // Every post a client was told about is stored, and readable.
    for id in &acknowledged {
        app.get(&format!("/messages/{id}"), Some(&owner.token))
            .await
            .expect(200);
    }
    let appended: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'TextMessagePosted'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(appended >= acknowledged.len() as i64);
}
