//! Who a bearer token speaks for, right now: a token is accepted only while its user is live, its
//! credential version is current and it was not logged out, so deletion, password changes and
//! `POST /logout` revoke it at once. The HTTP extractor and the WebSocket handshake both ask
//! here and map the answer to a status or a close code.

use sqlx::PgPool;
use uuid::Uuid;

use super::credentials;
use super::token::{Rejected, TokenId, TokenKeys};
use crate::metrics::AuthFailure;

#[derive(Debug, Clone, Copy)]
pub struct Session {
    pub user_id: Uuid,
    /// The token presented (what `POST /logout` revokes).
    pub token: TokenId,
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("no token")]
    Missing,
    #[error("not a token of ours")]
    Invalid,
    #[error("token expired")]
    Expired,
    /// Well-formed and signed, but its user is gone, changed password, or logged it out.
    #[error("token revoked")]
    Revoked,
    /// The credentials could not be read: nothing is known about the token.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Refused {
    /// The authentication-failure metric this refusal counts as (none when the database failed).
    pub fn failure(&self) -> Option<AuthFailure> {
        match self {
            Self::Missing => Some(AuthFailure::TokenMissing),
            Self::Invalid => Some(AuthFailure::TokenInvalid),
            Self::Expired => Some(AuthFailure::TokenExpired),
            Self::Revoked => Some(AuthFailure::TokenRevoked),
            Self::Database(_) => None,
        }
    }
}

/// The session `token` opens, if any. Blank tokens count as missing.
pub async fn authenticate(
    tokens: &TokenKeys,
    pool: &PgPool,
    token: Option<&str>,
) -> Result<Session, Refused> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Refused::Missing)?;
    let verified = tokens.verify(token).map_err(|rejected| match rejected {
        Rejected::Expired => Refused::Expired,
        Rejected::Invalid => Refused::Invalid,
    })?;
    match credentials::session_version(pool, verified.user_id, verified.token.jti).await? {
        Some(current) if current == verified.version => Ok(Session {
            user_id: verified.user_id,
            token: verified.token,
        }),
        _ => Err(Refused::Revoked),
    }
}
