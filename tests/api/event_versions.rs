//! A log written before message edits and deletions named their channel (event version 1) reads
//! as it did: the projections, the live stream, the command side and the audit upcast it as they
//! read, and the log itself is never rewritten.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::audit_support::{append, id, replay_json, types, wait_until_final};
use crate::events_support::{all_events, concerns_channel};
use crate::support::TestApp;

#[tokio::test]
async fn version_1_edits_and_deletions_read_as_before_and_new_ones_name_their_channel() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let channel = id(&app.create_channel(&alice, "general").await);
    let kept = id(&app.post_message(&alice, &channel, "first").await);
    let gone = id(&app.post_message(&alice, &channel, "second").await);

    // What the previous build stored: no `channel_id` in either body.
    append(
        &app.pool,
        ("Message", &kept),
        "MessageEdited",
        "1",
        json!({"MessageEdited": {"content": "edited the old way"}}),
    )
    .await;
    let deleted = append(
        &app.pool,
        ("Message", &gone),
        "MessageDeleted",
        "1",
        json!({"MessageDeleted": {"deleted_by": alice.id, "reason": "by_author"}}),
    )
    .await;
    wait_until_final(&app.pool, deleted).await;

    // The projections folded both.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let edited = app
            .get(&format!("/messages/{kept}"), Some(&alice.token))
            .await
            .expect(200);
        let removed = app
            .get(&format!("/messages/{gone}"), Some(&alice.token))
            .await
            .status
            == 404;
        if edited["content"] == "edited the old way" && removed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the projections never showed the version-1 events"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The live history places both in the channel, as it did when it looked the channel up.
    let (events, _) = all_events(&app, &alice.token, 100).await;
    let old_style: Vec<_> = events
        .iter()
        .filter(|e| matches!(e["type"].as_str(), Some("message.edited" | "message.deleted")))
        .collect();
    assert_eq!(old_style.len(), 2, "{events:#?}");
    assert!(
        old_style.iter().all(|e| concerns_channel(e, &channel)),
        "{old_style:#?}"
    );

    // The command side loads the version-1 edit, and what it appends now names the channel.
    let body = app
        .patch(
            &format!("/messages/{kept}"),
            Some(&alice.token),
            json!({"content": "and the new way"}),
        )
        .await
        .expect(200);
    assert_eq!(body["content"], "and the new way");
    let (version, payload): (String, serde_json::Value) = sqlx::query_as(
        "SELECT event_version, payload FROM events
          WHERE aggregate_type = 'Message' AND aggregate_id = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(&kept)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(version, "2");
    assert_eq!(payload["MessageEdited"]["channel_id"], channel.as_str());

    // The stored version-1 rows are as they were written.
    let stored: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT event_version, payload FROM events
          WHERE aggregate_type = 'Message' AND aggregate_id = ANY($1) AND sequence = 2 ORDER BY aggregate_id",
    )
    .bind(vec![kept.clone(), gone.clone()])
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (version, payload) in &stored {
        assert_eq!(version, "1");
        assert!(!payload.to_string().contains("channel_id"), "{payload}");
    }

    // The audit reads every version of the channel's messages, and shows each as stored.
    let audit = replay_json(&app, &["--channel", &channel]).await;
    let audited = types(&audit);
    let first_edit = audit.iter().find(|e| e["event_type"] == "MessageEdited").unwrap();
    assert_eq!(first_edit["event_version"], "1");
    assert_eq!(
        first_edit["payload"],
        json!({"MessageEdited": {"content": "edited the old way"}})
    );
    assert!(
        first_edit["summary"]
            .as_str()
            .unwrap()
            .contains("edited the old way"),
        "{first_edit}"
    );
    assert_eq!(
        audited.iter().filter(|t| **t == "MessageEdited").count(),
        2,
        "{audited:?}"
    );
    assert!(audited.contains(&"MessageDeleted"), "{audited:?}");
}
