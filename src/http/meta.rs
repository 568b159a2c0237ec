//! Who did what, from where: a request's audit metadata (`commands::RequestMeta`), read from
//! its headers and connection.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use uuid::Uuid;

use crate::commands::RequestMeta;

/// The header carrying a request id (set by the request-id layer when the client sends none).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let request_id = parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(128).collect())
            .unwrap_or_else(|| Uuid::now_v7().to_string());
        let client_addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(Self {
            actor: None,
            request_id,
            client_addr,
        })
    }
}
