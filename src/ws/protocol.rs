//! What an endpoint gives a [`super::session::Session`]: the frames it sends, how it ends, and
//! the [`Protocol`] that decides both.

use std::future::Future;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::close;
use crate::live::LiveItem;

/// One text frame for the client.
pub struct Frame {
    /// Shared, not copied: a message's frame is serialized once per node for all its sockets.
    pub text: Utf8Bytes,
    /// The feed position the frame reports, if any: the last one queued is where a client told to
    /// resync resumes.
    pub position: Option<i64>,
    /// Ephemeral frames (typing, errors) are dropped when the queue is full instead of counting
    /// as the client falling behind.
    pub droppable: bool,
}

impl Frame {
    pub fn data(text: impl Into<Utf8Bytes>, position: Option<i64>) -> Self {
        Self {
            text: text.into(),
            position,
            droppable: false,
        }
    }

    pub fn ephemeral(text: impl Into<Utf8Bytes>) -> Self {
        Self {
            text: text.into(),
            position: None,
            droppable: true,
        }
    }
}

/// How a session ends: an optional last frame (after everything queued), then a close frame.
#[derive(Debug)]
pub struct Ending {
    pub code: u16,
    pub reason: &'static str,
    pub last_frame: Option<String>,
}

impl Ending {
    pub fn new(code: u16, reason: &'static str) -> Self {
        Self {
            code,
            reason,
            last_frame: None,
        }
    }

    pub fn policy(reason: &'static str) -> Self {
        Self::new(close::POLICY, reason)
    }

    /// A server-side failure (the database, usually): the client should retry with backoff.
    pub fn unavailable() -> Self {
        Self::new(close::ERROR, "server error; reconnect later")
    }

    pub fn shutdown() -> Self {
        Self::new(close::AWAY, "server shutting down")
    }
}

/// What an endpoint decides. Methods other than `recv` run to completion once started (they are
/// never raced against anything), so they may await the database and keep state across awaits.
pub trait Protocol: Send {
    /// The next item from the hub. Must be cancel-safe (it is raced against the socket).
    fn recv(&mut self) -> impl Future<Output = Result<LiveItem, RecvError>> + Send;

    /// Whether frames still come from `next_backlog` (delivered as the queue has room) rather
    /// than from the hub (queued without waiting).
    fn backfilling(&self) -> bool {
        false
    }

    /// The next backlog frame; `None` when the backlog turned out empty (it may then stop
    /// `backfilling`).
    fn next_backlog(&mut self) -> impl Future<Output = Result<Option<Frame>, Ending>> + Send {
        async { Ok(None) }
    }

    /// Handles a hub item. Frames pushed to `out` are queued before an `Err` ending takes effect.
    fn on_item(
        &mut self,
        item: LiveItem,
        out: &mut Vec<Frame>,
    ) -> impl Future<Output = Result<(), Ending>> + Send;

    /// Handles a text frame from the client.
    fn on_text(
        &mut self,
        text: &str,
        out: &mut Vec<Frame>,
    ) -> impl Future<Output = Result<(), Ending>> + Send;

    /// The ending for a client that fell behind, given the position of the last frame queued.
    fn overflow(&self, last_position: Option<i64>) -> Ending;

    /// The authenticated user: the frame limit is theirs, over all their sockets on this node.
    fn user(&self) -> Uuid;

    /// The `exp` of the token the session was opened with (unix seconds): the session closes
    /// with 1008 when it passes, as a request with that token would be refused.
    fn token_expires_at(&self) -> i64;

    /// The client sent frames faster than `RATE_LIMIT_WS_FRAMES` allows: they are dropped, and
    /// this is called once per stretch of refusals (so the notice can't be amplified).
    fn on_throttled(&mut self, _retry_after: Duration, _out: &mut Vec<Frame>) {}
}
