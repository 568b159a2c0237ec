//! File messages: upload (`POST /messages/channels/{channel_id}/files`) and expiring access URLs
//! (`GET /messages/{message_id}/access-url`). The local store's links themselves
//! (`GET /files/{*key}`) are served by [`super::file_links`].
//!
//! An upload is authorized before its body is read, streamed through a size limiter into the
//! store (never held in memory), typed by its magic bytes (see
//! [`crate::storage::effective_content_type`]), and only then appended as a message; if the
//! append fails and certainly stored nothing, the object is removed again. This handler reads
//! the multipart body; storing, posting and removing are the use case [`crate::service::files`].

use std::io;

use aggregates::message::StoredFile;
use aggregates::values::{ContentType, FileName, StorageKey};
use axum::body::{Body, Bytes};
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde::Serialize;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::ToSchema;
use uuid::Uuid;

use super::channels::access;
use super::current_user::CurrentUser;
use super::error::{ApiError, ApiResult, Issue};
use super::extract::PathParam;
use super::messages::{message_access, require_member};
use super::origin::RequestOrigin;
use super::rate_limit::{self, RateHeaders};
use super::routes::RouteBoth;
use super::schemas::ErrorBody;
use crate::commands::RequestMeta;
use crate::read::views::MessageRead;
use crate::service::files::{self, Upload, UploadError};
use crate::service::idempotency::{Fingerprint, IdempotencyKey};
use crate::state::AppState;
use crate::storage::{effective_content_type, media_key, ByteStream, StorageError, UploadLimit, SNIFF_BYTES};

/// Room for the multipart framing (boundaries, part headers, small extra fields) on top of
/// `MAX_UPLOAD_BYTES`: the whole request body is capped at their sum.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;

const NO_FILENAME_OR_TYPE: &str = "File must have a filename and a content type";
const NOT_A_FILE_MESSAGE: &str = "Not a file message";
const STORAGE_UNAVAILABLE: &str = "File storage is unavailable; please retry";
pub(super) const FILE_NOT_FOUND: &str = "File not found";

pub fn routes() -> Router<AppState> {
    Router::new()
        .both(
            "/messages/channels/{channel_id}/files",
            // The global 1 MiB limit does not apply: the handler caps the body at
            // MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD (a runtime setting) itself.
            post(upload_file).layer(DefaultBodyLimit::disable()),
        )
        .both("/messages/{message_id}/access-url", get(access_url))
        .route("/files/{*key}", get(super::file_links::serve_file))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(upload_file, access_url, super::file_links::serve_file))]
pub struct FilesApi;

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FileUpload {
    /// The file; its part needs a filename and a content type.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessUrl {
    /// An absolute URL: GET it, from any origin, to download the file until it expires
    /// (`ACCESS_URL_EXPIRE_SECONDS`). With S3, a presigned URL of the bucket; with the local store,
    /// `<PUBLIC_BASE_URL>/files/...` when that is set, else a link on the scheme and host this
    /// request reached the server at (`Forwarded` / `X-Forwarded-Proto` / `X-Forwarded-Host`
    /// from a `TRUSTED_PROXIES` peer, otherwise `http://` and the `Host` header).
    pub access_url: String,
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("File too large: the limit is {max} bytes"),
    )
}

fn missing_file() -> ApiError {
    ApiError::invalid(Issue::new(&["body", "file"], "Field required", "missing"))
}

fn multipart_error(e: &MultipartError, max: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        ApiError::bad_request("Could not read the multipart body")
    }
}

pub(super) fn storage_error(e: &StorageError) -> ApiError {
    tracing::error!(error = %e, "file storage failed");
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, STORAGE_UNAVAILABLE)
}

/// The last path component of what the client called the file.
fn base_name(raw: &str) -> &str {
    raw.rsplit(['/', '\\']).next().unwrap_or(raw).trim()
}

/// Why feeding the storage stream stopped early.
#[derive(Debug, thiserror::Error)]
enum FeedError {
    #[error("the file is too large")]
    TooLarge,
    #[error(transparent)]
    Multipart(MultipartError),
}

