//! Failures: a body that breaks off mid-upload, and a server that goes away.

use std::time::Instant;

use futures::StreamExt;
use zync::storage::s3::PART_SIZE;
use zync::storage::{ByteStream, ObjectStore, StorageError};

use crate::s3_server::S3Server;
use crate::support::{body, listed_keys, object_exists, payload, store};

/// `data`, then an error, as a client that goes away mid-upload.
fn failing_body(data: &[u8]) -> ByteStream {
    let ok = body(data);
    ok.chain(futures::stream::once(async {
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        ))
    }))
    .boxed()
}

#[tokio::test]
async fn a_body_that_fails_leaves_nothing_behind() {
    let server = S3Server::start().await;
    let store = store(&server).await;

    // Failing within the first part (would have been one PutObject).
    let err = store
        .put(
            "media/f1.bin".into(),
            "application/octet-stream".into(),
            failing_body(&payload(100_000)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StorageError::Body(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{err:?}"
    );

    // Failing after two parts were uploaded: the multipart upload is aborted.
    let err = store
        .put(
            "media/f2.bin".into(),
            "application/octet-stream".into(),
            failing_body(&payload(2 * PART_SIZE + 10)),
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, StorageError::Body(_)), "{err:?}");

    assert!(!object_exists(&server, "media/f1.bin").await);
    assert!(!object_exists(&server, "media/f2.bin").await);
    assert!(listed_keys(&server).await.is_empty());
    let files = server.files();
    assert!(
        files.is_empty(),
        "no object, part or upload record left: {files:?}"
    );
}

#[tokio::test]
async fn a_stopped_server_gives_a_clear_unavailable_error() {
    let mut server = S3Server::start().await;
    let store = store(&server).await;
    // A connection is open and pooled before the server goes away.
    store
        .put("media/before.txt".into(), "text/plain".into(), body(b"up"))
        .await
        .unwrap();
    server.stop().await;

    let started = Instant::now();
    let err = store
        .put("media/after.txt".into(), "text/plain".into(), body(b"down"))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    eprintln!("stopped server: {err} after {elapsed:?}");
    let StorageError::Unavailable(message) = &err else {
        panic!("expected Unavailable, got {err:?}")
    };
    assert!(
        message.contains("could not connect"),
        "a clear message: {message}"
    );
    assert!(message.len() < 300, "a short message: {message}");
    // How long it took is printed, not asserted (shared machines): the bounded retry and connect
    // timeouts in the store's settings are what keep it short.

    let err = store
        .put(
            "media/after-big.bin".into(),
            "application/octet-stream".into(),
            body(&payload(PART_SIZE + 1)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    let err = store.delete("media/before.txt".into()).await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
}
