//! Probes for load balancers and orchestrators. `/healthz`: the process is up and serving HTTP
//! (restart it if not). `/readyz`: this node can serve correct answers now — the database answers,
//! the read tables are close to the log, and its file store is the one every live node uses (send
//! it no traffic if not). Neither needs a token, and neither says anything about users or their
//! content.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use super::error::ApiError;
use super::schemas::ErrorBody;
use crate::eventlog::HEAD_POSITION_SQL;
use crate::state::AppState;

/// A probe must answer quickly, whatever the database does.
pub const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);
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
        (status = 503, description = "The database is unreachable, the read tables are far behind the log, or this node's file store is not the other nodes' (ADR 0006)", body = ErrorBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let checks = async {
        let lag = lags(&state.pool).await?.slowest();
        Ok::<_, sqlx::Error>((lag, state.file_node.problem().await?))
    };
    let answer = tokio::time::timeout(DATABASE_CHECK_TIMEOUT, checks).await;
    match answer {
        Ok(Ok((_, Some(problem)))) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("Not ready: {problem}")).into_response()
        }
        Ok(Ok((lag, None))) if lag <= MAX_PROJECTION_LAG => Json(Readiness {
            status: "ready".into(),
            projection_lag: lag,
        })
        .into_response(),
        Ok(Ok((lag, None))) => ApiError::new(
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

/// Where the read tables and the reactors stand against the log (for `/readyz` and `/metrics`).
pub struct Lags {
    /// The log's last position.
    pub head: i64,
    /// Each live projection's name and lag: the head minus its checkpoint, an upper bound on how
    /// many events its tables miss (positions of rolled-back appends count too).
    pub projections: Vec<(String, i64)>,
    /// Each reactor's name and lag, measured the same way. Not part of readiness: a reactor
    /// behind (a slow or failing object store) delays only its side effects, never an answer.
    pub reactors: Vec<(String, i64)>,
}

impl Lags {
    /// The slowest projection's lag.
    pub fn slowest(&self) -> i64 {
        self.projections.iter().map(|(_, lag)| *lag).max().unwrap_or(0)
    }
}

/// One query, two index lookups and the (tiny) checkpoint table: cheap enough for a probe or a
/// scrape every second. A projection or reactor no server has started yet counts from position 0.
pub async fn lags(pool: &PgPool) -> Result<Lags, sqlx::Error> {
    let reactors = crate::reactors::names();
    let names: Vec<&str> = projections::projectors::names()
        .into_iter()
        .chain(reactors)
        .collect();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT n.name, h.head, greatest(0, h.head - coalesce(c.last_position, 0))
           FROM unnest($1::text[]) AS n(name)
          CROSS JOIN (SELECT {HEAD_POSITION_SQL} AS head) AS h
           LEFT JOIN projection_checkpoints AS c ON c.name = n.name
          ORDER BY n.name"
    ))
    .bind(&names)
    .fetch_all(pool)
    .await?;
    let head = rows.first().map_or(0, |r| r.1);
    let (reactors, projections) = rows
        .into_iter()
        .map(|(name, _, lag)| (name, lag))
        .partition(|(name, _)| reactors.contains(&name.as_str()));
    Ok(Lags {
        head,
        projections,
        reactors,
    })
}
