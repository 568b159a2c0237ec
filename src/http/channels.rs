//! `/channels` routes.
//!
//! Authorization decisions (does the channel exist, is the caller its owner or a member) are read
//! from the guard tables through [`channels::access`], which change in the same transaction as
//! the events; the read tables may lag behind another node's writes. The aggregate re-checks
//! every rule anyway, and its refusals map through `?`.

use aggregates::channel::ChannelError;
use aggregates::values::{ChannelDescription, ChannelName};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::current_user::CurrentUser;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, PathParam, QueryParams};
use super::paging::PageParams;
use super::routes::RouteBoth;
use super::schemas::{Acknowledgement, ErrorBody};
use super::validate::Checks;
use crate::commands::RequestMeta;
use crate::read::channels::{self, ChannelAccess};
use crate::read::users;
use crate::read::views::{ChannelOwner, ChannelRead};
use crate::service::channels as service;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .both("/channels/", post(create_channel).get(list_channels))
        .both("/channels/owners", get(list_owners))
        .both(
            "/channels/{channel_id}",
            get(get_channel).patch(update_channel).delete(delete_channel),
        )
        .both("/channels/{channel_id}/change_owner", patch(change_owner))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_channel,
    list_channels,
    list_owners,
    get_channel,
    update_channel,
    delete_channel,
    change_owner,
))]
pub struct ChannelsApi;

pub const CHANNEL_NOT_FOUND: &str = "Channel not found";
pub const USER_NOT_FOUND: &str = "User not found";
pub const NEW_OWNER_NOT_FOUND: &str = "New owner not found";

#[derive(Deserialize, ToSchema)]
pub struct ChannelCreate {
    /// Not blank: surrounding white space is trimmed, and a name of white space only is a 422.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub name: String,
    #[schema(max_length = 1000, pattern = "^[^\\u0000]*$")]
    pub description: Option<String>,
}

