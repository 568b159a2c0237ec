//! Who did what, from where: the audit metadata of a request.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use uuid::Uuid;

use crate::commands::audit_metadata;

/// The header carrying a request id (set by the request-id layer when the client sends none).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub actor: Option<Uuid>,
    pub request_id: String,
    pub client_addr: Option<String>,
}

impl RequestMeta {
    pub fn by(mut self, actor: Uuid) -> Self {
        self.actor = Some(actor);
        self
    }

    pub fn metadata(&self) -> HashMap<String, String> {
        audit_metadata(self.actor, &self.request_id, self.client_addr.as_deref())
    }
}

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
