//! `/messages` history routes: a channel's messages, one author's in a channel, and one author's
//! in every channel the caller belongs to, oldest first, paged by skip/limit or keyset cursor.
//! (A channel as it was at a past moment, from the audit log, is [`super::history`].)

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::channels::access;
use super::current_user::CurrentUser;
use super::error::ApiResult;
use super::extract::{PathParam, QueryParams};
use super::messages::require_member;
use super::paging::HistoryParams;
use super::routes::RouteBoth;
use super::schemas::ErrorBody;
use crate::read::messages::{self, Scope};
use crate::read::views::MessageRead;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .both("/messages/channel/{channel_id}", get(channel_history))
        .both(
            "/messages/channel/{channel_id}/user/{user_id}",
            get(channel_user_history),
        )
        .both("/messages/user/{user_id}", get(user_messages))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(channel_history, channel_user_history, user_messages))]
pub struct MessageHistoryApi;

#[derive(Deserialize)]
pub struct ChannelUserPath {
    pub channel_id: Uuid,
    pub user_id: Uuid,
}

#[utoipa::path(
    get, path = "/messages/channel/{channel_id}", tag = "messages", security(("bearer" = [])),
    params(("channel_id" = Uuid, Path), HistoryParams),
    responses(
        (status = 200, description = "Oldest first", body = [MessageRead]),
        (status = 401, body = ErrorBody),
        (status = 403, description = "You are not a member of this channel", body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn channel_history(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(channel_id): PathParam<Uuid>,
    QueryParams(params): QueryParams<HistoryParams>,
) -> ApiResult<Json<Vec<MessageRead>>> {
    let (page, cursor) = params.page()?;
    require_member(&access(&state, channel_id, user.id).await?)?;
    let found = messages::history(&state.pool, Scope::Channel(channel_id), page, cursor).await?;
    Ok(Json(found))
}

#[utoipa::path(
    get, path = "/messages/channel/{channel_id}/user/{user_id}", tag = "messages",
    security(("bearer" = [])),
    params(("channel_id" = Uuid, Path), ("user_id" = Uuid, Path), HistoryParams),
    responses(
        (status = 200, description = "That user's messages in the channel, oldest first", body = [MessageRead]),
        (status = 401, body = ErrorBody),
        (status = 403, description = "You are not a member of this channel", body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn channel_user_history(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(path): PathParam<ChannelUserPath>,
    QueryParams(params): QueryParams<HistoryParams>,
) -> ApiResult<Json<Vec<MessageRead>>> {
    let (page, cursor) = params.page()?;
    require_member(&access(&state, path.channel_id, user.id).await?)?;
    let scope = Scope::ChannelAuthor(path.channel_id, path.user_id);
    Ok(Json(messages::history(&state.pool, scope, page, cursor).await?))
}

#[utoipa::path(
    get, path = "/messages/user/{user_id}", tag = "messages", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), HistoryParams),
    responses(
        (status = 200, description = "The user's messages in channels the caller belongs to, oldest first", body = [MessageRead]),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn user_messages(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(author): PathParam<Uuid>,
    QueryParams(params): QueryParams<HistoryParams>,
) -> ApiResult<Json<Vec<MessageRead>>> {
    let (page, cursor) = params.page()?;
    let scope = Scope::AuthorVisibleTo {
        author,
        viewer: user.id,
    };
    Ok(Json(messages::history(&state.pool, scope, page, cursor).await?))
}