/// A partial update: absent fields are left alone; `"description": null` clears the description.
#[derive(Deserialize, ToSchema)]
pub struct ChannelUpdate {
    /// Not blank (see `ChannelCreate`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub name: Option<String>,
    #[serde(default, with = "aggregates::user::double_option")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = "^[^\\u0000]*$")]
    pub description: Option<Option<String>>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeOwnerParams {
    /// The user who becomes the owner (and a member, if not one yet).
    pub new_owner_id: Uuid,
}

fn channel_not_found() -> ApiError {
    ApiError::not_found(CHANNEL_NOT_FOUND)
}

/// The caller's standing in a live channel, or 404 if there is no such channel.
pub(super) async fn access(state: &AppState, channel_id: Uuid, user_id: Uuid) -> ApiResult<ChannelAccess> {
    channels::access(&state.pool, channel_id, user_id)
        .await?
        .ok_or_else(channel_not_found)
}

/// 404 if the channel does not exist, then 403 unless the caller owns it.
async fn require_owner(state: &AppState, channel_id: Uuid, user_id: Uuid) -> ApiResult<()> {
    if access(state, channel_id, user_id).await?.is_owner {
        Ok(())
    } else {
        Err(ApiError::forbidden(ChannelError::NotOwner.to_string()))
    }
}

/// 404 unless `user_id` is a live user (from the strongly consistent identity claims).
pub(super) async fn require_user(state: &AppState, user_id: Uuid, detail: &str) -> ApiResult<()> {
    if users::exists(&state.pool, user_id).await? {
        Ok(())
    } else {
        Err(ApiError::not_found(detail))
    }
}

#[utoipa::path(
    post, path = "/channels/", tag = "channels", security(("bearer" = [])), request_body = ChannelCreate,
    responses(
        (status = 201, body = ChannelRead),
        (status = 401, body = ErrorBody),
        (status = 422, description = "Validation error", body = ErrorBody),
    )
)]
pub async fn create_channel(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    JsonBody(body): JsonBody<ChannelCreate>,
) -> ApiResult<(StatusCode, Json<ChannelRead>)> {
    let mut c = Checks::default();
    let name = c.take(ChannelName::parse(body.name.trim()));
    let description = c.take_opt(body.description, ChannelDescription::parse);
    c.finish()?;
    let Some(name) = name else {
        return Err(ApiError::internal());
    };

    let channel = service::create(&state.commands, &state.pool, &meta, user.id, name, description).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

#[utoipa::path(
    get, path = "/channels/", tag = "channels", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = [ChannelRead]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn list_channels(
    State(state): State<AppState>,
    _user: CurrentUser,
    QueryParams(params): QueryParams<PageParams>,
) -> ApiResult<Json<Vec<ChannelRead>>> {
    Ok(Json(channels::list(&state.pool, params.page()?).await?))
}

#[utoipa::path(
    get, path = "/channels/owners", tag = "channels", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = [ChannelOwner]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn list_owners(
    State(state): State<AppState>,
    _user: CurrentUser,
    QueryParams(params): QueryParams<PageParams>,
) -> ApiResult<Json<Vec<ChannelOwner>>> {
    Ok(Json(channels::owners(&state.pool, params.page()?).await?))
}

#[utoipa::path(
    get, path = "/channels/{channel_id}", tag = "channels", security(("bearer" = [])),
    params(("channel_id" = Uuid, Path)),
    responses(
        (status = 200, body = ChannelRead), (status = 401, body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
pub async fn get_channel(
    State(state): State<AppState>,
    _user: CurrentUser,
    PathParam(channel_id): PathParam<Uuid>,
) -> ApiResult<Json<ChannelRead>> {
    channels::get(&state.pool, channel_id)
        .await?
        .map(Json)
        .ok_or_else(channel_not_found)
}

#[utoipa::path(
    patch, path = "/channels/{channel_id}", tag = "channels", security(("bearer" = [])),
    params(("channel_id" = Uuid, Path)), request_body = ChannelUpdate,
    responses(
        (status = 200, body = ChannelRead), (status = 401, body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn update_channel(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(channel_id): PathParam<Uuid>,
    JsonBody(body): JsonBody<ChannelUpdate>,
) -> ApiResult<Json<ChannelRead>> {
    require_owner(&state, channel_id, user.id).await?;
    let mut c = Checks::default();
    let name = c.take_opt(body.name.map(|n| n.trim().to_string()), ChannelName::parse);
    let description = match body.description {
        None => None,
        Some(None) => Some(None),
        Some(Some(d)) => c.take(ChannelDescription::parse(d)).map(Some),
    };
    c.finish()?;

    let updated = service::update(
        &state.commands,
        &state.pool,
        &meta,
        user.id,
        channel_id,
        name,
        description,
    )
    .await?;
    Ok(Json(updated))
}

#[utoipa::path(
    delete, path = "/channels/{channel_id}", tag = "channels", security(("bearer" = [])),
    params(("channel_id" = Uuid, Path)),
    responses(
        (status = 200, body = Acknowledgement), (status = 401, body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn delete_channel(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(channel_id): PathParam<Uuid>,
) -> ApiResult<Json<Acknowledgement>> {
    require_owner(&state, channel_id, user.id).await?;
    service::delete(&state.commands, &meta, user.id, channel_id).await?;
    Ok(Json(Acknowledgement {
        message: "Channel deleted successfully".into(),
    }))
}

#[utoipa::path(
    patch, path = "/channels/{channel_id}/change_owner", tag = "channels", security(("bearer" = [])),
    params(("channel_id" = Uuid, Path), ChangeOwnerParams),
    responses(
        (status = 200, body = ChannelRead), (status = 401, body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
        (status = 404, description = "Channel not found, or New owner not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn change_owner(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(channel_id): PathParam<Uuid>,
    QueryParams(params): QueryParams<ChangeOwnerParams>,
) -> ApiResult<Json<ChannelRead>> {
    require_owner(&state, channel_id, user.id).await?;
    require_user(&state, params.new_owner_id, NEW_OWNER_NOT_FOUND).await?;
    let channel = service::change_owner(
        &state.commands,
        &state.pool,
        &meta,
        user.id,
        channel_id,
        params.new_owner_id,
    )
    .await?;
    Ok(Json(channel))
}
