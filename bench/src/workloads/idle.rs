//! P5: many authenticated, idle WebSockets on one server, and what each costs it in resident
//! memory. The connections come from several 127.0.0.x source addresses, since one address has
//! only about 28k ephemeral ports.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{stream, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::api::Api;
use crate::machine::open_file_limit;
use crate::report::{Headline, Outcome};
use crate::server::Server;
use crate::subscriber::{self, Frame, Inbox};

/// The target: this many connections within 2 GiB of server memory.
pub const TARGET_CONNECTIONS: usize = 50_000;
const TARGET_BYTES: f64 = 2.0 * 1024.0 * 1024.0 * 1024.0;
/// Connections per source address: below the 28,232 ports of the default ephemeral range.
const PER_SOURCE: usize = 20_000;
/// File descriptors the server and the generator each keep for everything else.
const FD_HEADROOM: u64 = 400;
const CONNECTING_AT_ONCE: usize = 128;

struct Idle(Arc<AtomicU64>);

impl Inbox for Idle {
    fn receive(&mut self, _: Frame, _: Instant) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

pub async fn run(api: &Api, server: &Server, wanted: usize) -> anyhow::Result<Outcome> {
    // Both ends need a descriptor per connection, and each process is bound by its limit.
    let limit = open_file_limit().0.saturating_sub(FD_HEADROOM) as usize;
    let count = wanted.min(limit);
    let users = api.register_many("idle", 50).await?;
    let channel = api.create_channel(&users[0], "idle").await?;
    for u in &users[1..] {
        api.join(u, channel).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = server.rss_bytes()?;

    // Small client buffers: this is the generator's memory, not the server's.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (stop, stopped) = watch::channel(false);
    let frames = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let results: Vec<_> = stream::iter(0..count)
        .map(|i| {
            let url = api.channel_socket(channel, &users[i % users.len()].token);
            let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i / PER_SOURCE) as u8));
            async move { subscriber::connect(&url, Some(source), Some(config)).await }
        })
        .buffer_unordered(CONNECTING_AT_ONCE)
        .collect()
        .await;
    let open_took = started.elapsed();
    let mut failed = vec![];
    let mut members = vec![];
    for r in results {
        match r {
            Ok(ws) => members.push(subscriber::subscribe(ws, Idle(frames.clone()), stopped.clone())),
            Err(e) => failed.push(format!("{e:#}")),
        }
    }
    let open = members.len();

    // Every socket is subscribed: one message reaches them all.
    api.post(&users[0], channel, "are you there").await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while (frames.load(Ordering::Relaxed) as usize) < open && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reached = frames.load(Ordering::Relaxed) as usize;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss_bytes()?;

    let _ = stop.send(true);
    let mut dropped = 0;
    for m in members {
        if !matches!(m.await, Ok(Ok(_))) {
            dropped += 1;
        }
    }

    let per_connection = (rss_after.saturating_sub(rss_before)) as f64 / open.max(1) as f64;
    let at_target = rss_before as f64 + per_connection * TARGET_CONNECTIONS as f64;
    let mut o = Outcome::new(
        "P5",
        "idle connections",
        Headline::absolute(
            at_target / 1024.0 / 1024.0,
            "MiB RSS at 50k",
            TARGET_BYTES / 1024.0 / 1024.0,
            true,
        ),
    );
    o.figure("connections opened", open as f64, "")
        .figure("opening them took", open_took.as_secs_f64(), "s")
        .figure("server RSS before", rss_before as f64 / 1024.0 / 1024.0, "MiB")
        .figure(
            "server RSS with them open",
            rss_after as f64 / 1024.0 / 1024.0,
            "MiB",
        )
        .figure("server RSS per connection", per_connection / 1024.0, "KiB");
    if open < TARGET_CONNECTIONS {
        o.notes.push(format!(
            "{open} connections, not {TARGET_CONNECTIONS}: this process's open-file limit is {} and \
             raising the hard limit needs CAP_SYS_RESOURCE; the 50k figure is RSS before + 50,000 × \
             the measured cost per connection",
            open_file_limit().1
        ));
    }
    o.fail_if(
        !failed.is_empty(),
        format!("{} connections failed, e.g. {:?}", failed.len(), failed.first()),
    )
    .fail_if(
        reached < open,
        format!("the message reached {reached} of {open} sockets"),
    )
    .fail_if(
        dropped > 0,
        format!("{dropped} sockets were closed by the server while idle"),
    );
    Ok(o)
}
