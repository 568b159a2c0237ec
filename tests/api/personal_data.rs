//! Personal data in the log (ARCHITECTURE.md "Personal data", docs/personal-data.md): message
//! texts and file names are sealed in the events, readable through the API while they live, and
//! unrecoverable from the database once deleted.

use serde_json::json;

use crate::audit_support::{append, id, replay_json, wait_until_final};
use crate::cli_support::zync;
use crate::db::database_url;
use crate::files_support::upload;
use crate::idempotency::post_keyed;
use crate::support::TestApp;

/// A full plain-text `pg_dump` of the app's database.
pub async fn dump(app: &TestApp) -> String {
    let pg_dump = zync::db::embedded::postgres_program("pg_dump").expect("pg_dump is installed");
    let out = tokio::process::Command::new(pg_dump)
        .arg("--no-owner")
        .arg(database_url(&app.db))
        .output()
        .await
        .expect("pg_dump runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("a UTF-8 dump")
}

async fn log_mentions(app: &TestApp, text: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE payload::text LIKE '%' || $1 || '%'")
        .bind(text)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn texts_and_file_names_are_sealed_in_the_log_and_gone_with_their_message() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let channel = id(&app.create_channel(&alice, "general").await);
    let kept = id(&app.post_message(&alice, &channel, "kept-words-4f1c").await);
    let gone = id(&app.post_message(&alice, &channel, "first-draft-9a7e").await);
    app.patch(
        &format!("/messages/{gone}"),
        Some(&alice.token),
        json!({"content": "second-draft-3b2d"}),
    )
    .await
    .expect(200);
    let file = upload(
        &app,
        &alice,
        &channel,
        "holiday-plans-77c1.txt",
        "text/plain",
        b"hello",
    )
    .await
    .expect(201);
    let file_id = id(&file);

    // Readable through the API, sealed in the log.
    let read = app
        .get(&format!("/messages/{kept}"), Some(&alice.token))
        .await
        .expect(200);
    assert_eq!(read["content"], "kept-words-4f1c");
    assert_eq!(file["original_filename"], "holiday-plans-77c1.txt");
    for text in [
        "kept-words-4f1c",
        "first-draft-9a7e",
        "second-draft-3b2d",
        "holiday-plans-77c1",
    ] {
        assert_eq!(
            log_mentions(&app, text).await,
            0,
            "{text} is in the log in the clear"
        );
    }
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM data_keys WHERE channel_id IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(keys, 3, "one data key per message");

    // Deleted: every version of the text and the file name are gone from the whole database.
    app.delete(&format!("/messages/{gone}"), Some(&alice.token))
        .await
        .expect(200);
    app.delete(&format!("/messages/{file_id}"), Some(&alice.token))
        .await
        .expect(200);
    let dumped = dump(&app).await;
    for text in ["first-draft-9a7e", "second-draft-3b2d", "holiday-plans-77c1"] {
        assert!(!dumped.contains(text), "{text} survived its deletion in the dump");
    }
    assert!(
        dumped.contains("kept-words-4f1c"),
        "the live message's read row is in the dump"
    );

    // The log keeps its shape: every event, with its type and actor; the erased text reads so.
    let audit = replay_json(&app, &["--message", &gone]).await;
    let types: Vec<&str> = audit.iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["TextMessagePosted", "MessageEdited", "MessageDeleted"]);
    assert!(audit.iter().all(|e| e["actor_id"] == alice.id.as_str()));
    assert!(
        audit[0]["summary"].as_str().unwrap().ends_with("(text erased)"),
        "{}",
        audit[0]
    );

    // Rebuilt from the log, the read tables are what they were; the rules still hold.
    assert_eq!(zync(&app.db, &["projections", "rebuild", "--all"]).await.code, 0);
    let verified = zync(&app.db, &["audit", "verify"]).await;
    assert_eq!(verified.code, 0, "{}\n{}", verified.stdout, verified.stderr);
    let read = app
        .get(&format!("/messages/{kept}"), Some(&alice.token))
        .await
        .expect(200);
    assert_eq!(read["content"], "kept-words-4f1c");
}

#[tokio::test]
async fn the_kept_answer_to_a_keyed_post_forgets_the_text_once_the_message_is_deleted() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let channel = id(&app.create_channel(&alice, "general").await);
    let first = post_keyed(&app, &alice, &channel, "k-1", "keyed-words-8c3a")
        .await
        .expect(201);
    app.delete(&format!("/messages/{}", id(&first)), Some(&alice.token))
        .await
        .expect(200);
    assert!(!dump(&app).await.contains("keyed-words-8c3a"));
    // A retry still gets the original answer (same message, nothing posted twice), without it.
    let retry = post_keyed(&app, &alice, &channel, "k-1", "keyed-words-8c3a")
        .await
        .expect(201);
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["content"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_deleted_channel_takes_its_messages_texts_with_it() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let channel = id(&app.create_channel(&alice, "doomed").await);
    app.post_message(&alice, &channel, "channel-words-5e6f").await;
    app.delete(&format!("/channels/{channel}"), Some(&alice.token))
        .await
        .expect(200);
    assert!(!dump(&app).await.contains("channel-words-5e6f"));
}

#[tokio::test]
async fn a_sealed_text_moved_to_another_event_is_refused_not_decrypted() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let channel = id(&app.create_channel(&alice, "general").await);
    let message = id(&app.post_message(&alice, &channel, "original-1d2e").await);
    let (pool, db) = (app.pool.clone(), app.db.clone());
    app.stop().await;
    // The post's sealed content, copied by hand into an edit of the same message.
    let sealed: serde_json::Value = sqlx::query_scalar(
        "SELECT payload -> 'TextMessagePosted' -> 'content' FROM events
          WHERE aggregate_type = 'Message' AND aggregate_id = $1 AND sequence = 1",
    )
    .bind(&message)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(sealed.get("sealed").is_some(), "{sealed}");
    let moved = append(
        &pool,
        ("Message", &message),
        "MessageEdited",
        "2",
        json!({"MessageEdited": {"channel_id": channel, "content": sealed}}),
    )
    .await;
    wait_until_final(&pool, moved).await;
    let ran = zync(&db, &["audit", "replay", "--message", &message]).await;
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains(&format!("event at position {moved}")) && ran.stderr.contains("does not open"),
        "{}",
        ran.stderr
    );
    // The post before it reads as it should; the moved copy is never shown.
    assert_eq!(
        ran.stdout.lines().count(),
        2,
        "the header and the post: {}",
        ran.stdout
    );
    assert_eq!(ran.stdout.matches("original-1d2e").count(), 1, "{}", ran.stdout);
}
