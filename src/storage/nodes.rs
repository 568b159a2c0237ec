//! Which file store each running node uses (ADR 0006). Nodes on one database must share one
//! store: otherwise a link handed out by one node 404s on another, and a deletion through one
//! leaves the file on another's disk. Each node registers its store in `file_store_nodes` at
//! startup and refreshes its row while it runs; a node whose store differs from a live node's
//! refuses to start, and a running node that finds itself in that state later (its directory
//! remounted, say, or a node that was silent past `LIVE_WITHIN` coming back) reports not ready.
//!
//! Times are the database's (`now()`), so clock skew between nodes does not matter.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::marker;
use super::s3::S3Settings;

/// How often a running node refreshes its row.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A node not seen for this long counts as gone (crashed, or killed without a goodbye): its
/// store no longer binds the others. Several heartbeats, so a slow database is not a departure.
const LIVE_WITHIN_SECS: f64 = 30.0;
/// Rows of nodes gone this long are deleted (they would never match `LIVE_WITHIN` again).
const FORGET_AFTER_SECS: f64 = 86_400.0;

/// What a node's file links depend on.
#[derive(Debug, Clone)]
pub struct StoreIdentity {
    /// `local:<marker id>` or `s3:<endpoint>/<bucket>`: equal ids are one store.
    pub store_id: String,
    /// The directory or bucket as this node names it, for messages.
    pub location: String,
    /// A fingerprint of the key signing local links (empty for S3, whose links S3 signs).
    pub link_signer: String,
    /// The local store's directory, whose marker must stay the one registered.
    local_root: Option<PathBuf>,
}

impl StoreIdentity {
    /// The local store at `root` (its marker written if new), signing with `secret`.
    pub fn local(root: &Path, secret: &[u8]) -> std::io::Result<Self> {
        let id = marker::ensure(root)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(b"zync link signer fingerprint v1");
        Ok(Self {
            store_id: format!("local:{id}"),
            location: std::path::absolute(root)
                .unwrap_or_else(|_| root.to_path_buf())
                .display()
                .to_string(),
            link_signer: hex::encode(&mac.finalize().into_bytes()[..8]),
            local_root: Some(root.to_path_buf()),
        })
    }

    pub fn s3(settings: &S3Settings) -> Self {
        let endpoint = settings.endpoint_url.as_deref().unwrap_or("aws");
        Self {
            store_id: format!("s3:{endpoint}/{}", settings.bucket),
            location: format!("S3 bucket {} ({endpoint})", settings.bucket),
            link_signer: String::new(),
            local_root: None,
        }
    }
}

/// This node's registration; [`FileNode::leave`] ends it.
pub struct FileNode {
    id: Uuid,
    pool: PgPool,
    identity: StoreIdentity,
    heartbeat: JoinHandle<()>,
}

/// Another live node's row.
#[derive(sqlx::FromRow)]
struct Peer {
    node_id: Uuid,
    host: String,
    store_id: String,
    location: String,
    seen_secs_ago: f64,
}

impl FileNode {
    /// Registers this node, or refuses (naming both stores) when a live node uses another store.
    /// Starts are serialised, so of two nodes starting at once the second sees the first.
    pub async fn join(pool: &PgPool, identity: StoreIdentity) -> anyhow::Result<Arc<Self>> {
        let id = Uuid::now_v7();
        let mut tx = projections::tx::begin(pool).await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('zync file store nodes'))")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM file_store_nodes WHERE last_seen < now() - make_interval(secs => $1)")
            .bind(FORGET_AFTER_SECS)
            .execute(&mut *tx)
            .await?;
        if let Some(peer) = conflicting_peer(&mut tx, id, &identity).await? {
            bail!("{}", describe(&identity, &peer));
        }
        upsert(&mut tx, id, &identity).await?;
        tx.commit().await?;
        tracing::info!(node = %id, store = %identity.store_id, "registered this node's file store");
        let heartbeat = tokio::spawn(beat(pool.clone(), id, identity.clone()));
        Ok(Arc::new(Self {
            id,
            pool: pool.clone(),
            identity,
            heartbeat,
        }))
    }

    /// Why this node must not serve (for `/readyz`): its directory no longer holds the store it
    /// registered, or a live node uses another store. `Ok(None)` when all is well.
    pub async fn problem(&self) -> Result<Option<String>, sqlx::Error> {
        if let Some(root) = &self.identity.local_root {
            let found = marker::read(root).ok().flatten().map(|id| format!("local:{id}"));
            if found.as_deref() != Some(self.identity.store_id.as_str()) {
                return Ok(Some(format!(
                    "the file directory {} no longer holds this node's file store ({}; found {}): \
                     was the shared directory unmounted or replaced?",
                    self.identity.location,
                    self.identity.store_id,
                    found.as_deref().unwrap_or("no store id")
                )));
            }
        }
        let mut conn = self.pool.acquire().await?;
        Ok(conflicting_peer(&mut conn, self.id, &self.identity)
            .await?
            .map(|peer| describe(&self.identity, &peer)))
    }

    /// Deregisters (on a graceful stop), so a replacement with another store may start at once.
    pub async fn leave(&self) {
        self.heartbeat.abort();
        let gone = sqlx::query("DELETE FROM file_store_nodes WHERE node_id = $1")
            .bind(self.id)
            .execute(&self.pool)
            .await;
        if let Err(error) = gone {
            tracing::warn!(%error, "could not deregister this node's file store; it ages out");
        }
    }
}

