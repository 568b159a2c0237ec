//! Membership routes: joining, leaving, members, and who belongs where.
//!
//! As in `channels.rs`, standing in a channel is decided from the guard tables (strongly
//! consistent); lists come from the read tables.

use aggregates::channel::ChannelError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use uuid::Uuid;

use super::channels::{access, require_user, USER_NOT_FOUND};
use super::current_user::CurrentUser;
use super::error::{ApiError, ApiResult};
use super::errors_map::NOT_A_MEMBER;
use super::extract::{PathParam, QueryParams};
use super::paging::PageParams;
use super::routes::RouteBoth;
use super::schemas::ErrorBody;
use crate::commands::RequestMeta;
use crate::read::channels;
use crate::read::views::{ChannelRead, Membership, UserRead};
use crate::service;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .both("/channels/my-memberships", get(my_memberships))
        .both("/channels/user/{user_id}/memberships", get(user_memberships))
        .both(
            "/channels/user/{user_id}/shared-memberships",
            get(shared_memberships),
        )
        .both("/channels/{channel_id}/join", post(join_channel))
        .both("/channels/{channel_id}/leave", delete(leave_channel))
        .both("/channels/{channel_id}/members", get(list_members))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    my_memberships,
    user_memberships,
    shared_memberships,
    join_channel,
    leave_channel,
    list_members
))]
pub struct MembershipsApi;

#[utoipa::path(
    get, path = "/channels/my-memberships", tag = "channels", security(("bearer" = [])), params(PageParams),
    responses(
        (status = 200, description = "The caller's channels, by name", body = [ChannelRead]),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
pub async fn my_memberships(
    State(state): State<AppState>,
    user: CurrentUser,
    QueryParams(params): QueryParams<PageParams>,
) -> ApiResult<Json<Vec<ChannelRead>>> {
    Ok(Json(
        channels::of_member(&state.pool, user.id, params.page()?).await?,
    ))
}

#[utoipa::path(
    get, path = "/channels/user/{user_id}/memberships", tag = "channels", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), PageParams),
    responses(
        (status = 200, description = "The user's channels, by name", body = [ChannelRead]),
        (status = 401, body = ErrorBody),
        (status = 404, description = "User not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn user_memberships(
    State(state): State<AppState>,
    _user: CurrentUser,
    PathParam(user_id): PathParam<Uuid>,
    QueryParams(params): QueryParams<PageParams>,
) -> ApiResult<Json<Vec<ChannelRead>>> {
    let page = params.page_or_all()?;
    require_user(&state, user_id, USER_NOT_FOUND).await?;
    Ok(Json(channels::of_member(&state.pool, user_id, page).await?))
}

#[utoipa::path(
    get, path = "/channels/user/{user_id}/shared-memberships", tag = "channels", security(("bearer" = [])),
    params(("user_id" = Uuid, Path), PageParams),
    responses(
        (status = 200, description = "Channels both the caller and the user belong to, by name", body = [ChannelRead]),
        (status = 401, body = ErrorBody),
        (status = 404, description = "User not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn shared_memberships(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(user_id): PathParam<Uuid>,
    QueryParams(params): QueryParams<PageParams>,
) -> ApiResult<Json<Vec<ChannelRead>>> {
    let page = params.page_or_all()?;
    require_user(&state, user_id, USER_NOT_FOUND).await?;
    Ok(Json(channels::shared(&state.pool, user.id, user_id, page).await?))
}

#[utoipa::path(
    post, path = "/channels/{channel_id}/join", tag = "channels", security(("bearer" = [])),
    params(("channel_id" = Uuid, Path)),
    responses(
        (status = 201, body = Membership), (status = 401, body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody),
        (status = 409, description = "User is already a member of this channel.", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn join_channel(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(channel_id): PathParam<Uuid>,
) -> ApiResult<(StatusCode, Json<Membership>)> {
    if access(&state, channel_id, user.id).await?.is_member {
        return Err(ApiError::conflict(ChannelError::AlreadyMember.to_string()));
    }
    let membership =
        service::channels::join(&state.commands, &state.pool, &meta, user.id, channel_id).await?;
    Ok((StatusCode::CREATED, Json(membership)))
}

#[utoipa::path(
    delete, path = "/channels/{channel_id}/leave", tag = "channels", security(("bearer" = [])),
    params(("channel_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Left the channel"), (status = 401, body = ErrorBody),
        (status = 400, description = "The owner cannot leave", body = ErrorBody),
        (status = 404, description = "Channel not found, or not a member", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn leave_channel(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(channel_id): PathParam<Uuid>,
) -> ApiResult<StatusCode> {
    let standing = access(&state, channel_id, user.id).await?;
    if !standing.is_member {
        return Err(ApiError::not_found(ChannelError::NotAMember.to_string()));
    }
    if standing.is_owner {
        return Err(ApiError::bad_request(ChannelError::OwnerCannotLeave.to_string()));
    }
    service::channels::leave(&state.commands, &meta, user.id, channel_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/channels/{channel_id}/members", tag = "channels", security(("bearer" = [])),
    params(("channel_id" = Uuid, Path), PageParams),
    responses(
        (status = 200, description = "Live members, in joining order", body = [UserRead]),
        (status = 401, body = ErrorBody),
        (status = 403, description = "You are not a member of this channel", body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn list_members(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(channel_id): PathParam<Uuid>,
    QueryParams(params): QueryParams<PageParams>,
) -> ApiResult<Json<Vec<UserRead>>> {
    let page = params.page_or_all()?;
    if !access(&state, channel_id, user.id).await?.is_member {
        return Err(ApiError::forbidden(NOT_A_MEMBER));
    }
    Ok(Json(channels::members(&state.pool, channel_id, page).await?))
}
