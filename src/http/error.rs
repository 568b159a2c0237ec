//! The one error type every handler returns: a status and the contract's `{"detail": ...}` body.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

/// One FastAPI-style validation issue: `{"loc": [...], "msg": "...", "type": "..."}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Issue {
    pub loc: Vec<Value>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl Issue {
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            loc: loc.iter().map(|s| Value::from(*s)).collect(),
            msg: msg.into(),
            kind: kind.into(),
        }
    }

    /// A query parameter below its minimum, worded as pydantic words it.
    pub fn query_at_least(field: &str, min: i64) -> Self {
        Self::new(
            &["query", field],
            format!("Input should be greater than or equal to {min}"),
            "greater_than_equal",
        )
    }

    /// From a domain value's refusal, located in the request body.
    pub fn body(e: &aggregates::values::InvalidValue) -> Self {
        Self::new(&["body", e.field], e.message.clone(), e.kind)
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: Value,
    /// Headers the refusal carries besides the defaults (`Retry-After`, `X-RateLimit-*`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: Value::String(detail.into()),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// The contract's 401: always the same body, with `WWW-Authenticate: Bearer`.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Could not validate credentials")
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable; please retry",
        )
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    }

    pub fn validation(issues: Vec<Issue>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: json!(issues),
            headers: Vec::new(),
        }
    }

    pub fn invalid(issue: Issue) -> Self {
        Self::validation(vec![issue])
    }

    /// 429 with `Retry-After` in whole seconds, rounded up (never 0: "now" would invite a retry
    /// that is refused again).
    pub fn too_many_requests(detail: impl Into<String>, retry_after: std::time::Duration) -> Self {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self::new(StatusCode::TOO_MANY_REQUESTS, detail)
            .with_header(header::RETRY_AFTER, seconds.max(1).into())
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "detail": self.detail }))).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// A database that can't serve right now is a 503 (retryable); anything else (a row that does
/// not decode, a constraint a query should have ruled out) is a bug: a 500, logged with its
/// cause, never with internals in the answer.
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            Self::unavailable()
        } else {
            tracing::error!(error = ?e, "database error");
            Self::internal()
        }
    }
}

/// Fallback for unknown paths, shaped like FastAPI's.
pub async fn not_found() -> ApiError {
    ApiError::not_found("Not Found")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}
