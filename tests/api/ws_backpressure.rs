//! A client that stops reading is cut off (native: `resync_required` then 4008; Zync: 1013)
//! while a reading client on the same channel gets everything; the cut-off one resumes losslessly.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::support::TestApp;
use crate::ws_support::{channel_with, frames, kind, native, position, resume, until_close, zync};

/// The ping interval, and so how long the server lets a full queue stand still.
const STALL: Duration = Duration::from_secs(1);

/// The biggest message there is: 4000 four-byte characters.
fn big_content() -> String {
    "😀".repeat(4000)
}

/// How many big messages it takes to be sure a client that doesn't read fills the server's
/// queue: first the kernel's socket buffers take what they can (the sender's grows up to
/// `tcp_wmem`'s maximum, the reader's starts at `tcp_rmem`'s default and only grows when read).
/// Read from the machine rather than guessed, with a margin.
fn flood_size() -> usize {
    let field = |path: &str, index: usize| -> Option<usize> {
        std::fs::read_to_string(path)
            .ok()?
            .split_whitespace()
            .nth(index)?
            .parse()
            .ok()
    };
    let send_max = field("/proc/sys/net/ipv4/tcp_wmem", 2).unwrap_or(4 << 20);
    let receive = field("/proc/sys/net/ipv4/tcp_rmem", 1).unwrap_or(128 << 10);
    let buffered = send_max + 2 * receive + (2 << 20);
    buffered / 16_000 + 50
}

fn ids(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| f["data"]["id"].as_str().expect("a message frame").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_stops_reading_is_told_to_resync_while_others_get_everything() {
    let app = TestApp::spawn_with(|mut c| {
        c.websocket.send_queue = 8;
        // The server gives a full queue one ping interval (at most) to move before it gives up.
        c.websocket.ping_interval = STALL;
        // The flood is one author's, faster than any per-user posting limit allows.
        c.limits.messages = None;
        c
    })
    .await;
    let owner = app.register("owner").await;
    let slow = app.register("slow").await;
    let normal = app.register("normal").await;
    let channel = channel_with(&app, &owner, &[&slow, &normal], "general").await;

    let (mut slow_ws, slow_ready) = native(&app, &slow).await;
    let mut slow_zync = zync(&app, &slow.token, &channel).await;
    let (mut normal_ws, _) = native(&app, &normal).await;
    let n = flood_size();
    let reader = tokio::spawn(async move { frames(&mut normal_ws, n).await });

    // Posted concurrently: the log decides the order, the sockets must follow it.
    let content = big_content();
    let posted: Vec<Value> = futures::stream::iter(0..n)
        .map(|_| app.post_message(&owner, &channel, &content))
        .buffer_unordered(8)
        .collect()
        .await;
    let posted_ids: HashSet<String> = posted
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();

    let normal_frames = reader.await.unwrap();
    assert!(normal_frames.iter().all(|f| kind(f) == "message.created"));
    let normal_ids = ids(&normal_frames);
    assert_eq!(
        normal_ids.iter().cloned().collect::<HashSet<_>>(),
        posted_ids,
        "the reading client got every message, once"
    );

    // "Not reading" only means something over time: the server waits up to STALL for a full
    // queue to move. Stay unread for five times that (the one wait in these tests that the
    // server must fit in; reading sooner would make the slow client a reading one again).
    tokio::time::sleep(STALL * 5).await;
    // Only now does the slow client read: what was queued for it, then the resync frame.
    let (seen, code) = until_close(&mut slow_ws).await;
    assert_eq!(code, Some(4008));
    let (resync, messages) = seen.split_last().expect("a resync frame");
    assert_eq!(kind(resync), "resync_required", "{resync}");
    assert!(messages.len() < n, "the slow client was cut off");
    assert!(messages.iter().all(|f| kind(f) == "message.created"));
    assert_eq!(
        ids(messages),
        normal_ids[..messages.len()],
        "what it got is a prefix of the stream"
    );
    let resume_at = messages.last().map_or(slow_ready, position);
    assert_eq!(
        position(resync),
        resume_at,
        "the resync position is the last one delivered"
    );

    // Resuming from there yields exactly the rest (backfilled at the client's pace, through
    // the same 8-frame queue).
    let (mut resumed, ready) = resume(&app, &slow, resume_at).await;
    assert_eq!(ready, resume_at);
    let rest = frames(&mut resumed, n - messages.len()).await;
    assert_eq!(
        ids(&rest),
        normal_ids[messages.len()..],
        "the rest, in order, no duplicate"
    );

    // The Zync socket can't resume: it just closes with 1013 after what it was sent.
    let (zync_seen, zync_code) = until_close(&mut slow_zync).await;
    assert_eq!(zync_code, Some(1013));
    assert!(zync_seen.len() < n);
    let zync_ids: Vec<String> = zync_seen
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(zync_ids, normal_ids[..zync_seen.len()]);
}
