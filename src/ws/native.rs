//! `GET /v1/ws?token=[&resume_from=<position>]`: the native socket. One socket carries every
//! event the user may see, in feed order.
//!
//! # Frames (server → client)
//! - `{"type":"ready","position":P}` first: the stream continues after position `P`.
//! - `{"type":"<kind>","position":N,"data":{..}}` for each visible event (`live::frames`):
//!   `message.created|edited|deleted`, `channel.created|updated|owner_changed|deleted`,
//!   `member.joined|left`, `user.updated|deleted`.
//! - `{"type":"typing","data":{"channel_id","user_id"}}`: another member is typing; ephemeral,
//!   no position, never stored.
//! - `{"type":"resync_required","position":P}`: the client fell behind; the socket then closes
//!   with 4008. Reconnect with `resume_from=P`.
//!
//! # Frames (client → server)
//! - `{"type":"typing","channel_id":".."}`: relayed to the channel's other members on every node
//!   (at most once a second per channel, and ten signals a second in all; more is ignored).
//!
//! Anything else a client sends (not JSON, another type, typing outside the user's channels) is
//! ignored without an answer: an answer would only take room in the client's own queue, and
//! `docs/realtime.md` promises silence.
//!
//! # Resume
//! `resume_from=P` (a position from any frame, on any node, before or after a restart) sends
//! every visible event after `P` in order, then continues live: no gap, no duplicate.
//! `resume_from=0` starts from the beginning; a position the feed doesn't have closes with 4400.
//! Without it the stream starts now (`ready` tells where).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use projections::{FeedCursor, FeedReader};
use serde_json::{json, Value};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::Instant;
use uuid::Uuid;

use super::protocol::{Ending, Frame, Protocol};
use super::session::Session;
use super::{authenticate, close, query_param, Upgrade};
use crate::live::replay::visible_after;
use crate::live::{frames, LiveItem, Memberships};
use crate::metrics::SocketKind;
use crate::read::channels;
use crate::state::AppState;

/// Visible events fetched per backlog read: bounds what a resuming session holds in memory.
const BACKLOG_PAGE: usize = 100;
/// Typing relays per channel are at most this frequent, so a chatty client costs one membership
/// check and one NOTIFY per channel per interval.
const TYPING_INTERVAL: Duration = Duration::from_secs(1);
/// At most this often is a typing frame checked at all (see `typing_checked`).
const TYPING_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Every event the user may see, resumable.
///
/// Frames are `{"type","position","data"}`; the first is `{"type":"ready","position":P}`. With
/// `resume_from=P` every visible event after `P` is sent first. A client that falls behind gets
/// `{"type":"resync_required","position":P}` and close 4008; a bad `resume_from` closes with 4400;
/// a bad, revoked or (later) expired token with 1008; a client message over 16 KiB with 1009;
/// shutdown or idle 1001; server trouble 1011.
/// Client frame: `{"type":"typing","channel_id":".."}`.
#[utoipa::path(
    get, path = "/v1/ws", tag = "live", operation_id = "native_socket",
    params(
        ("token" = String, Query, description = "An access token from `POST /token`"),
        ("resume_from" = Option<i64>, Query, description = "Resume after this position (0: the beginning)"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket handshake", body = crate::http::schemas::ErrorBody),
    )
)]
pub async fn connect(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    Upgrade(upgrade): Upgrade,
) -> Response {
    let token = query_param(query.as_deref(), "token");
    let resume_from = query_param(query.as_deref(), "resume_from");
    // Subscribed before the handshake is answered, so "live" covers everything after it.
    let subscription = state.live.subscribe();
    upgrade.on_upgrade(move |socket| async move {
        let _open = state.metrics.socket_opened(SocketKind::Native);
        let session = Session::new(socket, &state);
        match UserStream::open(state, subscription, token, resume_from).await {
            Ok(stream) => session.run(stream).await,
            Err(ending) => session.close(Some(ending)).await,
        }
    })
}

/// Where the frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading the log until past `target`, the hub's position when we subscribed.
    Backfill { target: FeedCursor },
    /// Taking what the hub buffered meanwhile, still at the client's pace.
    Drain,
    /// Straight from the hub, without waiting.
    Live,
}

