//! The right to be forgotten (docs/personal-data.md): after a user erases themselves, nothing they
//! put in is left in a full dump of the database or in the data directory, while everyone else's
//! data stays; the log keeps its shape for the audit. (The server's own logs, which never hold
//! personal data, are checked with a real server process in `tests/erasure_logs.rs`.)

use std::time::Duration;

use serde_json::{json, Value};

use crate::audit_support::{id, replay_json};
use crate::cli_support::zync;
use crate::files_support::upload;
use crate::personal_data::dump;
use crate::support::{shared_files_dir, TestApp, TestUser};

/// A user registered with every profile field, each a string found nowhere else.
async fn register_full(app: &TestApp, tag: &str) -> (TestUser, Vec<String>) {
    let username = format!("{tag}-name-5d2e");
    let email = format!("{tag}-mail-8c1f@example.org");
    let password = format!("pw-{tag}-secret");
    let profile = [
        ("first_name", format!("{tag}-first-19ab")),
        ("last_name", format!("{tag}-last-2bc3")),
        ("bio", format!("{tag}-bio-3cd4")),
        (
            "profile_picture",
            format!("https://img.example.org/{tag}-pic-4de5.png"),
        ),
    ];
    let mut body = json!({"username": username, "email": email, "password": password});
    for (field, value) in &profile {
        body[*field] = json!(value);
    }
    let created = app.post("/users/", None, body).await.expect(201);
    let token = app.login(&username, &password).await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let user = TestUser {
        id: created["id"].as_str().unwrap().to_string(),
        username: username.clone(),
        password,
        token,
    };
    let mut strings = vec![username, email];
    strings.extend(profile.into_iter().map(|(_, v)| v));
    (user, strings)
}

