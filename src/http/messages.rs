//! `/messages` routes: posting a text message; reading, editing and deleting one message; clearing
//! a channel. The lists of messages (histories) are in [`super::message_history`].
//!
//! Authorization is decided from the guard tables (`read::channels::access`), which change in the
//! same transaction as the events, so a just-joined member can post and a just-departed one can't.
//! Posting is re-checked inside the append transaction by the guard trigger.

use aggregates::message::{MessageCommand, MessageError};
use aggregates::values::MessageContent;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::channels::access;
use super::current_user::CurrentUser;
use super::error::{ApiError, ApiResult, Issue};
use super::errors_map::NOT_A_MEMBER;
use super::extract::{JsonBody, PathParam};
use super::rate_limit::{self, RateHeaders};
use super::routes::RouteBoth;
use super::schemas::{Acknowledgement, ClearedMessages, ErrorBody};
use crate::commands::CommandError;
use crate::commands::RequestMeta;
use crate::read::channels::{self, ChannelAccess};
use crate::read::messages;
use crate::read::views::MessageRead;
use crate::service::idempotency::{Fingerprint, IdempotencyKey};
use crate::service::messages as service;
use crate::service::posting::{self, Keyed, PostError};
use crate::state::AppState;

const MESSAGE_NOT_FOUND: &str = "Message not found";
const EMPTY_CONTENT: &str = "Message content cannot be empty";

pub fn routes() -> Router<AppState> {
    Router::new()
        .both("/messages/channels/{channel_id}/messages", post(post_message))
        .both("/messages/channel/{channel_id}/messages", delete(clear_channel))
        .both(
            "/messages/{message_id}",
            get(get_message).patch(edit_message).delete(delete_message),
        )
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(post_message, get_message, edit_message, delete_message, clear_channel,))]
pub struct MessagesApi;

#[derive(Deserialize, ToSchema)]
pub struct MessageCreate {
    /// Non-blank text, at most 4000 characters (blank: 400).
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub content: String,
}

#[derive(Deserialize, ToSchema)]
pub struct MessageUpdate {
    /// Non-blank text, at most 4000 characters (blank: 400).
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub content: String,
}

/// Blank content is the contract's 400; other refusals (too long, NUL) are 422s.
fn content(raw: String) -> ApiResult<MessageContent> {
    if raw.trim().is_empty() {
        return Err(ApiError::bad_request(EMPTY_CONTENT));
    }
    MessageContent::parse_text(raw).map_err(|e| ApiError::invalid(Issue::body(&e)))
}

pub(super) fn require_member(access: &ChannelAccess) -> ApiResult<()> {
    if access.is_member {
        Ok(())
    } else {
        Err(ApiError::forbidden(NOT_A_MEMBER))
    }
}

/// A live message and the caller's access to its channel; 404 if either is gone.
pub(super) async fn message_access(
    state: &AppState,
    message_id: Uuid,
    user: Uuid,
) -> ApiResult<(MessageRead, ChannelAccess)> {
    let message = messages::get(&state.pool, message_id)
        .await?
        .ok_or_else(|| ApiError::not_found(MESSAGE_NOT_FOUND))?;
    let access = channels::access(&state.pool, message.channel_id, user)
        .await?
        .ok_or_else(|| ApiError::not_found(MESSAGE_NOT_FOUND))?;
    Ok((message, access))
}

#[utoipa::path(
    post, path = "/messages/channels/{channel_id}/messages", tag = "messages",
    security(("bearer" = [])),
    params(
        ("channel_id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, max_length = 255,
         description = "Makes the post safe to retry: a retry with the same key and body returns the original message"),
    ), request_body = MessageCreate,
    responses(
        (status = 201, description = "Posted; or, for a retried Idempotency-Key, the original", body = MessageRead,
         headers(
            ("X-RateLimit-Limit" = u32, description = "Posts allowed in a burst"),
            ("X-RateLimit-Remaining" = u32, description = "Posts still allowed right now"),
            ("X-RateLimit-Reset-After" = f64, description = "Seconds until the limit is full again"),
        )),
        (status = 400, description = "Message content cannot be empty", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "You are not a member of this channel", body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody),
        (status = 422, description = "Validation error, or an Idempotency-Key reused with another request", body = ErrorBody),
        (status = 429, description = "Too many posts by this user (RATE_LIMIT_MESSAGES)", body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds to wait before posting again"))),
    )
)]
pub async fn post_message(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(channel_id): PathParam<Uuid>,
    key: Option<IdempotencyKey>,
    JsonBody(body): JsonBody<MessageCreate>,
) -> ApiResult<(StatusCode, RateHeaders, Json<MessageRead>)> {
    let rate = rate_limit::take_post(&state, user.id)?;
    let content = content(body.content)?;
    let keyed = key.as_ref().map(|key| Keyed {
        key,
        fingerprint: Fingerprint::new("text", channel_id).field(content.as_str().as_bytes()),
    });
    // No membership lookup first: the event store's guard refuses a post by a non-member, or to
    // a channel that is gone, as the event is appended. Only a refused post looks the channel up,
    // to tell 404 from 403; a member's post is one query shorter.
    let posted = posting::post(
        &state.commands,
        &state.pool,
        &meta,
        user.id,
        keyed,
        |message_id| MessageCommand::PostText {
            message_id,
            channel_id,
            author_id: user.id,
            content,
        },
    )
    .await;
    let message = match posted {
        Ok(posted) => posted.message(),
        Err(PostError::Command {
            source: CommandError::NotAMember,
            ..
        }) => {
            require_member(&access(&state, channel_id, user.id).await?)?;
            // A member by now: they joined after the post was refused, which stands.
            return Err(ApiError::forbidden(NOT_A_MEMBER));
        }
        Err(e) => return Err(e.into()),
    };
    Ok((StatusCode::CREATED, rate, Json(message)))
}

