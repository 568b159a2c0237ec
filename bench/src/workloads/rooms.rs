//! The chat rooms the send and latency workloads run in: channels with members who joined over
//! REST and are connected by WebSocket, set up before anything is timed, and the bookkeeping that
//! proves every member received every acknowledged message.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::future::try_join_all;
use hdrhistogram::Histogram;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::api::{Api, Member};
use crate::subscriber::{self, Frame, Inbox};

/// How long after the last acknowledgement deliveries may still arrive before they count as
/// missing. Generous: a missing delivery fails the run, a late one only shows in the latencies.
const DELIVERY_GRACE: Duration = Duration::from_secs(15);
/// How long freshly connected sockets get to receive their first message.
const LIVE_WAIT: Duration = Duration::from_secs(15);

/// Message contents carry the time their send was due, in microseconds since the run's clock
/// started, so each member measures delivery latency without sharing state with the senders.
pub fn content_due_at(clock: Instant, due: Instant) -> String {
    format!("bench {}", due.duration_since(clock).as_micros())
}

fn due_at(clock: Instant, content: &str) -> Option<Instant> {
    let micros: u64 = content.strip_prefix("bench ")?.parse().ok()?;
    Some(clock + Duration::from_micros(micros))
}

/// Latency histogram in microseconds, 1 µs to 2 min, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

/// One connected member's view: the messages it got and how late each was.
pub struct Received {
    clock: Instant,
    pub ids: HashSet<Uuid>,
    pub latency_us: Histogram<u64>,
    pub foreign: u64,
    channel: Uuid,
    /// Frames received by all members together, for knowing when to stop waiting.
    frames: Arc<AtomicU64>,
}

impl Inbox for Received {
    fn receive(&mut self, frame: Frame, arrived: Instant) {
        if frame.channel_id != self.channel {
            self.foreign += 1;
            return;
        }
        if let Some(due) = frame.content.as_deref().and_then(|c| due_at(self.clock, c)) {
            let us = arrived.saturating_duration_since(due).as_micros() as u64;
            let _ = self.latency_us.record(us.max(1));
        }
        self.ids.insert(frame.id);
        self.frames.fetch_add(1, Ordering::Relaxed);
    }
}

/// A channel, its members (in joining order) and the first `watchers` of them connected.
pub struct Room {
    pub channel: Uuid,
    pub members: Vec<Member>,
    watchers: Vec<JoinHandle<anyhow::Result<Received>>>,
    warm_up: Option<Uuid>,
}

/// The rooms of one workload and the switch that disconnects their members.
pub struct Rooms {
    pub rooms: Vec<Room>,
    pub clock: Instant,
    stop: watch::Sender<bool>,
    frames: Arc<AtomicU64>,
}

impl Rooms {
    /// `groups[i]` become the members of channel i (the first creates it); the first `watchers`
    /// of each connect by WebSocket. Then one message per channel proves every socket is live.
    pub async fn open(
        api: &Api,
        name: &str,
        groups: Vec<Vec<Member>>,
        watchers: usize,
        clock: Instant,
    ) -> anyhow::Result<Self> {
        let (stop, stopped) = watch::channel(false);
        let frames = Arc::new(AtomicU64::new(0));
        let mut rooms = vec![];
        for (i, members) in groups.into_iter().enumerate() {
            let owner = members.first().context("a room needs members")?;
            let channel = api.create_channel(owner, &format!("{name}-{i}")).await?;
            try_join_all(members[1..].iter().map(|m| api.join(m, channel))).await?;
            let sockets = try_join_all(members[..watchers.min(members.len())].iter().map(|m| {
                let url = api.channel_socket(channel, &m.token);
                async move { subscriber::connect(&url, None, None).await }
            }))
            .await?;
            let watchers = sockets
                .into_iter()
                .map(|ws| {
                    let inbox = Received {
                        clock,
                        ids: HashSet::new(),
                        latency_us: histogram(),
                        foreign: 0,
                        channel,
                        frames: frames.clone(),
                    };
                    subscriber::subscribe(ws, inbox, stopped.clone())
                })
                .collect();
            rooms.push(Room {
                channel,
                members,
                watchers,
                warm_up: None,
            });
        }
        let mut rooms = Self {
            rooms,
            clock,
            stop,
            frames,
        };
        rooms.prove_live(api).await?;
        Ok(rooms)
    }

    /// A socket is accepted before the server has subscribed it to the feed, so the sends wait
    /// until one message per channel has reached every member.
    async fn prove_live(&mut self, api: &Api) -> anyhow::Result<()> {
        for room in &mut self.rooms {
            room.warm_up = Some(api.post(&room.members[0], room.channel, "warm-up").await?);
        }
        let sockets: usize = self.rooms.iter().map(|r| r.watchers.len()).sum();
        if !self.wait_for_frames(sockets as u64, LIVE_WAIT).await {
            bail!("the members' sockets did not all receive the warm-up message within {LIVE_WAIT:?}");
        }
        Ok(())
    }

    /// Waits until the members together have `count` frames; false if `limit` passed first.
    async fn wait_for_frames(&self, count: u64, limit: Duration) -> bool {
        let started = Instant::now();
        while self.frames.load(Ordering::Relaxed) < count {
            if started.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Disconnects everyone once the members could have every message acknowledged in their
    /// channel (`acked[i]` for room i), or the grace period ran out, then checks each member
    /// against the acknowledged ids.
    pub async fn close(self, acked: &[Vec<Uuid>]) -> anyhow::Result<Deliveries> {
        let warm_ups = self.rooms.iter().map(|r| r.watchers.len() as u64).sum::<u64>();
        let expected = warm_ups
            + acked
                .iter()
                .zip(&self.rooms)
                .map(|(a, r)| (a.len() * r.watchers.len()) as u64)
                .sum::<u64>();
        self.wait_for_frames(expected, DELIVERY_GRACE).await;
        let _ = self.stop.send(true);
        let mut out = Deliveries::default();
        for (room, acked) in self.rooms.into_iter().zip(acked) {
            let wanted: Vec<Uuid> = acked.iter().copied().chain(room.warm_up).collect();
            for watcher in room.watchers {
                match watcher.await.context("a member task panicked")? {
                    Ok(received) => {
                        out.expected += wanted.len() as u64;
                        out.delivered += wanted.iter().filter(|id| received.ids.contains(id)).count() as u64;
                        out.foreign += received.foreign;
                        out.latency_us.add(&received.latency_us)?;
                    }
                    Err(e) => {
                        out.expected += wanted.len() as u64;
                        out.dropped.push(format!("{e:#}"));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// What the members received, summed over all of them.
pub struct Deliveries {
    pub expected: u64,
    pub delivered: u64,
    /// Frames from a channel the socket was not for (must be 0).
    pub foreign: u64,
    /// Members whose socket ended early, with why.
    pub dropped: Vec<String>,
    pub latency_us: Histogram<u64>,
}

impl Default for Deliveries {
    fn default() -> Self {
        Self {
            expected: 0,
            delivered: 0,
            foreign: 0,
            dropped: vec![],
            latency_us: histogram(),
        }
    }
}
