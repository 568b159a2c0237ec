//! The test database harness itself: one cluster per process, a fresh migrated database per call.

#[path = "common/db.rs"]
mod db;

use sqlx::{Connection, Executor, PgConnection};

async fn connect(opts: &sqlx::postgres::PgConnectOptions) -> PgConnection {
    PgConnection::connect_with(opts).await.unwrap()
}

#[tokio::test]
async fn fresh_databases_are_distinct_migrated_and_usable() {
    let a = db::fresh_database().await;
    let b = db::fresh_database().await;
    assert_ne!(a.get_database(), b.get_database());

    let mut conn_a = connect(&a).await;
    let mut conn_b = connect(&b).await;
    for (conn, opts) in [(&mut conn_a, &a), (&mut conn_b, &b)] {
        let current: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(Some(current.as_str()), opts.get_database());
        // Cloned from the migrated template.
        let migrated: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert!(migrated);
    }

    conn_a
        .execute("CREATE TABLE harness_probe (x int); INSERT INTO harness_probe VALUES (42)")
        .await
        .unwrap();
    let x: i32 = sqlx::query_scalar("SELECT x FROM harness_probe")
        .fetch_one(&mut conn_a)
        .await
        .unwrap();
    assert_eq!(x, 42);
    let in_b: bool = sqlx::query_scalar("SELECT to_regclass('harness_probe') IS NOT NULL")
        .fetch_one(&mut conn_b)
        .await
        .unwrap();
    assert!(!in_b, "databases must not share tables");
}

/// Each test has its own runtime; the shared cluster must outlive the runtime that started it and
/// serve concurrent callers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_is_reachable_from_concurrent_callers() {
    let handles: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async {
                let opts = db::fresh_database().await;
                let mut conn = connect(&opts).await;
                let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
                assert_eq!(one, 1);
                opts.get_database().unwrap().to_owned()
            })
        })
        .collect();
    let mut names = Vec::new();
    for handle in handles {
        names.push(handle.await.unwrap());
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 8);
}
