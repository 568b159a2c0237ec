//! `/channels` routes: authentication on every route, trailing slashes, malformed path ids.

use serde_json::json;

use crate::channels::{assert_issue, assert_unauthorized, field};
use crate::support::TestApp;

// ---- authentication, paths -------------------------------------------------------------------

#[tokio::test]
async fn every_route_requires_a_valid_token() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let id = app.create_channel(&alice, "general").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let routes = [
        ("POST", "/channels/".to_string()),
        ("POST", "/channels".to_string()),
        ("GET", "/channels/".to_string()),
        ("GET", "/channels".to_string()),
        ("GET", "/channels/my-memberships".to_string()),
        ("GET", "/channels/owners".to_string()),
        ("GET", format!("/channels/{id}")),
        ("PATCH", format!("/channels/{id}")),
        ("DELETE", format!("/channels/{id}")),
        (
            "PATCH",
            format!("/channels/{id}/change_owner?new_owner_id={}", alice.id),
        ),
        ("GET", format!("/channels/user/{}/memberships", alice.id)),
        ("GET", format!("/channels/user/{}/shared-memberships", alice.id)),
        ("POST", format!("/channels/{id}/join")),
        ("DELETE", format!("/channels/{id}/leave")),
        ("GET", format!("/channels/{id}/members")),
        // Authentication comes before path validation.
        ("GET", "/channels/not-a-uuid/members".to_string()),
    ];
    for (method, path) in &routes {
        let m: reqwest::Method = method.parse().unwrap();
        let body = Some(json!({"name": "sneaky"}));
        let anonymous = app.request(m.clone(), path, None, body.clone()).await;
        assert_unauthorized(&anonymous, &format!("{method} {path} anonymous"));
        let forged = app.request(m, path, Some("not.a.jwt"), body).await;
        assert_unauthorized(&forged, &format!("{method} {path} forged"));
    }
    // Nothing changed.
    let t = Some(alice.token.as_str());
    assert_eq!(
        field(&app.get("/channels/", t).await.expect(200), "name"),
        ["general"]
    );
    assert_eq!(
        app.get(&format!("/channels/{id}/members"), t)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn routes_answer_with_and_without_the_trailing_slash() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let (ta, tb) = (Some(alice.token.as_str()), Some(bob.token.as_str()));
    let a = app.post("/channels", ta, json!({"name": "a"})).await.expect(201);
    let b = app.post("/channels/", ta, json!({"name": "b"})).await.expect(201);
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    for path in ["/channels", "/channels/"] {
        assert_eq!(app.get(path, ta).await.expect(200), json!([a, b]), "{path}");
    }
    for path in ["/channels/my-memberships", "/channels/my-memberships/"] {
        assert_eq!(
            field(&app.get(path, ta).await.expect(200), "name"),
            ["a", "b"],
            "{path}"
        );
    }
    for path in ["/channels/owners", "/channels/owners/"] {
        assert_eq!(
            app.get(path, ta).await.expect(200).as_array().unwrap().len(),
            2,
            "{path}"
        );
    }
    assert_eq!(app.get(&format!("/channels/{a_id}/"), ta).await.expect(200), a);
    let joined = app
        .post(&format!("/channels/{a_id}/join/"), tb, json!({}))
        .await
        .expect(201);
    assert_eq!(joined["user_id"], bob.id.as_str());
    let members = app
        .get(&format!("/channels/{a_id}/members/"), tb)
        .await
        .expect(200);
    assert_eq!(field(&members, "username"), ["alice", "bob"]);
    for suffix in ["memberships/", "shared-memberships/"] {
        let r = app
            .get(&format!("/channels/user/{}/{suffix}", bob.id), ta)
            .await
            .expect(200);
        assert_eq!(field(&r, "name"), ["a"], "{suffix}");
    }
    assert_eq!(
        app.delete(&format!("/channels/{a_id}/leave/"), tb).await.status,
        204
    );
    let renamed = app
        .patch(&format!("/channels/{b_id}/"), ta, json!({"name": "bee"}))
        .await
        .expect(200);
    assert_eq!(renamed["name"], "bee");
    let path = format!("/channels/{b_id}/change_owner/?new_owner_id={}", bob.id);
    assert_eq!(
        app.patch(&path, ta, json!({})).await.expect(200)["owner_id"],
        bob.id.as_str()
    );
    let gone = app.delete(&format!("/channels/{b_id}/"), tb).await.expect(200);
    assert_eq!(gone, json!({"message": "Channel deleted successfully"}));
}

