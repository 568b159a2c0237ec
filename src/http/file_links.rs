//! `GET /files/{*key}`: the local store's signed links, served by the app itself (S3 serves its
//! presigned URLs without us). A link is checked (signature, expiry, then whether a live message
//! still has the object) before the file is opened; the file goes out with `nosniff`, a
//! sandboxing CSP and the disposition both stores share ([`crate::storage::content_disposition`]).

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio_util::io::ReaderStream;

use super::error::{ApiError, ApiResult};
use super::extract::PathParam;
use super::files::{storage_error, FILE_NOT_FOUND};
use super::schemas::ErrorBody;
use crate::state::AppState;
use crate::storage::local::LinkError;
use crate::storage::{content_disposition, valid_key, StorageError};

/// What a link's query carries.
struct LinkParams {
    expires: i64,
    /// The download's file name, if the link names one.
    name: Option<String>,
    sig: String,
}

/// `expires`, `name` and `sig` of a link, from the raw query.
fn link_params(query: Option<&str>) -> Option<LinkParams> {
    let (mut expires, mut name, mut sig) = (None, None, None);
    for (param, value) in form_urlencoded::parse(query?.as_bytes()) {
        match &*param {
            "expires" => expires = value.parse::<i64>().ok(),
            "name" => name = Some(value.into_owned()),
            "sig" => sig = Some(value.into_owned()),
            _ => {}
        }
    }
    Some(LinkParams {
        expires: expires?,
        name,
        sig: sig?,
    })
}

#[utoipa::path(
    get, path = "/files/{key}", tag = "messages",
    params(
        ("key" = String, Path, description = "The object key, e.g. media/<uuid>.png"),
        ("expires" = i64, Query, description = "Unix time the link expires"),
        ("name" = Option<String>, Query, description = "The download's file name (signed)"),
        ("sig" = String, Query, description = "The link's signature"),
    ),
    responses(
        (status = 200, description = "The file (local store only), with nosniff; image/video/audio inline, anything else as an attachment"),
        (status = 403, description = "Expired, tampered or unsigned link", body = ErrorBody),
        (status = 404, description = "File not found", body = ErrorBody),
    )
)]
pub async fn serve_file(
    State(state): State<AppState>,
    PathParam(key): PathParam<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let Some(store) = state.local_files.as_ref() else {
        return Err(ApiError::not_found("Not Found"));
    };
    if !valid_key(&key) {
        return Err(ApiError::not_found(FILE_NOT_FOUND));
    }
    let Some(link) = link_params(query.as_deref()) else {
        return Err(ApiError::forbidden("Missing link signature"));
    };
    let now = chrono::Utc::now().timestamp();
    match store.verify(&key, link.expires, link.name.as_deref(), &link.sig, now) {
        Ok(()) => {}
        Err(LinkError::Expired) => return Err(ApiError::forbidden("This link has expired")),
        Err(LinkError::BadSignature) => return Err(ApiError::forbidden("Invalid link signature")),
    }
    // The read side decides, not the disk: a deleted message's object is removed shortly after
    // the deletion (by the file-removal reactor), and its links die with the deletion itself.
    if !crate::read::messages::file_is_live(&state.pool, &key).await? {
        return Err(ApiError::not_found(FILE_NOT_FOUND));
    }
    let object = store.open(&key).await.map_err(|e| match e {
        StorageError::NotFound => ApiError::not_found(FILE_NOT_FOUND),
        e => storage_error(&e),
    })?;
    let content_type = HeaderValue::from_str(&object.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    // The same rule S3 downloads follow (through the presigned URL).
    let disposition = content_disposition(&object.content_type, link.name.as_deref());
    let disposition =
        HeaderValue::from_str(&disposition).unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut response = Body::from_stream(ReaderStream::new(object.file)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(object.len));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Whatever it is, it never runs as a page of our origin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    Ok(response)
}
