//! Helpers for file messages: multipart bodies built by hand (so malformed parts can be sent
//! too), real PNG bytes, uploads and downloads over HTTP.

use std::path::{Path, PathBuf};

use reqwest::header::{HeaderMap, CONTENT_TYPE};

use crate::messages::{room, Room};
use crate::support::{Resp, TestApp, TestUser};

/// One multipart part.
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub bytes: &'a [u8],
}

/// A `file` part with a filename and a declared content type.
pub fn file_part<'a>(filename: &'a str, content_type: &'a str, bytes: &'a [u8]) -> Part<'a> {
    Part {
        name: "file",
        filename: Some(filename),
        content_type: Some(content_type),
        bytes,
    }
}

const BOUNDARY: &str = "zync-test-boundary-7d0c8a";

/// A `multipart/form-data` body and its content type.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(filename) = part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(ct) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

pub fn upload_path(channel: &str) -> String {
    format!("/messages/channels/{channel}/files")
}

pub async fn upload_parts(app: &TestApp, user: &TestUser, channel: &str, parts: &[Part<'_>]) -> Resp {
    upload_as(app, Some(&user.token), channel, parts).await
}

/// An upload with any credentials, or none.
pub async fn upload_as(app: &TestApp, token: Option<&str>, channel: &str, parts: &[Part<'_>]) -> Resp {
    let (content_type, body) = multipart(parts);
    let mut req = app
        .client
        .post(app.url(&upload_path(channel)))
        .header(CONTENT_TYPE, content_type)
        .body(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    TestApp::read(req.send().await.expect("upload sent")).await
}

pub async fn upload(
    app: &TestApp,
    user: &TestUser,
    channel: &str,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> Resp {
    upload_parts(app, user, channel, &[file_part(filename, content_type, bytes)]).await
}

pub async fn access_url(app: &TestApp, user: &TestUser, message_id: &str) -> Resp {
    app.get(&format!("/messages/{message_id}/access-url"), Some(&user.token))
        .await
}

/// The access URL of a file message, which `user` must be allowed (200) to get.
pub async fn link(app: &TestApp, user: &TestUser, message_id: &str) -> String {
    access_url(app, user, message_id).await.expect(200)["access_url"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An access URL as the server returned it, made absolute (the local store's are relative).
pub fn absolute(app: &TestApp, url: &str) -> String {
    if url.starts_with('/') {
        app.url(url)
    } else {
        url.to_string()
    }
}

pub struct Download {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

/// GETs a link with no credentials at all, as an independent client would.
pub async fn download(app: &TestApp, url: &str) -> Download {
    let resp = reqwest::Client::new()
        .get(absolute(app, url))
        .send()
        .await
        .expect("download sent");
    Download {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        bytes: resp.bytes().await.unwrap().to_vec(),
    }
}

impl Download {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The JSON `detail` of a refusal.
    pub fn detail(&self) -> String {
        let body: serde_json::Value = serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|_| panic!("non-JSON body: {}", String::from_utf8_lossy(&self.bytes)));
        body["detail"].as_str().expect("a detail").to_string()
    }
}

/// A test app whose data directory is known (to look at the stored files), adjusted by `adjust`.
pub async fn app_with_files(
    adjust: impl FnOnce(zync::config::Config) -> zync::config::Config,
) -> (TestApp, PathBuf) {
    let mut files = None;
    let app = TestApp::spawn_with(|config| {
        let config = adjust(config);
        files = Some(config.local_files_dir());
        config
    })
    .await;
    (app, files.unwrap())
}

pub async fn files_room() -> (TestApp, PathBuf, Room) {
    let (app, files) = app_with_files(|c| c).await;
    let room = room(&app).await;
    (app, files, room)
}

/// Every stored object (not the metadata or temporary files).
pub fn stored_objects(files: &Path) -> Vec<PathBuf> {
    let media = files.join("media");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&media)
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    found.sort();
    found
}

/// Files left in the store's temporary directory.
pub fn temporary_files(files: &Path) -> usize {
    std::fs::read_dir(files.join(".tmp"))
        .map(|dir| dir.count())
        .unwrap_or(0)
}

/// A real `width`×`height` RGB PNG (stored deflate blocks, correct CRCs and Adler-32).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend_from_slice(&[(x * 37 % 256) as u8, (y * 91 % 256) as u8, ((x ^ y) % 256) as u8]);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc_input);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}