#[tokio::test]
async fn malformed_ids_in_the_path_are_422() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let t = Some(alice.token.as_str());
    for (method, path) in [
        ("GET", "/channels/nope"),
        ("PATCH", "/channels/nope"),
        ("DELETE", "/channels/nope"),
        (
            "PATCH",
            "/channels/nope/change_owner?new_owner_id=00000000-0000-0000-0000-000000000000",
        ),
        ("POST", "/channels/12345/join"),
        ("DELETE", "/channels/nope/leave"),
        ("GET", "/channels/nope/members"),
        ("GET", "/channels/%FF%FE/members"),
        ("GET", "/channels/%00"),
    ] {
        let r = app
            .request(method.parse().unwrap(), path, t, Some(json!({})))
            .await;
        assert_issue(&r, json!(["path", "channel_id"]), "uuid_parsing");
    }
    for path in [
        "/channels/user/nope/memberships",
        "/channels/user/nope/shared-memberships",
    ] {
        assert_issue(
            &app.get(path, t).await,
            json!(["path", "user_id"]),
            "uuid_parsing",
        );
    }
}

#[tokio::test]
async fn openapi_documents_every_channel_route() {
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json", None).await.expect(200);
    for (path, methods) in [
        ("/channels/", &["post", "get"][..]),
        ("/channels/my-memberships", &["get"]),
        ("/channels/owners", &["get"]),
        ("/channels/{channel_id}", &["get", "patch", "delete"]),
        ("/channels/{channel_id}/change_owner", &["patch"]),
        ("/channels/user/{user_id}/memberships", &["get"]),
        ("/channels/user/{user_id}/shared-memberships", &["get"]),
        ("/channels/{channel_id}/join", &["post"]),
        ("/channels/{channel_id}/leave", &["delete"]),
        ("/channels/{channel_id}/members", &["get"]),
    ] {
        for m in methods {
            let op = &spec["paths"][path][m];
            assert!(op.is_object(), "{m} {path} missing from the spec");
            assert!(op["responses"]["401"].is_object(), "{m} {path} documents no 401");
        }
    }
    let change_owner = &spec["paths"]["/channels/{channel_id}/change_owner"]["patch"];
    let params = field(&change_owner["parameters"], "name");
    assert_eq!(params, ["channel_id", "new_owner_id"]);
}

#[tokio::test]
async fn odd_inputs_are_answered_without_a_server_error() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let t = Some(alice.token.as_str());
    let id = app.create_channel(&alice, "general").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let emoji = "😀".repeat(100);
    let cases: Vec<(&str, String, Option<serde_json::Value>, u16)> = vec![
        ("GET", "/channels/?skip=9223372036854775807".into(), None, 200),
        ("GET", "/channels/?limit=9223372036854775807".into(), None, 200),
        ("GET", "/channels/?skip=99999999999999999999".into(), None, 422),
        ("GET", "/channels/?skip=1.5".into(), None, 422),
        ("GET", "/channels/?skip=".into(), None, 422),
        ("GET", "/channels/?skip=1&skip=2".into(), None, 422),
        ("GET", "/channels/owners?limit=abc".into(), None, 422),
        (
            "PATCH",
            format!("/channels/{id}/change_owner?new_owner_id="),
            Some(json!({})),
            422,
        ),
        ("POST", "/channels/".into(), Some(json!({"name": emoji})), 201),
        (
            "POST",
            "/channels/".into(),
            Some(json!({"name": "x", "extra": [1, 2]})),
            201,
        ),
        (
            "POST",
            "/channels/".into(),
            Some(json!({"name": "x", "description": 5})),
            422,
        ),
        ("POST", "/channels/".into(), Some(json!({"name": null})), 422),
        (
            "POST",
            "/channels/".into(),
            Some(json!({"name": "x".repeat(300_000)})),
            413,
        ),
        (
            "PATCH",
            format!("/channels/{id}"),
            Some(json!({"name": null})),
            200,
        ),
        (
            "PATCH",
            format!("/channels/{id}"),
            Some(json!({"description": ["a"]})),
            422,
        ),
        ("GET", "/channels/user/members".into(), None, 422),
    ];
    for (method, path, body, status) in cases {
        let r = app.request(method.parse().unwrap(), &path, t, body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        assert!(r.body["detail"].is_array() || r.body["detail"].is_string() || r.status < 400);
    }
    let names = field(&app.get("/channels/", t).await.expect(200), "name");
    assert_eq!(names, ["general", emoji.as_str(), "x"]);
}
