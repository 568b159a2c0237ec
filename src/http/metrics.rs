//! `GET /metrics`: this node's metrics in the Prometheus text format. What is counted in memory
//! comes from `crate::metrics`; the lags are read at scrape time with `/readyz`'s query. The
//! scrape always answers 200: when the database does not answer in time, the lags are left out
//! and `zync_database_up` is 0. Open like the probes unless `METRICS_TOKEN` is set; either way it
//! says nothing about users or their content.

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use super::health::{lags, DATABASE_CHECK_TIMEOUT};
use crate::metrics::Exposition;
use crate::state::AppState;

/// The text exposition format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(utoipa::OpenApi)]
#[openapi(paths(metrics))]
pub struct MetricsApi;

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Prometheus metrics of this node (text exposition format). Request counts and latencies by
/// method, route template and status; open WebSockets; authentication failures by reason; how
/// far the live feed, each projection and each reactor are behind the log. Not for the public internet: expose
/// it to the monitoring network only (or set `METRICS_TOKEN`).
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain", body = String),
        (status = 401, description = "`METRICS_TOKEN` is set and the bearer token is not it", body = super::schemas::ErrorBody),
    )
)]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !state.metrics.scrape_allowed(authorization) {
        return ApiError::unauthorized().into_response();
    }
    let lags = tokio::time::timeout(DATABASE_CHECK_TIMEOUT, lags(&state.pool))
        .await
        .ok()
        .and_then(Result::ok);

    let mut out = Exposition::default();
    state.metrics.render(&mut out);
    out.family(
        "zync_database_up",
        "gauge",
        "1 if this scrape's database queries answered in time, else 0 (and the lags are missing).",
    );
    out.sample("zync_database_up", &[], u8::from(lags.is_some()));
    if let Some(lags) = lags {
        out.family(
            "zync_event_log_head_position",
            "gauge",
            "The position of the last event in the log.",
        );
        out.sample("zync_event_log_head_position", &[], lags.head);
        out.family(
            "zync_live_feed_lag_positions",
            "gauge",
            "How far this node's live feed (what its WebSockets get) is behind the log, in positions.",
        );
        let live = (lags.head - state.live.position().position).max(0);
        out.sample("zync_live_feed_lag_positions", &[], live);
        out.family(
            "zync_projection_lag_positions",
            "gauge",
            "How far each projection's read tables are behind the log, in positions.",
        );
        for (name, lag) in &lags.projections {
            out.sample(
                "zync_projection_lag_positions",
                &[("projection", name.as_str())],
                lag,
            );
        }
        out.family(
            "zync_reactor_lag_positions",
            "gauge",
            "How far each reactor (side effects such as removing deleted files) is behind the log, in positions.",
        );
        for (name, lag) in &lags.reactors {
            out.sample("zync_reactor_lag_positions", &[("reactor", name.as_str())], lag);
        }
    }
    ([(CONTENT_TYPE, TEXT_FORMAT)], out.finish()).into_response()
}