impl Drop for FileNode {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// Refreshes `last_seen` (re-inserting a row swept meanwhile); says so once when a conflict
/// appears, which `/readyz` reports for as long as it lasts.
async fn beat(pool: PgPool, id: Uuid, identity: StoreIdentity) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reported = false;
    loop {
        tick.tick().await;
        let round = async {
            let mut conn = pool.acquire().await?;
            upsert(&mut conn, id, &identity).await?;
            conflicting_peer(&mut conn, id, &identity).await
        };
        match round.await {
            Ok(Some(peer)) if !reported => {
                reported = true;
                tracing::error!("not ready: {}", describe(&identity, &peer));
            }
            Ok(peer) => reported = reported && peer.is_some(),
            Err(error) => tracing::warn!(%error, "could not refresh this node's file store registration"),
        }
    }
}

async fn upsert(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    identity: &StoreIdentity,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO file_store_nodes (node_id, host, store_id, location, link_signer)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (node_id) DO UPDATE SET last_seen = now()",
    )
    .bind(id)
    .bind(host())
    .bind(&identity.store_id)
    .bind(&identity.location)
    .bind(&identity.link_signer)
    .execute(conn)
    .await?;
    Ok(())
}

/// The most recently seen live node, other than `id`, whose links this node could not serve.
async fn conflicting_peer(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    identity: &StoreIdentity,
) -> Result<Option<Peer>, sqlx::Error> {
    sqlx::query_as(
        "SELECT node_id, host, store_id, location,
                extract(epoch FROM now() - last_seen)::float8 AS seen_secs_ago
           FROM file_store_nodes
          WHERE node_id <> $1
            AND last_seen > now() - make_interval(secs => $2)
            AND (store_id <> $3 OR link_signer <> $4)
          ORDER BY last_seen DESC
          LIMIT 1",
    )
    .bind(id)
    .bind(LIVE_WITHIN_SECS)
    .bind(&identity.store_id)
    .bind(&identity.link_signer)
    .fetch_optional(conn)
    .await
}

fn describe(me: &StoreIdentity, peer: &Peer) -> String {
    let them = format!(
        "node {} on {} (seen {:.0}s ago)",
        peer.node_id, peer.host, peer.seen_secs_ago
    );
    if peer.store_id != me.store_id {
        format!(
            "this node's file store ({}, {}) is not the one {them} uses ({}, {}): every node on \
             one database must use the same file store. Point FILES_DIR of every node at one \
             shared directory, or configure S3 on all of them (a node that is gone stops counting \
             {LIVE_WITHIN_SECS:.0}s after it was last seen)",
            me.location, me.store_id, peer.location, peer.store_id
        )
    } else {
        format!(
            "this node signs file links with another SECRET_KEY than {them}: links one hands out \
             would be refused by the other. Set the same SECRET_KEY on every node"
        )
    }
}

/// `<host name> pid <pid>`.
fn host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown host".into());
    format!("{name} pid {}", std::process::id())
}

/// The nodes seen alive lately (host and process of each): an operator command that must not
/// run beside servers names them in its refusal.
pub async fn live_nodes(pool: &sqlx::PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT host FROM file_store_nodes
          WHERE last_seen > now() - make_interval(secs => $1)
          ORDER BY last_seen DESC",
    )
    .bind(LIVE_WITHIN_SECS)
    .fetch_all(pool)
    .await
}
