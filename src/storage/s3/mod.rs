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
use aws_sdk_s3::Client;
use futures::future::BoxFuture;

mod multipart;
mod settings;

use multipart::PartReader;
pub use multipart::PART_SIZE;
pub use settings::S3Settings;

use super::{content_disposition, ByteStream, ObjectStore, StorageError};

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

        self.put_multipart(key, content_type, first, parts).await
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
        _origin: String,
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
}