struct UserStream {
    state: AppState,
    token: String,
    user: Uuid,
    /// The token's `exp`: the session closes when it passes.
    expires_at: i64,
    hub: broadcast::Receiver<LiveItem>,
    memberships: Memberships,
    /// The last event examined, visible or not: the hub's copies of it and of anything before it
    /// were already handled by the backfill.
    last: FeedCursor,
    phase: Phase,
    /// Backlog frames ready to go, and an ending to apply once they are gone.
    ready: VecDeque<Frame>,
    ending: Option<Ending>,
    /// When each channel's last typing signal was relayed (recent ones only).
    typing_relayed: HashMap<Uuid, Instant>,
    /// When a typing signal was last checked at all: each check is a query, so a client
    /// spraying typing frames (for channels it isn't in, say) gets a few per second at most.
    typing_checked: Option<Instant>,
}

impl UserStream {
    /// `subscription` was taken first: everything after `head` is on the receiver, so whatever
    /// the checks and the backfill below don't see can't be missed.
    async fn open(
        state: AppState,
        (hub, head): (broadcast::Receiver<LiveItem>, FeedCursor),
        token: Option<String>,
        resume_from: Option<String>,
    ) -> Result<Self, Ending> {
        let current = authenticate(&state, token.as_deref()).await?;
        let user = current.id;
        let start = match resume_from {
            None => head,
            Some(raw) => resume_cursor(&state, &raw).await?,
        };
        let memberships = Memberships::as_of(&state.pool, user, start)
            .await
            .map_err(|_| Ending::unavailable())?;
        let ready = Frame::data(
            json!({"type": "ready", "position": start.position}).to_string(),
            Some(start.position),
        );
        Ok(Self {
            state,
            token: token.unwrap_or_default(),
            user,
            expires_at: current.token.expires_at,
            hub,
            memberships,
            last: start,
            phase: if start < head {
                Phase::Backfill { target: head }
            } else {
                Phase::Drain
            },
            ready: VecDeque::from([ready]),
            ending: None,
            typing_relayed: HashMap::new(),
            typing_checked: None,
        })
    }

    /// Handles one hub item, in feed order, whether drained or live.
    async fn observe(&mut self, item: LiveItem, out: &mut Vec<Frame>) -> Result<(), Ending> {
        match item {
            LiveItem::Event(event) => {
                if event.cursor <= self.last {
                    return Ok(());
                }
                self.last = event.cursor;
                if self.memberships.observe(&event) {
                    if let Some(frame) = frames::frame(&event) {
                        out.push(Frame::data(frame.to_string(), Some(event.position())));
                    }
                }
                if event.revokes(self.user) {
                    self.recheck().await?;
                }
            }
            LiveItem::SessionsRevoked { user_id } if user_id == self.user => self.recheck().await?,
            LiveItem::SessionsRevoked { .. } => {}
            LiveItem::Typing { channel_id, user_id } => {
                if user_id != self.user && self.memberships.contains(channel_id) {
                    let frame =
                        json!({"type": "typing", "data": {"channel_id": channel_id, "user_id": user_id}});
                    out.push(Frame::ephemeral(frame.to_string()));
                }
            }
        }
        Ok(())
    }

    /// Whether the token still holds (it may postdate a revoking event, after a quick re-login).
    async fn recheck(&self) -> Result<(), Ending> {
        authenticate(&self.state, Some(&self.token)).await.map(|_| ())
    }

    async fn typing(&mut self, channel: Uuid) {
        let now = Instant::now();
        let recent = |at: &Instant, interval| now.duration_since(*at) < interval;
        if self
            .typing_relayed
            .get(&channel)
            .is_some_and(|at| recent(at, TYPING_INTERVAL))
            || self
                .typing_checked
                .is_some_and(|at| recent(&at, TYPING_CHECK_INTERVAL))
        {
            return;
        }
        self.typing_checked = Some(now);
        match channels::access(&self.state.pool, channel, self.user).await {
            Ok(Some(access)) if access.is_member => {
                self.typing_relayed.retain(|_, at| recent(at, TYPING_INTERVAL));
                self.typing_relayed.insert(channel, now);
                if let Err(error) = self.state.live.publish_typing(channel, self.user).await {
                    tracing::warn!(%error, "could not relay a typing signal");
                }
            }
            Ok(_) => {}
            // Typing is best effort: a database hiccup just loses one signal.
            Err(error) => tracing::warn!(%error, "could not check a typing signal"),
        }
    }
}