#[utoipa::path(
    get, path = "/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("message_id" = Uuid, Path)),
    responses(
        (status = 200, body = MessageRead),
        (status = 401, body = ErrorBody),
        (status = 403, description = "You are not a member of this channel", body = ErrorBody),
        (status = 404, description = "Message not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn get_message(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(message_id): PathParam<Uuid>,
) -> ApiResult<Json<MessageRead>> {
    let (message, access) = message_access(&state, message_id, user.id).await?;
    require_member(&access)?;
    Ok(Json(message))
}

#[utoipa::path(
    patch, path = "/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("message_id" = Uuid, Path)), request_body = MessageUpdate,
    responses(
        (status = 200, body = MessageRead),
        (status = 400, description = "Message content cannot be empty", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not the author, or no longer a member", body = ErrorBody),
        (status = 404, description = "Message not found", body = ErrorBody),
        (status = 409, description = "Changed concurrently too many times; retry", body = ErrorBody),
        (status = 422, description = "Validation error", body = ErrorBody),
    )
)]
pub async fn edit_message(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(message_id): PathParam<Uuid>,
    JsonBody(body): JsonBody<MessageUpdate>,
) -> ApiResult<Json<MessageRead>> {
    let content = content(body.content)?;
    let (message, access) = message_access(&state, message_id, user.id).await?;
    if message.author_id != user.id {
        return Err(ApiError::forbidden(MessageError::NotAuthor.to_string()));
    }
    require_member(&access)?;
    let edited = service::edit(&state.commands, &state.pool, &meta, user.id, message_id, content).await?;
    Ok(Json(edited))
}

#[utoipa::path(
    delete, path = "/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("message_id" = Uuid, Path)),
    responses(
        (status = 200, body = Acknowledgement),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Neither the author nor the channel owner", body = ErrorBody),
        (status = 404, description = "Message not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn delete_message(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(message_id): PathParam<Uuid>,
) -> ApiResult<Json<Acknowledgement>> {
    let (message, access) = message_access(&state, message_id, user.id).await?;
    if message.author_id != user.id && !access.is_owner {
        return Err(ApiError::forbidden(MessageError::NotAuthorOrOwner.to_string()));
    }
    service::delete(&state.commands, &meta, user.id, message_id, access.is_owner).await?;
    // A file message's object is removed by the file-removal reactor once the deletion is in
    // the log (its links already answer 404: they are checked against the read tables).
    Ok(Json(Acknowledgement {
        message: "Message deleted successfully".into(),
    }))
}

#[utoipa::path(
    delete, path = "/messages/channel/{channel_id}/messages", tag = "messages",
    security(("bearer" = [])), params(("channel_id" = Uuid, Path)),
    responses(
        (status = 200, description = "How many messages were deleted", body = ClearedMessages),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Only the channel owner can clear its messages", body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn clear_channel(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(channel_id): PathParam<Uuid>,
) -> ApiResult<Json<ClearedMessages>> {
    if !access(&state, channel_id, user.id).await?.is_owner {
        return Err(ApiError::forbidden(
            "Only the channel owner can clear its messages",
        ));
    }
    let cleared = service::clear_channel(&state.commands, &state.pool, &meta, user.id, channel_id).await?;
    Ok(Json(ClearedMessages {
        message: "All messages in the channel have been deleted".into(),
        count: i64::try_from(cleared).unwrap_or(i64::MAX),
    }))
}
