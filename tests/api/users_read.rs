//! `GET /users/me`, `GET /users/` and `GET /users/{user_id}`.

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::support::TestApp;
use crate::users_support::{assert_unauthorized, assert_user_read, issues, locs, register_raw};

#[tokio::test]
async fn me_and_reads_need_a_token() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for path in ["/users/me", "/users/", "/users", &format!("/users/{}", alice.id)] {
        assert_unauthorized(&app.get(path, None).await);
    }
    let me = app.get("/users/me/", Some(&alice.token)).await.expect(200);
    assert_eq!(me["id"], alice.id.as_str());
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn list_users_pages_in_registration_order() {
    let app = TestApp::spawn().await;
    let users = crate::users_support::register_many(&app, "user", 4).await;
    let t = Some(users[0].token.as_str());
    let all = app.get("/users/", t).await.expect(200);
    all.as_array().unwrap().iter().for_each(assert_user_read);
    assert_eq!(names(&all), ["user0", "user1", "user2", "user3"]);
    assert_eq!(names(&app.get("/users", t).await.expect(200)), names(&all));
    assert_eq!(
        names(&app.get("/users/?skip=1&limit=2", t).await.expect(200)),
        ["user1", "user2"]
    );
    assert_eq!(names(&app.get("/users/?skip=3", t).await.expect(200)), ["user3"]);
    assert_eq!(
        names(&app.get("/users/?skip=10", t).await.expect(200)),
        Vec::<&str>::new()
    );
    assert_eq!(
        names(&app.get("/users/?limit=0", t).await.expect(200)),
        Vec::<&str>::new()
    );

    let resp = app.get("/users/?skip=-1", t).await;
    assert_eq!(
        issues(&resp),
        vec![(json!(["query", "skip"]), "greater_than_equal".to_string())]
    );
    let resp = app.get("/users/?limit=-5", t).await;
    assert_eq!(
        issues(&resp),
        vec![(json!(["query", "limit"]), "greater_than_equal".to_string())]
    );
    let resp = app.get("/users/?limit=abc", t).await;
    assert_eq!(locs(&resp), vec![json!(["query", "limit"])]);

    // Deleted users are not listed.
    app.delete(&format!("/users/{}", users[1].id), Some(&users[1].token))
        .await
        .expect(200);
    assert_eq!(
        names(&app.get("/users/", t).await.expect(200)),
        ["user0", "user2", "user3"]
    );
}

#[tokio::test]
async fn list_limit_is_capped_at_200() {
    let app = TestApp::spawn().await;
    let first = app.register("first").await;
    let created: Vec<u16> = stream::iter(0..201)
        .map(|i| {
            let app = &app;
            async move {
                let body = json!({"username": format!("bulk{i}"), "email": format!("bulk{i}@example.com"), "password": "pw-bulk-1"});
                register_raw(app, body).await.status
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(created.iter().all(|s| *s == 201), "{created:?}");
    let t = Some(first.token.as_str());
    assert_eq!(
        app.get("/users/?limit=1000", t)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        200
    );
    assert_eq!(
        app.get("/users/", t).await.expect(200).as_array().unwrap().len(),
        100
    );
    assert_eq!(
        app.get("/users/?skip=200&limit=1000", t)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn get_user_by_id() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let seen = app
        .get(&format!("/users/{}", bob.id), Some(&alice.token))
        .await
        .expect(200);
    assert_user_read(&seen);
    assert_eq!(seen["username"], "bob");
    assert_eq!(
        app.get(&format!("/users/{}/", bob.id), Some(&alice.token))
            .await
            .expect(200),
        seen
    );

    let unknown = uuid::Uuid::now_v7();
    let resp = app.get(&format!("/users/{unknown}"), Some(&alice.token)).await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.body, json!({"detail": "User not found"}));
}

#[tokio::test]
async fn get_user_with_a_bad_uuid_is_422_at_user_id() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for bad in ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"] {
        let resp = app.get(&format!("/users/{bad}"), Some(&alice.token)).await;
        assert_eq!(
            issues(&resp),
            vec![(json!(["path", "user_id"]), "uuid_parsing".to_string())],
            "{bad}"
        );
    }
}
