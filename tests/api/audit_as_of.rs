//! `zync audit replay --as-of`: a channel, user or message reconstructed at a moment.

use serde_json::{json, Value};

use crate::audit_support::{replay, replay_json, story, stream, text_of, Story};

/// The one JSON state `--as-of <moment> --format jsonl` prints.
async fn state(s: &Story, selection: &[&str], moment: &str) -> Value {
    let mut args = selection.to_vec();
    args.extend(["--as-of", moment]);
    let mut lines = replay_json(&s.app, &args).await;
    assert_eq!(lines.len(), 1, "one state: {lines:?}");
    lines.remove(0)
}

fn usernames(state: &Value) -> Vec<&str> {
    state["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect()
}

fn time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// A `label  value` line of the text rendering.
fn has_field(table: &str, label: &str, value: &str) -> bool {
    table
        .lines()
        .any(|l| l.starts_with(label) && l[label.len()..].trim() == value)
}

#[tokio::test]
async fn as_of_shows_a_message_text_before_and_after_its_edit() {
    let s = story().await;
    let edited = stream(&s.app, "Message", &s.edited).await;
    let ((posted, _), (edit, edit_time)) = (edited[0], edited[1]);
    let channel = ["--channel", s.channel.as_str()];

    let before = state(&s, &channel, &posted.to_string()).await;
    assert_eq!(before["status"], "live");
    assert_eq!(before["as_of"], posted);
    assert_eq!(before["last_position"], posted);
    assert_eq!(text_of(&before, &s.edited), Some("first draft"));
    assert_eq!(before["messages"][0]["edited"], false);
    assert_eq!(before["messages"][0]["author_username"], "alice");
    assert_eq!(text_of(&before, &s.greeting), None, "bob had not posted yet");
    assert_eq!(before["channel"]["name"], "general");
    assert_eq!(before["channel"]["owner_id"], s.alice.id.as_str());
    assert_eq!(before["channel"]["owner_username"], "alice");
    assert_eq!(usernames(&before), ["alice", "bob"]);

    let after = state(&s, &channel, &edit.to_string()).await;
    assert_eq!(text_of(&after, &s.edited), Some("final text"));
    assert_eq!(text_of(&after, &s.greeting), Some("hi bob here"));
    assert_eq!(after["messages"][0]["edited"], true);
    assert_eq!(time(&after["messages"][0]["updated_at"]), edit_time);

    // Between the two, named by time: bob's post is in, alice's edit is not yet.
    let between = stream(&s.app, "Message", &s.greeting).await[0].1;
    let middle = state(&s, &channel, &between.to_rfc3339()).await;
    assert_eq!(time(&middle["as_of"]), between, "a time is echoed as a time");
    assert_eq!(text_of(&middle, &s.edited), Some("first draft"));
    assert_eq!(text_of(&middle, &s.greeting), Some("hi bob here"));

    // The table says the same.
    let table_before = replay(&s.app, &["--channel", &s.channel, "--as-of", &posted.to_string()]).await;
    assert!(table_before.contains("\"first draft\""), "{table_before}");
    assert!(!table_before.contains("final text"), "{table_before}");
    assert!(has_field(&table_before, "name", "\"general\""), "{table_before}");
    let table_after = replay(&s.app, &["--channel", &s.channel, "--as-of", &edit.to_string()]).await;
    assert!(table_after.contains("\"final text\""), "{table_after}");
    assert!(!table_after.contains("first draft"), "{table_after}");
}

#[tokio::test]
async fn a_channel_from_before_its_creation_to_after_its_deletion() {
    let s = story().await;
    let app = &s.app;
    app.patch(
        &format!("/users/{}", s.bob.id),
        Some(&s.bob.token),
        json!({"username": "robert"}),
    )
    .await
    .expect(200);
    app.delete(&format!("/messages/{}", s.greeting), Some(&s.bob.token))
        .await
        .expect(200);
    app.delete(&format!("/channels/{}/leave", s.channel), Some(&s.bob.token))
        .await
        .expect(204);
    app.delete(&format!("/channels/{}", s.channel), Some(&s.alice.token))
        .await
        .expect(200);
    let channel = ["--channel", s.channel.as_str()];
    let positions: Vec<i64> = stream(app, "Channel", &s.channel)
        .await
        .iter()
        .map(|(p, _)| *p)
        .collect();
    let &[created, _alice_joined, bob_joined, bob_left, deleted] = positions.as_slice() else {
        panic!("unexpected channel stream {positions:?}");
    };
    let renamed = stream(app, "User", &s.bob.id).await[1].0;
    let greeting_deleted = stream(app, "Message", &s.greeting).await[1].0;

    let origin = state(&s, &channel, "0").await;
    assert_eq!(origin["status"], "not_yet_created");
    assert_eq!(origin["channel"], Value::Null);
    assert_eq!(origin["last_position"], Value::Null);

    // Right after the creation event: its owner joins in the next event of the same command.
    let born = state(&s, &channel, &created.to_string()).await;
    assert_eq!(born["status"], "live");
    assert_eq!(born["members"], json!([]));
    assert_eq!(
        usernames(&state(&s, &channel, &bob_joined.to_string()).await),
        ["alice", "bob"]
    );

    // Usernames as they then were.
    assert_eq!(
        usernames(&state(&s, &channel, &renamed.to_string()).await),
        ["alice", "robert"]
    );

    let pruned = state(&s, &channel, &greeting_deleted.to_string()).await;
    assert_eq!(pruned["deleted_message_ids"], json!([s.greeting]));
    assert_eq!(pruned["messages"].as_array().unwrap().len(), 1);
    // Still there at that moment, but the channel's deletion since destroyed its text's key
    // (docs/personal-data.md): a reconstruction keeps the message and loses the words.
    assert_eq!(pruned["messages"][0]["id"], s.edited.as_str());
    assert_eq!(pruned["messages"][0]["content"], Value::Null);

    assert_eq!(
        usernames(&state(&s, &channel, &bob_left.to_string()).await),
        ["alice"]
    );

    let gone = state(&s, &channel, &deleted.to_string()).await;
    assert_eq!(gone["status"], "deleted");
    assert_eq!(gone["last_position"], deleted);
    assert_eq!(gone["channel"], Value::Null);
    assert_eq!(
        (gone["members"].clone(), gone["messages"].clone()),
        (json!([]), json!([]))
    );
    assert_eq!(gone["deleted_message_ids"], json!([s.edited, s.greeting]));
    let table = replay(app, &["--channel", &s.channel, "--as-of", &deleted.to_string()]).await;
    assert!(has_field(&table, "status", "deleted"), "{table}");
    assert!(
        table.contains(&format!("DELETED MESSAGES (2)\n{}\n{}\n", s.edited, s.greeting)),
        "{table}"
    );
}

#[tokio::test]
async fn a_user_and_a_message_as_of_a_moment() {
    let s = story().await;
    let app = &s.app;
    app.patch(
        &format!("/users/{}", s.bob.id),
        Some(&s.bob.token),
        json!({"username": "robert"}),
    )
    .await
    .expect(200);
    let bob = ["--user", s.bob.id.as_str()];
    let bob_stream = stream(app, "User", &s.bob.id).await;
    let (registered, renamed) = (bob_stream[0].0, bob_stream[1].0);

    assert_eq!(state(&s, &bob, "0").await["status"], "not_yet_created");
    let then = state(&s, &bob, &registered.to_string()).await;
    assert_eq!(then["status"], "live");
    assert_eq!(then["user"]["username"], "bob");
    assert_eq!(then["user"]["email"], "bob@example.com");
    assert_eq!(
        state(&s, &bob, &renamed.to_string()).await["user"]["username"],
        "robert"
    );
    let table = replay(app, &["--user", &s.bob.id, "--as-of", &registered.to_string()]).await;
    assert!(has_field(&table, "username", "\"bob\""), "{table}");

    let message = ["--message", s.edited.as_str()];
    let edits = stream(app, "Message", &s.edited).await;
    let first = state(&s, &message, &edits[0].0.to_string()).await;
    assert_eq!(first["status"], "live");
    assert_eq!(first["channel_id"], s.channel.as_str());
    assert_eq!(first["message"]["content"], "first draft");
    assert_eq!(first["message"]["author_username"], "alice");
    let second = state(&s, &message, &edits[1].0.to_string()).await;
    assert_eq!(second["message"]["content"], "final text");
    assert_eq!(second["message"]["edited"], true);
    let table = replay(app, &["--message", &s.edited, "--as-of", &edits[0].0.to_string()]).await;
    assert!(has_field(&table, "text", "\"first draft\""), "{table}");

    // The channel's deletion took the message with it, and destroyed its text's key: the same
    // moments now reconstruct the message without its words (docs/personal-data.md).
    app.delete(&format!("/channels/{}", s.channel), Some(&s.alice.token))
        .await
        .expect(200);
    let erased = state(&s, &message, &edits[0].0.to_string()).await;
    assert_eq!(erased["status"], "live");
    assert_eq!(erased["message"]["content"], Value::Null);
    assert_eq!(erased["message"]["author_username"], "alice");
    let table = replay(app, &["--message", &s.edited, "--as-of", &edits[0].0.to_string()]).await;
    assert!(has_field(&table, "text", "(text erased)"), "{table}");
    let deleted = stream(app, "Channel", &s.channel).await.last().unwrap().0;
    let gone = state(&s, &message, &deleted.to_string()).await;
    assert_eq!(gone["status"], "deleted");
    assert_eq!(gone["channel_deleted"], true);
    assert_eq!(gone["last_position"], deleted);
    assert_eq!(gone["message"], Value::Null);
}
