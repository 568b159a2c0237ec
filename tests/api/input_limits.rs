//! Hostile input at the HTTP edge: oversized bodies, headers and URLs, malformed or non-UTF-8
//! JSON, NUL characters, absurd lengths and path traversal in upload filenames. Each is refused
//! with the contract's status and a JSON body where the app answers (hyper answers the header and
//! URL limits itself, before any route), and never with a 5xx.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::json;

use crate::files_support::{files_room, stored_objects, upload};
use crate::messages::room;
use crate::support::{TestApp, TestUser};

/// Sends `body` as raw bytes labelled JSON.
async fn raw_json(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> crate::support::Resp {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header(CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    TestApp::read(req.send().await.unwrap()).await
}

/// The status code of the answer to a request written by hand on a fresh connection.
async fn raw_status(app: &TestApp, request: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // The server may answer and close before reading it all.
    let _ = stream.write_all(request).await;
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while head.len() < 12 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head);
    line.get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {line:?}"))
}

fn assert_issue(resp: &crate::support::Resp, status: u16, field: &str) {
    assert_eq!(resp.status, status, "{}", resp.body);
    let issues = resp.body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("no issues: {}", resp.body));
    assert!(
        issues
            .iter()
            .any(|i| i["loc"].as_array().unwrap().iter().any(|l| l == field)),
        "no issue about {field}: {}",
        resp.body
    );
}

#[tokio::test]
async fn json_bodies_over_the_cap_are_413_on_every_json_route() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let message = app.post_message(&r.owner, &r.channel, "hi").await;
    let message_id = message["id"].as_str().unwrap();
    let big = "x".repeat(300 * 1024);
    let routes: Vec<(Method, String, Option<&TestUser>, serde_json::Value)> = vec![
        (
            Method::POST,
            "/users/".into(),
            None,
            json!({"username": "big", "email": "b@example.com", "password": big}),
        ),
        (
            Method::PATCH,
            format!("/users/{}", r.owner.id),
            Some(&r.owner),
            json!({"bio": big}),
        ),
        (
            Method::POST,
            "/channels/".into(),
            Some(&r.owner),
            json!({"name": big}),
        ),
        (
            Method::PATCH,
            format!("/channels/{}", r.channel),
            Some(&r.owner),
            json!({"description": big}),
        ),
        (
            Method::POST,
            format!("/messages/channels/{}/messages", r.channel),
            Some(&r.owner),
            json!({"content": big}),
        ),
        (
            Method::PATCH,
            format!("/messages/{message_id}"),
            Some(&r.owner),
            json!({"content": big}),
        ),
    ];
    for (method, path, user, body) in routes {
        let resp = app
            .request(method.clone(), &path, user.map(|u| u.token.as_str()), Some(body))
            .await;
        assert_eq!(resp.status, 413, "{method} {path}: {}", resp.body);
        assert_eq!(resp.detail(), "Request body too large");
    }
    // Past the global 1 MiB limit too (the body is not even buffered whole).
    let resp = raw_json(
        &app,
        Method::POST,
        &format!("/messages/channels/{}/messages", r.channel),
        Some(&r.owner.token),
        vec![b' '; 2 * 1024 * 1024],
    )
    .await;
    assert_eq!(resp.status, 413, "{}", resp.body);
    // The login form has the same global limit.
    let resp = app.login(&"u".repeat(2 * 1024 * 1024), "pw").await;
    assert_eq!(resp.status, 413, "{}", resp.body);
}

#[tokio::test]
async fn malformed_and_non_utf8_json_is_a_located_422() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let path = format!("/messages/channels/{}/messages", r.channel);
    let bodies: [&[u8]; 6] = [
        b"{\"content\": \"caf\xe9\"}",
        b"{\"content\": \"\xff\xfe\"}",
        b"{\"content\": \"\\ud800\"}",
        b"{\"content\": ",
        b"[\"content\"]",
        b"\x00",
    ];
    for body in bodies {
        let resp = raw_json(&app, Method::POST, &path, Some(&r.owner.token), body.to_vec()).await;
        assert_eq!(
            resp.status,
            422,
            "{:?}: {}",
            String::from_utf8_lossy(body),
            resp.body
        );
        assert!(resp.body["detail"][0]["loc"][0] == "body", "{}", resp.body);
    }
    let resp = raw_json(
        &app,
        Method::POST,
        "/users/",
        None,
        b"{\"username\": \"\xc3\x28\"}".to_vec(),
    )
    .await;
    assert_eq!(resp.status, 422, "{}", resp.body);
    assert_eq!(
        app.get(&format!("/messages/channel/{}", r.channel), Some(&r.owner.token))
            .await
            .expect(200),
        json!([])
    );
}

