//! File storage behind one small trait, with two real implementations: a local directory (the
//! default, links served and signed by the app itself) and S3 (presigned GET URLs; any
//! S3-compatible endpoint).

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
    fn put(&self, key: String, content_type: String, body: ByteStream) -> BoxFuture<'_, Result<u64, StorageError>>;

    /// Removes the object; removing a missing object is not an error.
    fn delete(&self, key: String) -> BoxFuture<'_, Result<(), StorageError>>;

    /// A URL that lets anyone holding it GET the object until it expires.
    fn access_url(&self, key: String, expires_in: Duration) -> BoxFuture<'_, Result<String, StorageError>>;
}
