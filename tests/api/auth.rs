//! `POST /token` and bearer-token validation.

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::support::TestApp;
use crate::users_support::{
    app_secret, assert_unauthorized, get_with_authorization, issues, locs, post_form, post_raw, token_for,
};

const WRONG_LOGIN: &str = "Incorrect username or password";

#[track_caller]
fn assert_wrong_login(resp: &crate::support::Resp) {
    assert_eq!(resp.status, 401, "{}", resp.body);
    assert_eq!(resp.body, json!({"detail": WRONG_LOGIN}));
    assert_eq!(
        resp.headers.get("www-authenticate").map(|v| v.to_str().unwrap()),
        Some("Bearer")
    );
}

/// Claims as the server issues them, for `user_id` at credential version 0, expiring in `ttl` s.
fn claims(user_id: &str, ttl: i64) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "sub": user_id, "ver": 0, "iat": now, "exp": now + ttl,
        "iss": "zync", "aud": "zync-api", "jti": uuid::Uuid::now_v7().to_string(),
    })
}

fn sign(alg: Algorithm, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn token_is_a_bearer_jwt() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let body = app.login("alice", &alice.password).await.expect(200);
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "{token}");
    assert_eq!(
        app.get("/users/me", Some(token)).await.expect(200)["id"],
        alice.id.as_str()
    );
    // `/token/` and the OAuth2 fields FastAPI's form accepts (and ignores).
    let resp = post_form(
        &app,
        "/token/",
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", &alice.password),
            ("scope", ""),
            ("client_id", "cli"),
        ],
    )
    .await;
    assert_eq!(resp.expect(200)["token_type"], "bearer");
}

#[tokio::test]
async fn login_username_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice").await;
    for name in ["Alice", "alice", "ALICE", "aLiCe"] {
        let token = token_for(&app, name, &alice.password).await;
        let me = app.get("/users/me", Some(&token)).await.expect(200);
        assert_eq!(me["id"], alice.id.as_str(), "{name}");
        assert_eq!(me["username"], "Alice");
    }
    // The password is not.
    assert_wrong_login(&app.login("alice", &alice.password.to_uppercase()).await);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_the_same_401() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    assert_wrong_login(&app.login("alice", "not-the-password").await);
    assert_wrong_login(&app.login("alice", "").await);
    assert_wrong_login(&app.login("nobody", &alice.password).await);
    assert_wrong_login(&app.login("alice@example.com", &alice.password).await);
    assert_wrong_login(&app.login(&"x".repeat(400), "whatever").await);
    assert_wrong_login(&app.login("alice", &"p".repeat(1000)).await);
}

#[tokio::test]
async fn token_form_missing_a_field_is_422() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    let resp = post_form(&app, "/token", &[("username", "alice")]).await;
    assert_eq!(
        issues(&resp),
        vec![(json!(["body", "password"]), "missing".to_string())]
    );
    let resp = post_form(&app, "/token", &[("password", "pw-alice-secret")]).await;
    assert_eq!(
        issues(&resp),
        vec![(json!(["body", "username"]), "missing".to_string())]
    );
    // A JSON body is not the form: 422, naming the missing form field(s).
    let resp = post_raw(
        &app,
        "/token",
        "application/json",
        r#"{"username":"alice","password":"pw-alice-secret"}"#,
    )
    .await;
    assert!(
        locs(&resp).contains(&json!(["body", "username"])),
        "{}",
        resp.body
    );
}

#[tokio::test]
async fn token_form_lists_every_missing_field() {
    let app = TestApp::spawn().await;
    for resp in [
        post_form(&app, "/token", &[]).await,
        post_raw(
            &app,
            "/token",
            "application/json",
            r#"{"username":"alice","password":"pw"}"#,
        )
        .await,
    ] {
        let mut found = locs(&resp);
        found.sort_by_key(|l| l.to_string());
        assert_eq!(
            found,
            vec![json!(["body", "password"]), json!(["body", "username"])],
            "{}",
            resp.body
        );
    }
}

