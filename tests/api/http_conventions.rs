//! Cross-cutting HTTP behaviour: error shapes, unknown routes, request ids, CORS and the docs.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{Resp, TestApp};
use crate::users_support::send_with_request_id;

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

#[track_caller]
fn assert_json_error(resp: &Resp, status: u16) {
    assert_eq!(resp.status, status, "{}", resp.body);
    let ct = resp.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    assert!(
        resp.body["detail"].is_string() || resp.body["detail"].is_array(),
        "{}",
        resp.body
    );
}

#[tokio::test]
async fn unknown_paths_are_a_json_404() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::POST, "/nope/deeper"),
        (Method::GET, "/users/me/extra"),
        (Method::DELETE, "/token/x"),
        (Method::GET, "/user"),
    ] {
        let resp = app.request(method.clone(), path, None, None).await;
        assert_json_error(&resp, 404);
        assert_eq!(resp.body, json!({"detail": "Not Found"}), "{method} {path}");
    }
}

#[tokio::test]
async fn wrong_methods_are_a_json_405() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for (method, path) in [
        (Method::PUT, "/users/me".to_string()),
        (Method::DELETE, "/".to_string()),
        (Method::GET, "/token".to_string()),
        (Method::PUT, "/users/".to_string()),
        (Method::POST, format!("/users/{}", alice.id)),
        (Method::PUT, format!("/users/{}", alice.id)),
    ] {
        let resp = app.request(method.clone(), &path, Some(&alice.token), None).await;
        assert_json_error(&resp, 405);
        assert_eq!(
            resp.body,
            json!({"detail": "Method Not Allowed"}),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn every_error_is_json_with_a_detail() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let other = uuid::Uuid::now_v7();
    let cases = [
        (app.get("/users/me", None).await, 401),
        (app.login("alice", "wrong").await, 401),
        (
            app.post(
                "/users/",
                None,
                json!({"username": "alice", "email": "a2@example.com", "password": "pw-12345"}),
            )
            .await,
            400,
        ),
        (app.post("/users/", None, json!({"username": "x"})).await, 422),
        (app.get(&format!("/users/{other}"), Some(&alice.token)).await, 404),
        (app.get("/users/?skip=-1", Some(&alice.token)).await, 422),
        (app.get("/users/not-a-uuid", Some(&alice.token)).await, 422),
        (
            app.request(Method::PUT, "/users/me", Some(&alice.token), None)
                .await,
            405,
        ),
        (app.get("/missing", None).await, 404),
    ];
    for (resp, status) in cases {
        assert_json_error(&resp, status);
    }
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let sent = format!("test-{}", uuid::Uuid::now_v7());
    let resp = send_with_request_id(&app, Method::POST, "/users/", None, json!({}), &sent).await;
    assert_eq!(resp.status, 422);
    assert_eq!(resp.headers["x-request-id"].to_str().unwrap(), sent);
    for path in ["/", "/nope"] {
        let resp = app
            .client
            .get(app.url(path))
            .header("x-request-id", &sent)
            .send()
            .await
            .unwrap();
        assert_eq!(header(&resp, "x-request-id"), Some(sent.as_str()), "{path}");
    }
    // Without one, the server makes one up (a UUID), different per request.
    let a = app.get("/", None).await;
    let b = app.get("/", None).await;
    let ids: Vec<&str> = [&a, &b]
        .iter()
        .map(|r| r.headers["x-request-id"].to_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/users/"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_allows_the_configured_front_end_only() {
    let app = TestApp::spawn_with(|mut c| {
        c.frontend_origins = vec!["http://app.test".into()];
        c
    })
    .await;
    let resp = preflight(&app, "http://app.test").await;
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(
        header(&resp, "access-control-allow-origin"),
        Some("http://app.test")
    );
    assert_eq!(header(&resp, "access-control-allow-credentials"), Some("true"));
    let methods = header(&resp, "access-control-allow-methods")
        .unwrap()
        .to_uppercase();
    for m in ["GET", "POST", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = header(&resp, "access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );

    let resp = app
        .client
        .get(app.url("/"))
        .header("origin", "http://app.test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "access-control-allow-origin"),
        Some("http://app.test")
    );
    assert!(header(&resp, "vary")
        .unwrap_or_default()
        .to_lowercase()
        .contains("origin"));
    // Errors carry the header too, or the browser hides them from the front end.
    let resp = app
        .client
        .get(app.url("/users/me"))
        .header("origin", "http://app.test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        header(&resp, "access-control-allow-origin"),
        Some("http://app.test")
    );

    // Exactly the configured origins: the development defaults are not added to them.
    for origin in [
        "http://evil.test",
        "http://app.test.evil.test",
        "https://app.test",
        "http://localhost:5173",
        "http://127.0.0.1:5173",
    ] {
        assert_origin_refused(&app, origin).await;
    }
}

#[tokio::test]
async fn without_a_front_end_origin_the_zync_dev_origins_are_allowed() {
    let app = TestApp::spawn().await;
    // The Zync web client's development server, as Zync allowed it with no setting.
    for origin in ["http://localhost:5173", "http://127.0.0.1:5173"] {
        let resp = preflight(&app, origin).await;
        assert!(resp.status().is_success(), "{origin}: {}", resp.status());
        assert_eq!(header(&resp, "access-control-allow-origin"), Some(origin));
        assert_eq!(header(&resp, "access-control-allow-credentials"), Some("true"));
    }
    for origin in [
        "http://app.test",
        "http://localhost:5174",
        "https://localhost:5173",
        "http://localhost",
    ] {
        assert_origin_refused(&app, origin).await;
    }
}

#[tokio::test]
async fn openapi_lists_the_implemented_contract() {
    let app = TestApp::spawn().await;
    let resp = app.get("/openapi.json", None).await;
    let spec = resp.expect(200);
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        spec["openapi"]
    );
    let paths = &spec["paths"];
    for (path, methods) in [
        ("/", &["get"][..]),
        ("/token", &["post"]),
        ("/users/", &["post", "get"]),
        ("/users/me", &["get"]),
        ("/users/{user_id}", &["get", "patch", "delete"]),
    ] {
        for m in methods {
            assert!(
                paths[path][m].is_object(),
                "{} {path} missing from the spec",
                m.to_uppercase()
            );
        }
    }
    // Tokens come from the OAuth2 password flow at /token, as in FastAPI.
    let schemes = &spec["components"]["securitySchemes"];
    let flow = schemes
        .as_object()
        .unwrap()
        .values()
        .find_map(|s| s["flows"]["password"]["tokenUrl"].as_str());
    assert_eq!(flow, Some("/token"), "{schemes}");
    // Every implemented user path asks for the bearer token except registration.
    assert_eq!(paths["/users/"]["post"]["security"], Value::Null);
    assert!(paths["/users/me"]["get"]["security"].is_array());
}

#[tokio::test]
async fn docs_pages_are_html() {
    let app = TestApp::spawn().await;
    for path in ["/docs/", "/docs", "/redoc"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let ct = header(&resp, "content-type").unwrap_or_default().to_string();
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        let html = resp.text().await.unwrap().to_lowercase();
        assert!(
            html.contains("<html") || html.contains("<!doctype html"),
            "{path}"
        );
    }
}

/// Neither a preflight nor a simple request from `origin` is given CORS headers.
async fn assert_origin_refused(app: &TestApp, origin: &str) {
    let resp = preflight(app, origin).await;
    assert_eq!(header(&resp, "access-control-allow-origin"), None, "{origin}");
    let resp = app
        .client
        .get(app.url("/"))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "access-control-allow-origin"), None, "{origin}");
}
