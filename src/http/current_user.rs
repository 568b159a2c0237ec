//! The `Authorization: Bearer` extractor over `auth::session`: 401 for any refused token, 503
//! when the credentials could not be read.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use super::error::ApiError;
use crate::auth::session::{self, Refused, Session};
use crate::auth::token::TokenId;
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub struct CurrentUser {
    pub id: Uuid,
    /// The token this request presented (what `POST /logout` revokes).
    pub token: TokenId,
}

impl From<Session> for CurrentUser {
    fn from(session: Session) -> Self {
        Self {
            id: session.user_id,
            token: session.token,
        }
    }
}

/// The token of an `Authorization` header: `Bearer <token>`, scheme in any case.
enum Bearer<'a> {
    Absent,
    Malformed,
    Token(&'a str),
}

fn bearer(parts: &Parts) -> Bearer<'_> {
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        return Bearer::Absent;
    };
    header
        .to_str()
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .map_or(Bearer::Malformed, |(_, token)| Bearer::Token(token))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let opened = match bearer(parts) {
            Bearer::Absent => Err(Refused::Missing),
            Bearer::Malformed => Err(Refused::Invalid),
            Bearer::Token(token) => session::authenticate(&state.tokens, &state.pool, Some(token)).await,
        };
        opened.map(Self::from).map_err(|refused| match refused {
            Refused::Database(e) => e.into(),
            refused => {
                if let Some(failure) = refused.failure() {
                    state.metrics.auth_failure(failure);
                }
                ApiError::unauthorized()
            }
        })
    }
}
