//! S3 (or any S3-compatible server) through aws-sdk-s3. Uploads are streamed: a body under one
//! part is a single PutObject, anything larger a multipart upload with bounded memory (one part
//! buffered at a time) that is aborted on any failure, so nothing is ever left under the key.
//! Access URLs are presigned GETs that tell S3 which `Content-Disposition` to send.

use std::fmt;
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::StreamExt;

mod settings;

pub use settings::S3Settings;

use super::{content_disposition, ByteStream, ObjectStore, StorageError};

/// Size of every multipart part but the last (S3's minimum part size). A body shorter than this
/// is sent with one PutObject.
pub const PART_SIZE: usize = 5 * 1024 * 1024;

/// Objects in one S3 bucket.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    /// Builds the client from `settings` alone (no AWS profile or metadata lookups). Makes no
    /// request: an unreachable server shows up on the first operation, as `Unavailable`.
    pub async fn new(settings: S3Settings) -> Result<Self, StorageError> {
        let (Some(access_key_id), Some(secret_access_key)) =
            (settings.access_key_id.clone(), settings.secret_access_key.clone())
        else {
            return Err(StorageError::Unavailable(
                "S3_BUCKET_NAME is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not".into(),
            ));
        };
        let credentials = Credentials::new(
            access_key_id,
            secret_access_key,
            settings.session_token.clone(),
            None,
            "zync-environment",
        );
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(credentials)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(settings.connect_timeout)
                    .operation_timeout(settings.operation_timeout)
                    .build(),
            );
        if let Some(endpoint) = &settings.endpoint_url {
            // S3-compatible servers generally lack virtual-host buckets and the newer flexible
            // checksums; only send and check checksums where the operation requires them.
            builder = builder
                .endpoint_url(endpoint.clone())
                .force_path_style(true)
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        Ok(Self {
            client: Client::from_conf(builder.build()),
            bucket: settings.bucket,
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put_streamed(
        &self,
        key: String,
        content_type: String,
        body: ByteStream,
    ) -> Result<u64, StorageError> {
        let mut parts = PartReader::new(body);
        let first = parts.next_part().await.map_err(StorageError::Body)?;
        if first.len() < PART_SIZE {
            let len = first.len() as u64;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_type(content_type)
                .body(SdkBody::from(first))
                .send()
                .await
                .map_err(|e| unavailable("PutObject", e))?;
            return Ok(len);
        }

        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| unavailable("CreateMultipartUpload", e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| StorageError::Unavailable("CreateMultipartUpload returned no upload id".into()))?
            .to_string();
        // Aborts the upload if this future is dropped half-way (the client went away).
        let mut guard = AbortOnDrop {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.clone(),
            upload_id: Some(upload_id.clone()),
        };

        let result = self.upload_parts(&key, &upload_id, first, &mut parts).await;
        if result.is_err() {
            self.abort(&key, &upload_id).await;
        }
        guard.upload_id = None;
        result
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        first: Bytes,
        parts: &mut PartReader,
    ) -> Result<u64, StorageError> {
        let mut completed = Vec::new();
        let mut total = 0u64;
        let mut part = first;
        loop {
            let part_number = i32::try_from(completed.len() + 1)
                .map_err(|_| StorageError::Unavailable("too many parts".into()))?;
            total += part.len() as u64;
            let uploaded = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(part_number)
                .body(SdkBody::from(part))
                .send()
                .await
                .map_err(|e| unavailable("UploadPart", e))?;
            completed.push(
                CompletedPart::builder()
                    .part_number(part_number)
                    .set_e_tag(uploaded.e_tag().map(str::to_string))
                    .build(),
            );
            part = parts.next_part().await.map_err(StorageError::Body)?;
            if part.is_empty() {
                break;
            }
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| unavailable("CompleteMultipartUpload", e))?;
        Ok(total)
    }

    async fn abort(&self, key: &str, upload_id: &str) {
        abort_upload(&self.client, &self.bucket, key, upload_id).await;
    }
}

async fn abort_upload(client: &Client, bucket: &str, key: &str, upload_id: &str) {
    let result = client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await;
    if let Err(e) = result {
        tracing::warn!(key, upload_id, error = %short_error(&e), "could not abort a multipart upload");
    }
}

struct AbortOnDrop {
    client: Client,
    bucket: String,
    key: String,
    upload_id: Option<String>,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(upload_id) = self.upload_id.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %self.key, upload_id, "multipart upload dropped outside a runtime; not aborted");
            return;
        };
        let (client, bucket, key) = (
            self.client.clone(),
            std::mem::take(&mut self.bucket),
            std::mem::take(&mut self.key),
        );
        runtime.spawn(async move { abort_upload(&client, &bucket, &key, &upload_id).await });
    }
}

