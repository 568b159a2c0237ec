//! The `Authorization: Bearer` extractor. A token is accepted only while its user is live and its
//! credential version is current and it was not logged out, so deletion, password changes and
//! `POST /logout` revoke it immediately.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::auth::credentials;
use crate::auth::token::TokenId;
use crate::http::error::ApiError;
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
        let verified = state.tokens.verify(token).ok_or_else(ApiError::unauthorized)?;
        let current = credentials::session_version(&state.pool, verified.user_id, verified.token.jti).await?;
        match current {
            Some(current) if current == verified.version => Ok(Self {
                id: verified.user_id,
                token: verified.token,
            }),
            _ => Err(ApiError::unauthorized()),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        let (scheme, token) = header.split_once(' ').ok_or_else(ApiError::unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::unauthorized());
        }
        Self::from_token(state, token.trim()).await
    }
}
