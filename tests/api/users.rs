//! `/`, `/token` and `/users` routes.

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn root_welcomes() {
    let app = TestApp::spawn().await;
    let body = app.get("/", None).await.expect(200);
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn register_login_and_me() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let me = app.get("/users/me", Some(&alice.token)).await.expect(200);
    assert_eq!(me["id"], alice.id.as_str());
    assert_eq!(me["username"], "alice");
    assert_eq!(me["status"], "active");
    assert!(me.get("password").is_none() && me.get("password_hash").is_none());
}
