//! What user commands leave in the event store: one registration per name under races, the
//! audit metadata of every event, and never a password or its hash.

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

use crate::audit_support::{opened_metadata, opened_stream};
use crate::support::TestApp;
use crate::users_support::{send_with_request_id, token_for};

const TAKEN: &str = "Username or email already registered.";

/// Registrations in the log of `username` (any case).
async fn registrations_of(app: &TestApp, username: &str) -> usize {
    registrations_with(app, "username", username).await
}

/// Registrations in the log whose `field` is `value` (any case); profiles are sealed there, so
/// each is opened with its user's key.
async fn registrations_with(app: &TestApp, field: &str, value: &str) -> usize {
    let users: Vec<String> =
        sqlx::query_scalar("SELECT aggregate_id FROM events WHERE event_type = 'UserRegistered'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let mut count = 0;
    for user in users {
        let stream = opened_stream(app, "User", &user).await;
        let registered = &stream[0].2["UserRegistered"][field];
        if registered.as_str().unwrap().to_lowercase() == value.to_lowercase() {
            count += 1;
        }
    }
    count
}

/// Races `bodies` as simultaneous registrations; returns the statuses and bodies in order.
async fn race(app: &TestApp, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let attempts = bodies.into_iter().map(|b| app.post("/users/", None, b));
    join_all(attempts)
        .await
        .into_iter()
        .map(|r| (r.status, r.body))
        .collect()
}

#[track_caller]
fn single_winner(results: &[(u16, Value)]) -> usize {
    let winners: Vec<usize> = (0..results.len()).filter(|i| results[*i].0 == 201).collect();
    assert_eq!(winners.len(), 1, "expected exactly one 201: {results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 201) {
        assert_eq!((*status, body), (400, &json!({"detail": TAKEN})));
    }
    winners[0]
}

#[tokio::test]
async fn concurrent_registrations_of_one_username_have_one_winner() {
    let app = TestApp::spawn().await;
    let bodies = (0..10)
        .map(|i| json!({"username": "racer", "email": format!("racer{i}@example.com"), "password": format!("pw-racer-{i}")}))
        .collect();
    let results = race(&app, bodies).await;
    let winner = single_winner(&results);
    assert_eq!(results[winner].1["email"], format!("racer{winner}@example.com"));
    assert_eq!(registrations_of(&app, "racer").await, 1);

    // Only the winner's password logs in, and the losers left no credentials behind.
    for i in 0..10 {
        let status = app.login("racer", &format!("pw-racer-{i}")).await.status;
        assert_eq!(
            status,
            if i == winner { 200 } else { 401 },
            "password of attempt {i}"
        );
    }
    let credentials: i64 = sqlx::query_scalar("SELECT count(*) FROM user_credentials")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(credentials, 1);
    let token = token_for(&app, "racer", &format!("pw-racer-{winner}")).await;
    let listed = app.get("/users/", Some(&token)).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn concurrent_registrations_differing_in_case_have_one_winner() {
    let app = TestApp::spawn().await;
    let names = [
        "Racer", "racer", "RACER", "rAcEr", "racER", "Racer", "RACer", "raceR",
    ];
    let bodies = names
        .iter()
        .enumerate()
        .map(
            |(i, n)| json!({"username": n, "email": format!("case{i}@example.com"), "password": "pw-case-1"}),
        )
        .collect();
    single_winner(&race(&app, bodies).await);
    assert_eq!(registrations_of(&app, "racer").await, 1);

    // The same race on one e-mail address (in varying case) under different names.
    let bodies = (0..8)
        .map(|i| {
            let email = if i % 2 == 0 {
                "Shared@Example.com"
            } else {
                "shared@example.com"
            };
            json!({"username": format!("mailer{i}"), "email": email, "password": "pw-mail-1"})
        })
        .collect();
    single_winner(&race(&app, bodies).await);
    assert_eq!(registrations_with(&app, "email", "shared@example.com").await, 1);
}

#[tokio::test]
async fn concurrent_renames_to_one_name_have_one_winner() {
    let app = TestApp::spawn().await;
    let users = crate::users_support::register_many(&app, "renamer", 6).await;
    let app = &app;
    let attempts = users.iter().enumerate().map(|(i, u)| async move {
        let name = if i % 2 == 0 { "Taken" } else { "taken" };
        let path = format!("/users/{}", u.id);
        app.patch(&path, Some(&u.token), json!({"username": name})).await
    });
    let results: Vec<(u16, Value)> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| (r.status, r.body))
        .collect();
    let winners: Vec<usize> = (0..results.len()).filter(|i| results[*i].0 == 200).collect();
    assert_eq!(winners.len(), 1, "expected exactly one 200: {results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!((*status, body), (400, &json!({"detail": TAKEN})));
    }
    // Everyone else kept their name; only the winner answers to the new one.
    let winner = &users[winners[0]];
    let token = token_for(app, "TAKEN", &winner.password).await;
    let listed = app.get("/users/", Some(&token)).await.expect(200);
    let taken: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["username"].as_str().unwrap().eq_ignore_ascii_case("taken"))
        .collect();
    assert_eq!(taken.len(), 1, "{listed}");
    assert_eq!(taken[0]["id"], winner.id.as_str());
}

