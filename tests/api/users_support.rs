//! Helpers shared by the user, auth and HTTP-convention tests.

use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};

use crate::support::{test_config, Resp, TestApp, TestUser};

/// Exactly the fields of the contract's UserRead.
pub const USER_READ_FIELDS: [&str; 10] = [
    "id",
    "username",
    "email",
    "first_name",
    "last_name",
    "bio",
    "profile_picture",
    "status",
    "created_at",
    "updated_at",
];

/// The contract's one 401 body.
pub fn unauthorized_body() -> Value {
    json!({"detail": "Could not validate credentials"})
}

/// A 401 with the exact contract body and `WWW-Authenticate: Bearer`.
#[track_caller]
pub fn assert_unauthorized(resp: &Resp) {
    assert_eq!(resp.status, 401, "body: {}", resp.body);
    assert_eq!(resp.body, unauthorized_body());
    assert_eq!(
        resp.headers.get("www-authenticate").map(|v| v.to_str().unwrap()),
        Some("Bearer")
    );
}

/// A UserRead with every contract field, nothing else, and never a password or hash.
#[track_caller]
pub fn assert_user_read(user: &Value) {
    let obj = user
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {user}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = USER_READ_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected, "UserRead fields of {user}");
    assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
    for ts in ["created_at", "updated_at"] {
        let raw = user[ts]
            .as_str()
            .unwrap_or_else(|| panic!("{ts} is not a string"));
        chrono::DateTime::parse_from_rfc3339(raw).unwrap_or_else(|e| panic!("{ts}={raw}: {e}"));
    }
    let text = user.to_string().to_lowercase();
    assert!(!text.contains("password") && !text.contains("argon2"), "{user}");
}

/// The `(loc, type)` pairs of a 422 body.
#[track_caller]
pub fn issues(resp: &Resp) -> Vec<(Value, String)> {
    assert_eq!(resp.status, 422, "body: {}", resp.body);
    resp.body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("detail is not a list: {}", resp.body))
        .iter()
        .map(|i| {
            assert!(i["msg"].is_string(), "issue without msg: {i}");
            (
                i["loc"].clone(),
                i["type"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The locations of a 422 body.
#[track_caller]
pub fn locs(resp: &Resp) -> Vec<Value> {
    issues(resp).into_iter().map(|(loc, _)| loc).collect()
}

/// POSTs raw bytes with the given content type.
pub async fn post_raw(app: &TestApp, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Resp {
    let resp = app
        .client
        .post(app.url(path))
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    TestApp::read(resp).await
}

/// POSTs an url-encoded form.
pub async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Resp {
    let resp = app.client.post(app.url(path)).form(form).send().await.unwrap();
    TestApp::read(resp).await
}

/// GETs with a raw `Authorization` header value.
pub async fn get_with_authorization(app: &TestApp, path: &str, authorization: &str) -> Resp {
    let resp = app
        .client
        .get(app.url(path))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap();
    TestApp::read(resp).await
}

/// Sends a JSON request carrying an `x-request-id`.
pub async fn send_with_request_id(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Value,
    request_id: &str,
) -> Resp {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header("x-request-id", request_id)
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    TestApp::read(req.send().await.unwrap()).await
}

/// Registers with the given JSON body (no login).
pub async fn register_raw(app: &TestApp, body: Value) -> Resp {
    app.post("/users/", None, body).await
}

/// Logs in and returns the access token.
pub async fn token_for(app: &TestApp, username: &str, password: &str) -> String {
    let body = app.login(username, password).await.expect(200);
    assert_eq!(body["token_type"], "bearer");
    body["access_token"].as_str().unwrap().to_string()
}

/// The HMAC secret the test app signs tokens with.
pub fn app_secret(app: &TestApp) -> String {
    test_config(app.db.clone())
        .secret_key
        .expect("test config has a secret")
}

/// Registers `n` users named `<prefix>0..`, in order.
pub async fn register_many(app: &TestApp, prefix: &str, n: usize) -> Vec<TestUser> {
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        users.push(app.register(&format!("{prefix}{i}")).await);
    }
    users
}
