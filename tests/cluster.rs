//! Two real `zync serve` processes on one database form a cluster: what is written on either node
//! is read back identically, in the same order, on both (`GET /v1/events`).
//!
//! Loopback only: each node binds 127.0.0.1 on its own free port.

#[path = "common/db.rs"]
mod db;
#[path = "common/node.rs"]
mod node;

use std::time::Duration;

use node::{call, register, upload, Node, User};
use serde_json::{json, Value};

/// Every event `user` may see on `node`, polled page by page as a client would.
async fn all_events(client: &reqwest::Client, node: &Node, user: &User, limit: usize) -> Vec<Value> {
    let mut after = 0;
    let mut events = vec![];
    for _ in 0..10_000 {
        let url = node.url(&format!("/v1/events?after={after}&limit={limit}"));
        let page = call(client.get(url).bearer_auth(&user.token), 200).await;
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        after = page["next_after"].as_i64().unwrap();
        if page["caught_up"] == true {
            return events;
        }
    }
    panic!("node {} never caught up", node.name);
}

fn created(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["type"] == "message.created")
        .map(|e| &e["data"])
        .collect()
}

#[tokio::test]
async fn two_processes_on_one_database_serve_one_identical_log() {
    let db = db::fresh_database().await;
    let url = db::database_url(&db);
    let client = node::client();
    let mut a = Node::start("a", &url);
    let mut b = Node::start("b", &url);
    a.ready(&client).await;
    b.ready(&client).await;

    let alice = register(&client, &a, "alice").await;
    let bob = register(&client, &a, "bob").await;
    let channel = call(
        client
            .post(a.url("/channels/"))
            .bearer_auth(&alice.token)
            .json(&json!({"name": "cluster", "description": "two nodes"})),
        201,
    )
    .await;
    let channel = channel["id"].as_str().unwrap().to_string();
    // A token issued by node A is good on node B (one SECRET_KEY), and B sees A's channel.
    call(
        client
            .post(b.url(&format!("/channels/{channel}/join")))
            .bearer_auth(&bob.token)
            .json(&json!({})),
        201,
    )
    .await;

    let mut posted = vec![];
    for i in 0..20 {
        let (node, author) = if i % 2 == 0 { (&a, &alice) } else { (&b, &bob) };
        let path = format!("/messages/channels/{channel}/messages");
        let req = client
            .post(node.url(&path))
            .bearer_auth(&author.token)
            .json(&json!({"content": format!("message {i} via node {}", node.name)}));
        posted.push(call(req, 201).await);
    }

    for user in [&alice, &bob] {
        let on_a = all_events(&client, &a, user, 100).await;
        let on_b = all_events(&client, &b, user, 100).await;
        assert!(!on_a.is_empty());
        assert_eq!(on_a, on_b, "both nodes serve the same frames in the same order");
        let positions: Vec<i64> = on_a.iter().map(|e| e["position"].as_i64().unwrap()).collect();
        let mut unique = positions.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), positions.len(), "no position twice");
        assert_eq!(
            created(&on_a),
            posted.iter().collect::<Vec<_>>(),
            "every post from either node, exactly once, in posting order"
        );
        // Small pages on the other node add up to the same sequence.
        assert_eq!(all_events(&client, &b, user, 3).await, on_a);
        assert_eq!(all_events(&client, &a, user, 7).await, on_a);
    }
    let joined = all_events(&client, &a, &alice, 100).await;
    assert!(joined
        .iter()
        .any(|e| e["type"] == "member.joined" && e["data"]["user_id"] == json!(bob.id)));

    drop(b);
    drop(a);
}

