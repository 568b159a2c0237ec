//! Usernames as Zync accepted them: inner spaces and any printable Unicode, unique
//! case-insensitively, the same at registration, login and profile update. Only blank names,
//! control characters and names over 50 characters are refused (a located 422, as FastAPI would).

use serde_json::json;

use crate::support::TestApp;
use crate::users_support::{issues, register_raw};

const TAKEN: &str = "Username or email already registered.";

fn registration(username: &str, email: &str) -> serde_json::Value {
    json!({"username": username, "email": email, "password": "pw-spaces-1"})
}

#[tokio::test]
async fn a_name_with_spaces_registers_logs_in_and_is_unique_case_insensitively() {
    let app = TestApp::spawn().await;
    let user = register_raw(&app, registration("Mary Ann Smith", "mary@example.com"))
        .await
        .expect(201);
    assert_eq!(user["username"], "Mary Ann Smith");

    let token = app.login("Mary Ann Smith", "pw-spaces-1").await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let me = app.get("/users/me", Some(&token)).await.expect(200);
    assert_eq!(me["id"], user["id"]);
    // Logins fold case as uniqueness does.
    app.login("mary ann SMITH", "pw-spaces-1").await.expect(200);
    // Inner spaces are part of the name: without them it is another (unknown) name.
    let resp = app.login("MaryAnn Smith", "pw-spaces-1").await;
    assert_eq!(
        (resp.status, resp.detail()),
        (401, "Incorrect username or password")
    );

    let resp = register_raw(&app, registration("MARY ANN smith", "other@example.com")).await;
    assert_eq!((resp.status, resp.detail()), (400, TAKEN));
    // Leading and trailing white space is trimmed at registration as at login.
    let resp = register_raw(&app, registration("  mary ann smith\t", "third@example.com")).await;
    assert_eq!((resp.status, resp.detail()), (400, TAKEN));
}

#[tokio::test]
async fn typed_surroundings_are_trimmed_the_same_way_everywhere() {
    let app = TestApp::spawn().await;
    let user = register_raw(&app, registration("  Zoë 日本 😀  ", "zoe@example.com"))
        .await
        .expect(201);
    assert_eq!(user["username"], "Zoë 日本 😀");
    // What the user typed at registration logs in, with or without the surrounding spaces.
    for typed in ["  Zoë 日本 😀  ", "Zoë 日本 😀", "ZOË 日本 😀"] {
        app.login(typed, "pw-spaces-1").await.expect(200);
    }
}

#[tokio::test]
async fn profile_updates_accept_the_same_names_and_keep_them_unique() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    app.register("bob").await;
    let path = format!("/users/{}", alice.id);
    let updated = app
        .patch(&path, Some(&alice.token), json!({"username": " Alice Liddell "}))
        .await
        .expect(200);
    assert_eq!(updated["username"], "Alice Liddell");
    app.login("alice liddell", &alice.password).await.expect(200);
    let resp = app.login("alice", &alice.password).await;
    assert_eq!(resp.status, 401, "the old name is free again: {}", resp.body);

    let resp = app
        .patch(&path, Some(&alice.token), json!({"username": "BOB"}))
        .await;
    assert_eq!((resp.status, resp.detail()), (400, TAKEN));
    let resp = app
        .patch(&path, Some(&alice.token), json!({"username": "  "}))
        .await;
    assert_eq!(
        issues(&resp),
        vec![(json!(["body", "username"]), "string_too_short".to_string())]
    );
}

#[tokio::test]
async fn blank_control_and_over_long_names_are_a_located_422() {
    let app = TestApp::spawn().await;
    for (name, kind) in [
        ("", "string_too_short"),
        ("   ", "string_too_short"),
        ("\u{3000}\t", "string_too_short"),
        ("new\nline", "string_pattern_mismatch"),
        ("tab\there", "string_pattern_mismatch"),
        ("bell\u{7}", "string_pattern_mismatch"),
        ("esc\u{1b}[31m", "string_pattern_mismatch"),
        ("c1\u{85}x", "string_pattern_mismatch"),
        ("para\u{2029}graph", "string_pattern_mismatch"),
        ("nul\0x", "string_pattern_mismatch"),
    ] {
        let resp = register_raw(&app, registration(name, "bad@example.com")).await;
        assert_eq!(
            issues(&resp),
            vec![(json!(["body", "username"]), kind.to_string())],
            "{name:?}"
        );
        // Each issue carries a message the client can show.
        assert!(resp.body["detail"][0]["msg"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let resp = register_raw(&app, registration(&"é".repeat(51), "long@example.com")).await;
    assert_eq!(
        issues(&resp),
        vec![(json!(["body", "username"]), "string_too_long".to_string())]
    );
    // Fifty characters, one of them a space, is fine; so is a single character.
    let fifty = format!("{} {}", "é".repeat(24), "e".repeat(25));
    register_raw(&app, registration(&fifty, "fifty@example.com"))
        .await
        .expect(201);
    register_raw(&app, registration("x", "x@example.com"))
        .await
        .expect(201);
}
