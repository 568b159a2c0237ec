//! The `Idempotency-Key` header on message and file posts (`service::idempotency` keeps the
//! keys and what each one did).

use axum::extract::OptionalFromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

use super::error::{ApiError, Issue};
use crate::service::idempotency::{ClaimError, IdempotencyKey, MAX_KEY_LEN};
use crate::service::posting::PostError;

pub const HEADER: &str = "idempotency-key";

/// The header's key, or a 422 at `header.Idempotency-Key`.
fn parse(raw: &[u8]) -> Result<IdempotencyKey, ApiError> {
    IdempotencyKey::parse(raw).ok_or_else(|| {
        ApiError::invalid(Issue::new(
            &["header", "Idempotency-Key"],
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            "value_error",
        ))
    })
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, ApiError> {
        parts
            .headers
            .get(HEADER)
            .map(|value| parse(value.as_bytes()))
            .transpose()
    }
}

impl From<ClaimError> for ApiError {
    fn from(e: ClaimError) -> Self {
        match e {
            ClaimError::Reused => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            ClaimError::Database(e) => e.into(),
            ClaimError::Contended => ApiError::unavailable(),
        }
    }
}

impl From<PostError> for ApiError {
    fn from(e: PostError) -> Self {
        match e {
            PostError::Claim(e) => e.into(),
            PostError::Command { source, .. } => source.into(),
            PostError::ReadBack(e) => e.into(),
        }
    }
}
