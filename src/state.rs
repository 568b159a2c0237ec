//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

use crate::auth::token::TokenKeys;
use crate::commands::CommandBus;
use crate::http::forwarded::TrustedProxies;
use crate::limits::Limiters;
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::storage::local::LocalStore;
use crate::storage::nodes::FileNode;
use crate::storage::ObjectStore;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub tokens: Arc<TokenKeys>,
    pub commands: Arc<CommandBus>,
    /// This node's live feed.
    pub live: LiveHub,
    /// Becomes `true` when the server is shutting down: sockets close with 1001.
    pub shutdown: watch::Receiver<bool>,
    pub websocket: WebSocketSettings,
    /// Where file messages' objects live (S3, or the local directory).
    pub storage: Arc<dyn ObjectStore>,
    /// The local store, when it is the one in use: `GET /files/{*key}` serves its signed links.
    pub local_files: Option<Arc<LocalStore>>,
    /// This node's registration of its file store: `/readyz` asks it whether the store is still
    /// the one every live node uses.
    pub file_node: Arc<FileNode>,
    pub files: FileSettings,
    /// Rate limits (message posts, WebSocket frames, failed logins).
    pub limits: Arc<Limiters>,
    /// This node's Prometheus metrics (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// Peers whose forwarding headers say which host and scheme the client used.
    pub trusted_proxies: Arc<TrustedProxies>,
}

/// Limits of file messages (from the environment; tests shorten them).
#[derive(Clone, Copy, Debug)]
pub struct FileSettings {
    /// Largest file accepted, in bytes; larger uploads get 413 as soon as they cross it.
    pub max_upload_bytes: u64,
    /// How long an access URL stays valid.
    pub access_url_expiry: Duration,
}

/// Tunables of WebSocket sessions (from the environment; tests shorten them).
#[derive(Clone, Copy, Debug)]
pub struct WebSocketSettings {
    /// How often the server pings an otherwise quiet socket.
    pub ping_interval: Duration,
    /// A socket that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
    /// Frames queued for one socket before it is told to resync and disconnected.
    pub send_queue: usize,
}
