//! The router: every route of the contract, the docs, and the cross-cutting layers.

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method, Request};
use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use uuid::Uuid;

use super::error::{method_not_allowed, not_found, ApiError};
use super::meta::REQUEST_ID_HEADER;
use super::openapi;
use super::{body_timeout, channels, docs, memberships, message_history, messages, session, users};
use crate::metrics::MetricsLayer;
use crate::state::AppState;

/// Largest request body of any route (JSON routes check their own, smaller, limit).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Registers a route under its contract path and the same path with or without the trailing
/// slash: FastAPI redirects the other form, and existing clients use both.
pub trait RouteBoth {
    fn both(self, path: &str, method_router: MethodRouter<AppState>) -> Self;
}

impl RouteBoth for Router<AppState> {
    fn both(self, path: &str, method_router: MethodRouter<AppState>) -> Self {
        let other = match path.strip_suffix('/') {
            Some(trimmed) if !trimmed.is_empty() => trimmed.to_string(),
            Some(_) => return self.route(path, method_router),
            None => format!("{path}/"),
        };
        self.route(path, method_router.clone())
            .route(&other, method_router)
    }
}

fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(session::root))
        .both("/token", post(session::login))
        .both("/logout", post(session::logout))
        .merge(users::routes())
        .merge(channels::routes())
        .merge(memberships::routes())
        .merge(messages::routes())
        .merge(message_history::routes())
        .merge(super::files::routes())
        .merge(crate::ws::routes())
        .merge(super::events::routes())
        .merge(super::history::routes())
        .merge(super::privacy::routes())
        .merge(super::health::routes())
        .merge(super::metrics::routes())
}

/// `body_window`: the progress window of request bodies (see [`super::body_timeout`]).
pub fn router(state: AppState, frontend_origins: &[String], body_window: Duration) -> Router {
    let metrics = state.metrics.clone();
    Router::new()
        .merge(api_routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .merge(docs::router(openapi::spec()))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            body_window,
            body_timeout::guard,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            // Never a stack trace to the client; the panic itself is logged by the hook.
            ApiError::internal().into_response()
        }))
        // Outside the panic catcher, so a panic counts as the 500 it becomes. Applied per route
        // (as every layer here), so the route template is known.
        .layer(MetricsLayer::new(metrics))
        .layer(cors(frontend_origins))
        .layer(PropagateRequestIdLayer::new(HeaderName::from_static(
            REQUEST_ID_HEADER,
        )))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(
            HeaderName::from_static(REQUEST_ID_HEADER),
            NewRequestId,
        ))
}

/// The Zync web client's development server origins, which Zync allowed with no setting: a
/// developer running it against us unconfigured works as before.
pub const DEFAULT_FRONTEND_ORIGINS: [&str; 2] = ["http://localhost:5173", "http://127.0.0.1:5173"];

/// CORS for exactly the configured front-end origins (`FRONTEND_ORIGIN`), or, with none
/// configured, for [`DEFAULT_FRONTEND_ORIGINS`].
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = if origins.is_empty() {
        DEFAULT_FRONTEND_ORIGINS
            .iter()
            .map(|o| HeaderValue::from_static(o))
            .collect()
    } else {
        origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect()
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static(REQUEST_ID_HEADER),
            HeaderName::from_static("idempotency-key"),
        ])
        .max_age(Duration::from_secs(600))
}

#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}