/// Files under `dir` whose name or content holds `needle`.
fn files_mentioning(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_mentioning(&path, needle));
        } else if path.to_string_lossy().contains(needle)
            || std::fs::read(&path).is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(needle))
        {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn an_erased_user_is_nowhere_in_a_dump_or_the_files_and_others_stay() {
    let data_dir = std::env::temp_dir().join(format!("zync-erasure-{}", uuid::Uuid::now_v7().simple()));
    let app = TestApp::spawn_with(|mut c| {
        c.data_dir = data_dir.clone();
        c
    })
    .await;
    let (alice, mut alice_strings) = register_full(&app, "alice").await;
    let (bob, bob_strings) = register_full(&app, "bob").await;

    // Alice owns a channel bob is in (handed to bob) and one nobody else is in (deleted); she
    // writes in bob's channel too: texts, an edit, a file.
    let shared = id(&app.create_channel(&alice, "alice-shared").await);
    let solo = id(&app.create_channel(&alice, "alice-solo").await);
    let bobs = id(&app.create_channel(&bob, "bob-room").await);
    app.join(&bob, &shared).await;
    app.join(&alice, &bobs).await;
    let edited = id(&app.post_message(&alice, &bobs, "alice-draft-6ef7").await);
    app.patch(
        &format!("/messages/{edited}"),
        Some(&alice.token),
        json!({"content": "alice-final-7f08"}),
    )
    .await
    .expect(200);
    app.post_message(&alice, &shared, "alice-hello-8019").await;
    app.post_message(&alice, &solo, "alice-alone-912a").await;
    let file = upload(
        &app,
        &alice,
        &bobs,
        "alice-file-a23b.txt",
        "text/plain",
        b"alice-bytes-b34c",
    )
    .await
    .expect(201);
    let bob_said = id(&app.post_message(&bob, &bobs, "bob-words-c45d").await);
    alice_strings.extend(
        [
            "alice-draft-6ef7",
            "alice-final-7f08",
            "alice-hello-8019",
            "alice-alone-912a",
            "alice-file-a23b",
            "alice-bytes-b34c",
        ]
        .map(String::from),
    );
    let files_dir = shared_files_dir(&app.db);
    assert!(
        !files_mentioning(&files_dir, "alice-bytes-b34c").is_empty(),
        "the upload is stored before the erasure"
    );

    let erased = app
        .post("/v1/users/me/erase", Some(&alice.token), json!({}))
        .await
        .expect(200);
    assert_eq!(
        erased["handed_over"],
        json!([{"channel_id": shared, "new_owner_id": bob.id}])
    );
    assert_eq!(erased["deleted_channels"], json!([solo]));

    // Signed out everywhere; her name and address are free again.
    assert_eq!(app.get("/users/me", Some(&alice.token)).await.status, 401);
    assert_eq!(
        app.get(&format!("/users/{}", alice.id), Some(&bob.token))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/channels/{shared}"), Some(&bob.token))
            .await
            .expect(200)["owner_id"],
        bob.id
    );
    assert_eq!(
        app.get(&format!("/channels/{solo}"), Some(&bob.token))
            .await
            .status,
        404
    );
    let history = app
        .get(&format!("/messages/channel/{bobs}"), Some(&bob.token))
        .await
        .expect(200);
    let texts: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["content"])
        .collect();
    assert!(texts.contains(&&json!("bob-words-c45d")), "{history}");
    assert_eq!(
        history
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == edited.as_str())
            .unwrap()["content"],
        Value::Null,
        "her message stays in the conversation, without its text"
    );
    // The reactor removes her file (bounded wait: it runs on the feed, right behind the event).
    for _ in 0..200 {
        if files_mentioning(&files_dir, "alice-bytes-b34c").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let file_message = id(&file);
    let link = app
        .get(&format!("/messages/{file_message}/access-url"), Some(&bob.token))
        .await
        .expect(200);
    let fetched = app
        .client
        .get(link["access_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 404, "her file is gone");

    // Nothing of hers anywhere; everything of bob's still there.
    let dump = dump(&app).await;
    for text in &alice_strings {
        assert!(!dump.contains(text.as_str()), "{text} is in the database dump");
        assert!(
            files_mentioning(&files_dir, text).is_empty(),
            "{text} is in the stored files"
        );
        assert!(
            files_mentioning(&data_dir, text).is_empty(),
            "{text} is in the data directory"
        );
    }
    for text in bob_strings.iter().map(String::as_str).chain(["bob-words-c45d"]) {
        assert!(dump.contains(text), "{text} (bob's) is missing from the database");
    }
    assert_eq!(
        app.get(&format!("/messages/{bob_said}"), Some(&bob.token))
            .await
            .expect(200)["content"],
        "bob-words-c45d"
    );

    // A rebuild of every projection agrees with the live tables, and the rules hold.
    let verified = zync(&app.db, &["audit", "verify"]).await;
    assert_eq!(verified.code, 0, "{}\n{}", verified.stdout, verified.stderr);
    // The audit log keeps every event she caused, with its type, time and actor.
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE metadata ->> 'actor_id' = $1 OR aggregate_id = $1",
    )
    .bind(&alice.id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let replayed = replay_json(&app, &["--user", &alice.id]).await;
    assert_eq!(replayed.len() as i64, events);
    for event in &replayed {
        assert!(
            event["event_type"].is_string() && event["recorded_at"].is_string(),
            "{event}"
        );
        assert!(
            event["actor_id"] == alice.id.as_str() || event["aggregate_id"] == alice.id.as_str(),
            "{event}"
        );
    }
    assert!(replayed.iter().any(|e| e["event_type"] == "UserErased"));
    let replayed_text = serde_json::to_string(&replayed).unwrap();
    for text in &alice_strings {
        assert!(
            !replayed_text.contains(text.as_str()),
            "{text} is in the audit replay"
        );
    }

    // Her username and e-mail can be registered again.
    app.post(
        "/users/",
        None,
        json!({"username": alice_strings[0], "email": alice_strings[1], "password": "pw-new-owner"}),
    )
    .await
    .expect(201);
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn an_operator_erases_a_deleted_account_and_a_second_erasure_is_refused() {
    let app = TestApp::spawn().await;
    let (carol, carol_strings) = register_full(&app, "carol").await;
    let room = id(&app.create_channel(&carol, "carol-room").await);
    app.post_message(&carol, &room, "carol-text-d56e").await;
    app.delete(&format!("/users/{}", carol.id), Some(&carol.token))
        .await
        .expect(200);

    let ran = zync(&app.db, &["users", "erase", &carol.id]).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains(&format!("channel {room} deleted")),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("erased"), "{}", ran.stdout);
    let dump = dump(&app).await;
    for text in carol_strings
        .iter()
        .map(String::as_str)
        .chain(["carol-text-d56e"])
    {
        assert!(!dump.contains(text), "{text} is in the database dump");
    }
    // The erasure was an operator's: no actor in its metadata.
    let actor: Option<String> = sqlx::query_scalar(
        "SELECT metadata ->> 'actor_id' FROM events WHERE aggregate_id = $1 AND event_type = 'UserErased'",
    )
    .bind(&carol.id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actor, None);

    let again = zync(&app.db, &["users", "erase", &carol.id]).await;
    assert_ne!(again.code, 0);
    assert_eq!(again.stderr.trim().lines().count(), 1, "{}", again.stderr);
    assert!(again.stderr.contains("not found"), "{}", again.stderr);
    let nobody = zync(&app.db, &["users", "erase", &uuid::Uuid::now_v7().to_string()]).await;
    assert_ne!(nobody.code, 0, "{}", nobody.stdout);
}
