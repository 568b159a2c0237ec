//! Slow clients (slowloris): request heads and bodies that arrive too slowly are cut off, and
//! everyone else keeps being served meanwhile. Driven over raw TCP, since no HTTP client can be
//! made to be this slow.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::files_support::{file_part, multipart, upload_path};
use crate::messages::{post_path, room};
use crate::support::TestApp;

/// The configured header and body timeouts.
const CONFIGURED: Duration = Duration::from_secs(1);
/// How long a test waits for the server to act: far beyond `CONFIGURED` (the machine is
/// shared and noisy), but a test can never hang.
const BOUND: Duration = Duration::from_secs(20);
/// Between two slow writes.
const PAUSE: Duration = Duration::from_millis(250);

async fn app() -> TestApp {
    TestApp::spawn_with(|mut c| {
        c.http.header_timeout = CONFIGURED;
        c.http.body_timeout = CONFIGURED;
        c
    })
    .await
}

/// What the server did to a slow client.
#[derive(Debug)]
struct Outcome {
    /// The server closed (or reset) the connection within [`BOUND`].
    closed: bool,
    /// Everything the server sent before that.
    received: Vec<u8>,
}

impl Outcome {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }
}

/// Sends `first` at once, then one of `slowly` every [`PAUSE`] (until they run out), reading
/// whatever the server answers, until it closes the connection or [`BOUND`] passes.
async fn trickle(
    addr: std::net::SocketAddr,
    first: &[u8],
    slowly: impl IntoIterator<Item = Vec<u8>>,
) -> Outcome {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let started = Instant::now();
    let mut slowly = slowly.into_iter();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    if !first.is_empty() && stream.write_all(first).await.is_err() {
        return Outcome {
            closed: true,
            received,
        };
    }
    while started.elapsed() < BOUND {
        match timeout(PAUSE, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Outcome {
                    closed: true,
                    received,
                }
            }
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => {
                // Nothing from the server for a pause: send the next slow piece.
                if let Some(piece) = slowly.next() {
                    if stream.write_all(&piece).await.is_err() {
                        return Outcome {
                            closed: true,
                            received,
                        };
                    }
                }
            }
        }
    }
    Outcome {
        closed: false,
        received,
    }
}

/// A request head that is never finished: one more header line every pause.
fn endless_header_lines() -> impl Iterator<Item = Vec<u8>> {
    (0..).map(|i| format!("X-Slow-{i}: still coming\r\n").into_bytes())
}

fn one_byte_at_a_time(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.iter().map(|b| vec![*b]).collect()
}

#[tokio::test]
async fn slow_headers_are_disconnected() {
    let app = app().await;
    let outcome = trickle(
        app.addr,
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        endless_header_lines(),
    )
    .await;
    assert!(outcome.closed, "still open after {BOUND:?}: {outcome:?}");
    assert!(
        !outcome.text().starts_with("HTTP/1.1 200"),
        "an unfinished request was answered: {}",
        outcome.text()
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_disconnected() {
    let app = app().await;
    let outcome = trickle(app.addr, b"", []).await;
    assert!(outcome.closed, "still open after {BOUND:?}");
    assert!(outcome.received.is_empty(), "{}", outcome.text());
}

#[tokio::test]
async fn a_slow_http2_preface_is_disconnected() {
    // Before HTTP/1 parsing starts, the server reads the first bytes to tell the protocols apart.
    let app = app().await;
    let outcome = trickle(
        app.addr,
        b"",
        one_byte_at_a_time(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    )
    .await;
    assert!(outcome.closed, "still open after {BOUND:?}");
}

#[tokio::test]
async fn slow_headers_on_a_kept_alive_connection_are_disconnected() {
    let app = app().await;
    // A complete first request, then a second that never ends.
    let outcome = trickle(
        app.addr,
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET / HTTP/1.1\r\n",
        endless_header_lines(),
    )
    .await;
    assert!(outcome.closed, "still open after {BOUND:?}: {}", outcome.text());
    let text = outcome.text();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
}

/// A message post whose JSON body arrives as `first` at once, then `slowly`.
async fn post_slowly(
    app: &TestApp,
    token: &str,
    channel: &str,
    first: &[u8],
    slowly: Vec<Vec<u8>>,
) -> Outcome {
    let body_length = 200;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {body_length}\r\n\r\n",
        post_path(channel)
    );
    let mut start = head.into_bytes();
    start.extend_from_slice(first);
    trickle(app.addr, &start, slowly).await
}

#[track_caller]
fn assert_timed_out(outcome: &Outcome) {
    let text = outcome.text();
    assert!(text.starts_with("HTTP/1.1 408"), "not a 408: {outcome:?}");
    assert!(text.contains(r#"{"detail":"#), "no detail: {text}");
    assert!(outcome.closed, "still open after the 408: {text}");
}

async fn channel_is_empty(app: &TestApp, token: &str, channel: &str) {
    let history = app
        .get(&format!("/messages/channel/{channel}"), Some(token))
        .await
        .expect(200);
    assert_eq!(history, serde_json::json!([]), "something was posted");
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_posts_nothing() {
    let app = app().await;
    let r = room(&app).await;
    let token = &r.member.token;
    let outcome = post_slowly(&app, token, &r.channel, br#"{"content": "hel"#, vec![]).await;
    assert_timed_out(&outcome);
    channel_is_empty(&app, token, &r.channel).await;
}

#[tokio::test]
async fn a_trickled_body_gets_408_and_posts_nothing() {
    // A byte every pause: never idle for a whole timeout, but far too slow.
    let app = app().await;
    let r = room(&app).await;
    let token = &r.member.token;
    let body = format!(r#"{{"content": "{}"}}"#, "a".repeat(200 - 15));
    assert_eq!(body.len(), 200);
    let outcome = post_slowly(&app, token, &r.channel, b"", one_byte_at_a_time(body.as_bytes())).await;
    assert_timed_out(&outcome);
    channel_is_empty(&app, token, &r.channel).await;
}

#[tokio::test]
async fn an_upload_that_stalls_gets_408_not_500() {
    let app = app().await;
    let r = room(&app).await;
    let token = &r.member.token;
    let (content_type, body) = multipart(&[file_part("notes.txt", "text/plain", &[b'x'; 64 * 1024])]);
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        upload_path(&r.channel),
        body.len()
    );
    // The head and a quarter of the body, then nothing.
    let mut start = head.into_bytes();
    start.extend_from_slice(&body[..body.len() / 4]);
    let outcome = trickle(app.addr, &start, []).await;
    assert_timed_out(&outcome);
    channel_is_empty(&app, token, &r.channel).await;
}

#[tokio::test]
async fn other_clients_are_served_while_slow_ones_hang_on() {
    let app = app().await;
    let r = room(&app).await;
    let addr = app.addr;
    let mut slow = Vec::new();
    for _ in 0..4 {
        slow.push(tokio::spawn(trickle(
            addr,
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            endless_header_lines(),
        )));
    }
    slow.push(tokio::spawn(trickle(addr, b"", [])));
    // Let the slow ones connect first.
    tokio::time::sleep(Duration::from_millis(100)).await;

    // A client of its own, on fresh connections.
    let normal = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for i in 0..3 {
        let response = timeout(
            BOUND,
            normal
                .post(app.url(&post_path(&r.channel)))
                .bearer_auth(&r.member.token)
                .json(&serde_json::json!({"content": format!("normal {i}")}))
                .send(),
        )
        .await
        .expect("a normal client is answered")
        .expect("request sent");
        assert_eq!(response.status(), 201);
    }
    for task in slow {
        assert!(task.await.unwrap().closed);
    }
}
