//! `GET /`, `POST /users/` (registration and its validation) and the user reads.

use serde_json::{json, Value};

use crate::support::TestApp;
use crate::users_support::{assert_user_read, issues, locs, post_raw, register_raw, token_for};

const TAKEN: &str = "Username or email already registered.";

#[tokio::test]
async fn root_welcomes() {
    let app = TestApp::spawn().await;
    let body = app.get("/", None).await.expect(200);
    assert_eq!(body, json!({"message": "Welcome to Zync"}));
}

#[tokio::test]
async fn register_login_and_me() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let me = app.get("/users/me", Some(&alice.token)).await.expect(200);
    assert_user_read(&me);
    assert_eq!(me["id"], alice.id.as_str());
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["status"], "active");
}

#[tokio::test]
async fn register_returns_a_full_user_read() {
    let app = TestApp::spawn().await;
    let password = "s3cret-Passw0rd";
    let body = json!({
        "username": "grace", "email": "grace@example.com", "password": password,
        "first_name": "Grace", "last_name": "Hopper", "bio": "COBOL", "profile_picture": "https://img.test/g.png",
        // Not the client's to choose: ignored, as pydantic ignores extra fields.
        "id": "00000000-0000-0000-0000-000000000001", "status": "suspended", "created_at": "2000-01-01T00:00:00Z",
    });
    let resp = register_raw(&app, body).await;
    let ct = resp.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("application/json"), "{ct}");
    let user = resp.expect(201);
    assert_ne!(user["id"], "00000000-0000-0000-0000-000000000001");
    let created = chrono::DateTime::parse_from_rfc3339(user["created_at"].as_str().unwrap()).unwrap();
    assert!(
        chrono::Utc::now() - created.to_utc() < chrono::Duration::minutes(1),
        "{user}"
    );
    assert_user_read(&user);
    assert!(!user.to_string().contains(password));
    assert_eq!(user["username"], "grace");
    assert_eq!(user["email"], "grace@example.com");
    assert_eq!(user["first_name"], "Grace");
    assert_eq!(user["last_name"], "Hopper");
    assert_eq!(user["bio"], "COBOL");
    assert_eq!(user["profile_picture"], "https://img.test/g.png");
    assert_eq!(user["status"], "active");
    // What registration answered is what the reads show.
    let token = token_for(&app, "grace", password).await;
    let id = user["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/users/{id}"), Some(&token)).await.expect(200),
        user
    );
    assert_eq!(app.get("/users/me", Some(&token)).await.expect(200), user);
}

#[tokio::test]
async fn register_profile_fields_are_optional() {
    let app = TestApp::spawn().await;
    let user = register_raw(
        &app,
        json!({"username": "bare", "email": "bare@example.com", "password": "pw-bare-1"}),
    )
    .await
    .expect(201);
    assert_user_read(&user);
    for field in ["first_name", "last_name", "bio", "profile_picture"] {
        assert_eq!(user[field], Value::Null, "{field}");
    }
    // Explicit nulls are the same as absent fields.
    let user = register_raw(
        &app,
        json!({"username": "nulls", "email": "nulls@example.com", "password": "pw-nulls-1", "bio": null, "first_name": null}),
    )
    .await
    .expect(201);
    assert_eq!(user["bio"], Value::Null);
    assert_eq!(user["first_name"], Value::Null);
}

#[tokio::test]
async fn register_with_and_without_trailing_slash() {
    let app = TestApp::spawn().await;
    let a = app
        .post(
            "/users/",
            None,
            json!({"username": "slash", "email": "slash@example.com", "password": "pw-slash-1"}),
        )
        .await
        .expect(201);
    let b = app
        .post(
            "/users",
            None,
            json!({"username": "noslash", "email": "noslash@example.com", "password": "pw-noslash-1"}),
        )
        .await
        .expect(201);
    assert_user_read(&a);
    assert_user_read(&b);
    assert_eq!(b["username"], "noslash");
}

