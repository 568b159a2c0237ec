//! `/healthz` and `/readyz`: open to anyone, and `/readyz` says "not ready" (503 with a detail)
//! exactly when this node cannot answer correctly: no database, or read tables far behind the log.

use std::time::Duration;

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn probes_answer_without_a_token() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/healthz", None).await.expect(200),
        json!({"status": "ok"})
    );
    app.register("someone").await;
    let ready = app.get("/readyz", None).await.expect(200);
    assert_eq!(ready["status"], "ready");
    assert!(
        ready["projection_lag"]
            .as_i64()
            .is_some_and(|lag| (0..=10).contains(&lag)),
        "{ready}"
    );
}

#[tokio::test]
async fn not_ready_while_the_database_refuses_connections_then_ready_again() {
    let app = TestApp::spawn().await;
    let cut = app.cut_off_database().await;
    let refused = app.get("/readyz", None).await;
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    assert_eq!(refused.detail(), "Not ready: the database is unreachable");
    assert_eq!(
        app.get("/healthz", None).await.status,
        200,
        "the process itself is fine"
    );

    cut.restore().await;
    // The pool replaces its dead connections by itself.
    let mut status = 0;
    for _ in 0..100 {
        status = app.get("/readyz", None).await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again once the database accepts connections");
}

#[tokio::test]
async fn not_ready_while_the_read_tables_are_far_behind_the_log() {
    let app = TestApp::spawn_on(crate::db::fresh_database().await, |mut c| {
        c.run_projections = false;
        c
    })
    .await;
    assert_eq!(
        app.get("/readyz", None).await.status,
        200,
        "nothing to project yet"
    );
    // As after a long outage: the log is far ahead of the (stopped) projections.
    sqlx::query("ALTER TABLE events ALTER COLUMN global_position RESTART WITH 50000")
        .execute(&app.pool)
        .await
        .unwrap();
    // Stored, though this node, projecting nothing, cannot read it back (it answers 404).
    app.post(
        "/users/",
        None,
        json!({"username": "late", "email": "late@example.com", "password": "password-123"}),
    )
    .await;
    let head: i64 = sqlx::query_scalar("SELECT max(global_position) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(head >= 50_000, "the registration was appended at {head}");
    let behind = app.get("/readyz", None).await;
    assert_eq!(behind.status, 503, "{:?}", behind.body);
    assert!(
        behind.detail().starts_with("Not ready: the read tables are"),
        "{}",
        behind.detail()
    );
}
