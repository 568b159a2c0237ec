//! Helpers for file messages: multipart bodies built by hand (so malformed parts can be sent
//! too), real PNG bytes, uploads and downloads over HTTP.

use std::path::{Path, PathBuf};

use reqwest::header::{HeaderMap, CONTENT_TYPE};

// The PNG encoder is shared with the browser test.
#[path = "../common/png.rs"]
mod png_encoder;
pub use png_encoder::png;

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

/// A path on this app made absolute; an absolute URL (every access URL is one) as it is.
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

/// Waits (bounded) until the file-removal reactor has caught up with the log.
pub async fn reactors_caught_up(app: &TestApp) {
    crate::reactor::file_removal_caught_up(&app.pool).await;
}

/// The stored objects once the reactor has caught up (see [`reactors_caught_up`]).
pub async fn settled_objects(app: &TestApp, files: &Path) -> Vec<PathBuf> {
    reactors_caught_up(app).await;
    stored_objects(files)
}
