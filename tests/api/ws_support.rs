//! WebSocket helpers: real sockets (tokio-tungstenite) against a `TestApp`.
//!
//! Timeouts here only turn a hang into a failure; no test depends on the server being fast.
//! "Nothing else arrived" is proved by ordering: a sentinel event that comes after everything
//! that must not be delivered arrives next, and only then a short quiet wait adds a check for
//! anything sent out of order.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

use crate::support::{TestApp, TestUser};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Turns a hang into a failure.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// After a sentinel, how long to listen for a stray frame.
pub const QUIET: Duration = Duration::from_millis(300);

pub async fn open(app: &TestApp, path_and_query: &str) -> Ws {
    handshake(app, path_and_query)
        .await
        .unwrap_or_else(|status| panic!("handshake refused with {status}"))
}

/// The handshake's outcome: the socket, or the HTTP status it was refused with.
pub async fn handshake(app: &TestApp, path_and_query: &str) -> Result<Ws, u16> {
    let url = format!("ws://{}{}", app.addr, path_and_query);
    match tokio::time::timeout(PATIENCE, connect_async(url))
        .await
        .expect("handshake in time")
    {
        Ok((ws, response)) => {
            assert_eq!(response.status().as_u16(), 101);
            Ok(ws)
        }
        Err(Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("handshake failed: {e}"),
    }
}

/// The Zync socket of `channel`.
pub async fn zync(app: &TestApp, token: &str, channel: &str) -> Ws {
    open(app, &format!("/ws/{channel}?token={token}")).await
}

/// The native socket, starting right after everything already in the log; returns it with its
/// `ready` position. (A plain connection starts at the node's live position, which may trail the
/// REST calls just made by a moment: its first frames could be the test's own setup.)
pub async fn native(app: &TestApp, user: &TestUser) -> (Ws, i64) {
    let head: i64 = sqlx::query_scalar("SELECT coalesce(max(global_position), 0) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    resume(app, user, head).await
}

/// The native socket without `resume_from`: live from the node's current position.
pub async fn native_now(app: &TestApp, user: &TestUser) -> (Ws, i64) {
    ready(open(app, &format!("/v1/ws?token={}", user.token)).await).await
}

/// The native socket, resumed after `position`; returns it with its `ready` position.
pub async fn resume(app: &TestApp, user: &TestUser, position: i64) -> (Ws, i64) {
    ready(
        open(
            app,
            &format!("/v1/ws?token={}&resume_from={position}", user.token),
        )
        .await,
    )
    .await
}

async fn ready(mut ws: Ws) -> (Ws, i64) {
    let first = frame(&mut ws).await;
    assert_eq!(first["type"], "ready", "first frame: {first}");
    let position = first["position"].as_i64().expect("ready has a position");
    (ws, position)
}

#[derive(Debug)]
pub enum Next {
    Frame(Value),
    /// The close frame's code; `None` if the connection ended without one.
    Closed(Option<u16>),
}

/// The next text frame or the close (pings and pongs skipped), waiting at most `wait`.
pub async fn next_within(ws: &mut Ws, wait: Duration) -> Option<Next> {
    tokio::time::timeout(wait, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    return Next::Frame(serde_json::from_str(text.as_str()).expect("frames are JSON"))
                }
                Some(Ok(Message::Close(frame))) => return Next::Closed(frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Next::Closed(None),
            }
        }
    })
    .await
    .ok()
}

pub async fn next(ws: &mut Ws) -> Next {
    next_within(ws, PATIENCE)
        .await
        .expect("a frame or a close in time")
}

/// The next text frame; fails on a close.
pub async fn frame(ws: &mut Ws) -> Value {
    match next(ws).await {
        Next::Frame(value) => value,
        Next::Closed(code) => panic!("closed ({code:?}) where a frame was expected"),
    }
}

/// The next `n` text frames.
pub async fn frames(ws: &mut Ws, n: usize) -> Vec<Value> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(frame(ws).await);
    }
    out
}

/// Reads to the close: the frames before it and its code.
pub async fn until_close(ws: &mut Ws) -> (Vec<Value>, Option<u16>) {
    let mut seen = Vec::new();
    loop {
        match next(ws).await {
            Next::Frame(value) => seen.push(value),
            Next::Closed(code) => return (seen, code),
        }
    }
}

/// Asserts the socket closes with `code` and sends nothing before.
pub async fn expect_close(ws: &mut Ws, code: u16, why: &str) {
    let (seen, got) = until_close(ws).await;
    assert!(seen.is_empty(), "{why}: frames before the close: {seen:?}");
    assert_eq!(got, Some(code), "{why}: close code");
}

/// Asserts no text frame (nor a close) arrives for a short while.
pub async fn expect_quiet(ws: &mut Ws, why: &str) {
    if let Some(next) = next_within(ws, QUIET).await {
        panic!("{why}: expected nothing, got {next:?}");
    }
}

pub async fn send_json(ws: &mut Ws, value: Value) {
    ws.send(Message::Text(value.to_string().into()))
        .await
        .expect("client frame sent");
}

pub async fn send_typing(ws: &mut Ws, channel: &str) {
    send_json(ws, json!({"type": "typing", "channel_id": channel})).await;
}

/// A frame's `type`.
pub fn kind(frame: &Value) -> &str {
    frame["type"]
        .as_str()
        .unwrap_or_else(|| panic!("untyped frame {frame}"))
}

/// A frame's position.
pub fn position(frame: &Value) -> i64 {
    frame["position"]
        .as_i64()
        .unwrap_or_else(|| panic!("no position in {frame}"))
}

/// A channel with `owner` and `member`; returns its id.
pub async fn channel_with(app: &TestApp, owner: &TestUser, members: &[&TestUser], name: &str) -> String {
    let id = app.create_channel(owner, name).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for member in members {
        app.join(member, &id).await;
    }
    id
}

/// A profile change: a user's own `user.updated`, handy as a sentinel only they (and their
/// channels' members) see.
pub async fn touch_profile(app: &TestApp, user: &TestUser, bio: &str) {
    app.patch(
        &format!("/users/{}", user.id),
        Some(&user.token),
        json!({ "bio": bio }),
    )
    .await
    .expect(200);
}
