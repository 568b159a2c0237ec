//! `/channels` routes: create, read and list (validation, pagination, ordering).
//! Owner-only routes are in `channels_admin.rs`, memberships in `channels_members.rs`, auth and
//! paths in `channels_http.rs`.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::support::{Resp, TestApp};

// ---- helpers shared by the channel test files ----------------------------------------------

/// The contract's 401: status, `WWW-Authenticate: Bearer`, fixed detail.
#[track_caller]
pub(crate) fn assert_unauthorized(resp: &Resp, what: &str) {
    assert_eq!(resp.status, 401, "{what}: {}", resp.body);
    assert_eq!(
        resp.headers.get("www-authenticate").and_then(|v| v.to_str().ok()),
        Some("Bearer"),
        "{what}"
    );
    assert_eq!(
        resp.body,
        json!({"detail": "Could not validate credentials"}),
        "{what}"
    );
}

/// A FastAPI-style 422 whose issues include one at `loc` of type `kind`.
#[track_caller]
pub(crate) fn assert_issue(resp: &Resp, loc: Value, kind: &str) {
    assert_eq!(resp.status, 422, "expected 422 at {loc}; body: {}", resp.body);
    let issues = resp.body["detail"].as_array().expect("a list of issues");
    assert!(
        issues
            .iter()
            .all(|i| i["loc"].is_array() && i["msg"].is_string() && i["type"].is_string()),
        "issues shaped {{loc,msg,type}}: {}",
        resp.body
    );
    assert!(
        issues.iter().any(|i| i["loc"] == loc && i["type"] == kind),
        "no {kind} issue at {loc}: {}",
        resp.body
    );
}

#[track_caller]
pub(crate) fn field(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| {
            v[key]
                .as_str()
                .unwrap_or_else(|| panic!("no {key} in {v}"))
                .to_string()
        })
        .collect()
}

#[track_caller]
pub(crate) fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("timestamp string"))
        .expect("RFC 3339 timestamp")
        .with_timezone(&Utc)
}

/// Every key of a ChannelRead, and nothing else.
#[track_caller]
pub(crate) fn assert_channel_read(v: &Value) {
    let mut keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "description",
            "id",
            "name",
            "owner_id",
            "updated_at"
        ]
    );
    uuid::Uuid::parse_str(v["id"].as_str().unwrap()).expect("uuid id");
    time(&v["created_at"]);
    time(&v["updated_at"]);
}

const MISSING: &str = "00000000-0000-7000-8000-000000000000";

// ---- create ----------------------------------------------------------------------------------

#[tokio::test]
async fn create_returns_channel_and_creator_is_owner_and_member() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let resp = app
        .post(
            "/channels/",
            Some(&alice.token),
            json!({"name": "general", "description": "chat"}),
        )
        .await;
    let created = resp.expect(201);
    assert_channel_read(&created);
    assert_eq!(created["name"], "general");
    assert_eq!(created["description"], "chat");
    assert_eq!(created["owner_id"], alice.id.as_str());
    assert_eq!(created["created_at"], created["updated_at"]);

    let id = created["id"].as_str().unwrap();
    let fetched = app
        .get(&format!("/channels/{id}"), Some(&alice.token))
        .await
        .expect(200);
    assert_eq!(fetched, created);
    let mine = app
        .get("/channels/my-memberships", Some(&alice.token))
        .await
        .expect(200);
    assert_eq!(mine, json!([created]));
    let members = app
        .get(&format!("/channels/{id}/members"), Some(&alice.token))
        .await
        .expect(200);
    assert_eq!(field(&members, "id"), [alice.id.as_str()]);
    assert_eq!(members[0]["username"], "alice");
    assert!(members[0].get("password").is_none() && members[0].get("password_hash").is_none());
}

#[tokio::test]
async fn create_trims_the_name_and_description_is_optional() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let t = Some(alice.token.as_str());
    let a = app
        .post("/channels/", t, json!({"name": "  spaced out \t"}))
        .await
        .expect(201);
    assert_eq!(a["name"], "spaced out");
    assert_eq!(a["description"], Value::Null);
    let b = app
        .post("/channels/", t, json!({"name": "x", "description": null}))
        .await
        .expect(201);
    assert_eq!(b["description"], Value::Null);
    let c = app
        .post("/channels/", t, json!({"name": "y", "description": ""}))
        .await
        .expect(201);
    assert_eq!(c["description"], "");
    let hundred = "n".repeat(100);
    let d = app
        .post("/channels/", t, json!({"name": hundred}))
        .await
        .expect(201);
    assert_eq!(d["name"], hundred.as_str());
    let names = field(&app.get("/channels/", t).await.expect(200), "name");
    assert_eq!(names, ["spaced out", "x", "y", hundred.as_str()]);
}

