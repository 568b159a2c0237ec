//! The `Authorization: Bearer` extractor. A token is accepted only while its user is live and its
//! credential version is current and it was not logged out, so deletion, password changes and
//! `POST /logout` revoke it immediately.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use super::error::ApiError;
use crate::auth::credentials;
use crate::auth::token::{Rejected, TokenId};
use crate::metrics::AuthFailure;
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub struct CurrentUser {
    pub id: Uuid,
    /// The token this request presented (what `POST /logout` revokes).
    pub token: TokenId,
}

impl CurrentUser {
    /// Validates a raw token (also used by the WebSocket `?token=` handshake).
    pub async fn from_token(state: &AppState, token: &str) -> Result<Self, ApiError> {
        let refused = |reason| {
            state.metrics.auth_failure(reason);
            ApiError::unauthorized()
        };
        let verified = state.tokens.verify(token).map_err(|rejected| {
            refused(match rejected {
                Rejected::Expired => AuthFailure::TokenExpired,
                Rejected::Invalid => AuthFailure::TokenInvalid,
            })
        })?;
        let current = credentials::session_version(&state.pool, verified.user_id, verified.token.jti).await?;
        match current {
            Some(current) if current == verified.version => Ok(Self {
                id: verified.user_id,
                token: verified.token,
            }),
            _ => Err(refused(AuthFailure::TokenRevoked)),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let refused = |reason| {
            state.metrics.auth_failure(reason);
            ApiError::unauthorized()
        };
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Err(refused(AuthFailure::TokenMissing));
        };
        let bearer = header
            .to_str()
            .ok()
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty());
        let Some((_, token)) = bearer else {
            return Err(refused(AuthFailure::TokenInvalid));
        };
        Self::from_token(state, token.trim()).await
    }
}
