//! Two nodes on one database: a subscriber on either gets what is posted on both, in the same
//! order as the other node's subscribers; typing crosses nodes too.

use serde_json::{json, Value};

use crate::support::TestApp;
use crate::ws_support::{channel_with, frame, frames, kind, native, send_typing, zync};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribers_on_both_nodes_see_the_same_stream() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(a.db.clone(), |c| c).await;
    let owner = a.register("owner").await;
    let reader = a.register("reader").await;
    let channel = channel_with(&a, &owner, &[&reader], "general").await;

    let (mut on_a, _) = native(&a, &reader).await;
    let (mut on_b, _) = native(&b, &reader).await;
    let mut zync_on_a = zync(&a, &reader.token, &channel).await;

    // Posted through both nodes at once: the log decides the order.
    let (from_a, from_b) = tokio::join!(posts(&a, &owner, &channel, "a"), posts(&b, &owner, &channel, "b"));

    let seen_a = frames(&mut on_a, 40).await;
    let seen_b = frames(&mut on_b, 40).await;
    assert_eq!(
        seen_a, seen_b,
        "same frames, same order, same positions on both nodes"
    );
    let ids: Vec<&Value> = seen_a.iter().map(|f| &f["data"]["id"]).collect();
    for posted in from_a.iter().chain(&from_b) {
        assert!(ids.contains(&&posted["id"]), "missing {posted}");
    }
    let zync_frames = frames(&mut zync_on_a, 40).await;
    let as_zync: Vec<Value> = seen_a.iter().map(|f| f["data"].clone()).collect();
    assert_eq!(zync_frames, as_zync, "the Zync socket follows the same order");

    // Typing on node B reaches node A.
    let (mut typist, _) = native(&b, &owner).await;
    send_typing(&mut typist, &channel).await;
    let typing = frame(&mut on_a).await;
    assert_eq!(kind(&typing), "typing");
    assert_eq!(
        typing["data"],
        json!({"channel_id": channel, "user_id": owner.id})
    );
}

async fn posts(node: &TestApp, author: &crate::support::TestUser, channel: &str, tag: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..20 {
        out.push(node.post_message(author, channel, &format!("{tag} {i}")).await);
    }
    out
}
