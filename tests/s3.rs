//! The S3 store against a real S3-compatible server started in process (s3s-fs, verifying
//! SigV4 signatures): uploads small and multipart, download through presigned URLs (with the
//! `Content-Disposition` they ask for), expiry, tampering, delete, a failing body, and a stopped
//! server.

#[path = "common/s3_server.rs"]
mod s3_server;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use s3_server::{S3Server, ACCESS_KEY, BUCKET, REGION, SECRET_KEY};
use zync::storage::s3::{S3Settings, S3Store, PART_SIZE};
use zync::storage::{ByteStream, ObjectStore, StorageError};

fn settings(server: &S3Server) -> S3Settings {
    let vars = [
        ("S3_BUCKET_NAME", BUCKET.to_string()),
        ("AWS_DEFAULT_REGION", REGION.to_string()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
        ("S3_ENDPOINT_URL", server.endpoint()),
    ];
    S3Settings::from_lookup(|k| vars.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone()))
        .expect("a bucket is set")
}

async fn store(server: &S3Server) -> S3Store {
    S3Store::new(settings(server)).await.expect("store")
}

/// Deterministic, non-repeating-looking bytes.
fn payload(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// `data` as a stream of uneven chunks, as a network body would arrive.
fn body(data: &[u8]) -> ByteStream {
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(64 * 1024 + 7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(chunks).boxed()
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.expect("GET")
}

/// A raw client on the same server, to look behind the store's back.
fn raw_client(server: &S3Server) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(REGION))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "test",
        ))
        .endpoint_url(server.endpoint())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

async fn object_exists(server: &S3Server, key: &str) -> bool {
    let client = raw_client(server);
    match client.head_object().bucket(BUCKET).key(key).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => false,
        Err(e) => panic!("HEAD {key}: {e:?}"),
    }
}

async fn listed_keys(server: &S3Server) -> Vec<String> {
    let out = raw_client(server)
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .expect("list");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

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

/// The `response-content-disposition` a presigned URL asks S3 for.
fn requested_disposition(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "response-content-disposition")
        .map(|(_, value)| value.into_owned())
}

#[tokio::test]
async fn presigned_urls_serve_html_as_an_attachment_and_images_inline() {
    let server = S3Server::start().await;
    let store = store(&server).await;
    let page = b"<!DOCTYPE html><script>alert(document.cookie)</script>";
    store
        .put("media/page.html".into(), "text/html".into(), body(page))
        .await
        .unwrap();
    let image = payload(1000);
    store
        .put("media/pic.png".into(), "image/png".into(), body(&image))
        .await
        .unwrap();

    let html_url = store
        .access_url(
            "media/page.html".into(),
            "text/html".into(),
            "résumé \"v2\".html".into(),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    let attachment = "attachment; filename=\"r_sum_ _v2_.html\"; \
                      filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.html";
    assert_eq!(requested_disposition(&html_url).as_deref(), Some(attachment));
    let response = get(&html_url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert_eq!(response.headers()["content-disposition"], attachment);
    assert_eq!(&response.bytes().await.unwrap()[..], page);

    let png_url = store
        .access_url(
            "media/pic.png".into(),
            "image/png".into(),
            "pic.png".into(),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    let inline = "inline; filename=\"pic.png\"; filename*=UTF-8''pic.png";
    assert_eq!(requested_disposition(&png_url).as_deref(), Some(inline));
    let response = get(&png_url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-disposition"], inline);
    assert!(response.bytes().await.unwrap() == image);

    // The override is signed: a link holder can neither drop it nor make the page inline.
    let (head, query) = html_url.split_once('?').unwrap();
    let with_override = |value: Option<&str>| {
        let mut params: Vec<&str> = query
            .split('&')
            .filter(|p| !p.starts_with("response-content-disposition="))
            .collect();
        let replaced = value.map(|v| format!("response-content-disposition={v}"));
        params.extend(replaced.as_deref());
        format!("{head}?{}", params.join("&"))
    };
    assert_eq!(get(&with_override(None)).await.status(), 403, "override removed");
    assert_eq!(
        get(&with_override(Some("inline"))).await.status(),
        403,
        "override changed"
    );
    assert_eq!(
        get(&html_url).await.status(),
        200,
        "the untouched URL still works"
    );
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
async fn expired_presigned_url_is_refused() {
    let server = S3Server::start().await;
    let store = store(&server).await;
    store
        .put("media/x.txt".into(), "text/plain".into(), body(b"hello"))
        .await
        .unwrap();

    let url = store
        .access_url(
            "media/x.txt".into(),
            "text/plain".into(),
            "x.txt".into(),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(get(&url).await.status(), 200, "valid before it expires");
    // The signing time has one-second resolution: wait well past the expiry.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let response = get(&url).await;
    assert_eq!(response.status(), 403);
    let text = response.text().await.unwrap();
    assert!(text.contains("AccessDenied") && !text.contains("hello"), "{text}");
}

#[tokio::test]
async fn tampered_presigned_url_is_refused() {
    let server = S3Server::start().await;
    let store = store(&server).await;
    store
        .put("media/a.txt".into(), "text/plain".into(), body(b"secret a"))
        .await
        .unwrap();
    store
        .put("media/b.txt".into(), "text/plain".into(), body(b"secret b"))
        .await
        .unwrap();
    let url = store
        .access_url(
            "media/a.txt".into(),
            "text/plain".into(),
            "a.txt".into(),
            Duration::from_secs(600),
        )
        .await
        .unwrap();

    // A flipped signature digit.
    let (head, sig) = url.split_once("X-Amz-Signature=").unwrap();
    let sig: String = sig.chars().take(64).collect();
    let flipped = format!("{}{}", &sig[..63], if sig.ends_with('0') { '1' } else { '0' });
    let tampered = format!(
        "{head}X-Amz-Signature={flipped}{}",
        &url[head.len() + "X-Amz-Signature=".len() + 64..]
    );
    assert_ne!(tampered, url);
    assert_eq!(get(&tampered).await.status(), 403);

    // The same signature on another key, and with a longer expiry.
    assert_eq!(
        get(&url.replace("media/a.txt", "media/b.txt")).await.status(),
        403
    );
    assert_eq!(
        get(&url.replace("X-Amz-Expires=600", "X-Amz-Expires=6000"))
            .await
            .status(),
        403
    );
    // No signature at all.
    assert_eq!(
        get(&format!("{}/{BUCKET}/media/a.txt", server.endpoint()))
            .await
            .status(),
        403
    );

    assert_eq!(get(&url).await.status(), 200, "the untouched URL still works");
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
