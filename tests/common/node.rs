//! A real `zync serve` process for tests that need one (several nodes, process-level
//! measurements). Loopback only: each binds 127.0.0.1 on its own free port.
//!
//! Include it with `#[path = "common/node.rs"] mod node;`.
#![allow(dead_code)]

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const SECRET_KEY: &str = "cluster-test-secret-key-shared-by-every-node-0123456789";
/// Every node of a database needs the same master key (`ZYNC_MASTER_KEY`).
pub const MASTER_KEY: &str = "7a796e632d636c75737465722d6d61737465722d6b65792d30313233343536ab";
pub const STARTUP: Duration = Duration::from_secs(60);

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().unwrap().port()
}

/// The file directory every node on `database_url` shares, as an operator running several nodes
/// sets `FILES_DIR` (ADR 0006): one per database, so tests never see each other's files.
pub fn shared_files_dir(database_url: &str) -> PathBuf {
    let name: String = database_url
        .split('?')
        .next()
        .and_then(|url| url.rsplit('/').next())
        .unwrap_or("db")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    std::env::temp_dir().join(format!("zync-cluster-files-{name}"))
}

/// One server process. Dropping it stops the process (also when a test panics).
pub struct Node {
    pub name: &'static str,
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Node {
    pub fn start(name: &'static str, database_url: &str) -> Self {
        Self::start_with(name, database_url, &[])
    }

    /// [`Node::start`] with extra environment variables (a `FILES_DIR` of its own, say: by
    /// default every node on one database shares [`shared_files_dir`]).
    pub fn start_with(name: &'static str, database_url: &str, env: &[(&str, &str)]) -> Self {
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
            .env("ZYNC_MASTER_KEY", MASTER_KEY)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("ZYNC_DATA_DIR", dir.join("data"))
            .env("FILES_DIR", shared_files_dir(database_url))
            .env("DB_POOL_SIZE", "8")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Waits for the process to exit by itself (a refused start), and returns its log.
    pub async fn refused(&mut self) -> String {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(!status.success(), "node {} exited with {status}", self.name);
                return self.log();
            }
            assert!(
                Instant::now() < deadline,
                "node {} still running after {STARTUP:?}:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `GET /` answers 200.
    pub async fn ready(&mut self, client: &reqwest::Client) {
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

/// An HTTP client for talking to nodes: every request bounded, so a hung node fails the test.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub struct User {
    pub id: String,
    pub token: String,
}

pub async fn call(req: reqwest::RequestBuilder, expect: u16) -> Value {
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(status, expect, "unexpected status; body: {body}");
    body
}

/// Registers `username` on `node` and logs in.
pub async fn register(client: &reqwest::Client, node: &Node, username: &str) -> User {
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

/// A file message uploaded through `node`: the multipart body built by hand (one `file` part).
pub async fn upload(
    client: &reqwest::Client,
    node: &Node,
    user: &User,
    channel: &str,
    bytes: &[u8],
) -> Value {
    let boundary = "zync-node-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n\
         Content-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = client
        .post(node.url(&format!("/messages/channels/{channel}/files")))
        .bearer_auth(&user.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    call(req, 201).await
}

impl Node {
    /// SIGKILL: no graceful stop, no flushing, as a crash or the OOM killer would.
    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Runs an operator command (`zync <args>`) against `database_url`; panics unless it exits 0.
    pub async fn run_cli(&self, database_url: &str, args: &[&str]) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zync"))
            .args(args)
            .current_dir(&self.dir)
            .env("DATABASE_URL", database_url)
            .env("ZYNC_DATA_DIR", self.dir.join("cli-data"))
            .env("ZYNC_MASTER_KEY", MASTER_KEY)
            .kill_on_drop(true)
            .output()
            .await
            .expect("the zync binary runs");
        assert!(
            out.status.success(),
            "zync {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
