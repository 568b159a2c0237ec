//! Heartbeats, idle detection, shutdown, oversized messages and token expiry, on both sockets.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio_tungstenite::MaybeTlsStream;

use crate::support::TestApp;
use crate::ws_support::{channel_with, frame, native, native_now, next_within, until_close, zync, PATIENCE};

fn heartbeat(
    ping: Duration,
    idle: Duration,
) -> impl FnOnce(::zync::config::Config) -> ::zync::config::Config {
    move |mut c| {
        c.websocket.ping_interval = ping;
        c.websocket.idle_timeout = idle;
        c
    }
}

/// Server frames in raw bytes (unmasked, short: pings and closes): `(opcode, payload)`.
fn raw_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 2 {
        let opcode = bytes[0] & 0x0f;
        let len = usize::from(bytes[1] & 0x7f);
        assert!(len < 126, "only short control frames expected");
        out.push((opcode, bytes[2..2 + len].to_vec()));
        bytes = &bytes[2 + len..];
    }
    out
}

#[tokio::test]
async fn a_client_that_never_answers_pings_is_closed() {
    let app = TestApp::spawn_with(heartbeat(Duration::from_millis(200), Duration::from_secs(2))).await;
    let user = app.register("user").await;
    let channel = channel_with(&app, &user, &[], "general").await;
    let mut ws = zync(&app, &user.token, &channel).await;

    // Read the TCP stream underneath the WebSocket client: it never sees the pings, so it never
    // answers them.
    let MaybeTlsStream::Plain(tcp) = ws.get_mut() else {
        panic!("plain TCP expected");
    };
    let mut bytes = Vec::new();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes an unresponsive socket");

    let frames = raw_frames(&bytes);
    assert!(
        frames.iter().any(|(op, _)| *op == 0x9),
        "pinged first: {frames:?}"
    );
    let (op, payload) = frames.last().expect("a close frame");
    assert_eq!(*op, 0x8, "ends with a close frame: {frames:?}");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1001);
}

#[tokio::test]
async fn a_client_that_answers_pings_stays_connected() {
    let idle = Duration::from_secs(3);
    let app = TestApp::spawn_with(heartbeat(Duration::from_millis(200), idle)).await;
    let user = app.register("user").await;
    let channel = channel_with(&app, &user, &[], "general").await;
    let mut z = zync(&app, &user.token, &channel).await;
    let (mut n, _) = native(&app, &user).await;

    // The client library answers pings while it reads; over twice the idle timeout nothing but
    // pings arrives, and the sockets are still open afterwards.
    let (quiet_z, quiet_n) = tokio::join!(next_within(&mut z, idle * 2), next_within(&mut n, idle * 2));
    assert!(quiet_z.is_none(), "zync socket: {quiet_z:?}");
    assert!(quiet_n.is_none(), "native socket: {quiet_n:?}");
    let message = app.post_message(&user, &channel, "still there").await;
    assert_eq!(frame(&mut z).await, message);
    assert_eq!(frame(&mut n).await["data"], message);
}

#[tokio::test]
async fn shutdown_closes_open_sockets_with_1001() {
    let app = TestApp::spawn().await;
    let user = app.register("user").await;
    let channel = channel_with(&app, &user, &[], "general").await;
    let mut z = zync(&app, &user.token, &channel).await;
    let (mut n, _) = native_now(&app, &user).await;

    app.stop().await;
    for (name, ws) in [("zync", &mut z), ("native", &mut n)] {
        let (seen, code) = until_close(ws).await;
        assert_eq!(code, Some(1001), "{name} socket; frames before: {seen:?}");
    }
}

/// The close frame that ends `ws` (code and reason), after any frames; `None` if the connection
/// ended without one.
async fn close_frame(ws: &mut crate::ws_support::Ws) -> Option<(u16, String)> {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the socket closes in time")
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = TestApp::spawn().await;
    let user = app.register("user").await;
    let channel = channel_with(&app, &user, &[], "general").await;
    let mut z = zync(&app, &user.token, &channel).await;
    let (mut n, _) = native(&app, &user).await;
    let megabyte = "x".repeat(1024 * 1024);
    for (name, ws) in [("zync", &mut z), ("native", &mut n)] {
        ws.send(Message::Text(megabyte.clone().into()))
            .await
            .expect("the frame is sent");
        let close = close_frame(ws).await;
        assert_eq!(
            close.as_ref().map(|(code, _)| *code),
            Some(1009),
            "{name} socket: {close:?}"
        );
    }
    // Other sockets of the user are unaffected.
    let (mut again, _) = native(&app, &user).await;
    crate::ws_support::touch_profile(&app, &user, "still here").await;
    assert_eq!(frame(&mut again).await["type"], "user.updated");
}

#[tokio::test]
async fn open_sockets_close_with_1008_when_their_token_expires() {
    let app = TestApp::spawn_with(|mut c| {
        c.access_token_expire_seconds = Some(3);
        c
    })
    .await;
    let user = app.register("user").await;
    let channel = channel_with(&app, &user, &[], "general").await;
    // A fresh token, so the sockets open well before it expires.
    let token = app.login(&user.username, &user.password).await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let user = crate::support::TestUser { token, ..user };
    let mut z = zync(&app, &user.token, &channel).await;
    let (mut n, _) = native(&app, &user).await;
    for (name, ws) in [("zync", &mut z), ("native", &mut n)] {
        let close = close_frame(ws).await;
        assert_eq!(close, Some((1008, "token expired".to_string())), "{name} socket");
    }
    // A socket opened with the expired token is refused the same way.
    let mut late = zync(&app, &user.token, &channel).await;
    assert_eq!(
        close_frame(&mut late).await,
        Some((1008, "token expired".to_string()))
    );
}
