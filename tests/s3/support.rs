//! Shared setup: a store on the test server, test payloads and bodies, and a raw S3 client to
//! look behind the store's back.

use bytes::Bytes;
use futures::StreamExt;
use zync::storage::s3::{S3Settings, S3Store};
use zync::storage::ByteStream;

use crate::s3_server::{S3Server, ACCESS_KEY, BUCKET, REGION, SECRET_KEY};

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

pub async fn store(server: &S3Server) -> S3Store {
    S3Store::new(settings(server)).await.expect("store")
}

/// Deterministic, non-repeating-looking bytes.
pub fn payload(len: usize) -> Vec<u8> {
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
pub fn body(data: &[u8]) -> ByteStream {
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(64 * 1024 + 7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(chunks).boxed()
}

pub async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.expect("GET")
}

/// A raw client on the same server, to look behind the store's back.
pub fn raw_client(server: &S3Server) -> aws_sdk_s3::Client {
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

pub async fn object_exists(server: &S3Server, key: &str) -> bool {
    let client = raw_client(server);
    match client.head_object().bucket(BUCKET).key(key).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => false,
        Err(e) => panic!("HEAD {key}: {e:?}"),
    }
}

pub async fn listed_keys(server: &S3Server) -> Vec<String> {
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