#[tokio::test]
async fn nul_characters_are_refused_and_never_reach_the_database() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let token = Some(r.owner.token.as_str());
    let owner = format!("/users/{}", r.owner.id);
    let messages = format!("/messages/channels/{}/messages", r.channel);
    let cases = [
        (
            Method::POST,
            "/users/",
            None,
            json!({"username": "nul\u{0}name", "email": "n@example.com", "password": "pw"}),
            "username",
        ),
        (
            Method::POST,
            "/users/",
            None,
            json!({"username": "nulmail", "email": "n\u{0}@example.com", "password": "pw"}),
            "email",
        ),
        (
            Method::POST,
            "/channels/",
            token,
            json!({"name": "a\u{0}b"}),
            "name",
        ),
        (
            Method::POST,
            messages.as_str(),
            token,
            json!({"content": "hi\u{0}"}),
            "content",
        ),
        (
            Method::PATCH,
            owner.as_str(),
            token,
            json!({"bio": "\u{0}"}),
            "bio",
        ),
    ];
    for (method, path, token, body, field) in cases {
        let resp = app.request(method, path, token, Some(body)).await;
        assert_issue(&resp, 422, field);
    }
    // PostgreSQL text cannot hold NUL: a login with one is an unknown user, not a database error.
    let resp = app.login("own\u{0}er", &r.owner.password).await;
    assert_eq!(resp.status, 401, "{}", resp.body);
    assert_eq!(resp.detail(), "Incorrect username or password");
    let resp = app.login(&r.owner.username, "pw\u{0}").await;
    assert_eq!(resp.status, 401, "{}", resp.body);
    // In query strings, too.
    let resp = app
        .get(
            &format!("/v1/channels/{}/history?as_of=%00", r.channel),
            Some(&r.owner.token),
        )
        .await;
    assert_issue(&resp, 422, "as_of");
}

#[tokio::test]
async fn absurd_lengths_and_numbers_are_refused() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let resp = app
        .post(
            "/users/",
            None,
            json!({"username": "u".repeat(10_000), "email": "l@example.com", "password": "p".repeat(129)}),
        )
        .await;
    assert_issue(&resp, 422, "username");
    assert_issue(&resp, 422, "password");
    let resp = app
        .post(
            &format!("/messages/channels/{}/messages", r.channel),
            Some(&r.owner.token),
            json!({"content": "é".repeat(4001)}),
        )
        .await;
    assert_issue(&resp, 422, "content");
    // Logins with absurd fields are refused before any hashing or lookup.
    assert_eq!(app.login(&"u".repeat(100_000), "pw").await.status, 401);
    assert_eq!(
        app.login(&r.owner.username, &"p".repeat(100_000)).await.status,
        401
    );
    // Out-of-range integers are 422; huge limits are capped, not refused.
    let resp = app
        .get("/users/?skip=99999999999999999999", Some(&r.owner.token))
        .await;
    assert_issue(&resp, 422, "skip");
    let resp = app
        .get(&format!("/users/?limit={}", i64::MAX), Some(&r.owner.token))
        .await;
    assert_eq!(resp.expect(200).as_array().unwrap().len(), 3);
    let resp = app
        .get(&format!("/v1/events?after={}", i64::MAX), Some(&r.owner.token))
        .await;
    assert_issue(&resp, 422, "after");
    let resp = app
        .get(
            &format!("/v1/channels/{}/history?as_of={}", r.channel, "9".repeat(40)),
            Some(&r.owner.token),
        )
        .await;
    assert_issue(&resp, 422, "as_of");
}

#[tokio::test]
async fn oversized_headers_and_urls_are_refused_before_any_route() {
    let app = TestApp::spawn().await;
    let user = app.register("header").await;
    // One header far beyond hyper's buffer: 431, with no body.
    let resp = app
        .client
        .get(app.url("/users/me"))
        .bearer_auth(&user.token)
        .header("x-padding", "a".repeat(512 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 431);
    // A giant token in the usual header: the token is simply invalid.
    let resp = app.get("/users/me", Some(&"t".repeat(32 * 1024))).await;
    assert_eq!(resp.status, 401, "{}", resp.body);
    // A URL longer than hyper accepts (64 KiB; reqwest will not even send one): 414.
    let request = format!("GET /users/{} HTTP/1.1\r\nhost: zync\r\n\r\n", "a".repeat(70_000));
    assert_eq!(raw_status(&app, request.as_bytes()).await, 414);
    // A long but acceptable one reaches the route and is a plain 422 (not a UUID).
    let resp = app
        .get(&format!("/users/{}", "a".repeat(8_000)), Some(&user.token))
        .await;
    assert_issue(&resp, 422, "user_id");
    // The server still answers.
    app.get("/users/me", Some(&user.token)).await.expect(200);
}

#[tokio::test]
async fn upload_filenames_cannot_climb_out_of_the_store() {
    let (app, files, r) = files_room().await;
    let png = crate::files_support::png(1, 1);
    for (sent, kept) in [
        ("../../../../etc/passwd.png", "passwd.png"),
        ("..\\..\\windows\\win.ini.png", "win.ini.png"),
        ("/absolute/path/x.png", "x.png"),
        ("..%2F..%2Fencoded.png", "..%2F..%2Fencoded.png"),
    ] {
        let m = upload(&app, &r.member, &r.channel, sent, "image/png", &png)
            .await
            .expect(201);
        assert_eq!(m["original_filename"], kept, "{sent}");
        let key = m["s3_key"].as_str().unwrap();
        assert!(
            key.starts_with("media/") && !key.contains("..") && !key.contains('\\'),
            "{key}"
        );
    }
    // Nothing was written outside the store's media directory.
    let stored = stored_objects(&files);
    assert_eq!(stored.len(), 4);
    assert!(stored.iter().all(|p| p.starts_with(files.join("media"))));
    // A name that is only a path, or a part header holding a NUL, is refused.
    let resp = upload(&app, &r.member, &r.channel, "../", "image/png", &png).await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    let resp = upload(&app, &r.member, &r.channel, "a\u{0}.png", "image/png", &png).await;
    assert_eq!(resp.status, 400, "{}", resp.body);
}
