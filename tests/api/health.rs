//! `/healthz` and `/readyz`: open to anyone, and `/readyz` says "not ready" (503 with a detail)
//! exactly when this node cannot answer correctly: no database, read tables far behind the log, or
//! a file store that is not the one every live node uses.

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
    sqlx::query("SELECT setval('events_global_position_seq', 50000, false)")
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

#[tokio::test]
async fn not_ready_while_a_live_node_uses_another_file_store() {
    let (app, files) = crate::files_support::app_with_files(|c| c).await;
    app.get("/readyz", None).await.expect(200);
    // A node that was silent (a long pause) comes back with a directory of its own: it was not
    // there to be refused at startup, so this node finds out now.
    sqlx::query(
        "INSERT INTO file_store_nodes (node_id, host, store_id, location, link_signer)
         SELECT $1, 'elsewhere pid 1', 'local:other', '/srv/other', link_signer
           FROM file_store_nodes LIMIT 1",
    )
    .bind(uuid::Uuid::now_v7())
    .execute(&app.pool)
    .await
    .unwrap();
    let conflict = app.get("/readyz", None).await;
    assert_eq!(conflict.status, 503, "{:?}", conflict.body);
    for needle in ["/srv/other", "local:other", "elsewhere", "FILES_DIR"] {
        assert!(conflict.detail().contains(needle), "{}", conflict.detail());
    }
    sqlx::query("DELETE FROM file_store_nodes WHERE store_id = 'local:other'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.get("/readyz", None).await.expect(200);

    // The same store, but links signed with another SECRET_KEY: this node's links would be
    // refused there.
    sqlx::query(
        "INSERT INTO file_store_nodes (node_id, host, store_id, location, link_signer)
         SELECT $1, 'elsewhere pid 2', store_id, location, 'another key'
           FROM file_store_nodes LIMIT 1",
    )
    .bind(uuid::Uuid::now_v7())
    .execute(&app.pool)
    .await
    .unwrap();
    let conflict = app.get("/readyz", None).await;
    assert_eq!(conflict.status, 503, "{:?}", conflict.body);
    assert!(conflict.detail().contains("SECRET_KEY"), "{}", conflict.detail());
    sqlx::query("DELETE FROM file_store_nodes WHERE link_signer = 'another key'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.get("/readyz", None).await.expect(200);

    // The shared directory replaced under the running node (remounted empty, say).
    std::fs::remove_file(files.join(".zync-store-id")).unwrap();
    let gone = app.get("/readyz", None).await;
    assert_eq!(gone.status, 503, "{:?}", gone.body);
    assert!(gone.detail().contains("no longer holds"), "{}", gone.detail());
}
