//! File storage behind one small trait, with two real implementations: a local directory (the
//! default, links served and signed by the app itself) and S3 (presigned GET URLs; any
//! S3-compatible endpoint).

pub mod disposition;
pub mod marker;
pub mod nodes;
pub mod s3;
mod sniff;

pub use disposition::{content_disposition, displays_inline};
pub use sniff::{effective_content_type, SNIFF_BYTES};

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

/// An upload's bytes, streamed: never the whole file in memory.
pub type ByteStream = BoxStream<'static, Result<Bytes, std::io::Error>>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The body stream failed (the client went away, or the size limit was crossed: the
    /// caller's limiter ends the stream with an error of kind `InvalidData`).
    #[error("upload stream failed: {0}")]
    Body(std::io::Error),
    #[error("object not found")]
    NotFound,
    /// The backend could not be reached or refused the request; clients get 502/503.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

pub trait ObjectStore: Send + Sync {
    /// Stores `body` under `key`, returning the number of bytes stored. On error nothing is
    /// left behind under `key`.
    fn put(
        &self,
        key: String,
        content_type: String,
        body: ByteStream,
    ) -> BoxFuture<'_, Result<u64, StorageError>>;

    /// Removes the object; removing a missing object is not an error.
    fn delete(&self, key: String) -> BoxFuture<'_, Result<(), StorageError>>;

    /// A URL that lets anyone holding it GET the object until it expires. The download is
    /// shown inline or saved as an attachment named `filename` as [`content_disposition`]
    /// decides from `content_type` (the type recorded with the message and stored with the
    /// object). Always absolute: `origin` (`http://host:port`, where the asking client reached
    /// this server) prefixes links this server serves itself; stores whose links point
    /// elsewhere (S3) ignore it.
    fn access_url(
        &self,
        key: String,
        content_type: String,
        filename: String,
        expires_in: Duration,
        origin: String,
    ) -> BoxFuture<'_, Result<String, StorageError>>;
}

pub mod local;

/// Whether `e` is the limiter's "too large" error (see [`UploadLimit`]).
pub fn is_limit_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::InvalidData
}

/// Counts an upload's bytes and refuses the chunk that crosses `max`: the caller stops reading
/// at once and ends the storage stream with the returned error (kind `InvalidData`).
#[derive(Debug, Clone, Copy)]
pub struct UploadLimit {
    max: u64,
    seen: u64,
}

impl UploadLimit {
    pub fn new(max: u64) -> Self {
        Self { max, seen: 0 }
    }

    /// Admits `len` more bytes, or says the upload is too large.
    pub fn admit(&mut self, len: usize) -> Result<(), std::io::Error> {
        self.seen = self.seen.saturating_add(len as u64);
        if self.seen > self.max {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("upload larger than {} bytes", self.max),
            ))
        } else {
            Ok(())
        }
    }
}

/// A new object key: `media/<uuid v7>` plus the file name's extension, lower-cased and reduced to
/// ASCII letters and digits (at most 16), if it has one.
pub fn media_key(filename: &str) -> String {
    let id = uuid::Uuid::now_v7();
    match extension(filename) {
        Some(ext) => format!("media/{id}.{ext}"),
        None => format!("media/{id}"),
    }
}

fn extension(filename: &str) -> Option<String> {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let (stem, ext) = base.rsplit_once('.')?;
    if stem.is_empty() {
        return None;
    }
    let ext: String = ext
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    (!ext.is_empty()).then_some(ext)
}

/// A key every backend accepts: relative segments of `[A-Za-z0-9._-]`, none empty or starting
/// with a dot (so no `..`, no absolute paths, no hidden names), at most 1024 bytes.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 1024
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_a_sanitised_extension() {
        let key = media_key("Holiday Photo.JP*G");
        assert!(key.starts_with("media/") && key.ends_with(".jpg"), "{key}");
        assert!(!media_key("noext").contains('.'));
        assert!(!media_key(".bashrc").contains('.'));
        assert!(media_key("../../etc/passwd.s h").ends_with(".sh"));
        assert!(valid_key(&media_key("a.png")));
    }

    #[test]
    fn only_plain_relative_keys_are_valid() {
        assert!(valid_key("media/0190.png"));
        for bad in [
            "",
            "/etc/passwd",
            "media/../x",
            "..",
            "media//x",
            ".tmp/x",
            "media/a b",
            "a\\b",
        ] {
            assert!(!valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn the_limiter_refuses_the_crossing_chunk() {
        let mut limit = UploadLimit::new(10);
        assert!(limit.admit(6).is_ok());
        assert!(limit.admit(4).is_ok());
        let err = limit.admit(1).unwrap_err();
        assert!(is_limit_error(&err));
    }
}
