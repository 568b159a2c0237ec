//! `GET /v1/events`: the REST mirror of the native live stream (docs/realtime.md), for clients that
//! poll or backfill. The same frames, the same positions and the same visibility as the socket.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use projections::{FeedCursor, FeedReader, ProjectionError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::current_user::CurrentUser;
use super::error::{ApiError, ApiResult, Issue};
use super::extract::QueryParams;
use super::routes::RouteBoth;
use super::schemas::ErrorBody;
use crate::live::{frames, replay, Memberships};
use crate::state::AppState;

pub const DEFAULT_LIMIT: i64 = 100;
/// Larger `limit`s are capped to this.
pub const MAX_LIMIT: i64 = 1000;

pub fn routes() -> Router<AppState> {
    Router::new().both("/v1/events", get(list_events))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_events),
    components(schemas(EventPage, EventFrame)),
    tags((name = "events", description = "The live event stream over REST (polling and backfill)"))
)]
pub struct EventsApi;

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// Return events after this position: `0` (the default) for the beginning of the log, or
    /// the position of an event (a frame's `position`, or the previous page's `next_after`).
    /// Any other value is refused with 422.
    #[param(minimum = 0, default = 0, nullable = false)]
    pub after: Option<i64>,
    /// At most this many events (default 100, at most 1000; larger values are capped).
    #[param(minimum = 1, default = 100, nullable = false)]
    pub limit: Option<i64>,
}

/// One event as the native WebSocket sends it (docs/realtime.md lists every type and its data).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"type": "member.joined", "position": 42,
    "data": {"channel_id": "0190c5f2-8f7e-7c4a-9d2b-3f1e2a4b5c6d",
             "user_id": "0190c5f2-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "joined_at": "2024-07-01T12:00:00Z"}}))]
pub struct EventFrame {
    /// `message.created`, `message.edited`, `message.deleted`, `channel.created`,
    /// `channel.updated`, `channel.owner_changed`, `channel.deleted`, `member.joined`,
    /// `member.left`, `user.updated` or `user.deleted`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's place in the global log. Unique; frames come in log order, which is the
    /// order to trust (numbers may have gaps).
    pub position: i64,
    /// The event's data; for `message.created`, the MessageRead the POST returned.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// A page of the caller's visible events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventPage {
    /// Visible events after `after`, in log order.
    #[schema(value_type = Vec<EventFrame>)]
    pub events: Vec<Value>,
    /// Pass as `after` next time. It is the position of the last event *examined*, which may be
    /// past the last one returned (events the caller may not see are skipped), so a client that
    /// always continues from it sees every visible event exactly once. Equal to `after` when
    /// nothing new was found.
    pub next_after: i64,
    /// `true` when the end of the log was reached: poll again later. `false`: more may follow
    /// right away (the page was cut by `limit` or by the scan bound).
    pub caught_up: bool,
}

#[utoipa::path(
    get, path = "/v1/events", tag = "events", security(("bearer" = [])), params(EventsParams),
    description = "The events the caller may see after a position, in log order, as the native \
        WebSocket's frames (`{\"type\", \"position\", \"data\"}`). Visibility is decided at each \
        event's position: a channel's events from when the caller joined it until they left, \
        their own profile changes, and those of users sharing one of their channels. Poll in a \
        loop, always passing the previous `next_after` as `after`; each visible event is returned \
        exactly once. A page may hold fewer than `limit` events (even none) while `caught_up` is \
        false: continue right away.",
    responses(
        (status = 200, body = EventPage),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`after` is not 0 or an event's position; `limit` below 1", body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn list_events(
    State(state): State<AppState>,
    user: CurrentUser,
    QueryParams(params): QueryParams<EventsParams>,
) -> ApiResult<Json<EventPage>> {
    let (after, limit) = validate(&params)?;
    let cursor = if after == 0 {
        FeedCursor::START
    } else {
        let mut conn = state.pool.acquire().await?;
        FeedReader::cursor_at(&mut conn, after).await?.ok_or_else(|| {
            ApiError::invalid(Issue::new(
                &["query", "after"],
                "No event has this position: pass 0 or a position this API returned",
                "value_error",
            ))
        })?
    };
    let mut memberships = Memberships::as_of(&state.pool, user.id, cursor).await?;
    let page = replay::visible_after(&state.pool, &mut memberships, cursor, limit)
        .await
        .map_err(projection_failed)?;
    Ok(Json(EventPage {
        events: page.events.iter().filter_map(frames::frame).collect(),
        next_after: page.next.position,
        caught_up: page.caught_up,
    }))
}

/// `(after, limit)`, every refusal listed at once.
fn validate(params: &EventsParams) -> Result<(i64, usize), ApiError> {
    let after = params.after.unwrap_or(0);
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    let mut issues = vec![];
    if after < 0 {
        issues.push(Issue::query_at_least("after", 0));
    }
    if limit < 1 {
        issues.push(Issue::query_at_least("limit", 1));
    }
    if !issues.is_empty() {
        return Err(ApiError::validation(issues));
    }
    // In range: 1..=MAX_LIMIT.
    Ok((after, limit.min(MAX_LIMIT) as usize))
}

fn projection_failed(e: ProjectionError) -> ApiError {
    match e {
        ProjectionError::Database(e) => e.into(),
        other => {
            tracing::error!(error = %other, "an event of the log cannot be served");
            ApiError::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(after: Option<i64>, limit: Option<i64>) -> EventsParams {
        EventsParams { after, limit }
    }

    #[test]
    fn defaults_caps_and_refusals() {
        assert_eq!(validate(&params(None, None)).unwrap(), (0, 100));
        assert_eq!(validate(&params(Some(7), Some(5000))).unwrap(), (7, 1000));
        assert_eq!(validate(&params(Some(0), Some(1))).unwrap(), (0, 1));
        let both = validate(&params(Some(-1), Some(0))).unwrap_err();
        assert_eq!(both.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(both.detail.as_array().map(Vec::len), Some(2));
    }
}
