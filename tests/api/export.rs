//! Data portability (docs/personal-data.md): a user's export holds everything they wrote, every
//! version of it, and nothing of anyone else's; the operator's export is the same document.

use serde_json::{json, Value};

use crate::audit_support::id;
use crate::cli_support::zync;
use crate::files_support::upload;
use crate::support::TestApp;

#[tokio::test]
async fn an_export_holds_all_a_user_wrote_and_nothing_of_anyone_else() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.patch(
        &format!("/users/{}", alice.id),
        Some(&alice.token),
        json!({"bio": "alice-bio-0a1b"}),
    )
    .await
    .expect(200);
    let room = id(&app.create_channel(&bob, "bob-room").await);
    app.join(&alice, &room).await;
    let edited = id(&app.post_message(&alice, &room, "alice-v1-1b2c").await);
    for text in ["alice-v2-2c3d", "alice-v3-3d4e"] {
        app.patch(
            &format!("/messages/{edited}"),
            Some(&alice.token),
            json!({"content": text}),
        )
        .await
        .expect(200);
    }
    let deleted = id(&app.post_message(&alice, &room, "alice-gone-4e5f").await);
    app.delete(&format!("/messages/{deleted}"), Some(&alice.token))
        .await
        .expect(200);
    let file = id(
        &upload(&app, &alice, &room, "alice-notes-5f60.txt", "text/plain", b"x")
            .await
            .expect(201),
    );
    app.post_message(&bob, &room, "bob-text-6071").await;

    let response = app
        .client
        .get(app.url("/v1/users/me/export"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    let export: Value = serde_json::from_str(&text).expect("one JSON document");

    assert_eq!(export["format"], "zync-export/1");
    assert_eq!(export["user_id"], alice.id.as_str());
    assert_eq!(export["profile"]["username"], "alice");
    assert_eq!(export["profile"]["bio"], "alice-bio-0a1b");
    let history: Vec<&str> = export["profile_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["UserRegistered", "UserProfileUpdated"]);
    assert_eq!(export["profile_history"][0]["data"]["email"], "alice@example.com");
    assert_eq!(export["memberships"][0]["channel_id"], room.as_str());
    assert!(export["channel_activity"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "MemberJoined" && e["aggregate_id"] == room.as_str()));

    let messages = export["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{messages:?}");
    let message = |id: &str| messages.iter().find(|m| m["id"] == id).unwrap();
    let versions: Vec<&Value> = message(&edited)["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["content"])
        .collect();
    assert_eq!(
        versions,
        [
            &json!("alice-v1-1b2c"),
            &json!("alice-v2-2c3d"),
            &json!("alice-v3-3d4e")
        ]
    );
    // A deleted message's text is gone for its author too: its key was destroyed.
    assert!(message(&deleted)["deleted_at"].is_string());
    assert_eq!(message(&deleted)["versions"][0]["content"], Value::Null);
    assert_eq!(
        message(&file)["file"]["original_filename"],
        "alice-notes-5f60.txt"
    );
    assert_eq!(message(&file)["kind"], "file");

    // Nothing of bob's: his text, his name, his address.
    for theirs in ["bob-text-6071", "bob@example.com", "pw-"] {
        assert!(!text.contains(theirs), "{theirs} is in alice's export");
    }

    // The operator's export is the same document (but for when it was made).
    let ran = zync(&app.db, &["users", "export", &alice.id]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let mut by_operator: Value = serde_json::from_str(&ran.stdout).expect("one JSON document");
    let mut by_user = export.clone();
    by_operator["exported_at"] = Value::Null;
    by_user["exported_at"] = Value::Null;
    assert_eq!(by_operator, by_user);

    let nobody = zync(&app.db, &["users", "export", &uuid::Uuid::now_v7().to_string()]).await;
    assert_ne!(nobody.code, 0);
    assert!(nobody.stdout.is_empty(), "nothing is written for an unknown user");
    assert!(nobody.stderr.contains("User not found"), "{}", nobody.stderr);
    assert_eq!(app.get("/v1/users/me/export", None).await.status, 401);
}
