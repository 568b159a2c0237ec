//! Two real `zync serve` processes on one database form a cluster: what is written on either node
//! is read back identically, in the same order, on both (`GET /v1/events`).
//!
//! Loopback only: each node binds 127.0.0.1 on its own free port.

#[path = "common/db.rs"]
mod db;

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const SECRET_KEY: &str = "cluster-test-secret-key-shared-by-every-node-0123456789";
const STARTUP: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().unwrap().port()
}

/// One server process. Dropping it stops the process (also when a test panics).
struct Node {
    name: &'static str,
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Node {
    fn start(name: &'static str, database_url: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("zync-cluster-{name}-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = File::create(dir.join("server.log")).unwrap();
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_zync"))
            .arg("serve")
            // No `.env` of the checkout applies: the working directory is the node's own.
            .current_dir(&dir)
            .env("DATABASE_URL", database_url)
            .env("SECRET_KEY", SECRET_KEY)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("ZYNC_DATA_DIR", dir.join("data"))
            .env("DB_POOL_SIZE", "8")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the zync binary");
        Self {
            name,
            child,
            port,
            dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Waits until `GET /` answers 200.
    async fn ready(&mut self, client: &reqwest::Client) {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "node {} exited ({status}) while starting:\n{}",
                    self.name,
                    self.log()
                );
            }
            if let Ok(resp) = client.get(self.url("/")).send().await {
                if resp.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "node {} not ready after {STARTUP:?}:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // SIGTERM first (a graceful stop closes its connections), then SIGKILL.
        if let Ok(None) = self.child.try_wait() {
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- node {} log ---\n{}", self.name, self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct User {
    id: String,
    token: String,
}

async fn call(req: reqwest::RequestBuilder, expect: u16) -> Value {
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(status, expect, "unexpected status; body: {body}");
    body
}

async fn register(client: &reqwest::Client, node: &Node, username: &str) -> User {
    let password = format!("pw-{username}-secret");
    let body =
        json!({"username": username, "email": format!("{username}@example.com"), "password": password});
    let user = call(client.post(node.url("/users/")).json(&body), 201).await;
    let form = [("username", username), ("password", password.as_str())];
    let token = call(client.post(node.url("/token")).form(&form), 200).await;
    User {
        id: user["id"].as_str().unwrap().to_string(),
        token: token["access_token"].as_str().unwrap().to_string(),
    }
}

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
