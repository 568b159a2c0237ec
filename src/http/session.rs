//! `GET /` and `POST /token` (OAuth2 password flow).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::current_user::CurrentUser;
use super::error::{ApiError, ApiResult, Issue};
use super::rate_limit::LoginAttempt;
use super::schemas::Acknowledgement;
use crate::auth::{credentials, password};
use crate::commands::RequestMeta;
use crate::live::hub::SESSIONS_CHANNEL;
use crate::state::AppState;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Welcome {
    pub message: String,
}

#[utoipa::path(get, path = "/", tag = "meta", responses((status = 200, body = Welcome)))]
pub async fn root() -> Json<Welcome> {
    Json(Welcome {
        message: "Welcome to Zync".into(),
    })
}

/// The OAuth2 password form (`grant_type`, `scope`, `client_id`, `client_secret` are accepted and
/// ignored, as FastAPI's `OAuth2PasswordRequestForm` does).
#[derive(Deserialize, ToSchema)]
pub struct TokenForm {
    pub username: String,
    pub password: String,
    // Declared so that the OpenAPI document lists them; read by nobody.
    #[serde(default)]
    #[expect(dead_code, reason = "documented, accepted and ignored")]
    pub grant_type: Option<String>,
    #[serde(default)]
    #[expect(dead_code, reason = "documented, accepted and ignored")]
    pub scope: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Token {
    pub access_token: String,
    pub token_type: String,
}

#[utoipa::path(
    post, path = "/token", tag = "auth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = Token),
        (status = 401, description = "Incorrect username or password", body = super::schemas::ErrorBody),
        (status = 429, description = "Too many failed attempts for this account or from this address", body = super::schemas::ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds until another attempt is accepted"))),
        (status = 413, description = "Request body too large", body = super::schemas::ErrorBody),
        (status = 422, description = "Missing form fields", body = super::schemas::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    request: Request,
) -> ApiResult<Json<Token>> {
    let form = read_form(request).await?;
    let wrong = || {
        state.metrics.auth_failure(crate::metrics::AuthFailure::Login);
        ApiError::new(StatusCode::UNAUTHORIZED, "Incorrect username or password")
    };
    if form.password.chars().count() > password::MAX_PASSWORD_CHARS || form.username.len() > 320 {
        return Err(wrong());
    }
    // Trimmed as at registration, so the name is found however it was typed there.
    let username = aggregates::values::Username::typed(&form.username);
    // PostgreSQL text cannot hold NUL, so no account has such a name: unknown, not a 503.
    let account = Some(username).filter(|name| !name.contains('\0'));
    let attempt = LoginAttempt::take(&state, account, meta.client_addr.as_deref())
        .await
        .inspect_err(|e| {
            if e.status == StatusCode::TOO_MANY_REQUESTS {
                state
                    .metrics
                    .auth_failure(crate::metrics::AuthFailure::LoginRateLimited);
            }
        })?;
    let found = match account {
        Some(name) => credentials::for_login(&state.pool, name).await?,
        None => None,
    };
    let (stored, who) = match found {
        Some((id, hash, version)) => (Some(hash), Some((id, version))),
        None => (None, None),
    };
    // Unknown users are verified against a dummy hash: same cost, same answer.
    let ok = password::verify(form.password, stored).await.map_err(|e| {
        tracing::error!(error = %e, "password verification failed");
        ApiError::unavailable()
    })?;
    match (ok, who) {
        (true, Some((id, version))) => {
            attempt.succeeded(&state.pool).await;
            let access_token = state.tokens.issue(id, version).map_err(|e| {
                tracing::error!(error = %e, "token signing failed");
                ApiError::internal()
            })?;
            Ok(Json(Token {
                access_token,
                token_type: "bearer".into(),
            }))
        }
        _ => Err(wrong()),
    }
}

#[utoipa::path(
    post, path = "/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The presented token no longer works, on any node; sockets opened with it close with 1008", body = Acknowledgement),
        (status = 401, body = super::schemas::ErrorBody),
    )
)]
pub async fn logout(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Json<Acknowledgement>> {
    credentials::revoke_token(&state.pool, user.id, user.token, SESSIONS_CHANNEL).await?;
    Ok(Json(Acknowledgement {
        message: "Logged out".into(),
    }))
}

/// The OAuth2 form, url-encoded or multipart (FastAPI's form parser takes both; browsers send
/// `FormData` as multipart). Every missing field is listed in the 422.
async fn read_form(request: Request) -> ApiResult<TokenForm> {
    let multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let unreadable = || ApiError::bad_request("Could not read the form");
    if !multipart {
        let body = Bytes::from_request(request, &()).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
            }
            _ => unreadable(),
        })?;
        return parse_urlencoded_form(&body);
    }
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut parts = Multipart::from_request(request, &())
        .await
        .map_err(|_| unreadable())?;
    while let Some(part) = parts.next_field().await.map_err(|_| unreadable())? {
        let name = part.name().unwrap_or_default().to_string();
        let value = part.text().await.map_err(|_| unreadable())?;
        fields.entry(name).or_insert(value);
    }
    token_form(fields)
}

/// The url-encoded OAuth2 form (the first of repeated fields wins). Public for the fuzz targets
/// (`fuzz/`).
pub fn parse_urlencoded_form(body: &[u8]) -> ApiResult<TokenForm> {
    let mut fields: HashMap<String, String> = HashMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        fields
            .entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    token_form(fields)
}

fn token_form(mut fields: HashMap<String, String>) -> ApiResult<TokenForm> {
    let missing: Vec<Issue> = ["username", "password"]
        .into_iter()
        .filter(|f| !fields.contains_key(*f))
        .map(|f| Issue::new(&["body", f], "Field required", "missing"))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(missing));
    }
    Ok(TokenForm {
        username: fields.remove("username").unwrap_or_default(),
        password: fields.remove("password").unwrap_or_default(),
        grant_type: fields.remove("grant_type"),
        scope: fields.remove("scope"),
    })
}
