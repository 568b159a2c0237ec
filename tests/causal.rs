//! Causal delivery across nodes: a client that receives a frame can at once read what it names,
//! from any node. The Zync web client calls `GET /messages/{id}/access-url` as soon as a file
//! frame arrives, once, without retrying, on whichever node its load balancer picks.
//!
//! Two real `zync serve` processes on one database; posters on both nodes (text and files);
//! both kinds of socket on both nodes; every frame is followed at once by reads on the *other*
//! node. Loopback only.

#[path = "common/db.rs"]
mod db;
#[path = "common/node.rs"]
mod node;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use node::{call, register, Node, User};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const POSTERS_PER_NODE: usize = 2;
const POSTS_EACH: usize = 40;
/// Every how many posts one is a file.
const FILE_EVERY: usize = 4;

/// What one socket saw, and what the reads that followed its frames answered.
#[derive(Default)]
struct Observed {
    ids: Vec<String>,
    /// `(what was read, status)` for every read that did not answer 200.
    failures: Vec<(String, u16)>,
}

fn ws_url(node: &Node, path: &str) -> String {
    node.url(path).replacen("http://", "ws://", 1)
}

/// The MessageRead a frame announces, on either socket kind.
fn announced(frame: &Value) -> Option<&Value> {
    if frame.get("type").is_some() {
        (frame["type"] == "message.created").then(|| &frame["data"])
    } else {
        frame.get("id").map(|_| frame)
    }
}

/// Reads frames from `url` until the socket closes or `stop` fires; each announced message is
/// read back at once from `other` (the node this socket is *not* on), without waiting for the
/// reads to finish before taking the next frame.
async fn watch(
    url: String,
    other: String,
    token: String,
    observed: Arc<Mutex<Observed>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("socket opens");
    let client = reqwest::Client::new();
    let mut checks = tokio::task::JoinSet::new();
    loop {
        let frame = tokio::select! {
            frame = socket.next() => frame,
            _ = stop.changed() => break,
        };
        let Some(Ok(frame)) = frame else { break };
        let text = match frame {
            WsMessage::Text(text) => text.to_string(),
            WsMessage::Ping(data) => {
                let _ = socket.send(WsMessage::Pong(data)).await;
                continue;
            }
            _ => continue,
        };
        let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
        let Some(message) = announced(&frame) else {
            continue;
        };
        let id = message["id"].as_str().unwrap().to_string();
        let is_file = message["message_type"] != "text";
        observed.lock().unwrap().ids.push(id.clone());
        let (client, other, token, observed) =
            (client.clone(), other.clone(), token.clone(), observed.clone());
        checks.spawn(async move {
            let mut paths = vec![format!("/messages/{id}")];
            if is_file {
                paths.push(format!("/messages/{id}/access-url"));
            }
            for path in paths {
                let status = client
                    .get(format!("{other}{path}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("read sent")
                    .status()
                    .as_u16();
                if status != 200 {
                    observed.lock().unwrap().failures.push((path, status));
                }
            }
        });
    }
    while checks.join_next().await.is_some() {}
}

/// A `multipart/form-data` upload of a small text file.
fn file_body(n: usize) -> (String, Vec<u8>) {
    let boundary = "causal-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"note-{n}.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nnote number {n}\r\n--{boundary}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

async fn post_all(client: reqwest::Client, base: String, channel: String, author: User) -> Vec<String> {
    let mut ids = vec![];
    for n in 0..POSTS_EACH {
        let req = if n % FILE_EVERY == FILE_EVERY - 1 {
            let (content_type, body) = file_body(n);
            client
                .post(format!("{base}/messages/channels/{channel}/files"))
                .header("content-type", content_type)
                .body(body)
        } else {
            client
                .post(format!("{base}/messages/channels/{channel}/messages"))
                .json(&json!({"content": format!("post {n}")}))
        };
        let message = call(req.bearer_auth(&author.token), 201).await;
        ids.push(message["id"].as_str().unwrap().to_string());
    }
    ids
}

#[tokio::test]
async fn every_frame_on_either_node_is_readable_at_once_on_the_other() {
    let db = db::fresh_database().await;
    let url = db::database_url(&db);
    let client = node::client();
    // Posting limits are per node and per user; this load is well inside them.
    let mut a = Node::start("causal-a", &url);
    let mut b = Node::start("causal-b", &url);
    a.ready(&client).await;
    b.ready(&client).await;
    let nodes = [&a, &b];

    let owner = register(&client, &a, "owner").await;
    let channel = call(
        client
            .post(a.url("/channels/"))
            .bearer_auth(&owner.token)
            .json(&json!({"name": "causal", "description": "frames before reads?"})),
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut posters = vec![];
    for (i, node) in nodes.iter().cycle().take(2 * POSTERS_PER_NODE).enumerate() {
        let user = register(&client, node, &format!("poster{i}")).await;
        let join = client
            .post(node.url(&format!("/channels/{channel}/join")))
            .bearer_auth(&user.token);
        call(join, 201).await;
        posters.push((node.url(""), user));
    }

    // Both socket kinds on both nodes, each checking against the other node.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut watchers = vec![];
    for (here, there) in [(&a, &b), (&b, &a)] {
        for path in [
            format!("/ws/{channel}?token={}", owner.token),
            format!("/v1/ws?token={}", owner.token),
        ] {
            let observed = Arc::new(Mutex::new(Observed::default()));
            let task = tokio::spawn(watch(
                ws_url(here, &path),
                there.url(""),
                owner.token.clone(),
                observed.clone(),
                stopped.clone(),
            ));
            watchers.push((
                format!("{} {}", here.name, path.split('?').next().unwrap()),
                observed,
                task,
            ));
        }
    }
    // Sockets subscribe during their handshake; give the last one a moment to be live.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut posting = tokio::task::JoinSet::new();
    for (base, user) in posters {
        posting.spawn(post_all(client.clone(), base, channel.clone(), user));
    }
    let mut posted: Vec<String> = vec![];
    while let Some(ids) = posting.join_next().await {
        posted.extend(ids.unwrap());
    }
    posted.sort();

    // Wait (bounded) until every socket has every message, then stop them.
    for _ in 0..300 {
        if watchers
            .iter()
            .all(|(_, o, _)| o.lock().unwrap().ids.len() >= posted.len())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    for (name, observed, task) in watchers {
        task.await.unwrap();
        let observed = observed.lock().unwrap();
        let mut got = observed.ids.clone();
        got.sort();
        assert_eq!(got, posted, "{name}: every acknowledged post, exactly once");
        assert!(
            observed.failures.is_empty(),
            "{name}: {} of {} frames were followed by a failed read on the other node: {:?}",
            observed.failures.len(),
            observed.ids.len(),
            &observed.failures[..observed.failures.len().min(10)]
        );
    }
    drop(b);
    drop(a);
}
