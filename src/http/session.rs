//! `GET /` and `POST /token` (OAuth2 password flow).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, Issue};
use crate::auth::{credentials, password};
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
    #[serde(default)]
    pub grant_type: Option<String>,
    #[serde(default)]
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
        (status = 422, description = "Missing form fields", body = super::schemas::ErrorBody),
    )
)]
pub async fn login(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Token>> {
    let form: TokenForm = serde_urlencoded::from_bytes(&body).map_err(|e| {
        let msg = e.to_string();
        let field = msg.split('`').nth(1).unwrap_or("username").to_string();
        ApiError::invalid(Issue::new(&["body", &field], "Field required", "missing"))
    })?;
    let wrong = || ApiError::new(StatusCode::UNAUTHORIZED, "Incorrect username or password");
    if form.password.chars().count() > password::MAX_PASSWORD_CHARS || form.username.len() > 320 {
        return Err(wrong());
    }
    let found = credentials::for_login(&state.pool, form.username.trim()).await?;
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
