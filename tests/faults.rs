//! Fault injection against real `zync serve` processes: a server killed with SIGKILL in the middle
//! of a 64-sender load, and PostgreSQL stopped for 10 s under load. Either way, every message that
//! got a 201 is in history, on the event stream and in a rebuild from the log; nothing answers 500.
//!
//! Loopback only: each node binds 127.0.0.1 on its own free port. Every loop is bounded.

#[path = "common/db.rs"]
mod db;
#[path = "common/load.rs"]
mod load;
#[path = "common/node.rs"]
mod node;

use std::time::Duration;

use load::{Load, Outcome};
use node::Node;
use tokio::time::Instant;
use zync::db::embedded::{EmbeddedOptions, EmbeddedPostgres};

const SENDERS: usize = 64;

/// The server's environment for these tests: the load is far above a person's posting rate.
const ENV: [(&str, &str); 2] = [("RATE_LIMIT_MESSAGES", "off"), ("DB_POOL_SIZE", "20")];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_load_loses_no_acknowledged_message() {
    let db = db::fresh_database().await;
    let url = db::database_url(&db);
    let client = node::client();
    let mut first = Node::start_with("killed", &url, &ENV);
    first.ready(&client).await;
    let load = Load::prepare(&client, &first, 8, SENDERS).await;

    let running = load.start(&client, first.url(""));
    load::wait_for_acks(&running, 200).await;
    first.kill_9();
    // Senders keep trying against the dead node for a moment (connection refused), then stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let outcomes = running.stop().await;
    let acked = load::acknowledged(&outcomes);
    assert!(acked.len() >= 200, "the load ran: {} acknowledged", acked.len());
    let statuses = load::statuses(&outcomes);
    assert!(
        statuses.keys().all(|s| *s == 201),
        "only 201s or broken connections: {statuses:?}, e.g. {:?}",
        load::first_unexpected(&outcomes, &[201])
    );

    let mut second = Node::start_with("restarted", &url, &ENV);
    second.ready(&client).await;
    load.assert_all_in_history(&client, &second, &acked).await;
    load.assert_all_on_the_stream(&client, &second, &acked).await;

    // The read tables rebuilt from the log alone hold them too, and equal the live ones.
    second.run_cli(&url, &["projections", "rebuild", "--all"]).await;
    second.run_cli(&url, &["audit", "verify"]).await;
    load.assert_all_in_history(&client, &second, &acked).await;
}

/// A private, durable cluster (this test stops it; the shared test cluster must keep running).
async fn private_cluster(dir: &std::path::Path) -> EmbeddedPostgres {
    let pg = EmbeddedPostgres::start(EmbeddedOptions {
        data_dir: dir.to_path_buf(),
        durable: true,
        max_connections: 100,
    })
    .await
    .expect("a private PostgreSQL starts");
    pg.ensure_database("zync").await.unwrap();
    pg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_down_for_10_s_gives_fast_503s_then_recovers_alone() {
    let dir = std::env::temp_dir().join(format!("zync-fault-pg-{}", uuid::Uuid::now_v7().simple()));
    let pg = private_cluster(&dir).await;
    let url = db::database_url(&pg.connect_options("zync"));
    let client = node::client();
    let mut server = Node::start_with("pg-outage", &url, &ENV);
    server.ready(&client).await;
    let load = Load::prepare(&client, &server, 4, 16).await;

    let running = load.start(&client, server.url(""));
    load::wait_for_acks(&running, 100).await;
    pg.stop().await.unwrap();
    let stopped_at = Instant::now();
    // Every sender may be busy with a request begun before the outage (one waiting for a pooled
    // connection, say): a probe makes sure requests also start during it.
    let base = server.url("");
    let probe = load.probe(&client, &base, "probe during the outage".into());
    let (probe, ()) = tokio::join!(probe, tokio::time::sleep(Duration::from_secs(2)));
    let readyz = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 503, "not ready while the database is down");
    tokio::time::sleep(Duration::from_secs(8)).await;
    let pg = private_cluster(&dir).await;
    let restarted_at = Instant::now();

    // Back to ready on its own: no restart of the server, no operator.
    let mut ready = false;
    for _ in 0..600 {
        if client
            .get(server.url("/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the server became ready again:\n{}", server.log());
    load::wait_for_acks_after(&running, restarted_at, 50).await;
    let mut outcomes = running.stop().await;
    outcomes.push(probe);

    let statuses = load::statuses(&outcomes);
    assert!(
        statuses.keys().all(|s| [201, 503].contains(s)),
        "201 or 503 only, never a 500 or a hang: {statuses:?}, e.g. {:?}\n{}",
        load::first_unexpected(&outcomes, &[201, 503]),
        server.log()
    );
    assert!(
        statuses.get(&503).is_some_and(|n| *n > 0),
        "the outage was seen: {statuses:?}"
    );
    // "Fast": a request that met the outage early answered long before the database came back
    // (the pool gives up acquiring after 5 s), it did not hang until the database returned.
    let early = stopped_at + Duration::from_secs(3);
    let hung: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.started > stopped_at && o.started < early && o.ended >= restarted_at)
        .collect();
    assert!(
        hung.is_empty(),
        "requests waited for the database to return: {}",
        hung.len()
    );
    assert!(
        outcomes
            .iter()
            .any(|o| o.started > stopped_at && o.started < early),
        "requests were sent during the outage"
    );

    let acked = load::acknowledged(&outcomes);
    load.assert_all_in_history(&client, &server, &acked).await;
    load.assert_all_on_the_stream(&client, &server, &acked).await;
    drop(server);
    pg.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
