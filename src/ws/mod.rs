//! WebSocket endpoints.
//!
//! - `GET /ws/{channel_id}?token=`: the Zync socket (`zync-api.md`): one MessageRead text frame
//!   per message posted in the channel, nothing else.
//! - `GET /v1/ws?token=[&resume_from=<position>]`: the native socket: every event the user may
//!   see, in feed order, resumable (see [`native`]).
//!
//! Both accept the upgrade first and report a refusal as a close code, because browsers can't
//! read the status of a failed handshake.
//!
//! # Close codes
//! | code | when |
//! |---|---|
//! | 1001 | the server is shutting down, or the socket was idle: nothing (not even a pong) arrived for `WS_IDLE_TIMEOUT_SECS`. Reconnect (and resume) at once, any node |
//! | 1008 | missing, invalid, expired or revoked token (user deleted, password changed, logged out), and on an open socket when its token expires (reason `token expired`, within a second of `exp`); Zync socket also: invalid or unknown channel, not (or no longer) a member, channel deleted. Clients read it as "log in again" |
//! | 1009 | the client sent a message larger than 16 KiB |
//! | 1011 | a server error (the database unavailable, say): reconnect with backoff |
//! | 1013 | Zync socket: the client fell behind (see below). Reconnect after a pause |
//! | 4008 | native socket: the client fell behind. Preceded by `{"type":"resync_required","position":P}`, `P` being the position of the last frame queued for it; reconnect with `resume_from=P` |
//! | 4400 | native socket: `resume_from` is not a position of the feed |
//!
//! # Falling behind
//! Each socket has a queue of `WS_SEND_QUEUE` frames, filled by its session and drained by a
//! writer task, so a client that stops reading blocks nobody else. When the queue is full a frame
//! may wait a moment for room (bursts larger than the queue are fine for a client that reads);
//! if none comes, or the node's broadcast outruns the session, the session stops feeding the
//! socket, lets the writer flush what is queued, and closes (4008 or 1013 above).
//! `docs/realtime.md` is the client authors' version of all this.

pub mod native;
pub mod protocol;
pub mod session;
pub mod zync;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::get;
use axum::Router;

use self::protocol::Ending;
use crate::auth::session::Refused;
use crate::http::current_user::CurrentUser;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The close codes above.
pub mod close {
    pub const AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const ERROR: u16 = 1011;
    pub const AGAIN: u16 = 1013;
    pub const RESYNC: u16 = 4008;
    pub const BAD_RESUME: u16 = 4400;
}

/// Clients only ever send small control frames (typing); anything bigger is refused by the
/// WebSocket layer, and the session closes with 1009.
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;
/// The per-socket read buffer, allocated up front for every connection. tungstenite's default
/// (128 KiB) is for sockets that receive a lot; ours receive a typing frame now and then, and a
/// node holds tens of thousands of them.
const READ_BUFFER: usize = 4 * 1024;

/// The upgrade both endpoints answer, with their settings. A request that is not a WebSocket
/// handshake gets axum's status (400, 426…) with the contract's JSON `{"detail"}` body.
pub struct Upgrade(WebSocketUpgrade);

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map(|upgrade| {
                Upgrade(
                    upgrade
                        .max_message_size(MAX_CLIENT_MESSAGE)
                        .read_buffer_size(READ_BUFFER),
                )
            })
            .map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ws/{channel_id}", get(zync::connect))
        .route("/v1/ws", get(native::connect))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(zync::connect, native::connect),
    tags((name = "live", description = "WebSocket streams (close codes: see the endpoint descriptions)"))
)]
pub struct WsApi;

/// A query parameter, read by hand: a malformed query must become a close code after the
/// upgrade, not an HTTP error the client's WebSocket API can't show.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Checks a `?token=` the way the `Authorization` header is checked (live user, current
/// credential version). Also used to re-check a session when an event may have revoked it.
async fn authenticate(state: &AppState, token: Option<&str>) -> Result<CurrentUser, Ending> {
    let refused = match crate::auth::session::authenticate(&state.tokens, &state.pool, token).await {
        Ok(session) => return Ok(session.into()),
        Err(refused) => refused,
    };
    if let Some(failure) = refused.failure() {
        state.metrics.auth_failure(failure);
    }
    Err(match refused {
        Refused::Missing => Ending::policy("missing token"),
        Refused::Expired => Ending::policy(TOKEN_EXPIRED),
        Refused::Invalid | Refused::Revoked => Ending::policy("invalid or expired token"),
        Refused::Database(e) => {
            tracing::warn!(error = %e, "could not check a socket's token");
            Ending::unavailable()
        }
    })
}

/// The close reason when a token expires, at the handshake or on an open socket.
pub const TOKEN_EXPIRED: &str = "token expired";
