//! Objects stored and read back: a small upload, an empty one, a multipart one, and deletion.

use std::time::Duration;

use zync::storage::s3::PART_SIZE;
use zync::storage::ObjectStore;

use crate::s3_server::S3Server;
use crate::support::{body, get, listed_keys, object_exists, payload, store};

#[tokio::test]
async fn small_upload_round_trips_through_a_presigned_url() {
    let server = S3Server::start().await;
    let store = store(&server).await;
    let data = payload(200_000);

    let stored = store
        .put("media/small.png".into(), "image/png".into(), body(&data))
        .await
        .unwrap();
    assert_eq!(stored, data.len() as u64);

    let url = store
        .access_url(
            "media/small.png".into(),
            "image/png".into(),
            "small.png".into(),
            Duration::from_secs(600),
            "http://unused.test".into(),
        )
        .await
        .unwrap();
    assert!(
        url.starts_with(&server.endpoint()),
        "path-style on the configured endpoint: {url}"
    );
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let response = get(&url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert!(response.bytes().await.unwrap() == data, "identical bytes");
}

#[tokio::test]
async fn an_empty_body_is_stored_as_an_empty_object() {
    let server = S3Server::start().await;
    let store = store(&server).await;
    assert_eq!(
        store
            .put("media/empty".into(), "text/plain".into(), body(&[]))
            .await
            .unwrap(),
        0
    );
    let url = store
        .access_url(
            "media/empty".into(),
            "text/plain".into(),
            "empty".into(),
            Duration::from_secs(60),
            "http://unused.test".into(),
        )
        .await
        .unwrap();
    let response = get(&url).await;
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn large_upload_goes_multipart_and_round_trips() {
    let server = S3Server::start().await;
    let store = store(&server).await;
    // Three parts: two full ones and a short last one.
    let data = payload(2 * PART_SIZE + 123_457);

    let stored = store
        .put(
            "media/big.bin".into(),
            "application/octet-stream".into(),
            body(&data),
        )
        .await
        .unwrap();
    assert_eq!(stored, data.len() as u64);

    let url = store
        .access_url(
            "media/big.bin".into(),
            "application/octet-stream".into(),
            "big.bin".into(),
            Duration::from_secs(600),
            "http://unused.test".into(),
        )
        .await
        .unwrap();
    let response = get(&url).await;
    assert_eq!(response.status(), 200);
    let got = response.bytes().await.unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "identical bytes");
    assert_eq!(listed_keys(&server).await, vec!["media/big.bin".to_string()]);
}

#[tokio::test]
async fn deleted_object_is_gone_and_deleting_again_is_fine() {
    let server = S3Server::start().await;
    let store = store(&server).await;
    store
        .put("media/d.txt".into(), "text/plain".into(), body(b"bye"))
        .await
        .unwrap();
    let url = store
        .access_url(
            "media/d.txt".into(),
            "text/plain".into(),
            "d.txt".into(),
            Duration::from_secs(600),
            "http://unused.test".into(),
        )
        .await
        .unwrap();
    assert_eq!(get(&url).await.status(), 200);

    store.delete("media/d.txt".into()).await.unwrap();
    assert_eq!(get(&url).await.status(), 404);
    assert!(!object_exists(&server, "media/d.txt").await);
    store
        .delete("media/d.txt".into())
        .await
        .expect("deleting a missing object is not an error");
}
