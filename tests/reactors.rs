//! The file-removal reactor across a crash, with real `zync serve` processes: deletions
//! acknowledged by a server that died before removing anything are carried out by the next
//! server from the reactor's checkpoint.
//!
//! The first server runs with `ZYNC_REACTORS=off` (what an operator sets on a node that must not
//! touch the store), so that "killed before the object was removed" is certain rather than a race
//! with the reactor; it is then killed with SIGKILL. Loopback only; every wait is bounded.

#[path = "common/db.rs"]
mod db;
#[path = "common/node.rs"]
mod node;
#[path = "common/reactor.rs"]
mod reactor;

use std::path::Path;
use std::time::Duration;

use node::{call, register, upload, Node, User};
use serde_json::json;

const NO_REACTORS: [(&str, &str); 1] = [("ZYNC_REACTORS", "off")];

async fn channel(client: &reqwest::Client, node: &Node, owner: &User, name: &str) -> String {
    let created = call(
        client
            .post(node.url("/channels/"))
            .bearer_auth(&owner.token)
            .json(&json!({"name": name, "description": "files"})),
        201,
    )
    .await;
    created["id"].as_str().unwrap().to_string()
}

/// Waits (bounded) until nothing is stored at `path` any more; false if it is still there.
async fn removed(path: &Path) -> bool {
    for _ in 0..600 {
        if !path.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_message_deleted_by_a_server_killed_before_removing_it_is_removed_after_restart() {
    let db = db::fresh_database().await;
    let url = db::database_url(&db);
    let files = node::shared_files_dir(&url);
    let client = node::client();
    let mut first = Node::start_with("crashes-before-removing", &url, &NO_REACTORS);
    first.ready(&client).await;
    let alice = register(&client, &first, "alice").await;
    let room = channel(&client, &first, &alice, "room").await;
    let message = upload(&client, &first, &alice, &room, b"soon deleted").await;
    let (id, key) = (
        message["id"].as_str().unwrap(),
        message["s3_key"].as_str().unwrap(),
    );
    let stored = files.join(key);
    assert!(stored.is_file(), "{} holds the upload", stored.display());

    call(
        client
            .delete(first.url(&format!("/messages/{id}")))
            .bearer_auth(&alice.token),
        200,
    )
    .await;
    // Deleted for every reader at once (the read side)...
    let access = first.url(&format!("/messages/{id}/access-url"));
    call(client.get(&access).bearer_auth(&alice.token), 404).await;
    // ...but the object is still stored when the server dies: the handler does not remove it.
    assert!(
        stored.is_file(),
        "the acknowledged deletion removed nothing inline"
    );
    first.kill_9();
    assert!(stored.is_file());

    let mut second = Node::start("restarted", &url);
    second.ready(&client).await;
    assert!(
        removed(&stored).await,
        "the restarted server's reactor removed {}:\n{}",
        stored.display(),
        second.log()
    );
    let access = second.url(&format!("/messages/{id}/access-url"));
    call(client.get(&access).bearer_auth(&alice.token), 404).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_deleted_by_a_server_killed_before_removing_its_files_loses_them_after_restart() {
    let db = db::fresh_database().await;
    let url = db::database_url(&db);
    let files = node::shared_files_dir(&url);
    let client = node::client();
    let mut first = Node::start_with("crashes-before-removing-a-channel", &url, &NO_REACTORS);
    first.ready(&client).await;
    let alice = register(&client, &first, "alice").await;
    let doomed = channel(&client, &first, &alice, "doomed").await;
    let kept = channel(&client, &first, &alice, "kept").await;
    let mut deleted_files = Vec::new();
    for bytes in [&b"first"[..], b"second"] {
        let m = upload(&client, &first, &alice, &doomed, bytes).await;
        deleted_files.push(files.join(m["s3_key"].as_str().unwrap()));
    }
    let other = upload(&client, &first, &alice, &kept, b"stays").await;
    let kept_file = files.join(other["s3_key"].as_str().unwrap());

    call(
        client
            .delete(first.url(&format!("/channels/{doomed}")))
            .bearer_auth(&alice.token),
        200,
    )
    .await;
    for path in &deleted_files {
        assert!(path.is_file(), "nothing removed inline: {}", path.display());
    }
    first.kill_9();

    let mut second = Node::start("restarted-for-the-channel", &url);
    second.ready(&client).await;
    for path in &deleted_files {
        assert!(
            removed(path).await,
            "the deleted channel's {} is removed after the restart:\n{}",
            path.display(),
            second.log()
        );
    }
    let pool = sqlx::PgPool::connect_with(db.clone()).await.unwrap();
    reactor::file_removal_caught_up(&pool).await;
    assert!(kept_file.is_file(), "another channel's file stays");
    pool.close().await;
}