#[tokio::test]
async fn malformed_authorization_headers_are_401() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    assert_unauthorized(&app.get("/users/me", None).await);
    for header in [
        format!("Basic {}", alice.token),
        format!("Token {}", alice.token),
        alice.token.clone(),
        "Bearer".to_string(),
        "Bearer ".to_string(),
        "Bearer garbage".to_string(),
        "Bearer a.b.c".to_string(),
        format!("Bearer {}x", alice.token),
        format!("Bearer {} {}", alice.token, alice.token),
    ] {
        let resp = get_with_authorization(&app, "/users/me", &header).await;
        assert_eq!(resp.status, 401, "{header}: {}", resp.body);
        assert_unauthorized(&resp);
    }
    // The scheme is case-insensitive, as in FastAPI.
    let resp = get_with_authorization(&app, "/users/me", &format!("bearer {}", alice.token)).await;
    assert_eq!(resp.expect(200)["id"], alice.id.as_str());
}

#[tokio::test]
async fn forged_and_expired_tokens_are_401() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let secret = app_secret(&app);
    let secret = secret.as_bytes();

    // Control: a token minted exactly like the server's is accepted, so each refusal below is
    // down to the one thing that differs.
    let good = sign(Algorithm::HS256, &claims(&alice.id, 300), secret);
    assert_eq!(
        app.get("/users/me", Some(&good)).await.expect(200)["id"],
        alice.id.as_str()
    );

    let mut forged = vec![
        (
            "other secret",
            sign(
                Algorithm::HS256,
                &claims(&alice.id, 300),
                b"another-secret-another-secret-0123456789",
            ),
        ),
        ("expired", sign(Algorithm::HS256, &claims(&alice.id, -60), secret)),
        ("HS512", sign(Algorithm::HS512, &claims(&alice.id, 300), secret)),
        (
            "unknown user",
            sign(
                Algorithm::HS256,
                &claims(&uuid::Uuid::now_v7().to_string(), 300),
                secret,
            ),
        ),
        (
            "sub not a uuid",
            sign(Algorithm::HS256, &claims("alice", 300), secret),
        ),
    ];
    for (name, key, value) in [
        ("wrong issuer", "iss", json!("someone-else")),
        ("wrong audience", "aud", json!("another-api")),
        ("stale version", "ver", json!(-1)),
        ("future version", "ver", json!(1)),
    ] {
        let mut c = claims(&alice.id, 300);
        c[key] = value;
        forged.push((name, sign(Algorithm::HS256, &c, secret)));
    }
    for missing in ["exp", "iss", "aud", "sub"] {
        let mut c = claims(&alice.id, 300);
        c.as_object_mut().unwrap().remove(missing);
        forged.push(("missing claim", sign(Algorithm::HS256, &c, secret)));
    }
    let payload = b64url(claims(&alice.id, 300).to_string().as_bytes());
    for header in [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"None","typ":"JWT"}"#] {
        forged.push(("alg none", format!("{}.{payload}.", b64url(header.as_bytes()))));
    }
    // The good token's signature on a different payload.
    let sig = good.rsplit('.').next().unwrap();
    let head = good.split('.').next().unwrap();
    let other = claims(&alice.id, 3600);
    forged.push((
        "tampered payload",
        format!("{head}.{}.{sig}", b64url(other.to_string().as_bytes())),
    ));

    for (name, token) in forged {
        let resp = app.get("/users/me", Some(&token)).await;
        assert_eq!(resp.status, 401, "{name} token was accepted: {}", resp.body);
        assert_unauthorized(&resp);
    }
}

#[tokio::test]
async fn every_protected_route_refuses_a_bad_token() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let id = &alice.id;
    let bad = Some("garbage");
    for resp in [
        app.get("/users/me", bad).await,
        app.get("/users/", bad).await,
        app.get(&format!("/users/{id}"), bad).await,
        app.patch(&format!("/users/{id}"), bad, json!({"bio": "x"})).await,
        app.delete(&format!("/users/{id}"), bad).await,
    ] {
        assert_unauthorized(&resp);
    }
    // Nothing happened to the account.
    let me = app.get("/users/me", Some(&alice.token)).await.expect(200);
    assert_eq!(
        (me["bio"].clone(), me["status"].clone()),
        (Value::Null, json!("active"))
    );
}