#[tokio::test]
async fn duplicate_username_in_any_case_is_400() {
    let app = TestApp::spawn().await;
    app.register("Alice").await;
    for (i, name) in ["Alice", "alice", "ALICE", "  alice  "].into_iter().enumerate() {
        let resp = register_raw(
            &app,
            json!({"username": name, "email": format!("other{i}@example.com"), "password": "pw-other-1"}),
        )
        .await;
        assert_eq!(resp.status, 400, "{name}: {}", resp.body);
        assert_eq!(resp.body, json!({"detail": TAKEN}), "{name}");
    }
    // The failed attempts left no user behind.
    let alice = app.login("Alice", "pw-Alice-secret").await.expect(200);
    let list = app
        .get("/users/", alice["access_token"].as_str())
        .await
        .expect(200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn non_ascii_usernames_are_case_insensitive_too() {
    let app = TestApp::spawn().await;
    let emile = app.register("Émile").await;
    let resp = register_raw(
        &app,
        json!({"username": "émile", "email": "e2@example.com", "password": "pw-e2-123"}),
    )
    .await;
    assert_eq!((resp.status, resp.body), (400, json!({"detail": TAKEN})));
    let resp = register_raw(
        &app,
        json!({"username": "emile2", "email": "ÉMILE@example.com", "password": "pw-e3-123"}),
    )
    .await;
    assert_eq!((resp.status, resp.body), (400, json!({"detail": TAKEN})));
    for name in ["émile", "ÉMILE"] {
        let token = token_for(&app, name, &emile.password).await;
        assert_eq!(
            app.get("/users/me", Some(&token)).await.expect(200)["id"],
            emile.id.as_str()
        );
    }
}

#[tokio::test]
async fn duplicate_email_in_any_case_is_400() {
    let app = TestApp::spawn().await;
    app.register("bob").await;
    for email in ["bob@example.com", "BOB@Example.COM"] {
        let resp = register_raw(
            &app,
            json!({"username": "bobby", "email": email, "password": "pw-bobby-1"}),
        )
        .await;
        assert_eq!(resp.status, 400, "{email}: {}", resp.body);
        assert_eq!(resp.body, json!({"detail": TAKEN}));
    }
    // The username of a refused registration is still free.
    register_raw(
        &app,
        json!({"username": "bobby", "email": "bobby@example.com", "password": "pw-bobby-1"}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn bad_email_is_422_located_at_email() {
    let app = TestApp::spawn().await;
    for email in [
        "not-an-email",
        "a@",
        "@example.com",
        "",
        "two@@example.com",
        "spa ce@example.com",
    ] {
        let resp = register_raw(
            &app,
            json!({"username": "mail", "email": email, "password": "pw-mail-1"}),
        )
        .await;
        assert_eq!(
            locs(&resp),
            vec![json!(["body", "email"])],
            "{email}: {}",
            resp.body
        );
    }
    let resp = register_raw(
        &app,
        json!({"username": "mail", "email": 42, "password": "pw-mail-1"}),
    )
    .await;
    assert_eq!(
        issues(&resp),
        vec![(json!(["body", "email"]), "string_type".to_string())]
    );
}

#[tokio::test]
async fn a_missing_field_is_422_located_at_that_field() {
    let app = TestApp::spawn().await;
    let full = json!({"username": "miss", "email": "miss@example.com", "password": "pw-miss-1"});
    for field in ["username", "email", "password"] {
        let mut body = full.clone();
        body.as_object_mut().unwrap().remove(field);
        let resp = register_raw(&app, body).await;
        assert_eq!(
            issues(&resp),
            vec![(json!(["body", field]), "missing".to_string())],
            "{field}"
        );
    }
}

#[tokio::test]
async fn every_missing_field_is_listed() {
    let app = TestApp::spawn().await;
    let resp = register_raw(&app, json!({})).await;
    let mut found = locs(&resp);
    found.sort_by_key(|l| l.to_string());
    assert_eq!(
        found,
        vec![
            json!(["body", "email"]),
            json!(["body", "password"]),
            json!(["body", "username"])
        ]
    );
    let resp = register_raw(&app, json!({"username": "half"})).await;
    assert_eq!(locs(&resp).len(), 2, "{}", resp.body);
}

#[tokio::test]
async fn over_long_or_short_fields_are_422() {
    let app = TestApp::spawn().await;
    let base = |username: String, bio: String| json!({"username": username, "email": "len@example.com", "password": "pw-len-1", "bio": bio});
    let resp = register_raw(&app, base("u".repeat(51), "ok".into())).await;
    assert_eq!(
        issues(&resp),
        vec![(json!(["body", "username"]), "string_too_long".to_string())]
    );
    let resp = register_raw(&app, base("".into(), "ok".into())).await;
    assert_eq!(
        issues(&resp),
        vec![(json!(["body", "username"]), "string_too_short".to_string())]
    );
    let resp = register_raw(&app, base("lenny".into(), "b".repeat(1001))).await;
    assert_eq!(
        issues(&resp),
        vec![(json!(["body", "bio"]), "string_too_long".to_string())]
    );
    // Every refused field is reported at once.
    let resp = register_raw(&app, base("u".repeat(51), "b".repeat(1001))).await;
    assert_eq!(
        locs(&resp),
        vec![json!(["body", "username"]), json!(["body", "bio"])]
    );
    let resp = register_raw(
        &app,
        json!({"username": "lenny", "email": "len@example.com", "password": "p".repeat(129)}),
    )
    .await;
    assert_eq!(locs(&resp), vec![json!(["body", "password"])]);
    // The limits themselves are fine.
    let user = register_raw(&app, base("u".repeat(50), "b".repeat(1000)))
        .await
        .expect(201);
    assert_eq!(user["bio"].as_str().unwrap().len(), 1000);
}

#[tokio::test]
async fn over_long_names_are_located_at_their_field() {
    let app = TestApp::spawn().await;
    let long = "n".repeat(101);
    let resp = register_raw(
        &app,
        json!({"username": "names", "email": "names@example.com", "password": "pw-names-1", "first_name": long, "last_name": long}),
    )
    .await;
    assert_eq!(
        locs(&resp),
        vec![json!(["body", "first_name"]), json!(["body", "last_name"])]
    );
}

#[tokio::test]
async fn invalid_json_is_422() {
    let app = TestApp::spawn().await;
    let resp = post_raw(&app, "/users/", "application/json", r#"{"username": "x", "#).await;
    let found = issues(&resp);
    assert_eq!(found.len(), 1, "{}", resp.body);
    assert_eq!(found[0].0[0], "body");
    assert_eq!(found[0].1, "json_invalid");
    for (raw, kind) in [
        ("[1, 2]", "model_attributes_type"),
        ("\"text\"", "model_attributes_type"),
        ("", "missing"),
    ] {
        let resp = post_raw(&app, "/users/", "application/json", raw).await;
        assert_eq!(
            issues(&resp),
            vec![(json!(["body"]), kind.to_string())],
            "{raw:?}"
        );
    }
}
