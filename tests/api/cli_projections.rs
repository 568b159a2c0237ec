//! `zync projections status | rebuild` and `zync audit verify`, run as the real binary against a
//! database a real server is serving from.

use std::sync::Arc;

use projections::rebuild::Rebuild;
use serde_json::Value;

use crate::cli_support::zync;
use crate::projector::busy_history;
use crate::support::TestApp;

async fn verify_is_clean(app: &TestApp) {
    let ran = zync(&app.db, &["audit", "verify"]).await;
    assert_eq!(
        ran.code, 0,
        "verify found differences:\n{}\n{}",
        ran.stdout, ran.stderr
    );
    assert!(
        ran.stdout.contains("verified: the read tables equal a rebuild"),
        "{}",
        ran.stdout
    );
}

#[tokio::test]
async fn status_lists_every_projection_against_the_head() {
    let app = TestApp::spawn().await;
    busy_history(&app).await;
    let ran = zync(&app.db, &["projections", "status", "--json"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let status: Value = serde_json::from_str(&ran.stdout).unwrap();
    let head: i64 = sqlx::query_scalar("SELECT max(global_position) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status["head"], head);
    let names: Vec<&str> = status["projections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["users", "channels", "memberships", "messages"]);
    for p in status["projections"].as_array().unwrap() {
        // Every command waited for its projection (read-your-writes), so nothing lags.
        assert_eq!(p["lag"], 0, "{p}");
        assert_eq!(p["position"], head, "{p}");
        assert_eq!(p["last_error"], Value::Null);
    }
    // The reactors are listed apart: their lag is not the read tables' (nothing waits for them).
    let reactors: Vec<&str> = status["reactors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(reactors, [zync::reactors::FileRemoval::NAME]);

    let table = zync(&app.db, &["projections", "status"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.starts_with(&format!("log head: position {head}")),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("PROJECTION"), "{}", table.stdout);
    assert!(table.stdout.contains("REACTOR"), "{}", table.stdout);
}

#[tokio::test]
async fn a_rebuild_during_a_load_of_posts_ends_equal_to_the_live_tables() {
    let app = Arc::new(TestApp::spawn().await);
    let (owner, member, cid) = busy_history(&app).await;
    // Writers keep posting (and reading) while the rebuild runs.
    let load: Vec<_> = [owner, member]
        .into_iter()
        .map(|author| {
            let (app, cid) = (app.clone(), cid.clone());
            tokio::spawn(async move {
                for i in 0..60 {
                    app.post_message(&author, &cid, &format!("load {i}")).await;
                    let page = app
                        .get(&format!("/messages/channel/{cid}?limit=5"), Some(&author.token))
                        .await;
                    assert_eq!(page.status, 200, "reads keep working during the rebuild");
                }
            })
        })
        .collect();
    let ran = zync(&app.db, &["projections", "rebuild", "--all"]).await;
    for task in load {
        task.await.unwrap();
    }
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .starts_with("rebuilt users, channels, memberships, messages:"),
        "{}",
        ran.stdout
    );
    let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE content LIKE 'load %'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(messages, 120, "every post of the load is in the swapped-in table");
    verify_is_clean(&app).await;
    let swapped_indexes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'
            AND indexname IN ('messages_pkey', 'messages_channel_history', 'messages_by_author',
                              'users_listing', 'channels_by_owner', 'channel_members_by_user')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        swapped_indexes, 6,
        "the swapped-in tables keep the migrations' index names"
    );
}

#[tokio::test]
async fn an_interrupted_rebuild_resumes_and_converges() {
    let app = TestApp::spawn().await;
    let (owner, _, cid) = busy_history(&app).await;
    {
        // Project a few small batches, then stop as if killed: no swap.
        let mut partial = Rebuild::begin_with_batch(&app.pool, &["messages".into()], 3)
            .await
            .unwrap();
        partial.step().await.unwrap();
        partial.step().await.unwrap();
        // Meanwhile another rebuild of the same projection is refused, cluster-wide.
        let second = zync(&app.db, &["projections", "rebuild", "messages"]).await;
        assert_eq!(second.code, 2, "{}", second.stdout);
        assert!(second.stderr.contains("already running"), "{}", second.stderr);
    }
    app.post_message(&owner, &cid, "after the interruption").await;
    let ran = zync(&app.db, &["projections", "rebuild", "messages"]).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr
            .contains("resuming the interrupted rebuild of messages"),
        "{}",
        ran.stderr
    );
    verify_is_clean(&app).await;
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM projection_checkpoints WHERE name LIKE 'zync_rebuild/%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(left, 0, "the rebuild's checkpoint went with the swap");
}

#[tokio::test]
async fn verify_reports_rows_changed_by_hand() {
    let app = TestApp::spawn().await;
    let (_, member, _) = busy_history(&app).await;
    verify_is_clean(&app).await;
    sqlx::query("UPDATE messages SET content = 'tampered' WHERE content = 'second'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(uuid::Uuid::parse_str(&member.id).unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    let ran = zync(&app.db, &["audit", "verify"]).await;
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("messages: 1 differences"), "{}", ran.stdout);
    assert!(
        ran.stdout
            .contains(r#"content: live "tampered", rebuilt "second""#),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("users: 1 differences"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains(&format!(
            "missing from the live table {{\"id\":\"{}\"}}",
            member.id
        )),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("MISMATCH: 2 differing rows"),
        "{}",
        ran.stdout
    );
    // Repair: a rebuild makes the tables right again.
    let rebuilt = zync(&app.db, &["projections", "rebuild", "messages", "users"]).await;
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.stderr);
    verify_is_clean(&app).await;
}

#[tokio::test]
async fn an_unknown_event_stops_a_rebuild_loudly_and_leaves_the_live_tables_alone() {
    let app = TestApp::spawn().await;
    busy_history(&app).await;
    let position: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Channel', $1, 1, 'ChannelArchived', '1', '{\"ChannelArchived\": {}}', '{}')
         RETURNING global_position",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let ran = zync(&app.db, &["projections", "rebuild", "--all"]).await;
    assert_eq!(ran.code, 2, "{}", ran.stdout);
    assert!(
        ran.stderr.contains(&format!(
            "event at position {position} has unknown type Channel/ChannelArchived"
        )),
        "{}",
        ran.stderr
    );
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(before, after);
}
