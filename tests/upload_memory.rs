//! An oversize upload is refused with 413 without the server holding the file in memory: the
//! real server process gets a 64 MiB upload against a 1 MiB limit, and its peak resident memory
//! (`VmHWM`) must not grow by anything near the file's size. Memory, not time, is measured.
//!
//! Loopback only: the server binds 127.0.0.1; the client writes at most 64 MiB.

#[path = "common/db.rs"]
mod db;
#[path = "common/node.rs"]
mod node;

use node::{call, register, Node};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMIT: usize = 1024 * 1024;
const FILE: usize = 64 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;
const BOUNDARY: &str = "zync-memory-test-boundary";

/// Peak resident set size of `pid`, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Streams a multipart upload of `size` bytes (chunked, never held whole) and returns the
/// response's status code. Stops writing once the server has answered and closed.
async fn upload(port: u16, token: &str, channel: &str, size: usize) -> u16 {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /messages/channels/{channel}/files HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        let chunk = |data: &[u8]| {
            let mut out = format!("{:x}\r\n", data.len()).into_bytes();
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
            out
        };
        wr.write_all(head.as_bytes()).await?;
        let part = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        );
        wr.write_all(&chunk(part.as_bytes())).await?;
        let data = chunk(&vec![b'z'; CHUNK]);
        for _ in 0..size / CHUNK {
            wr.write_all(&data).await?;
        }
        wr.write_all(&chunk(format!("\r\n--{BOUNDARY}--\r\n").as_bytes()))
            .await?;
        wr.write_all(b"0\r\n\r\n").await?;
        // Keep the write side open: a half-closed connection makes the server drop the request
        // (hyper's default), before it answers.
        std::io::Result::Ok(wr)
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    // The status line arrives first; the read ends at the status line or when the server closes.
    while !response.windows(2).any(|w| w == b"\r\n") {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    writer.abort();
    drop(writer.await);
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}

#[tokio::test]
async fn an_oversize_upload_is_refused_without_buffering_it() {
    let db = db::fresh_database().await;
    let limit = LIMIT.to_string();
    let mut server = Node::start_with("upload", &db::database_url(&db), &[("MAX_UPLOAD_BYTES", &limit)]);
    let client = reqwest::Client::new();
    server.ready(&client).await;
    let user = register(&client, &server, "uploader").await;
    let channel = call(
        client
            .post(server.url("/channels/"))
            .bearer_auth(&user.token)
            .json(&json!({"name": "files"})),
        201,
    )
    .await;
    let channel = channel["id"].as_str().unwrap().to_string();
    let port = server.url("").rsplit(':').next().unwrap().parse().unwrap();

    // Warm up the paths involved (an accepted and a refused upload), then measure.
    assert_eq!(upload(port, &user.token, &channel, LIMIT / 2).await, 201);
    assert_eq!(upload(port, &user.token, &channel, 2 * LIMIT).await, 413);
    let before = peak_rss(server.pid());
    assert_eq!(upload(port, &user.token, &channel, FILE).await, 413);
    let after = peak_rss(server.pid());
    let grew = after.saturating_sub(before);
    eprintln!("peak RSS {before} -> {after} bytes (+{grew}) for a {FILE}-byte upload");
    assert!(
        grew < (FILE / 4) as u64,
        "the server's peak memory grew by {grew} bytes for a {FILE}-byte upload it refused"
    );
}