#[tokio::test]
async fn concurrent_updates_of_one_user_all_apply() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let path = format!("/users/{}", alice.id);
    let attempts = (0..10).map(|i| app.patch(&path, Some(&alice.token), json!({"bio": format!("bio {i}")})));
    let results = join_all(attempts).await;
    for r in &results {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let sequences: Vec<i64> =
        sqlx::query_scalar("SELECT sequence FROM events WHERE aggregate_id = $1 ORDER BY sequence")
            .bind(&alice.id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        sequences,
        (1..=11).collect::<Vec<i64>>(),
        "one registration and ten updates, no gaps"
    );
    // The read model shows the last update applied.
    let stream = opened_stream(&app, "User", &alice.id).await;
    let last = &stream.last().unwrap().2["UserProfileUpdated"]["changes"]["bio"];
    assert_eq!(
        app.get("/users/me", Some(&alice.token)).await.expect(200)["bio"],
        *last
    );
}

#[tokio::test]
async fn events_carry_audit_metadata() {
    let app = TestApp::spawn().await;
    let started = Utc::now() - Duration::seconds(5);
    let register_id = format!("reg-{}", uuid::Uuid::now_v7());
    let body = json!({"username": "audited", "email": "audited@example.com", "password": "pw-audited-1"});
    let resp = send_with_request_id(&app, Method::POST, "/users/", None, body, &register_id).await;
    assert_eq!(resp.headers["x-request-id"].to_str().unwrap(), register_id);
    let user_id = resp.expect(201)["id"].as_str().unwrap().to_string();
    let token = token_for(&app, "audited", "pw-audited-1").await;

    let update_id = format!("upd-{}", uuid::Uuid::now_v7());
    let path = format!("/users/{user_id}");
    let body = json!({"bio": "audited bio", "password": "pw-audited-2"});
    send_with_request_id(&app, Method::PATCH, &path, Some(&token), body, &update_id)
        .await
        .expect(200);
    let finished = Utc::now() + Duration::seconds(5);

    let rows: Vec<(String, i64, Value, Option<i64>)> = sqlx::query_as(
        "SELECT event_type, sequence, metadata, global_position FROM events
          WHERE aggregate_id = $1 ORDER BY sequence",
    )
    .bind(&user_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        kinds,
        ["UserRegistered", "UserProfileUpdated", "UserPasswordChanged"]
    );

    let mut last_position = 0;
    for (kind, sequence, meta, position) in &rows {
        let expected_request = if kind == "UserRegistered" {
            &register_id
        } else {
            &update_id
        };
        assert_eq!(meta["actor_id"], user_id.as_str(), "{kind}: {meta}");
        assert_eq!(meta["request_id"], expected_request.as_str(), "{kind}: {meta}");
        // Sealed under the actor's key in the log; the audit log opens it.
        let sealed = meta["client_addr"].as_str().unwrap();
        assert!(sealed.starts_with("sealed:"), "{kind}: {meta}");
        let place = projections::personal::EventPlace {
            aggregate_type: "User",
            aggregate_id: &user_id,
            sequence: *sequence,
            event_type: kind,
        };
        let opened = opened_metadata(&app, place, meta).await;
        assert_eq!(opened["client_addr"], "127.0.0.1", "{kind}: {opened}");
        let ts = meta["timestamp"]
            .as_str()
            .unwrap_or_else(|| panic!("{kind}: no timestamp in {meta}"));
        let ts: DateTime<Utc> = DateTime::parse_from_rfc3339(ts).unwrap().into();
        assert!(
            started <= ts && ts <= finished,
            "{kind}: timestamp {ts} outside the test"
        );
        let position = position.unwrap_or_else(|| panic!("{kind}: no global_position"));
        assert!(
            position > last_position,
            "{kind}: global_position {position} not increasing"
        );
        last_position = position;
    }
}

#[tokio::test]
async fn no_event_holds_a_password_or_its_hash() {
    let app = TestApp::spawn().await;
    let first = "first-Pa55word-!";
    let second = "second-Pa55word-?";
    let body =
        json!({"username": "secretive", "email": "secretive@example.com", "password": first, "bio": "b"});
    let user = app.post("/users/", None, body).await.expect(201);
    let id = user["id"].as_str().unwrap();
    let old_hash: String = sqlx::query_scalar("SELECT password_hash FROM user_credentials")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(old_hash.starts_with("$argon2id$"), "{old_hash}");
    let token = token_for(&app, "secretive", first).await;
    app.patch(
        &format!("/users/{id}"),
        Some(&token),
        json!({"password": second, "bio": "c"}),
    )
    .await
    .expect(200);
    let new_hash: String = sqlx::query_scalar("SELECT password_hash FROM user_credentials")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_ne!(old_hash, new_hash);
    let token = token_for(&app, "secretive", second).await;
    app.delete(&format!("/users/{id}"), Some(&token))
        .await
        .expect(200);

    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(events, 4, "registered, updated, password changed, deleted");
    // The salt and digest of each hash, as well as the whole string and the plain passwords.
    let mut needles = vec![
        first.to_string(),
        second.to_string(),
        old_hash.clone(),
        new_hash.clone(),
    ];
    for hash in [&old_hash, &new_hash] {
        needles.extend(hash.rsplit('$').take(2).map(str::to_string));
    }
    needles.extend([
        "$argon2".to_string(),
        "\"password\"".to_string(),
        "password_hash".to_string(),
    ]);
    for needle in &needles {
        let hits: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events
              WHERE strpos(lower(payload::text), lower($1)) > 0 OR strpos(lower(metadata::text), lower($1)) > 0",
        )
        .bind(needle)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(hits, 0, "an event contains {needle:?}");
    }
}
