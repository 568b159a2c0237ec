//! `/messages` request validation: authentication, bodies and path ids. None may produce a 500.

use serde_json::{json, Value};

use crate::messages::{post_path, room};
use crate::support::TestApp;

#[tokio::test]
async fn anonymous_and_bad_tokens_get_401_everywhere() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let m = app.post_message(&r.member, &r.channel, "hi").await;
    let (c, id, u) = (&r.channel, m["id"].as_str().unwrap(), &r.member.id);
    let routes: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::POST, post_path(c)),
        (reqwest::Method::GET, format!("/messages/{id}")),
        (reqwest::Method::PATCH, format!("/messages/{id}")),
        (reqwest::Method::DELETE, format!("/messages/{id}")),
        (reqwest::Method::GET, format!("/messages/channel/{c}")),
        (reqwest::Method::GET, format!("/messages/channel/{c}/user/{u}")),
        (reqwest::Method::GET, format!("/messages/user/{u}")),
        (reqwest::Method::DELETE, format!("/messages/channel/{c}/messages")),
    ];
    for (method, path) in routes {
        for token in [None, Some("not-a-jwt")] {
            let body = matches!(method, reqwest::Method::POST | reqwest::Method::PATCH)
                .then(|| json!({"content": "x"}));
            let resp = app.request(method.clone(), &path, token, body).await;
            assert_eq!(resp.status, 401, "{method} {path}: {}", resp.body);
            assert_eq!(resp.detail(), "Could not validate credentials");
            assert_eq!(resp.headers["www-authenticate"], "Bearer");
        }
    }
    // Nothing was changed by the refused requests.
    let got = app
        .get(&format!("/messages/{id}"), Some(&r.member.token))
        .await
        .expect(200);
    assert_eq!(got, m);
}

#[tokio::test]
async fn content_validation() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let m = app.post_message(&r.member, &r.channel, "original").await;
    let edit = format!("/messages/{}", m["id"].as_str().unwrap());
    let post = post_path(&r.channel);
    let t = Some(r.member.token.as_str());

    for path in [&post, &edit] {
        let send = |body: Value| {
            let method = if path == &post {
                reqwest::Method::POST
            } else {
                reqwest::Method::PATCH
            };
            app.request(method, path, t, Some(body))
        };
        for blank in ["", "   ", " \n\t "] {
            let resp = send(json!({ "content": blank })).await;
            assert_eq!(resp.status, 400, "{path} {blank:?}: {}", resp.body);
            assert_eq!(resp.detail(), "Message content cannot be empty");
        }
        let detail = send(json!({})).await.expect(422)["detail"].clone();
        assert_eq!(detail[0]["loc"], json!(["body", "content"]));
        assert_eq!(detail[0]["type"], "missing");
        let detail = send(json!({ "content": "x".repeat(4001) })).await.expect(422)["detail"].clone();
        assert_eq!(detail[0]["loc"], json!(["body", "content"]));
        assert_eq!(detail[0]["type"], "string_too_long");
        for bad in [
            json!({ "content": null }),
            json!({ "content": 42 }),
            json!(["content"]),
        ] {
            send(bad).await.expect(422);
        }
        send(json!({ "content": "nul\u{0}byte" })).await.expect(422);
    }
    // Non-JSON bodies are 422 too, never 500.
    let resp = app
        .client
        .post(app.url(&post))
        .bearer_auth(&r.member.token)
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(TestApp::read(resp).await.status, 422);

    // The limit counts characters, not bytes.
    let longest = "é".repeat(4000);
    let m2 = app
        .post(&post, t, json!({ "content": longest }))
        .await
        .expect(201);
    assert_eq!(m2["content"].as_str().unwrap().chars().count(), 4000);
    // No refused request changed the message.
    assert_eq!(app.get(&edit, t).await.expect(200)["content"], "original");
}

#[tokio::test]
async fn malformed_ids_in_the_path_are_422() {
    let app = TestApp::spawn().await;
    let r = room(&app).await;
    let t = Some(r.member.token.as_str());
    let (c, u) = (&r.channel, &r.member.id);
    let cases = [
        ("GET", "/messages/not-a-uuid".to_string(), "message_id"),
        ("PATCH", "/messages/not-a-uuid".to_string(), "message_id"),
        ("DELETE", "/messages/123".to_string(), "message_id"),
        ("POST", post_path("nope"), "channel_id"),
        ("GET", "/messages/channel/nope".to_string(), "channel_id"),
        ("GET", format!("/messages/channel/{c}/user/nope"), "user_id"),
        ("GET", format!("/messages/channel/nope/user/{u}"), "channel_id"),
        ("GET", "/messages/user/nope".to_string(), "user_id"),
        (
            "DELETE",
            "/messages/channel/nope/messages".to_string(),
            "channel_id",
        ),
        ("GET", "/messages/%FF%FE".to_string(), "message_id"),
    ];
    for (method, path, key) in cases {
        let resp = app
            .request(method.parse().unwrap(), &path, t, Some(json!({"content": "x"})))
            .await;
        assert_eq!(resp.status, 422, "{method} {path}: {}", resp.body);
        let issue = &resp.body["detail"][0];
        assert_eq!(
            issue["loc"],
            json!(["path", key]),
            "{method} {path}: {}",
            resp.body
        );
        assert_eq!(issue["type"], "uuid_parsing");
    }
}

#[tokio::test]
async fn openapi_documents_every_message_route() {
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json", None).await.expect(200);
    for (path, method, statuses) in [
        (
            "/messages/channels/{channel_id}/messages",
            "post",
            &["201", "400", "401", "403", "404", "422"][..],
        ),
        ("/messages/{message_id}", "get", &["200", "401", "403", "404"]),
        (
            "/messages/{message_id}",
            "patch",
            &["200", "400", "401", "403", "404", "422"],
        ),
        ("/messages/{message_id}", "delete", &["200", "401", "403", "404"]),
        (
            "/messages/channel/{channel_id}",
            "get",
            &["200", "401", "403", "404", "422"],
        ),
        (
            "/messages/channel/{channel_id}/user/{user_id}",
            "get",
            &["200", "401", "403", "404"],
        ),
        ("/messages/user/{user_id}", "get", &["200", "401", "422"]),
        (
            "/messages/channel/{channel_id}/messages",
            "delete",
            &["200", "401", "403", "404"],
        ),
    ] {
        let op = &spec["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing from the spec");
        for s in statuses {
            assert!(op["responses"][s].is_object(), "{method} {path} documents no {s}");
        }
    }
    let history = &spec["paths"]["/messages/channel/{channel_id}"]["get"]["parameters"];
    let mut names: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["after", "before", "channel_id", "limit", "skip"]);
}
