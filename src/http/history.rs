//! `GET /v1/channels/{channel_id}/history`: a channel as it was at a moment, reconstructed from
//! the audit log, for its owner. The same reconstruction as `zync audit replay --channel ID
//! --as-of T` (`crate::audit::channel_as_of`), as JSON.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::channels::access;
use super::current_user::CurrentUser;
use super::error::{ApiError, ApiResult, Issue};
use super::extract::{PathParam, QueryParams};
use super::routes::RouteBoth;
use super::schemas::ErrorBody;
use crate::audit::bound::BOUND_SYNTAX;
use crate::audit::state::{ChannelAsOf, Existence, MemberAsOf, MessageAsOf};
use crate::audit::{self, AuditError, Bound, ChannelHistory};
use crate::state::AppState;

pub const NOT_OWNER: &str = "Only the channel owner can read its history";

pub fn routes() -> Router<AppState> {
    Router::new().both("/v1/channels/{channel_id}/history", get(channel_history))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(channel_history),
    components(schemas(ChannelHistory, ChannelAsOf, MemberAsOf, MessageAsOf, Existence)),
    tags((name = "audit", description = "The audit log, for channel owners"))
)]
pub struct HistoryApi;

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// The moment to reconstruct: a global position (the state right after that event; `0` is
    /// before any event) or an RFC 3339 time (the events recorded until then). Omitted: now.
    #[param(example = "2026-01-31T12:00:00Z", nullable = false)]
    pub as_of: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/channels/{channel_id}/history", tag = "audit", security(("bearer" = [])),
    params(("channel_id" = Uuid, Path), HistoryParams),
    description = "The channel as it was at `as_of`, rebuilt from the event log with the same folds \
        that build the read tables: name, description, owner, members (usernames as they then \
        were) and the messages that could be read then, with their text as it then read (edits \
        after `as_of` are not applied; messages deleted by then are listed by id only). Only the \
        channel's current owner may read it. `status` is `not_yet_created` for a moment before \
        the channel existed.",
    responses(
        (status = 200, body = ChannelHistory),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not the channel's owner", body = ErrorBody),
        (status = 404, description = "Channel not found", body = ErrorBody),
        (status = 422, description = "`as_of` is neither a position nor an RFC 3339 time, or no event has that position", body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn channel_history(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(channel_id): PathParam<Uuid>,
    QueryParams(params): QueryParams<HistoryParams>,
) -> ApiResult<Json<ChannelHistory>> {
    let as_of = params.as_of.as_deref().map(parse_as_of).transpose()?;
    // From the guard tables: the current owner, never a lagging read table.
    if !access(&state, channel_id, user.id).await?.is_owner {
        return Err(ApiError::forbidden(NOT_OWNER));
    }
    audit::channel_as_of(&state.pool, channel_id, as_of)
        .await
        .map(Json)
        .map_err(refusal)
}

fn parse_as_of(raw: &str) -> Result<Bound, ApiError> {
    raw.parse::<Bound>()
        .map_err(|_| ApiError::invalid(Issue::new(&["query", "as_of"], BOUND_SYNTAX, "value_error")))
}

fn refusal(e: AuditError) -> ApiError {
    match e {
        AuditError::NoSuchPosition(_) => ApiError::invalid(Issue::new(
            &["query", "as_of"],
            "No event has this position",
            "value_error",
        )),
        AuditError::NotFinal(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        AuditError::Database(e) => e.into(),
        AuditError::Event(_) | AuditError::Output(_) => {
            // The log holds an event this build cannot read: a server fault, logged with its
            // position; the client learns no internals.
            tracing::error!(error = %e, "channel history cannot be reconstructed");
            ApiError::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_moments_are_located_422s() {
        for bad in ["", "yesterday", "-3", "2026-13-01T00:00:00Z"] {
            let e = parse_as_of(bad).unwrap_err();
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(e.detail[0]["loc"], serde_json::json!(["query", "as_of"]));
        }
        assert_eq!(parse_as_of("12").unwrap(), Bound::Position(12));
    }
}
