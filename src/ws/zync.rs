//! `GET /ws/{channel_id}?token=`: the Zync-compatible socket. A Zync client appends every frame
//! as a message bubble, so only MessageRead objects of messages posted in the channel are ever
//! sent; client frames are ignored.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::protocol::{Ending, Frame, Protocol};
use super::session::Session;
use super::{authenticate, close, query_param, Upgrade};
use crate::live::LiveItem;
use crate::metrics::SocketKind;
use crate::read::channels;
use crate::state::AppState;

/// Live messages of one channel, as Zync sent them.
///
/// After the upgrade, every message created in the channel (on any node) arrives as one text
/// frame holding its MessageRead, exactly as the POST answered it. Nothing else is sent.
/// Closes with 1008 for a missing/invalid/expired token, an invalid or unknown channel, a caller
/// who is not a member, and later when the user leaves, the channel is deleted, the user is
/// deleted or changes password, or the token expires; 1009 for a client message over 16 KiB;
/// 1013 when the client falls behind; 1001 on server shutdown or when idle; 1011 on a server
/// error.
#[utoipa::path(
    get, path = "/ws/{channel_id}", tag = "live", operation_id = "zync_socket",
    params(
        ("channel_id" = String, Path, description = "The channel's id"),
        ("token" = String, Query, description = "An access token from `POST /token`"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket handshake", body = crate::http::schemas::ErrorBody),
    )
)]
pub async fn connect(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    RawQuery(query): RawQuery,
    Upgrade(upgrade): Upgrade,
) -> Response {
    let token = query_param(query.as_deref(), "token");
    // Subscribed before the handshake is answered: a client may rely on every message posted
    // after its handshake completed, and a leave or revocation the checks below don't see yet
    // is certain to arrive on the receiver. Only this channel's topic: other channels' traffic
    // never wakes this socket.
    let channel = Uuid::parse_str(&channel_id).ok();
    let hub = channel.map(|c| state.live.subscribe_channel(c).0);
    upgrade.on_upgrade(move |socket| async move {
        let _open = state.metrics.socket_opened(SocketKind::Zync);
        let session = Session::new(socket, &state);
        match ChannelStream::open(state, hub.zip(channel), token).await {
            Ok(stream) => session.run(stream).await,
            Err(ending) => session.close(Some(ending)).await,
        }
    })
}

struct ChannelStream {
    state: AppState,
    token: String,
    user: Uuid,
    /// The token's `exp`: the session closes when it passes.
    expires_at: i64,
    channel: Uuid,
    hub: broadcast::Receiver<LiveItem>,
}

impl ChannelStream {
    /// `subscription` is the channel's topic and the channel, or `None` for a path that is not
    /// a channel id.
    async fn open(
        state: AppState,
        subscription: Option<(broadcast::Receiver<LiveItem>, Uuid)>,
        token: Option<String>,
    ) -> Result<Self, Ending> {
        let Some((hub, channel)) = subscription else {
            return Err(Ending::policy("invalid channel id"));
        };
        let current = authenticate(&state, token.as_deref()).await?;
        let user = current.id;
        match channels::access(&state.pool, channel, user).await {
            Ok(Some(access)) if access.is_member => {}
            Ok(_) => return Err(Ending::policy("not a member of this channel")),
            Err(_) => return Err(Ending::unavailable()),
        }
        Ok(Self {
            token: token.unwrap_or_default(),
            state,
            user,
            expires_at: current.token.expires_at,
            channel,
            hub,
        })
    }
}

impl Protocol for ChannelStream {
    async fn recv(&mut self) -> Result<LiveItem, RecvError> {
        self.hub.recv().await
    }

    /// Zync clients' frames are ignored anyway; over the limit they are dropped unread, silently
    /// (a Zync client has nothing to show for a notice).
    fn user(&self) -> Uuid {
        self.user
    }

    fn token_expires_at(&self) -> i64 {
        self.expires_at
    }

    async fn on_item(&mut self, item: LiveItem, out: &mut Vec<Frame>) -> Result<(), Ending> {
        let event = match item {
            LiveItem::Event(event) => event,
            LiveItem::SessionsRevoked { user_id } if user_id == self.user => {
                authenticate(&self.state, Some(&self.token)).await?;
                return Ok(());
            }
            _ => return Ok(()),
        };
        if event.channel_id == Some(self.channel) {
            if event.ends_membership_of(self.user) {
                return Err(Ending::policy("no longer a member of this channel"));
            }
            if event.is_message_posted() {
                if let Some(text) = &event.message_json {
                    out.push(Frame::data(text.clone(), Some(event.position())));
                }
            }
        }
        if event.revokes(self.user) {
            // The token may have been issued after this event (a quick re-login): ask the
            // credentials, which know.
            authenticate(&self.state, Some(&self.token)).await?;
        }
        Ok(())
    }

    async fn on_text(&mut self, _: &str, _: &mut Vec<Frame>) -> Result<(), Ending> {
        Ok(())
    }

    fn overflow(&self, _: Option<i64>) -> Ending {
        Ending::new(close::AGAIN, "too far behind; reconnect")
    }
}