/// GETs a file link through `node`, whichever node handed it out: links are absolute on the
/// host that was asked, so the path is taken and sent to `node`.
async fn download(client: &reqwest::Client, node: &Node, link: &str) -> (u16, Vec<u8>) {
    let path = link
        .strip_prefix("http://")
        .and_then(|rest| rest.find('/').map(|slash| &rest[slash..]))
        .unwrap_or_else(|| panic!("an absolute link: {link}"));
    let resp = client.get(node.url(path)).send().await.expect("download sent");
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_file_uploaded_through_one_node_is_served_and_deleted_through_the_other() {
    let db = db::fresh_database().await;
    let url = db::database_url(&db);
    let files = node::shared_files_dir(&url);
    let client = node::client();
    let mut a = Node::start("files-a", &url);
    a.ready(&client).await;
    let mut b = Node::start("files-b", &url);
    b.ready(&client).await;

    let alice = register(&client, &a, "alice").await;
    let channel = call(
        client
            .post(a.url("/channels/"))
            .bearer_auth(&alice.token)
            .json(&json!({"name": "files", "description": "shared directory"})),
        201,
    )
    .await;
    let channel = channel["id"].as_str().unwrap();
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let message = upload(&client, &a, &alice, channel, &bytes).await;
    let (id, key) = (
        message["id"].as_str().unwrap(),
        message["s3_key"].as_str().unwrap(),
    );
    let stored = files.join(key);
    assert!(stored.is_file(), "{} holds the upload", stored.display());

    // A link handed out by either node is served by the other, byte for byte.
    let access = format!("/messages/{id}/access-url");
    for (giver, server) in [(&b, &a), (&a, &b)] {
        let link = call(client.get(giver.url(&access)).bearer_auth(&alice.token), 200).await;
        let link = link["access_url"].as_str().unwrap();
        assert_eq!(
            download(&client, server, link).await,
            (200, bytes.clone()),
            "{link}"
        );
    }

    let link = call(client.get(a.url(&access)).bearer_auth(&alice.token), 200).await;
    let link = link["access_url"].as_str().unwrap().to_string();
    call(
        client
            .delete(b.url(&format!("/messages/{id}")))
            .bearer_auth(&alice.token),
        200,
    )
    .await;
    // The links die with the deletion; the object goes shortly after, through the file-removal
    // reactor, whichever node runs it.
    let mut waited = 0;
    while stored.exists() && waited < 600 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert!(
        !stored.exists(),
        "deleting through node B removed the file node A stored"
    );
    for node in [&a, &b] {
        let (status, body) = download(&client, node, &link).await;
        assert_eq!(status, 404, "node {}", node.name);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["detail"], "File not found");
    }
    drop(b);
    drop(a);
    let _ = std::fs::remove_dir_all(&files);
}

#[tokio::test]
async fn a_node_with_a_file_directory_of_its_own_is_refused_at_startup() {
    let db = db::fresh_database().await;
    let url = db::database_url(&db);
    let client = reqwest::Client::new();
    let root = std::env::temp_dir().join(format!("zync-private-{}", uuid::Uuid::now_v7().simple()));
    let (dir_a, dir_b) = (root.join("a"), root.join("b"));
    let mut a = Node::start_with("private-a", &url, &[("FILES_DIR", dir_a.to_str().unwrap())]);
    a.ready(&client).await;
    let mut b = Node::start_with("private-b", &url, &[("FILES_DIR", dir_b.to_str().unwrap())]);
    let log = b.refused().await;

    // The refusal names both stores, both directories and what to do.
    let store_a = std::fs::read_to_string(dir_a.join(".zync-store-id")).unwrap();
    let store_b = std::fs::read_to_string(dir_b.join(".zync-store-id")).unwrap();
    for needle in [
        store_a.trim(),
        store_b.trim(),
        dir_a.to_str().unwrap(),
        dir_b.to_str().unwrap(),
        "FILES_DIR",
    ] {
        assert!(log.contains(needle), "the refusal mentions {needle}:\n{log}");
    }
    // Node A goes on serving.
    call(client.get(a.url("/readyz")), 200).await;

    // Once A has stopped (and said goodbye), a node with another directory may start.
    drop(a);
    let mut c = Node::start_with("private-c", &url, &[("FILES_DIR", dir_b.to_str().unwrap())]);
    c.ready(&client).await;
    drop(c);
    let _ = std::fs::remove_dir_all(&root);
}
