//! `POST /logout` revokes the presented token, and only it: on every node, for REST and for the
//! sockets opened with it (closed with 1008).

use crate::support::{TestApp, TestUser};
use crate::ws_support::{channel_with, expect_close, expect_quiet, native, zync};

async fn second_token(app: &TestApp, user: &TestUser) -> TestUser {
    let token = app.login(&user.username, &user.password).await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    TestUser {
        token,
        ..user.clone()
    }
}

#[tokio::test]
async fn logout_revokes_the_presented_token_only() {
    let app = TestApp::spawn().await;
    let phone = app.register("someone").await;
    let laptop = second_token(&app, &phone).await;

    let done = app
        .post("/logout", Some(&phone.token), serde_json::json!({}))
        .await
        .expect(200);
    assert_eq!(done["message"], "Logged out");
    let refused = app.get("/users/me", Some(&phone.token)).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.detail(), "Could not validate credentials");
    assert_eq!(
        app.post("/logout", Some(&phone.token), serde_json::json!({}))
            .await
            .status,
        401
    );
    assert_eq!(app.post("/logout", None, serde_json::json!({})).await.status, 401);

    app.get("/users/me", Some(&laptop.token)).await.expect(200);
    // Logging in again gives a working token.
    let again = second_token(&app, &phone).await;
    app.get("/users/me", Some(&again.token)).await.expect(200);
}

#[tokio::test]
async fn sockets_opened_with_a_logged_out_token_close_with_1008_on_every_node() {
    let node_a = TestApp::spawn().await;
    let node_b = TestApp::spawn_on(node_a.db.clone(), |c| c).await;
    let owner = node_a.register("owner").await;
    let user = node_a.register("member").await;
    let channel = channel_with(&node_a, &owner, &[&user], "general").await;
    let other_device = second_token(&node_a, &user).await;

    let mut zync_a = zync(&node_a, &user.token, &channel).await;
    let (mut native_b, _) = native(&node_b, &user).await;
    let mut zync_b = zync(&node_b, &user.token, &channel).await;
    let mut other_b = zync(&node_b, &other_device.token, &channel).await;
    let (mut owners, _) = native(&node_b, &owner).await;

    node_a
        .post("/logout", Some(&user.token), serde_json::json!({}))
        .await
        .expect(200);
    for ws in [&mut zync_a, &mut native_b, &mut zync_b] {
        expect_close(ws, 1008, "the token was logged out").await;
    }
    expect_quiet(&mut other_b, "another token of the same user stays").await;
    expect_quiet(&mut owners, "other users are unaffected").await;
    node_b.post_message(&other_device, &channel, "still here").await;
}
