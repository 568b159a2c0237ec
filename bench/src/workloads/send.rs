//! Posting messages into [`Rooms`]: closed loop (P1 and the hot channel: every sender posts again
//! as soon as its previous post is acknowledged) or open loop (P2: posts start on a fixed
//! schedule whether or not earlier ones were answered, so a slow server cannot slow the
//! offered load and hide its own latency).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::api::{Api, Member};
use crate::cpu::CpuSample;
use crate::report::{Baseline, Headline, Outcome};
use crate::workloads::rooms::{content_due_at, histogram, Deliveries, Rooms};

/// Never more than this many posts per sender, whatever the duration: loops are bounded in count
/// as well as time.
const MAX_POSTS_PER_SENDER: u64 = 1_000_000;

/// A sender: the room it posts in and who it is.
pub type Sender = (usize, Member);

/// What the senders saw.
pub struct Sent {
    /// Acknowledged (201) message ids, per room.
    pub acked: Vec<Vec<Uuid>>,
    pub errors: u64,
    pub error_samples: Vec<String>,
    /// From the first post started to the last one answered.
    pub elapsed: Duration,
    /// POST round trips, µs.
    pub round_trip_us: Histogram<u64>,
    /// CPU spent by each party meanwhile (filled in by the caller, who knows the processes).
    pub cpu: CpuSample,
}

struct Tally {
    acked: Vec<Vec<Uuid>>,
    errors: u64,
    error_samples: Vec<String>,
    round_trip_us: Histogram<u64>,
}

impl Tally {
    fn new(rooms: usize) -> Self {
        Self {
            acked: vec![vec![]; rooms],
            errors: 0,
            error_samples: vec![],
            round_trip_us: histogram(),
        }
    }

    fn record(&mut self, room: usize, result: anyhow::Result<Uuid>, started: Instant) {
        let _ = self
            .round_trip_us
            .record((started.elapsed().as_micros() as u64).max(1));
        match result {
            Ok(id) => self.acked[room].push(id),
            Err(e) => {
                self.errors += 1;
                if self.error_samples.len() < 5 {
                    self.error_samples.push(format!("{e:#}"));
                }
            }
        }
    }

    fn finish(self, elapsed: Duration) -> Sent {
        Sent {
            acked: self.acked,
            errors: self.errors,
            error_samples: self.error_samples,
            elapsed,
            round_trip_us: self.round_trip_us,
            cpu: CpuSample::default(),
        }
    }
}

/// Every sender posts back to back for `duration`.
pub async fn closed_loop(api: &Api, rooms: &Rooms, senders: Vec<Sender>, duration: Duration) -> Sent {
    let tally = Arc::new(Mutex::new(Tally::new(rooms.rooms.len())));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|(room, member)| {
            let (api, tally, clock) = (api.clone(), tally.clone(), rooms.clock);
            let channel = rooms.rooms[room].channel;
            tokio::spawn(async move {
                let mut posted = 0;
                while Instant::now() < deadline && posted < MAX_POSTS_PER_SENDER {
                    let now = Instant::now();
                    let result = api.post(&member, channel, &content_due_at(clock, now)).await;
                    tally.lock().await.record(room, result, now);
                    posted += 1;
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    into_sent(tally, elapsed)
}

/// Posts start at `rate` per second for `duration`, round-robin over the senders, each in its
/// own task. Latency is measured from when a post was due, not when it started.
pub async fn open_loop(
    api: &Api,
    rooms: &Rooms,
    senders: Vec<Sender>,
    rate: f64,
    duration: Duration,
) -> Sent {
    let tally = Arc::new(Mutex::new(Tally::new(rooms.rooms.len())));
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let (room, member) = senders[i as usize % senders.len()].clone();
        let (api, tally, clock) = (api.clone(), tally.clone(), rooms.clock);
        let channel = rooms.rooms[room].channel;
        tasks.push(tokio::spawn(async move {
            let result = api.post(&member, channel, &content_due_at(clock, due)).await;
            tally.lock().await.record(room, result, due);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    into_sent(tally, elapsed)
}

fn into_sent(tally: Arc<Mutex<Tally>>, elapsed: Duration) -> Sent {
    let tally = Arc::try_unwrap(tally)
        .ok()
        .expect("every sender task has finished")
        .into_inner();
    tally.finish(elapsed)
}

/// `p` percentile of a µs histogram, in ms.
pub fn ms(h: &Histogram<u64>, p: f64) -> f64 {
    h.value_at_quantile(p / 100.0) as f64 / 1000.0
}

/// Figures and correctness checks shared by every sending workload.
pub fn judge(id: &str, title: &str, headline: Headline, sent: &Sent, got: &Deliveries) -> Outcome {
    let acked: u64 = sent.acked.iter().map(|a| a.len() as u64).sum();
    let secs = sent.elapsed.as_secs_f64();
    let mut o = Outcome::new(id, title, headline);
    o.figure("messages acknowledged (201)", acked as f64, "")
        .figure("acknowledged per second", acked as f64 / secs, "msgs/s")
        .figure("errors", sent.errors as f64, "")
        .figure("deliveries expected", got.expected as f64, "")
        .figure("deliveries received", got.delivered as f64, "")
        .figure(
            "deliveries per second",
            got.delivered as f64 / secs,
            "deliveries/s",
        )
        .figure("POST round trip p50", ms(&sent.round_trip_us, 50.0), "ms")
        .figure("POST round trip p99", ms(&sent.round_trip_us, 99.0), "ms")
        .figure("delivery latency p50", ms(&got.latency_us, 50.0), "ms")
        .figure("delivery latency p99", ms(&got.latency_us, 99.0), "ms")
        .figure("delivery latency p99.9", ms(&got.latency_us, 99.9), "ms")
        .figure("delivery latency max", got.latency_us.max() as f64 / 1000.0, "ms")
        .cpu_per_message(&sent.cpu, acked);
    o.fail_if(
        sent.errors > 0,
        format!("{} posts failed, e.g. {:?}", sent.errors, sent.error_samples),
    )
    .fail_if(
        got.delivered < got.expected,
        format!("{} deliveries missing", got.expected - got.delivered),
    )
    .fail_if(
        !got.dropped.is_empty(),
        format!(
            "{} members lost their socket, e.g. {:?}",
            got.dropped.len(),
            got.dropped.first()
        ),
    )
    .fail_if(
        got.foreign > 0,
        format!("{} frames reached the wrong channel", got.foreign),
    )
    .fail_if(acked == 0, "nothing was acknowledged");
    o
}

/// The throughput headline: acknowledged msgs/s against the baseline's messages per second.
pub fn throughput(sent: &Sent, baseline: Baseline, at_least: f64) -> Headline {
    let acked: u64 = sent.acked.iter().map(|a| a.len() as u64).sum();
    Headline::against(
        acked as f64 / sent.elapsed.as_secs_f64(),
        "msgs/s",
        baseline,
        at_least,
    )
}
