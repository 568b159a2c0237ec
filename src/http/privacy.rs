//! `/v1/users/me/erase` and `/v1/users/me/export`: the right to be forgotten and data
//! portability (docs/personal-data.md).

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio_util::io::ReaderStream;
use utoipa::ToSchema;
use uuid::Uuid;

use super::current_user::CurrentUser;
use super::error::ApiResult;
use super::routes::RouteBoth;
use super::schemas::ErrorBody;
use crate::commands::RequestMeta;
use crate::service::export::{self, ExportError};
use crate::service::users;
use crate::state::AppState;

/// How much of an export is buffered between the log and the client.
const EXPORT_BUFFER: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .both("/v1/users/me/erase", post(erase_me))
        .both("/v1/users/me/export", get(export_me))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(erase_me, export_me))]
pub struct PrivacyApi;

/// What became of the erased user's channels.
#[derive(Serialize, ToSchema)]
pub struct Erased {
    pub message: String,
    /// Channels handed to their longest-standing other member.
    #[schema(value_type = Vec<Object>)]
    pub handed_over: Vec<users::HandOver>,
    /// Channels deleted because nobody else was in them.
    pub deleted_channels: Vec<Uuid>,
}

/// Erases the caller: their profile, every message text and file name they wrote and their files
/// become unreadable everywhere, the log included; their username and e-mail are free again; every
/// token and socket of theirs is closed. Channels they own pass to the longest-standing other
/// member, or are deleted when empty. Cannot be undone.
#[utoipa::path(
    post, path = "/v1/users/me/erase", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Erased), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub async fn erase_me(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
) -> ApiResult<Json<Erased>> {
    let erasure = users::erase(&state.commands, &state.pool, &meta, Some(user.id), user.id).await?;
    Ok(Json(Erased {
        message: "User erased successfully".into(),
        handed_over: erasure.handed_over,
        deleted_channels: erasure.deleted_channels,
    }))
}

/// Everything the caller provided, as one JSON document (`format` "zync-export/1"): their profile
/// and its history, memberships, what they did to channels, and every message they posted with
/// every version of its text and a link route for each file. Streamed as it is read.
#[utoipa::path(
    get, path = "/v1/users/me/export", tag = "users", security(("bearer" = [])),
    responses((status = 200, content_type = "application/json", body = Object), (status = 401, body = ErrorBody))
)]
pub async fn export_me(State(state): State<AppState>, user: CurrentUser) -> Response {
    let (mut writer, reader) = tokio::io::duplex(EXPORT_BUFFER);
    let pool = state.pool.clone();
    tokio::spawn(async move {
        // The caller is live (their token was checked), so the export has begun by the time
        // anything fails: the body ends early, and the client sees an incomplete document.
        match export::export(&pool, user.id, &mut writer).await {
            Ok(()) => {}
            Err(ExportError::Write(_)) => {} // the client went away
            Err(e) => tracing::error!(user_id = %user.id, error = %e, "an export failed midway"),
        }
    });
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"zync-export-{}.json\"", user.id),
            ),
        ],
        Body::from_stream(ReaderStream::new(reader)),
    )
        .into_response()
}
