//! Uploading a file message: the object streamed into the store, the message posted (with the
//! idempotency protocol of [`super::posting`]), and the object removed again when no message will
//! refer to it. Reading the request's body is the adapter's: it feeds the store's stream.
//!
//! Only this use case removes objects, and only its own request's: objects of messages that were
//! posted are removed only by the file-removal reactor, after their deletion is in the log
//! (`crate::reactors::file_removal`), so a crash can never orphan a message's file.

use std::future::Future;

use aggregates::message::{MessageCommand, StoredFile};
use sqlx::PgPool;
use uuid::Uuid;

use super::idempotency::{Fingerprint, IdempotencyKey};
use super::posting::{self, Keyed, PostError, Posted};
use crate::commands::{CommandBus, RequestMeta};
use crate::read::views::MessageRead;
use crate::storage::{ByteStream, ObjectStore, StorageError};

/// What an upload needs besides its bytes.
pub struct Upload<'a> {
    pub author: Uuid,
    pub channel_id: Uuid,
    /// Where the object goes, and what the message will say about it.
    pub file: StoredFile,
    pub key: Option<&'a IdempotencyKey>,
}

/// Why an upload posted nothing; an object it stored is gone again, unless a message may
/// refer to it.
#[derive(Debug, thiserror::Error)]
pub enum UploadError<R: std::error::Error> {
    /// The adapter stopped feeding the body (it is too large, or unreadable).
    #[error(transparent)]
    Body(R),
    #[error(transparent)]
    Storage(StorageError),
    #[error(transparent)]
    Post(PostError),
}

/// Stores the bytes `feed` sends into `body`, then posts the file message. `feed` answers the
/// request's fingerprint when it read the whole body (`None` for an upload without a key), or
/// why it stopped.
pub async fn upload<R: std::error::Error>(
    commands: &CommandBus,
    pool: &PgPool,
    storage: &dyn ObjectStore,
    meta: &RequestMeta,
    upload: Upload<'_>,
    body: ByteStream,
    feed: impl Future<Output = Result<Option<Fingerprint>, R>>,
) -> Result<MessageRead, UploadError<R>> {
    let Upload {
        author,
        channel_id,
        file,
        key,
    } = upload;
    let object = file.s3_key.as_str().to_string();
    let put = storage.put(object.clone(), file.content_type.as_str().to_string(), body);
    let (stored, fed) = tokio::join!(put, feed);
    let fingerprint = match fed {
        Ok(fingerprint) => fingerprint,
        Err(refused) => {
            if stored.is_ok() {
                discard(storage, &object).await;
            }
            return Err(UploadError::Body(refused));
        }
    };
    stored.map_err(UploadError::Storage)?;

    let keyed = match (key, fingerprint) {
        (Some(key), Some(fingerprint)) => Some(Keyed { key, fingerprint }),
        _ => None,
    };
    let posted = posting::post(commands, pool, meta, author, keyed, |message_id| {
        MessageCommand::PostFile {
            message_id,
            channel_id,
            author_id: author,
            file,
        }
    })
    .await;
    match posted {
        Ok(Posted::New(message)) => Ok(message),
        // The original has its own object; this retry's copy is not needed.
        Ok(Posted::Original(original)) => {
            discard(storage, &object).await;
            Ok(original)
        }
        Err(e) => {
            if e.stored_nothing() {
                discard(storage, &object).await;
            }
            Err(UploadError::Post(e))
        }
    }
}

/// Removes an object this request stored and no message refers to. Best effort: a failure is
/// logged (the object is orphaned, but no link to it was ever handed out), not the client's
/// problem.
async fn discard(storage: &dyn ObjectStore, object: &str) {
    if let Err(e) = storage.delete(object.to_string()).await {
        tracing::warn!(key = object, error = %e, "could not remove an upload no message refers to");
    }
}
