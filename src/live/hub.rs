//! One live feed reader per node: tails the event store in feed order (woken by LISTEN/NOTIFY,
//! with a slow poll as a safety net) and broadcasts each event, enriched once, to the sessions on
//! this node. Every node reads the same log in the same order, so subscribers on different nodes
//! see the same sequence.
//!
//! Two kinds of subscription: everything (the native stream, which decides per user what it may
//! see), or one channel (the Zync socket). A channel's subscribers are woken only by that
//! channel's events and by revocations, so a message wakes its channel's sockets and not every
//! socket on the node.

use std::collections::HashMap;
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
use super::event::{LiveEvent, LiveItem};
use super::gate::ProjectedPosition;

/// Items a subscriber may fall behind by before it is told to resync.
pub const BROADCAST_CAPACITY: usize = 4096;
/// The same for one channel's topic. Smaller: it carries one channel's events only, and each
/// channel with subscribers on this node holds one.
const CHANNEL_CAPACITY: usize = 256;
/// The NOTIFY channel typing signals travel on between nodes; they are never stored.
const TYPING_CHANNEL: &str = "zync_typing";
/// The NOTIFY channel that says "a token of this user was revoked" (payload: the user id), so
/// every node re-checks that user's sockets. Sent by [`crate::auth::credentials::revoke_token`].
pub const SESSIONS_CHANNEL: &str = "zync_sessions";
const SAFETY_POLL: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    sender: broadcast::Sender<LiveItem>,
    /// Per-channel topics, for channels someone on this node subscribed to. A topic whose
    /// subscribers are all gone is dropped on the next send to it or the next sweep.
    channels: Mutex<Topics>,
    /// The cursor of the last event broadcast. Held while sending (and taken before `channels`),
    /// so a subscriber gets a receiver and the cursor it starts after as one consistent pair.
    last: Mutex<FeedCursor>,
    wake: Arc<Notify>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl LiveHub {
    /// Starts tailing from the current head of the log (history is served by replay, not here),
    /// publishing each event once `projected` has passed it (causal delivery, see [`gate`]).
    ///
    /// [`gate`]: super::gate
    pub async fn start(pool: PgPool, projected: ProjectedPosition) -> Result<Self, sqlx::Error> {
        Self::start_waking(pool, projected, vec![]).await
    }

    /// [`start`](Self::start), and its LISTEN connection also pokes `others` on every append,
    /// so the node's other feed readers (the projections) need no connection of their own.
    pub async fn start_waking(
        pool: PgPool,
        projected: ProjectedPosition,
        others: Vec<Arc<Notify>>,
    ) -> Result<Self, sqlx::Error> {
        // Not the log's head: the projected position, so that nothing between the two is
        // skipped (it is read and published once the read tables have it).
        let head = ProjectedPosition::current(&pool).await?;
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        let hub = Self {
            inner: Arc::new(Inner {
                pool: pool.clone(),
                sender,
                channels: Mutex::new(Topics::default()),
                last: Mutex::new(head),
                wake: Arc::new(Notify::new()),
                tasks: Mutex::new(vec![]),
            }),
        };
        let tasks = vec![
            tokio::spawn(wake_on_append(
                pool.clone(),
                others.into_iter().chain([hub.inner.wake.clone()]).collect(),
            )),
            tokio::spawn(tail(hub.inner.clone(), head, projected)),
            tokio::spawn(relay_signals(hub.inner.clone())),
        ];
        *lock(&hub.inner.tasks) = tasks;
        Ok(hub)
    }

    /// A receiver of everything broadcast after the returned cursor.
    pub fn subscribe(&self) -> (broadcast::Receiver<LiveItem>, FeedCursor) {
        let last = lock(&self.inner.last);
        (self.inner.sender.subscribe(), *last)
    }

    /// A receiver of what concerns one channel (its events, and revocations of any user),
    /// broadcast after the returned cursor.
    pub fn subscribe_channel(&self, channel: Uuid) -> (broadcast::Receiver<LiveItem>, FeedCursor) {
        let last = lock(&self.inner.last);
        (lock(&self.inner.channels).subscribe(channel), *last)
    }

    /// The cursor of the last event broadcast on this node.
    pub fn position(&self) -> FeedCursor {
        *lock(&self.inner.last)
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

/// The per-channel topics.
#[derive(Default)]
struct Topics {
    senders: HashMap<Uuid, broadcast::Sender<LiveItem>>,
    /// Subscriptions since the last sweep of abandoned topics.
    since_sweep: usize,
}

impl Topics {
    fn subscribe(&mut self, channel: Uuid) -> broadcast::Receiver<LiveItem> {
        self.since_sweep += 1;
        if self.since_sweep >= self.senders.len().max(1024) {
            // Channels that got no event since their last subscriber left are swept here.
            self.senders.retain(|_, s| s.receiver_count() > 0);
            self.since_sweep = 0;
        }
        self.senders
            .entry(channel)
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// For revocations: rare, and whose sockets are where is not known here.
    fn publish_to_all(&self, item: &LiveItem) {
        for sender in self.senders.values() {
            let _ = sender.send(item.clone());
        }
    }

    fn publish(&mut self, event: &Arc<LiveEvent>) {
        if event.revokes_someone() {
            self.publish_to_all(&LiveItem::Event(event.clone()));
            return;
        }
        let Some(channel) = event.channel_id else {
            return;
        };
        if let Some(sender) = self.senders.get(&channel) {
            if sender.send(LiveItem::Event(event.clone())).is_err() {
                self.senders.remove(&channel);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them inconsistent (plain assignments).
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads the feed after `cursor` forever, publishing each event once `projected` has passed it.
/// A batch is read and enriched while the projections work on the same events, so the gate
/// costs the difference between the two, not their sum. On any error it retries from the last
/// published cursor, so a database outage neither skips nor repeats an event.
async fn tail(inner: Arc<Inner>, mut cursor: FeedCursor, mut projected: ProjectedPosition) {
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
        let published = match batch {
            Ok(events) if events.is_empty() => {
                backoff = Duration::from_millis(100);
                let _ = tokio::time::timeout(SAFETY_POLL, inner.wake.notified()).await;
                continue;
            }
            Ok(events) => publish_when_projected(&inner, &mut projected, &mut cursor, events).await,
            Err(error) => Err(error),
        };
        match published {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(error) => {
                tracing::warn!(%error, position = cursor.position, "live feed read failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Publishes `events` in order, each once the read tables have passed it, advancing `cursor`.
async fn publish_when_projected(
    inner: &Inner,
    projected: &mut ProjectedPosition,
    cursor: &mut FeedCursor,
    events: Vec<LiveEvent>,
) -> Result<(), projections::ProjectionError> {
    let mut events = events.into_iter().peekable();
    while let Some(first) = events.peek() {
        let reached = projected
            .wait_past(&inner.pool, first.cursor, &inner.wake)
            .await?;
        let mut last = lock(&inner.last);
        let mut topics = lock(&inner.channels);
        while let Some(event) = events.next_if(|e| e.cursor <= reached) {
            *cursor = event.cursor;
            *last = event.cursor;
            let event = Arc::new(event);
            topics.publish(&event);
            // No receivers is fine: nobody is connected to this node.
            let _ = inner.sender.send(LiveItem::Event(event));
        }
    }
    Ok(())
}

/// Relays the signals nodes send each other over NOTIFY: typing, and revoked sessions.
async fn relay_signals(inner: Arc<Inner>) {
    loop {
        let mut listener = match PgListener::connect_with(&inner.pool).await {
            Ok(l) => l,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if listener
            .listen_all([TYPING_CHANNEL, SESSIONS_CHANNEL])
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        while let Ok(note) = listener.recv().await {
            if note.channel() == SESSIONS_CHANNEL {
                if let Ok(user_id) = note.payload().parse() {
                    let item = LiveItem::SessionsRevoked { user_id };
                    lock(&inner.channels).publish_to_all(&item);
                    let _ = inner.sender.send(item);
                }
                continue;
            }
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

#[cfg(test)]
mod tests {
    use aggregates::channel::ChannelEvent;
    use aggregates::user::UserEvent;
    use projections::DecodedEvent;

    use super::*;

    fn event(aggregate_id: Uuid, channel_id: Option<Uuid>, decoded: DecodedEvent) -> Arc<LiveEvent> {
        Arc::new(LiveEvent::for_test(0, aggregate_id, channel_id, decoded))
    }

    #[test]
    fn a_channel_topic_carries_its_channel_and_revocations_only() {
        let (a, b, user) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut topics = Topics::default();
        let mut on_a = topics.subscribe(a);
        let mut on_b = topics.subscribe(b);
        topics.publish(&event(
            a,
            Some(a),
            DecodedEvent::Channel(ChannelEvent::MemberJoined { user_id: user }),
        ));
        topics.publish(&event(user, None, DecodedEvent::User(UserEvent::UserDeleted {})));
        let got = |rx: &mut broadcast::Receiver<LiveItem>| {
            std::iter::from_fn(|| match rx.try_recv() {
                Ok(LiveItem::Event(e)) => Some(e.aggregate_id),
                _ => None,
            })
            .collect::<Vec<_>>()
        };
        assert_eq!(got(&mut on_a), [a, user]);
        assert_eq!(
            got(&mut on_b),
            [user],
            "b's topic gets the revocation, not a's event"
        );
    }

    #[test]
    fn abandoned_topics_are_dropped() {
        let a = Uuid::now_v7();
        let mut topics = Topics::default();
        drop(topics.subscribe(a));
        topics.publish(&event(
            a,
            Some(a),
            DecodedEvent::Channel(ChannelEvent::ChannelDeleted {}),
        ));
        assert!(
            topics.senders.is_empty(),
            "a send nobody received removes the topic"
        );
        for _ in 0..1024 {
            drop(topics.subscribe(Uuid::now_v7()));
        }
        assert!(
            topics.senders.len() <= 1024,
            "the sweep keeps the map from growing without bound"
        );
    }
}
