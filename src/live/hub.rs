//! One live feed reader per node: tails the event store in feed order (woken by LISTEN/NOTIFY,
//! with a slow poll as a safety net) and broadcasts each event, enriched once, to every session
//! on this node. Every node reads the same log in the same order, so subscribers on different
//! nodes see the same sequence.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use projections::feed::wake_on_append;
use projections::{FeedCursor, FeedReader};
use serde_json::json;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::{broadcast, Notify};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::enrich::enrich;
use super::event::LiveItem;

/// Items a subscriber may fall behind by before it is told to resync.
pub const BROADCAST_CAPACITY: usize = 4096;
/// The NOTIFY channel typing signals travel on between nodes; they are never stored.
const TYPING_CHANNEL: &str = "zync_typing";
const SAFETY_POLL: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    sender: broadcast::Sender<LiveItem>,
    /// The cursor of the last event broadcast. Held while sending, so a subscriber gets a
    /// receiver and the cursor it starts after as one consistent pair.
    last: Mutex<FeedCursor>,
    wake: Arc<Notify>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl LiveHub {
    /// Starts tailing from the current head of the log (history is served by replay, not here).
    pub async fn start(pool: PgPool) -> Result<Self, sqlx::Error> {
        let head = {
            let mut conn = pool.acquire().await?;
            FeedReader::head(&mut conn).await?
        };
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        let hub = Self {
            inner: Arc::new(Inner {
                pool: pool.clone(),
                sender,
                last: Mutex::new(head),
                wake: Arc::new(Notify::new()),
                tasks: Mutex::new(vec![]),
            }),
        };
        let tasks = vec![
            tokio::spawn(wake_on_append(pool.clone(), hub.inner.wake.clone())),
            tokio::spawn(tail(hub.inner.clone(), head)),
            tokio::spawn(relay_typing(hub.inner.clone())),
        ];
        *lock(&hub.inner.tasks) = tasks;
        Ok(hub)
    }

    /// A receiver of everything broadcast after the returned cursor.
    pub fn subscribe(&self) -> (broadcast::Receiver<LiveItem>, FeedCursor) {
        let last = lock(&self.inner.last);
        (self.inner.sender.subscribe(), *last)
    }

    /// The cursor of the last event broadcast on this node.
    pub fn position(&self) -> FeedCursor {
        *lock(&self.inner.last)
    }

    /// Asks for a read now (after an append on this node, say).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Relays a typing signal to the channel's members on every node.
    pub async fn publish_typing(&self, channel_id: Uuid, user_id: Uuid) -> Result<(), sqlx::Error> {
        let payload = json!({"channel_id": channel_id, "user_id": user_id}).to_string();
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(TYPING_CHANNEL)
            .bind(payload)
            .execute(&self.inner.pool)
            .await?;
        Ok(())
    }

    pub fn shutdown(&self) {
        for task in lock(&self.inner.tasks).iter() {
            task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them inconsistent (plain assignments).
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads the feed after `cursor` forever. On any error it retries from the same cursor, so a
/// database outage neither skips nor repeats an event.
async fn tail(inner: Arc<Inner>, mut cursor: FeedCursor) {
    let reader = FeedReader::default();
    let mut backoff = Duration::from_millis(100);
    loop {
        let batch = async {
            let mut conn = inner.pool.acquire().await?;
            let rows = reader.read_after(&mut conn, cursor).await?;
            drop(conn);
            enrich(&inner.pool, rows).await
        }
        .await;
        match batch {
            Ok(events) if events.is_empty() => {
                backoff = Duration::from_millis(100);
                let _ = tokio::time::timeout(SAFETY_POLL, inner.wake.notified()).await;
            }
            Ok(events) => {
                backoff = Duration::from_millis(100);
                let mut last = lock(&inner.last);
                for event in events {
                    cursor = event.cursor;
                    *last = cursor;
                    // No receivers is fine: nobody is connected to this node.
                    let _ = inner.sender.send(LiveItem::Event(Arc::new(event)));
                }
            }
            Err(error) => {
                tracing::warn!(%error, position = cursor.position, "live feed read failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn relay_typing(inner: Arc<Inner>) {
    loop {
        let mut listener = match PgListener::connect_with(&inner.pool).await {
            Ok(l) => l,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if listener.listen(TYPING_CHANNEL).await.is_err() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        while let Ok(note) = listener.recv().await {
            let parsed: Option<(Uuid, Uuid)> = serde_json::from_str::<serde_json::Value>(note.payload())
                .ok()
                .and_then(|v| {
                    Some((
                        v["channel_id"].as_str()?.parse().ok()?,
                        v["user_id"].as_str()?.parse().ok()?,
                    ))
                });
            if let Some((channel_id, user_id)) = parsed {
                let _ = inner.sender.send(LiveItem::Typing { channel_id, user_id });
            }
        }
    }
}