impl Protocol for UserStream {
    async fn recv(&mut self) -> Result<LiveItem, RecvError> {
        self.hub.recv().await
    }

    fn token_expires_at(&self) -> i64 {
        self.expires_at
    }

    fn user(&self) -> Uuid {
        self.user
    }

    fn on_throttled(&mut self, retry_after: Duration, out: &mut Vec<Frame>) {
        let notice = json!({"type": "rate_limited", "retry_after": retry_after.as_secs_f64()});
        out.push(Frame::ephemeral(notice.to_string()));
    }

    fn backfilling(&self) -> bool {
        self.phase != Phase::Live || !self.ready.is_empty() || self.ending.is_some()
    }

    async fn next_backlog(&mut self) -> Result<Option<Frame>, Ending> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Ok(Some(frame));
            }
            if let Some(ending) = self.ending.take() {
                return Err(ending);
            }
            match self.phase {
                Phase::Backfill { target } => {
                    let page =
                        visible_after(&self.state.pool, &mut self.memberships, self.last, BACKLOG_PAGE)
                            .await
                            .map_err(|_| Ending::unavailable())?;
                    self.last = page.next;
                    self.ready.extend(page.events.iter().filter_map(|event| {
                        let frame = frames::frame(event)?;
                        Some(Frame::data(frame.to_string(), Some(event.position())))
                    }));
                    if page.caught_up || self.last >= target {
                        self.phase = Phase::Drain;
                        // The backlog doesn't show password changes, and one may have landed in
                        // it after the check at connect; anything later arrives live.
                        if let Err(ending) = self.recheck().await {
                            self.ending = Some(ending);
                        }
                    } else if self.ready.is_empty() {
                        // A stretch of log with nothing for this user: let the session look at
                        // its socket before reading on.
                        return Ok(None);
                    }
                }
                Phase::Drain => match self.hub.try_recv() {
                    Ok(item) => {
                        let mut out = Vec::new();
                        let result = self.observe(item, &mut out).await;
                        self.ready.extend(out);
                        if let Err(ending) = result {
                            self.ending = Some(ending);
                        }
                    }
                    Err(TryRecvError::Empty) => {
                        self.phase = Phase::Live;
                        return Ok(None);
                    }
                    // The hub outran us while we read the log. Nothing is lost: subscribe again
                    // and read the log up to the new position.
                    Err(TryRecvError::Lagged(_)) => {
                        let (hub, head) = self.state.live.subscribe();
                        self.hub = hub;
                        self.phase = Phase::Backfill { target: head };
                    }
                    Err(TryRecvError::Closed) => return Err(Ending::shutdown()),
                },
                Phase::Live => return Ok(None),
            }
        }
    }

    async fn on_item(&mut self, item: LiveItem, out: &mut Vec<Frame>) -> Result<(), Ending> {
        self.observe(item, out).await
    }

    async fn on_text(&mut self, text: &str, _: &mut Vec<Frame>) -> Result<(), Ending> {
        let frame: Value = serde_json::from_str(text).unwrap_or_default();
        if frame["type"] == "typing" {
            if let Some(channel) = frame["channel_id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok())
            {
                self.typing(channel).await;
            }
        }
        Ok(())
    }

    fn overflow(&self, last_position: Option<i64>) -> Ending {
        let position = last_position.unwrap_or(self.last.position);
        Ending {
            last_frame: Some(json!({"type": "resync_required", "position": position}).to_string()),
            ..Ending::new(close::RESYNC, "too far behind; resume from the position given")
        }
    }
}

/// The cursor a client resumes after.
async fn resume_cursor(state: &AppState, raw: &str) -> Result<FeedCursor, Ending> {
    let unknown = || Ending::new(close::BAD_RESUME, "resume_from is not a position of the feed");
    let position: i64 = raw.trim().parse().map_err(|_| unknown())?;
    match position {
        0 => Ok(FeedCursor::START),
        p if p < 0 => Err(unknown()),
        p => {
            let mut conn = state.pool.acquire().await.map_err(|_| Ending::unavailable())?;
            FeedReader::cursor_at(&mut conn, p)
                .await
                .map_err(|_| Ending::unavailable())?
                .ok_or_else(unknown)
        }
    }
}
