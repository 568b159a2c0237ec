//! Rate limits at the HTTP edge: message posts per user (this node's memory) with Discord-style
//! `X-RateLimit-*` headers, and failed logins per account and per client address (shared by every
//! node through PostgreSQL). A refusal is `429` with `Retry-After` and a `detail`.

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponseParts, ResponseParts};
use sqlx::PgPool;
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use crate::limits::{shared, Decision, Rate};
use crate::state::AppState;

pub const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
pub const RESET_AFTER: HeaderName = HeaderName::from_static("x-ratelimit-reset-after");

const TOO_MANY_MESSAGES: &str = "Too many messages; slow down";
const TOO_MANY_LOGINS: &str = "Too many failed login attempts; try again later";

const LOGIN_ACCOUNT: &str = "login:account";
const LOGIN_ADDRESS: &str = "login:address";

/// The `X-RateLimit-*` headers of a decision (none when the limit is off).
pub struct RateHeaders(Option<Decision>);

fn header_values(d: &Decision) -> [(HeaderName, HeaderValue); 3] {
    // Seconds with millisecond precision, as Discord sends them.
    let reset_after = format!("{:.3}", d.reset_after.as_secs_f64());
    [
        (LIMIT, d.limit.into()),
        (REMAINING, d.remaining.into()),
        (
            RESET_AFTER,
            HeaderValue::from_str(&reset_after).expect("digits and a dot"),
        ),
    ]
}

impl IntoResponseParts for RateHeaders {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        if let Some(decision) = &self.0 {
            for (name, value) in header_values(decision) {
                res.headers_mut().insert(name, value);
            }
        }
        Ok(res)
    }
}

/// Takes one message post for `user`: the headers for the response, or the 429.
pub fn take_post(state: &AppState, user: Uuid) -> ApiResult<RateHeaders> {
    let Some(limiter) = &state.limits.messages else {
        return Ok(RateHeaders(None));
    };
    let decision = limiter.take(&user);
    if decision.allowed {
        return Ok(RateHeaders(Some(decision)));
    }
    let refusal = ApiError::too_many_requests(TOO_MANY_MESSAGES, decision.retry_after);
    Err(header_values(&decision)
        .into_iter()
        .fold(refusal, |e, (name, value)| e.with_header(name, value)))
}

/// One login attempt's claim on the failed-login limits. Taken before the password is checked (so
/// concurrent guesses on several nodes can't overshoot); a success gives it back.
pub struct LoginAttempt {
    address: Option<(String, Rate)>,
    account: Option<(String, Rate)>,
}

impl LoginAttempt {
    /// Takes an attempt for `username` (`None`: a name no account can have) from `address`, or
    /// refuses with 429.
    pub async fn take(state: &AppState, username: Option<&str>, address: Option<&str>) -> ApiResult<Self> {
        let settings = state.limits.settings;
        let pool = &state.pool;
        let mut attempt = Self {
            address: None,
            account: None,
        };
        if let (Some(rate), Some(address)) = (settings.login_address, address) {
            if let Err(wait) = shared::take(pool, LOGIN_ADDRESS, address, rate).await? {
                return Err(ApiError::too_many_requests(TOO_MANY_LOGINS, wait));
            }
            attempt.address = Some((address.to_string(), rate));
        }
        if let (Some(rate), Some(username)) = (settings.login_account, username) {
            // The account as login finds it (case-folded), so spelling variants share a bucket.
            let account: String = sqlx::query_scalar("SELECT identity_key($1)")
                .bind(username)
                .fetch_one(pool)
                .await?;
            if let Err(wait) = shared::take(pool, LOGIN_ACCOUNT, &account, rate).await? {
                attempt.give_back_address(pool).await;
                return Err(ApiError::too_many_requests(TOO_MANY_LOGINS, wait));
            }
            attempt.account = Some((account, rate));
        }
        Ok(attempt)
    }

    /// The password was right: the address gets its attempt back and the account starts afresh.
    pub async fn succeeded(self, pool: &PgPool) {
        if let Some((account, _)) = &self.account {
            if let Err(e) = shared::reset(pool, LOGIN_ACCOUNT, account).await {
                tracing::warn!(error = %e, "could not reset a login limit");
            }
        }
        self.give_back_address(pool).await;
    }

    async fn give_back_address(&self, pool: &PgPool) {
        if let Some((address, rate)) = &self.address {
            if let Err(e) = shared::give_back(pool, LOGIN_ADDRESS, address, *rate).await {
                tracing::warn!(error = %e, "could not give back a login attempt");
            }
        }
    }
}
