//! Two real `zync serve` processes on one database form a cluster: what is written on either node
//! is read back identically, in the same order, on both (`GET /v1/events`).
//!
//! Loopback only: each node binds 127.0.0.1 on its own free port.

#[path = "common/db.rs"]
mod db;
#[path = "common/node.rs"]
mod node;

use std::time::Duration;

use node::{call, register, Node, User};
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
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
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
