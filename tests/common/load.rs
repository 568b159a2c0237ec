//! A bounded posting load on one channel for fault tests: senders post numbered messages as fast
//! as the server answers, and every answer (or broken connection) is recorded, so a test can check
//! afterwards that what was acknowledged is all there.
//!
//! Include it with `#[path = "common/load.rs"] mod load;` next to `node.rs`.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::node::{call, register, Node, User};

/// Longest a load may run: a stuck test fails instead of hanging.
const MAX_RUN: Duration = Duration::from_secs(120);
/// How long waiting for acknowledgements may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// One request of the load.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub content: String,
    /// The HTTP status, or `None` when the connection broke (the server died, say).
    pub status: Option<u16>,
    /// The message id of a 201.
    pub id: Option<String>,
    /// The `detail` of a refusal.
    pub detail: Option<String>,
    pub started: Instant,
    pub ended: Instant,
}

pub struct Load {
    users: Vec<User>,
    channel: String,
    senders: usize,
}

pub struct Running {
    stop: Arc<AtomicBool>,
    acks: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<Outcome>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Load {
    /// `users` members of one new channel, posting through `senders` concurrent senders.
    pub async fn prepare(client: &reqwest::Client, node: &Node, users: usize, senders: usize) -> Self {
        let mut members = Vec::new();
        for i in 0..users {
            members.push(register(client, node, &format!("sender{i}")).await);
        }
        let channel = call(
            client
                .post(node.url("/channels/"))
                .bearer_auth(&members[0].token)
                .json(&json!({"name": "load", "description": "fault test"})),
            201,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        for member in &members[1..] {
            call(
                client
                    .post(node.url(&format!("/channels/{channel}/join")))
                    .bearer_auth(&member.token),
                201,
            )
            .await;
        }
        Self {
            users: members,
            channel,
            senders,
        }
    }

    /// Starts the senders against `base` (a node's URL without a path).
    pub fn start(&self, client: &reqwest::Client, base: String) -> Running {
        let running = Running {
            stop: Arc::new(AtomicBool::new(false)),
            acks: Arc::new(AtomicUsize::new(0)),
            log: Arc::new(Mutex::new(Vec::new())),
            tasks: Vec::new(),
        };
        let url = format!("{base}/messages/channels/{}/messages", self.channel);
        let tasks = (0..self.senders)
            .map(|sender| {
                let (client, url) = (client.clone(), url.clone());
                let token = self.users[sender % self.users.len()].token.clone();
                let (stop, acks, log) = (running.stop.clone(), running.acks.clone(), running.log.clone());
                tokio::spawn(async move {
                    let deadline = Instant::now() + MAX_RUN;
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        let outcome =
                            post(&client, &url, &token, format!("sender {sender} message {n}")).await;
                        n += 1;
                        let status = outcome.status;
                        if status == Some(201) {
                            acks.fetch_add(1, Ordering::Relaxed);
                        }
                        let broken = status.is_none();
                        log.lock().unwrap().push(outcome);
                        if broken || status == Some(503) {
                            // Don't spin on a dead server or database.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                })
            })
            .collect();
        Running { tasks, ..running }
    }

    /// One post of `content` sent now, beside the senders (which may all be busy with requests
    /// begun earlier), by the first member.
    pub async fn probe(&self, client: &reqwest::Client, base: &str, content: String) -> Outcome {
        let url = format!("{base}/messages/channels/{}/messages", self.channel);
        post(client, &url, &self.users[0].token, content).await
    }

    /// Every message in the channel's history, oldest first, paged as a client would.
    async fn history(&self, client: &reqwest::Client, node: &Node) -> Vec<Value> {
        let mut all = Vec::new();
        for page in 0..10_000 {
            let url = node.url(&format!(
                "/messages/channel/{}?skip={}&limit=200",
                self.channel,
                page * 200
            ));
            let batch = call(client.get(url).bearer_auth(&self.users[0].token), 200).await;
            let batch = batch.as_array().unwrap().clone();
            let done = batch.len() < 200;
            all.extend(batch);
            if done {
                return all;
            }
        }
        panic!("history never ended");
    }

    /// Each acknowledged message is in history exactly once, with its content.
    pub async fn assert_all_in_history(
        &self,
        client: &reqwest::Client,
        node: &Node,
        acked: &HashMap<String, String>,
    ) {
        let history = self.history(client, node).await;
        let mut seen: HashMap<&str, &str> = HashMap::new();
        let mut contents = HashSet::new();
        for m in &history {
            let content = m["content"].as_str().unwrap();
            assert!(contents.insert(content), "posted twice: {content}");
            seen.insert(m["id"].as_str().unwrap(), content);
        }
        let missing: Vec<_> = acked
            .iter()
            .filter(|(id, content)| seen.get(id.as_str()) != Some(&content.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "{} of {} acknowledged messages missing from history, e.g. {:?}",
            missing.len(),
            acked.len(),
            missing.first()
        );
    }

    /// Each acknowledged message is on the event stream (`GET /v1/events`) as `message.created`.
    pub async fn assert_all_on_the_stream(
        &self,
        client: &reqwest::Client,
        node: &Node,
        acked: &HashMap<String, String>,
    ) {
        let mut created = HashSet::new();
        let mut after = 0;
        let mut caught_up = false;
        for _ in 0..100_000 {
            let url = node.url(&format!("/v1/events?after={after}&limit=500"));
            let page = call(client.get(url).bearer_auth(&self.users[0].token), 200).await;
            for event in page["events"].as_array().unwrap() {
                if event["type"] == "message.created" {
                    created.insert(event["data"]["id"].as_str().unwrap().to_string());
                }
            }
            after = page["next_after"].as_i64().unwrap();
            if page["caught_up"] == true {
                caught_up = true;
                break;
            }
        }
        assert!(caught_up, "the stream never caught up");
        let missing = acked.keys().filter(|id| !created.contains(*id)).count();
        assert_eq!(missing, 0, "acknowledged messages missing from the event stream");
    }
}

impl Running {
    /// Stops the senders and returns everything they saw.
    pub async fn stop(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("a sender panicked");
        }
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// Waits until the load has `n` acknowledgements in all.
/// Posts `content` to `url` and says how it went.
async fn post(client: &reqwest::Client, url: &str, token: &str, content: String) -> Outcome {
    let started = Instant::now();
    let sent = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "content": content }))
        .send()
        .await;
    let (status, body) = match sent {
        Ok(resp) => (
            Some(resp.status().as_u16()),
            resp.json().await.unwrap_or(Value::Null),
        ),
        Err(_) => (None, Value::Null),
    };
    Outcome {
        content,
        status,
        id: body["id"].as_str().map(str::to_string),
        detail: body["detail"].as_str().map(str::to_string),
        started,
        ended: Instant::now(),
    }
}

pub async fn wait_for_acks(running: &Running, n: usize) {
    let deadline = Instant::now() + PATIENCE;
    while running.acks.load(Ordering::Relaxed) < n {
        assert!(
            Instant::now() < deadline,
            "the load never reached {n} acknowledgements"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `n` requests started after `since` were acknowledged.
pub async fn wait_for_acks_after(running: &Running, since: Instant, n: usize) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let count = running
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.started >= since && o.status == Some(201))
            .count();
        if count >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "posting never recovered ({count} of {n})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Message id → content of every 201.
pub fn acknowledged(outcomes: &[Outcome]) -> HashMap<String, String> {
    outcomes
        .iter()
        .filter(|o| o.status == Some(201))
        .map(|o| (o.id.clone().expect("a 201 has an id"), o.content.clone()))
        .collect()
}

/// The first outcome whose status is none of `expected` (for a failure message).
pub fn first_unexpected<'a>(outcomes: &'a [Outcome], expected: &[u16]) -> Option<&'a Outcome> {
    outcomes
        .iter()
        .find(|o| o.status.is_some_and(|s| !expected.contains(&s)))
}

/// How many requests got each status (broken connections not counted).
pub fn statuses(outcomes: &[Outcome]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for status in outcomes.iter().filter_map(|o| o.status) {
        *counts.entry(status).or_default() += 1;
    }
    counts
}