#[tokio::test]
async fn create_validates_the_body() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let t = Some(alice.token.as_str());
    let post = |body: Value| app.post("/channels/", t, body);

    let r = post(json!({"description": "no name"})).await;
    assert_issue(&r, json!(["body", "name"]), "missing");
    assert_eq!(r.body["detail"][0]["msg"], "Field required");
    assert_issue(
        &post(json!({"name": "n".repeat(101)})).await,
        json!(["body", "name"]),
        "string_too_long",
    );
    assert_issue(
        &post(json!({"name": "   "})).await,
        json!(["body", "name"]),
        "string_too_short",
    );
    assert_issue(
        &post(json!({"name": 42})).await,
        json!(["body", "name"]),
        "string_type",
    );
    assert_issue(
        &post(json!({"name": "a\u{0}b"})).await,
        json!(["body", "name"]),
        "string_pattern_mismatch",
    );
    let long_desc = "d".repeat(1001);
    assert_issue(
        &post(json!({"name": "ok", "description": long_desc})).await,
        json!(["body", "description"]),
        "string_too_long",
    );
    // Every issue at once, as FastAPI reports them.
    let both = post(json!({"name": "", "description": long_desc})).await;
    assert_issue(&both, json!(["body", "name"]), "string_too_short");
    assert_issue(&both, json!(["body", "description"]), "string_too_long");
    assert_eq!(both.body["detail"].as_array().unwrap().len(), 2);
    assert_issue(
        &post(json!(["general"])).await,
        json!(["body"]),
        "model_attributes_type",
    );

    let raw = app
        .client
        .post(app.url("/channels/"))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(TestApp::read(raw).await.body["detail"][0]["type"], "json_invalid");
    // Nothing was created by any of these.
    assert_eq!(app.get("/channels/", t).await.expect(200), json!([]));
}

// ---- read ------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_channel_is_404() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let r = app.get(&format!("/channels/{MISSING}"), Some(&alice.token)).await;
    assert_eq!((r.status, r.detail()), (404, "Channel not found"));
}

#[tokio::test]
async fn lists_paginate_with_skip_and_limit() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let t = Some(alice.token.as_str());
    for name in ["c1", "c2", "c3", "c4", "c5"] {
        app.create_channel(&alice, name).await;
    }
    let app_ref = &app;
    let page = |q: &'static str| async move { app_ref.get(&format!("/channels/{q}"), t).await };
    assert_eq!(
        field(&page("").await.expect(200), "name"),
        ["c1", "c2", "c3", "c4", "c5"]
    );
    assert_eq!(
        field(&page("?skip=1&limit=2").await.expect(200), "name"),
        ["c2", "c3"]
    );
    assert_eq!(field(&page("?skip=4").await.expect(200), "name"), ["c5"]);
    assert_eq!(page("?skip=9").await.expect(200), json!([]));
    assert_eq!(page("?limit=0").await.expect(200), json!([]));
    assert_eq!(field(&page("?limit=100000").await.expect(200), "name").len(), 5);
    for (q, loc) in [
        ("?skip=-1", "skip"),
        ("?limit=-5", "limit"),
        ("?skip=abc", "skip"),
    ] {
        let r = page(q).await;
        assert_eq!(r.status, 422, "{q}: {}", r.body);
        assert_eq!(r.body["detail"][0]["loc"], json!(["query", loc]), "{q}");
    }
    for path in ["/channels/my-memberships?skip=-1", "/channels/owners?limit=-1"] {
        assert_eq!(app.get(path, t).await.status, 422, "{path}");
    }
    let mine = app
        .get("/channels/my-memberships?skip=1&limit=3", t)
        .await
        .expect(200);
    assert_eq!(field(&mine, "name"), ["c2", "c3", "c4"]);
    let owners = app.get("/channels/owners?skip=3&limit=5", t).await.expect(200);
    assert_eq!(field(&owners, "channel_name"), ["c4", "c5"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn limit_is_capped_at_200() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for chunk in (0..205).collect::<Vec<_>>().chunks(41) {
        let creates = chunk.iter().map(|i| {
            app.post(
                "/channels/",
                Some(&alice.token),
                json!({"name": format!("ch{i:03}")}),
            )
        });
        for r in futures::future::join_all(creates).await {
            r.expect(201);
        }
    }
    let t = Some(alice.token.as_str());
    assert_eq!(
        app.get("/channels/?limit=1000", t)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        200
    );
    assert_eq!(
        app.get("/channels/", t)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        100
    );
    let mine = app.get("/channels/my-memberships?limit=500", t).await.expect(200);
    assert_eq!(mine.as_array().unwrap().len(), 200);
    assert_eq!(mine[0]["name"], "ch000");
    assert_eq!(mine[199]["name"], "ch199");
    let rest = app
        .get("/channels/my-memberships?skip=200&limit=500", t)
        .await
        .expect(200);
    assert_eq!(
        field(&rest, "name"),
        ["ch200", "ch201", "ch202", "ch203", "ch204"]
    );
}

#[tokio::test]
async fn owners_lists_channel_and_owner_names_by_channel_name() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let z = app.create_channel(&alice, "zeta").await;
    let a = app.create_channel(&bob, "alpha").await;
    let owners = app.get("/channels/owners", Some(&bob.token)).await.expect(200);
    assert_eq!(
        owners,
        json!([
            {"channel_id": a["id"], "channel_name": "alpha", "owner_id": bob.id, "owner_name": "bob"},
            {"channel_id": z["id"], "channel_name": "zeta", "owner_id": alice.id, "owner_name": "alice"},
        ])
    );
}
