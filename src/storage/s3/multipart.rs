//! Uploads of one part or more (`PART_SIZE` each, the last shorter) as an S3 multipart upload,
//! holding one part in memory at a time. Any failure, or the upload future being dropped (the
//! client went away), aborts the upload, so nothing is ever left under the key or in the
//! bucket's pending uploads.

use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::{short_error, unavailable, S3Store};
use crate::storage::{ByteStream, StorageError};

/// Size of every multipart part but the last (S3's minimum part size). A body shorter than this
/// is sent with one PutObject.
pub const PART_SIZE: usize = 5 * 1024 * 1024;

impl S3Store {
    /// Stores `first` (a full part) and the rest of `parts` under `key` as a multipart upload.
    pub(super) async fn put_multipart(
        &self,
        key: String,
        content_type: String,
        first: Bytes,
        mut parts: PartReader,
    ) -> Result<u64, StorageError> {
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
pub(super) struct PartReader {
    body: ByteStream,
    carry: Bytes,
    done: bool,
}

impl PartReader {
    pub(super) fn new(body: ByteStream) -> Self {
        Self {
            body,
            carry: Bytes::new(),
            done: false,
        }
    }

    /// The next part; empty once the body is exhausted.
    pub(super) async fn next_part(&mut self) -> Result<Bytes, std::io::Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
