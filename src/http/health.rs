//! Probes for load balancers and orchestrators. `/healthz`: the process is up and serving HTTP
//! (restart it if not). `/readyz`: this node can serve correct answers now — the database answers
//! and the read tables are close to the log (send it no traffic if not). Neither needs a token,
//! and neither says anything about users or their content.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::schemas::ErrorBody;
use crate::state::AppState;

/// A probe must answer quickly, whatever the database does.
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// Read tables further behind the log than this many positions would answer with stale data
/// (after a long outage, say, while the projections catch up).
pub const MAX_PROJECTION_LAG: i64 = 10_000;

#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz), components(schemas(Health, Readiness)))]
pub struct HealthApi;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// Always `ready` (a node that is not ready answers 503 with a `detail`).
    pub status: String,
    /// How far the slowest read table is behind the log, in positions.
    pub projection_lag: i64,
}

#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "The database is unreachable, or the read tables are far behind the log", body = ErrorBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let lag = tokio::time::timeout(DATABASE_CHECK_TIMEOUT, projection_lag(&state)).await;
    match lag {
        Ok(Ok(lag)) if lag <= MAX_PROJECTION_LAG => Json(Readiness {
            status: "ready".into(),
            projection_lag: lag,
        })
        .into_response(),
        Ok(Ok(lag)) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Not ready: the read tables are {lag} positions behind the log"),
        )
        .into_response(),
        Ok(Err(_)) | Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: the database is unreachable",
        )
        .into_response(),
    }
}

/// The log's last position minus the slowest live projection's checkpoint: an upper bound on how
/// many events the read tables miss (positions of rolled-back appends count too). Two index
/// lookups, cheap enough for a probe every second.
async fn projection_lag(state: &AppState) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT greatest(0, coalesce((SELECT max(global_position) FROM events), 0)
                          - coalesce((SELECT min(last_position) FROM projection_checkpoints
                                       WHERE name = ANY($1)), 0))",
    )
    .bind(&projections::projectors::names()[..])
    .fetch_one(&state.pool)
    .await
}