#[utoipa::path(
    post, path = "/messages/channels/{channel_id}/files", tag = "messages",
    security(("bearer" = [])),
    params(
        ("channel_id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, max_length = 255,
         description = "Makes the upload safe to retry: a retry with the same key, name, type and bytes returns the original message"),
    ),
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The file message; `message_type` from its (sniffed) MIME type", body = MessageRead,
         headers(
            ("X-RateLimit-Limit" = u32, description = "Posts allowed in a burst"),
            ("X-RateLimit-Remaining" = u32, description = "Posts still allowed right now"),
            ("X-RateLimit-Reset-After" = f64, description = "Seconds until the limit is full again"),
        )),
        (status = 400, description = "File must have a filename and a content type", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "You are not a member of this channel", body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody),
        (status = 413, description = "Larger than MAX_UPLOAD_BYTES", body = ErrorBody),
        (status = 422, description = "No `file` field, or an Idempotency-Key reused with another request", body = ErrorBody),
        (status = 429, description = "Too many posts by this user (RATE_LIMIT_MESSAGES)", body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds to wait before posting again"))),
        (status = 503, description = "File storage unavailable; nothing was posted", body = ErrorBody),
    )
)]
pub async fn upload_file(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(channel_id): PathParam<Uuid>,
    idempotency_key: Option<IdempotencyKey>,
    request: Request,
) -> ApiResult<(StatusCode, RateHeaders, Json<MessageRead>)> {
    let rate = rate_limit::take_post(&state, user.id)?;
    // Decided before a byte of the body is read.
    require_member(&access(&state, channel_id, user.id).await?)?;

    let max = state.files.max_upload_bytes;
    let cap = usize::try_from(max.saturating_add(MULTIPART_OVERHEAD)).unwrap_or(usize::MAX);
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts, Body::new(http_body_util::Limited::new(body, cap)));
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| missing_file())?;
    let mut field = loop {
        match multipart
            .next_field()
            .await
            .map_err(|e| multipart_error(&e, max))?
        {
            Some(field) if field.name() == Some("file") => break field,
            Some(_) => continue,
            None => return Err(missing_file()),
        }
    };
    let filename = field.file_name().map(base_name).filter(|n| !n.is_empty());
    let declared = field.content_type().map(str::trim).filter(|t| !t.is_empty());
    let (Some(filename), Some(declared)) = (filename, declared) else {
        return Err(ApiError::bad_request(NO_FILENAME_OR_TYPE));
    };
    let original_filename = FileName::parse(filename).map_err(|e| ApiError::invalid(Issue::body(&e)))?;
    let declared = declared.to_string();
    // Only a keyed upload pays for hashing its bytes.
    let mut fingerprint = idempotency_key.as_ref().map(|_| {
        Fingerprint::new("file", channel_id)
            .field(original_filename.as_str().as_bytes())
            .field(declared.as_bytes())
    });

    // The first bytes, to sniff the real type before the store is told the content type.
    let mut limit = UploadLimit::new(max);
    let mut prefix = Vec::new();
    let mut complete = false;
    while prefix.len() < SNIFF_BYTES {
        match field.chunk().await.map_err(|e| multipart_error(&e, max))? {
            Some(chunk) => {
                limit.admit(chunk.len()).map_err(|_| too_large(max))?;
                prefix.extend_from_slice(&chunk);
            }
            None => {
                complete = true;
                break;
            }
        }
    }
    let content_type = ContentType::parse(effective_content_type(
        &declared,
        original_filename.as_str(),
        &prefix,
    ))
    .map_err(|e| ApiError::invalid(Issue::body(&e)))?;
    let key = media_key(original_filename.as_str());

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(4);
    let body: ByteStream = ReceiverStream::new(rx).boxed();
    let feed = async move {
        if let Some(fingerprint) = &mut fingerprint {
            fingerprint.update(&prefix);
        }
        if !prefix.is_empty() && tx.send(Ok(Bytes::from(prefix))).await.is_err() {
            return Ok(fingerprint);
        }
        if complete {
            return Ok(fingerprint);
        }
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if let Err(e) = limit.admit(chunk.len()) {
                        // Stop reading here: the store discards what it has.
                        let _ = tx.send(Err(e)).await;
                        return Err(FeedError::TooLarge);
                    }
                    if let Some(fingerprint) = &mut fingerprint {
                        fingerprint.update(&chunk);
                    }
                    if tx.send(Ok(chunk)).await.is_err() {
                        // The store stopped reading; its own error says why.
                        return Ok(fingerprint);
                    }
                }
                Ok(None) => return Ok(fingerprint),
                Err(e) => {
                    let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
                    return Err(FeedError::Multipart(e));
                }
            }
        }
    };
    let upload = Upload {
        author: user.id,
        channel_id,
        file: StoredFile {
            s3_key: StorageKey::parse(key).expect("generated keys are short"),
            content_type,
            original_filename: original_filename.into(),
        },
        key: idempotency_key.as_ref(),
    };
    let uploaded = files::upload(
        &state.commands,
        &state.pool,
        state.storage.as_ref(),
        &meta,
        upload,
        body,
        feed,
    )
    .await;
    let message = uploaded.map_err(|e| match e {
        UploadError::Body(FeedError::TooLarge) => too_large(max),
        UploadError::Body(FeedError::Multipart(e)) => multipart_error(&e, max),
        UploadError::Storage(StorageError::Body(e)) if crate::storage::is_limit_error(&e) => too_large(max),
        UploadError::Storage(StorageError::Body(_)) => {
            ApiError::bad_request("Could not read the multipart body")
        }
        UploadError::Storage(e) => storage_error(&e),
        UploadError::Post(e) => e.into(),
    })?;
    Ok((StatusCode::CREATED, rate, Json(message)))
}

#[utoipa::path(
    get, path = "/messages/{message_id}/access-url", tag = "messages", security(("bearer" = [])),
    params(("message_id" = Uuid, Path)),
    responses(
        (status = 200, description = "An absolute URL to GET the file from anywhere, valid for ACCESS_URL_EXPIRE_SECONDS", body = AccessUrl),
        (status = 400, description = "Not a file message", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "You are not a member of this channel", body = ErrorBody),
        (status = 404, description = "Message not found", body = ErrorBody),
        (status = 503, description = "File storage unavailable", body = ErrorBody),
    )
)]
pub async fn access_url(
    State(state): State<AppState>,
    user: CurrentUser,
    origin: RequestOrigin,
    PathParam(message_id): PathParam<Uuid>,
) -> ApiResult<Json<AccessUrl>> {
    let (message, access) = message_access(&state, message_id, user.id).await?;
    require_member(&access)?;
    let Some(key) = message.s3_key else {
        return Err(ApiError::bad_request(NOT_A_FILE_MESSAGE));
    };
    let url = state
        .storage
        .access_url(
            key,
            message.content_type.unwrap_or_default(),
            message.original_filename.unwrap_or_default(),
            state.files.access_url_expiry,
            origin.into_string(),
        )
        .await
        .map_err(|e| match e {
            StorageError::NotFound => ApiError::not_found(FILE_NOT_FOUND),
            e => storage_error(&e),
        })?;
    Ok(Json(AccessUrl { access_url: url }))
}
