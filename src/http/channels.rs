//! `/channels` routes.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}

#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct ChannelsApi;
