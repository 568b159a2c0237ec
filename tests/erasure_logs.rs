//! The server's logs never hold personal data (docs/personal-data.md): a real `zync serve`
//! process logging at debug level serves a user's whole life (registration with every profile
//! field, a failed and a good login, a profile change, posts, an edit, a file, an export) and
//! their erasure; none of what they typed is in its log afterwards. Loopback only; every wait is
//! bounded.

#[path = "common/db.rs"]
mod db;
#[path = "common/node.rs"]
mod node;

use node::{call, upload, Node};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debug_level_server_log_holds_nothing_a_user_typed() {
    let db = db::fresh_database().await;
    let url = db::database_url(&db);
    let client = node::client();
    let mut node = Node::start_with("erasure-logs", &url, &[("RUST_LOG", "debug")]);
    node.ready(&client).await;

    let typed = [
        "dora-name-61f0",
        "dora-mail-72a1@example.org",
        "dora-first-83b2",
        "dora-last-94c3",
        "dora-bio-a5d4",
        "dora-bio-later-b6e5",
        "dora-text-c7f6",
        "dora-edit-d807",
        "dora-bytes-e918",
    ];
    let password = "pw-dora-secret-f029";
    let body = json!({"username": typed[0], "email": typed[1], "password": password,
                      "first_name": typed[2], "last_name": typed[3], "bio": typed[4]});
    let user = call(client.post(node.url("/users/")).json(&body), 201).await;
    let id = user["id"].as_str().unwrap().to_string();
    let wrong = [("username", typed[0]), ("password", "not-her-password")];
    call(client.post(node.url("/token")).form(&wrong), 401).await;
    let form = [("username", typed[0]), ("password", password)];
    let token = call(client.post(node.url("/token")).form(&form), 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let me = node::User {
        id: id.clone(),
        token: token.clone(),
    };
    call(
        client
            .patch(node.url(&format!("/users/{id}")))
            .bearer_auth(&token)
            .json(&json!({"bio": typed[5]})),
        200,
    )
    .await;
    let channel = call(
        client
            .post(node.url("/channels/"))
            .bearer_auth(&token)
            .json(&json!({"name": "dora-room"})),
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let posted = call(
        client
            .post(node.url(&format!("/messages/channels/{channel}/messages")))
            .bearer_auth(&token)
            .json(&json!({"content": typed[6]})),
        201,
    )
    .await;
    let message = posted["id"].as_str().unwrap();
    call(
        client
            .patch(node.url(&format!("/messages/{message}")))
            .bearer_auth(&token)
            .json(&json!({"content": typed[7]})),
        200,
    )
    .await;
    upload(&client, &node, &me, &channel, typed[8].as_bytes()).await;
    let export = client
        .get(node.url("/v1/users/me/export"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(export.contains(typed[7]), "the export works: {export}");
    call(
        client.post(node.url("/v1/users/me/erase")).bearer_auth(&token),
        200,
    )
    .await;

    let log = node.log();
    assert!(log.contains("DEBUG"), "the server logged at debug level: {log}");
    for text in typed.iter().chain([&password]) {
        assert!(!log.contains(text), "{text} is in the server's log:\n{log}");
    }
}
