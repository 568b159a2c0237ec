//! The few REST calls the workloads make, as an existing Zync client would make them.

use anyhow::{bail, Context};
use futures::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::loopback;

/// A registered user and a token for it.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: Uuid,
    pub token: String,
}

#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    /// Refuses any base URL that is not loopback.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        loopback::require_url(base)?;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The `ws://` URL of a channel's Zync WebSocket for `token`.
    pub fn channel_socket(&self, channel: Uuid, token: &str) -> String {
        format!(
            "{}/ws/{channel}?token={token}",
            self.base.replacen("http", "ws", 1)
        )
    }

    pub async fn register(&self, username: &str) -> anyhow::Result<Member> {
        let password = "bench-password-1";
        let user: Value = expect(
            self.client
                .post(self.url("/users/"))
                .json(&json!({"username": username, "email": format!("{username}@bench.example"), "password": password}))
                .send()
                .await?,
            201,
        )
        .await?;
        let token: Value = expect(
            self.client
                .post(self.url("/token"))
                .form(&[("username", username), ("password", password)])
                .send()
                .await?,
            200,
        )
        .await?;
        Ok(Member {
            id: uuid(&user["id"])?,
            token: token["access_token"]
                .as_str()
                .context("no access_token")?
                .to_string(),
        })
    }

    /// Registers `count` users named `<prefix>-<n>`, a few at a time (password hashing is slow on
    /// purpose, so this is setup, never timed).
    pub async fn register_many(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<Member>> {
        stream::iter(0..count)
            .map(|n| async move { self.register(&format!("{prefix}-{n}")).await })
            .buffered(4)
            .try_collect()
            .await
    }

    pub async fn create_channel(&self, owner: &Member, name: &str) -> anyhow::Result<Uuid> {
        let channel: Value = expect(
            self.client
                .post(self.url("/channels/"))
                .bearer_auth(&owner.token)
                .json(&json!({"name": name, "description": "benchmark"}))
                .send()
                .await?,
            201,
        )
        .await?;
        uuid(&channel["id"])
    }

    pub async fn join(&self, member: &Member, channel: Uuid) -> anyhow::Result<()> {
        expect(
            self.client
                .post(self.url(&format!("/channels/{channel}/join")))
                .bearer_auth(&member.token)
                .send()
                .await?,
            201,
        )
        .await
        .map(drop)
    }

    /// Posts a text message; the id of the acknowledged (201) message, or what went wrong.
    pub async fn post(&self, member: &Member, channel: Uuid, content: &str) -> anyhow::Result<Uuid> {
        let message: Value = expect(
            self.client
                .post(self.url(&format!("/messages/channels/{channel}/messages")))
                .bearer_auth(&member.token)
                .json(&json!({ "content": content }))
                .send()
                .await?,
            201,
        )
        .await?;
        uuid(&message["id"])
    }

    /// GET `path` (with its query) as `member`; the JSON body of a 200.
    pub async fn get(&self, member: &Member, path: &str) -> anyhow::Result<Value> {
        expect(
            self.client
                .get(self.url(path))
                .bearer_auth(&member.token)
                .send()
                .await?,
            200,
        )
        .await
    }
}

async fn expect(response: reqwest::Response, status: u16) -> anyhow::Result<Value> {
    let got = response.status();
    let body = response.text().await?;
    if got.as_u16() != status {
        bail!("expected {status}, got {got}: {body}");
    }
    serde_json::from_str(&body).with_context(|| format!("not JSON: {body}"))
}

fn uuid(value: &Value) -> anyhow::Result<Uuid> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not a uuid: {value}"))
}
