//! The master key of personal data: a server started with another key than the database's
//! refuses to start, with one line saying why, before it writes anything.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use crate::cli_support::{zync_with_env, Ran};
use crate::support::{TestApp, TEST_MASTER_KEY};

/// Rows of every table a starting server could write to.
async fn written(pool: &PgPool) -> (i64, i64, i64, Vec<u8>) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM projection_checkpoints),
                (SELECT count(*) FROM file_store_nodes),
                (SELECT sealed FROM master_key_check WHERE id = 1)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// `zync serve` on the database with `env`; it must stop on its own (a refusal) within a minute.
async fn serve(db: &PgConnectOptions, env: &[(&str, &str)]) -> Ran {
    let mut all = vec![("HOST", "127.0.0.1"), ("PORT", "0")];
    all.extend_from_slice(env);
    tokio::time::timeout(Duration::from_secs(60), zync_with_env(db, &["serve"], &all))
        .await
        .expect("a server with the wrong master key must refuse to start, not serve")
}

#[track_caller]
fn assert_refused(ran: &Ran) {
    assert_eq!(ran.code, 2, "stdout: {}\nstderr: {}", ran.stdout, ran.stderr);
    let errors: Vec<&str> = ran.stderr.lines().filter(|l| l.starts_with("zync: ")).collect();
    assert_eq!(errors.len(), 1, "one error line: {}", ran.stderr);
    assert!(
        errors[0].contains("refusing to start") && errors[0].contains("master key"),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn a_server_with_another_or_no_master_key_refuses_to_start_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    app.create_channel(&alice, "general").await;
    let (pool, db) = (app.pool.clone(), app.db.clone());
    app.stop().await;
    let before = written(&pool).await;

    let other = "ab".repeat(32);
    assert_ne!(other, TEST_MASTER_KEY);
    assert_refused(&serve(&db, &[("ZYNC_MASTER_KEY", &other)]).await);
    // No ZYNC_MASTER_KEY: a key is generated into the (new) data directory, which is not the
    // database's either.
    assert_refused(&serve(&db, &[("ZYNC_MASTER_KEY", "")]).await);
    assert_eq!(written(&pool).await, before, "a refused start wrote nothing");

    // A key that is not a key at all is refused too, as a configuration error.
    let malformed = serve(&db, &[("ZYNC_MASTER_KEY", "not-hex")]).await;
    assert_eq!(malformed.code, 2, "{}", malformed.stderr);
    assert!(
        malformed.stderr.contains("ZYNC_MASTER_KEY"),
        "{}",
        malformed.stderr
    );
}