/// Cuts a byte stream into parts of exactly `PART_SIZE` bytes (the last one shorter), holding
/// at most one part plus one incoming chunk.
struct PartReader {
    body: ByteStream,
    carry: Bytes,
    done: bool,
}

impl PartReader {
    fn new(body: ByteStream) -> Self {
        Self {
            body,
            carry: Bytes::new(),
            done: false,
        }
    }

    /// The next part; empty once the body is exhausted.
    async fn next_part(&mut self) -> Result<Bytes, std::io::Error> {
        let mut buf = BytesMut::new();
        loop {
            if !self.carry.is_empty() {
                let take = (PART_SIZE - buf.len()).min(self.carry.len());
                let chunk = self.carry.split_to(take);
                if buf.is_empty() && take == PART_SIZE {
                    return Ok(chunk);
                }
                buf.extend_from_slice(&chunk);
            }
            if buf.len() == PART_SIZE || self.done {
                return Ok(buf.freeze());
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.carry = chunk,
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None => self.done = true,
            }
        }
    }
}

fn unavailable<E, R>(operation: &str, error: SdkError<E, R>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    StorageError::Unavailable(format!("{operation}: {}", short_error(&error)))
}

/// One line that says what went wrong without the SDK's nested debug output.
fn short_error<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    match error {
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                "timed out connecting to"
            } else if failure.is_io() {
                "could not connect to"
            } else {
                "could not send a request to"
            };
            // The innermost cause is the useful one ("Connection refused", "timed out"...).
            let mut cause = std::error::Error::source(error);
            while let Some(next) = cause.and_then(std::error::Error::source) {
                cause = Some(next);
            }
            match cause {
                Some(cause) => format!("{kind} the storage server ({cause})"),
                None => format!("{kind} the storage server"),
            }
        }
        SdkError::TimeoutError(_) => "the storage server did not answer in time".into(),
        SdkError::ResponseError(_) => "the storage server sent an invalid response".into(),
        SdkError::ServiceError(service) => {
            let err = service.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("the storage server refused: {code}: {message}"),
                (Some(code), None) => format!("the storage server refused: {code}"),
                _ => format!("the storage server refused the request ({err})"),
            }
        }
        SdkError::ConstructionFailure(_) => "could not build the request".into(),
        _ => "request failed".into(),
    }
}

impl ObjectStore for S3Store {
    fn put(
        &self,
        key: String,
        content_type: String,
        body: ByteStream,
    ) -> BoxFuture<'_, Result<u64, StorageError>> {
        Box::pin(self.put_streamed(key, content_type, body))
    }

    fn delete(&self, key: String) -> BoxFuture<'_, Result<(), StorageError>> {
        Box::pin(async move {
            match self
                .client
                .delete_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("NoSuchKey") => Ok(()),
                Err(e) => Err(unavailable("DeleteObject", e)),
            }
        })
    }

    fn access_url(
        &self,
        key: String,
        content_type: String,
        filename: String,
        expires_in: Duration,
    ) -> BoxFuture<'_, Result<String, StorageError>> {
        Box::pin(async move {
            let config = PresigningConfig::expires_in(expires_in)
                .map_err(|e| StorageError::Unavailable(format!("invalid access URL expiry: {e}")))?;
            // S3 sends the object's stored headers, which say nothing about disposition: the
            // override makes it send ours. It is part of the signed query, so a link holder
            // cannot remove it or turn an attachment inline.
            let disposition = content_disposition(&content_type, Some(&filename));
            let presigned = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(&key)
                .response_content_disposition(disposition)
                .presigned(config)
                .await
                .map_err(|e| unavailable("presign GetObject", e))?;
            Ok(presigned.uri().to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bucket_without_credentials_is_refused() {
        let err = S3Store::new(S3Settings::new("files")).await.unwrap_err();
        assert!(matches!(err, StorageError::Unavailable(m) if m.contains("AWS_ACCESS_KEY_ID")));
    }

    fn stream(chunks: Vec<Result<Bytes, std::io::Error>>) -> ByteStream {
        futures::stream::iter(chunks).boxed()
    }

    #[tokio::test]
    async fn parts_are_exactly_part_size_and_the_last_is_shorter() {
        let big = Bytes::from(vec![7u8; PART_SIZE + PART_SIZE / 2]);
        let mut reader = PartReader::new(stream(vec![
            Ok(Bytes::from_static(b"abc")),
            Ok(big),
            Ok(Bytes::from_static(b"xyz")),
        ]));
        assert_eq!(reader.next_part().await.unwrap().len(), PART_SIZE);
        assert_eq!(reader.next_part().await.unwrap().len(), PART_SIZE / 2 + 6);
        assert!(reader.next_part().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_body_error_is_reported() {
        let mut reader = PartReader::new(stream(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("gone")),
        ]));
        assert!(reader.next_part().await.is_err());
    }
}
