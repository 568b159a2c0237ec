//! What every handler shares.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::token::TokenKeys;
use crate::commands::CommandBus;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub tokens: Arc<TokenKeys>,
    pub commands: Arc<CommandBus>,
}
