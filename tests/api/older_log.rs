//! A log written before personal data was sealed is converted (`zync keys seal-log`, ADR 0011)
//! without losing an event; the master key is rotated (`zync keys rotate`) without touching one.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::audit_support::{id, opened_metadata, opened_stream};
use crate::cli_support::{zync, zync_with_env};
use crate::files_support::upload;
use crate::personal_data::dump;
use crate::support::{TestApp, TEST_MASTER_KEY};

/// Every column of every event but the payload and metadata: what no rewrite may change.
async fn identities(pool: &PgPool) -> Vec<(i64, String, String, i64, String, String, String, String)> {
    sqlx::query_as(
        "SELECT global_position, aggregate_type, aggregate_id, sequence, event_type, event_version,
                tx_id::text, recorded_at::text
           FROM events ORDER BY global_position",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The read tables, as JSON, in a fixed order.
async fn read_models(pool: &PgPool) -> Value {
    let mut all = serde_json::Map::new();
    for (table, order) in [
        ("users", "id"),
        ("channels", "id"),
        ("channel_members", "channel_id, user_id"),
        ("messages", "id"),
    ] {
        let rows: Value = sqlx::query_scalar(&format!(
            "SELECT coalesce(jsonb_agg(t ORDER BY {order}), '[]') FROM {table} t"
        ))
        .fetch_one(pool)
        .await
        .unwrap();
        all.insert(table.to_string(), rows);
    }
    Value::Object(all)
}

/// Turns the app's sealed log into one as Zync wrote it before sealing, as a server of this
/// version finds it: every personal field and client address in the clear, no message keys.
/// (The same one rewrite the conversion uses.)
async fn unseal_everything(app: &TestApp) {
    let events: Vec<(i64, String, String, i64, String, Value)> = sqlx::query_as(
        "SELECT global_position, aggregate_type, aggregate_id, sequence, event_type, metadata
           FROM events ORDER BY global_position",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL zync.rewrite = 'seal-personal-data'")
        .execute(&mut *tx)
        .await
        .unwrap();
    for (position, aggregate_type, aggregate_id, sequence, event_type, metadata) in events {
        let stream = opened_stream(app, &aggregate_type, &aggregate_id).await;
        let payload = &stream.iter().find(|(s, _, _)| *s == sequence).unwrap().2;
        let place = projections::personal::EventPlace {
            aggregate_type: &aggregate_type,
            aggregate_id: &aggregate_id,
            sequence,
            event_type: &event_type,
        };
        let metadata = if metadata.get("actor_id").is_some() {
            opened_metadata(app, place, &metadata).await
        } else {
            metadata
        };
        sqlx::query("UPDATE events SET payload = $2, metadata = $3 WHERE global_position = $1")
            .bind(position)
            .bind(payload)
            .bind(metadata)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    // Users keep theirs: a server of this version gives every user a key when it starts.
    sqlx::query("DELETE FROM data_keys WHERE channel_id IS NOT NULL")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// How many events hold `text` anywhere in their payload or metadata.
async fn log_mentions(pool: &PgPool, text: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE payload::text LIKE '%' || $1 || '%' OR metadata::text LIKE '%' || $1 || '%'",
    )
    .bind(text)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn sealing_an_older_log_keeps_every_event_and_every_read_model() {
    let app = TestApp::spawn().await;
    let alice = app.register("olda-7c1e").await;
    let bob = app.register("oldb-8d2f").await;
    app.patch(
        &format!("/users/{}", alice.id),
        Some(&alice.token),
        json!({"bio": "old-bio-9e30"}),
    )
    .await
    .expect(200);
    let room = id(&app.create_channel(&alice, "old-room").await);
    app.join(&bob, &room).await;
    let edited = id(&app.post_message(&alice, &room, "old-text-af41").await);
    app.patch(
        &format!("/messages/{edited}"),
        Some(&alice.token),
        json!({"content": "old-edit-b052"}),
    )
    .await
    .expect(200);
    upload(&app, &bob, &room, "old-file-c163.txt", "text/plain", b"x")
        .await
        .expect(201);
    // A message the older log still holds in the clear although it was deleted.
    let gone = id(&app.post_message(&bob, &room, "old-gone-d274").await);
    unseal_everything(&app).await;
    let deleted_in_the_clear = app.delete(&format!("/messages/{gone}"), Some(&bob.token)).await;
    deleted_in_the_clear.expect(200);
    // (The deletion sealed nothing: the post's text is still in the clear, as an older log has it.)
    assert_eq!(log_mentions(&app.pool, "old-gone-d274").await, 1);
    let plain = [
        "olda-7c1e",
        "olda-7c1e@example.com",
        "old-bio-9e30",
        "old-text-af41",
        "old-edit-b052",
        "old-file-c163",
        "127.0.0.1",
    ];
    for text in plain {
        assert!(
            log_mentions(&app.pool, text).await > 0,
            "{text} is in the older log"
        );
    }
    let before = identities(&app.pool).await;
    let models = read_models(&app.pool).await;

    let ran = zync(&app.db, &["keys", "seal-log"]).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("the log is sealed"), "{}", ran.stdout);

    // Every event is still there, unchanged but for its sealed fields.
    assert_eq!(identities(&app.pool).await, before);
    for text in plain {
        assert_eq!(
            log_mentions(&app.pool, text).await,
            0,
            "{text} is still in the clear"
        );
    }
    // The deleted message's text is gone for good: from the log and the whole database.
    assert!(!dump(&app).await.contains("old-gone-d274"));
    // The read models are what they were, and a rebuild from the sealed log agrees with them.
    assert_eq!(read_models(&app.pool).await, models);
    let verified = zync(&app.db, &["audit", "verify"]).await;
    assert_eq!(verified.code, 0, "{}\n{}", verified.stdout, verified.stderr);
    // The API reads through the new keys; new writes work as before.
    let message = app
        .get(&format!("/messages/{edited}"), Some(&bob.token))
        .await
        .expect(200);
    assert_eq!(message["content"], "old-edit-b052");
    app.post_message(&alice, &room, "new-text-e385").await;
    assert_eq!(log_mentions(&app.pool, "new-text-e385").await, 0);
    let stream = opened_stream(&app, "User", &alice.id).await;
    assert_eq!(stream[0].2["UserRegistered"]["username"], "olda-7c1e");

    // Running it again finds nothing left to do.
    let again = zync(&app.db, &["keys", "seal-log"]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("sealed the personal data of 0 of"),
        "{}",
        again.stdout
    );
}

#[tokio::test]
async fn a_rotated_master_key_opens_the_log_and_the_old_one_no_longer_does() {
    let app = TestApp::spawn().await;
    let alice = app.register("rota-f496").await;
    let room = id(&app.create_channel(&alice, "rota-room").await);
    let said = id(&app.post_message(&alice, &room, "rotated-text-05a7").await);
    let new_key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    // Refused while a server runs on the database: it would keep the old key.
    let refused = zync_with_env(&app.db, &["keys", "rotate"], &[("ZYNC_NEW_MASTER_KEY", new_key)]).await;
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("servers are running"),
        "{}",
        refused.stderr
    );
    let db = app.db.clone();
    app.stop().await;

    let missing = zync(&db, &["keys", "rotate"]).await;
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("ZYNC_NEW_MASTER_KEY"),
        "{}",
        missing.stderr
    );
    let same = zync_with_env(
        &db,
        &["keys", "rotate"],
        &[("ZYNC_NEW_MASTER_KEY", TEST_MASTER_KEY)],
    )
    .await;
    assert_ne!(same.code, 0);

    let rotated = zync_with_env(&db, &["keys", "rotate"], &[("ZYNC_NEW_MASTER_KEY", new_key)]).await;
    assert_eq!(rotated.code, 0, "{}\n{}", rotated.stdout, rotated.stderr);
    assert!(rotated.stdout.contains("re-wrapped"), "{}", rotated.stdout);

    // The new key opens everything; the old one is refused before anything is read.
    let with_new = zync_with_env(
        &db,
        &["audit", "replay", "--message", &said],
        &[("ZYNC_MASTER_KEY", new_key)],
    )
    .await;
    assert_eq!(with_new.code, 0, "{}", with_new.stderr);
    assert!(
        with_new.stdout.contains("rotated-text-05a7"),
        "{}",
        with_new.stdout
    );
    let with_old = zync(&db, &["audit", "replay", "--message", &said]).await;
    assert_ne!(with_old.code, 0);
    assert!(with_old.stderr.contains("master key"), "{}", with_old.stderr);
}
