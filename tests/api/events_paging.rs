//! Paging through `GET /v1/events`: any `limit`, continuing from `next_after`, yields every visible
//! event exactly once and in order, even when pages are cut by invisible events; `after` and
//! `limit` are validated.

use std::collections::HashSet;

use serde_json::Value;

use crate::events_support::{all_events, page, positions, summary};
use crate::support::TestApp;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_limit_yields_the_same_events_exactly_once_in_order() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let eve = app.register("eve").await;
    let ours = id(&app.create_channel(&alice, "ours").await);
    let theirs = id(&app.create_channel(&eve, "theirs").await);
    // Alice's events interleaved with events she may not see, so pages are cut by the limit
    // and also end on invisible events.
    let mut posted = vec![];
    for i in 0..12 {
        posted.push(id(&app.post_message(&alice, &ours, &format!("ours {i}")).await));
        for j in 0..2 {
            app.post_message(&eve, &theirs, &format!("theirs {i}.{j}")).await;
        }
    }

    let (full, pages) = all_events(&app, &alice.token, 1000).await;
    assert_eq!(pages, 1);
    let created: Vec<String> = full
        .iter()
        .filter(|e| e["type"] == "message.created")
        .map(|e| e["data"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(created, posted, "every post, once, in order");
    let unique: HashSet<i64> = positions(&full).into_iter().collect();
    assert_eq!(unique.len(), full.len(), "no position twice");
    assert!(full
        .iter()
        .all(|e| e["data"]["channel_id"].as_str() != Some(theirs.as_str())));

    for limit in [1, 2, 3, 7] {
        let (paged, pages) = all_events(&app, &alice.token, limit).await;
        assert_eq!(summary(&paged), summary(&full), "limit {limit}");
        assert_eq!(paged, full, "limit {limit}: the same frames");
        assert!(
            pages as i64 >= full.len() as i64 / limit,
            "limit {limit} was honoured"
        );
    }
}

#[tokio::test]
async fn next_after_moves_past_a_long_run_of_invisible_events() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let channel = id(&app.create_channel(&alice, "general").await);
    app.join(&bob, &channel).await;
    let first = app.post_message(&alice, &channel, "first").await;

    // More events than one request scans, none of them visible to bob (registrations have no
    // frame), in one transaction.
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT 'User', id::text, 1, 'UserRegistered', '1',
                jsonb_build_object('UserRegistered', jsonb_build_object(
                    'user_id', id, 'username', 'bulk' || n, 'email', 'bulk' || n || '@example.com',
                    'first_name', null, 'last_name', null, 'bio', null, 'profile_picture', null)),
                '{}'
           FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, 5200) AS n) AS bulk",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let last = app.post_message(&alice, &channel, "last").await;

    let (events, next, caught_up) = page(&app, &bob.token, 0, 100).await;
    assert!(!caught_up, "the scan bound cut this page");
    assert!(
        events.len() < 100,
        "few visible events in a page cut by the scan bound"
    );
    assert!(
        !positions(&events).contains(&next),
        "next_after is past the last event returned"
    );
    let (rest, pages) = all_events_from(&app, &bob.token, next).await;
    let all: Vec<Value> = events.into_iter().chain(rest).collect();
    let created: Vec<&Value> = all
        .iter()
        .filter(|e| e["type"] == "message.created")
        .map(|e| &e["data"])
        .collect();
    assert_eq!(created, [&first, &last], "both posts, once each, in order");
    assert!(pages >= 1);
    let (again, _) = all_events(&app, &bob.token, 100).await;
    assert_eq!(again, all, "a fresh poll from the start yields the same");
}

/// Polls from `after` until caught up.
async fn all_events_from(app: &TestApp, token: &str, mut after: i64) -> (Vec<Value>, usize) {
    let mut events = vec![];
    for pages in 1.. {
        let (batch, next, caught_up) = page(app, token, after, 100).await;
        events.extend(batch);
        after = next;
        if caught_up {
            return (events, pages);
        }
        assert!(pages < 1000, "polling never caught up");
    }
    unreachable!()
}

#[tokio::test]
async fn after_and_limit_are_validated() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let channel = id(&app.create_channel(&alice, "general").await);
    app.post_message(&alice, &channel, "hello").await;
    let token = Some(alice.token.as_str());

    let (events, _, _) = page(&app, &alice.token, 0, 100).await;
    let known = *positions(&events).last().unwrap();
    let unknown = known + 1_000_000;

    let refused = |body: &Value, field: &str| {
        let issues = body["detail"].as_array().expect("a 422 list");
        assert!(
            issues
                .iter()
                .any(|i| i["loc"] == serde_json::json!(["query", field])),
            "{body}"
        );
    };
    for (query, field) in [
        (format!("after={unknown}"), "after"),
        ("after=-1".to_string(), "after"),
        ("after=abc".to_string(), "after"),
        ("after=1.5".to_string(), "after"),
        ("limit=-1".to_string(), "limit"),
        ("limit=0".to_string(), "limit"),
        ("limit=many".to_string(), "limit"),
    ] {
        let body = app.get(&format!("/v1/events?{query}"), token).await.expect(422);
        refused(&body, field);
    }

    // 0 (the start), a known position, and a large limit are all fine.
    app.get("/v1/events?after=0", token).await.expect(200);
    let body = app
        .get(&format!("/v1/events?after={known}&limit=100000"), token)
        .await
        .expect(200);
    assert_eq!(body["events"], serde_json::json!([]));
    assert_eq!(body["next_after"], known);
    assert_eq!(body["caught_up"], true);
    let body = app.get("/v1/events", token).await.expect(200);
    assert_eq!(body["events"], serde_json::json!(events));
    // Trailing slash too, like every route.
    app.get("/v1/events/", token).await.expect(200);
}

#[tokio::test]
async fn the_route_is_documented() {
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json", None).await.expect(200);
    let op = &spec["paths"]["/v1/events"]["get"];
    assert!(op.is_object(), "GET /v1/events is in the spec");
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["after", "limit"]);
    let page = &spec["components"]["schemas"]["EventPage"]["properties"];
    for field in ["events", "next_after", "caught_up"] {
        assert!(page[field].is_object(), "EventPage.{field} documented");
    }
}
