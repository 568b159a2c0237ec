//! A feed event prepared for delivery: decoded once per node, with what every session needs to
//! decide visibility and build frames.

use aggregates::channel::ChannelEvent;
use aggregates::message::MessageEvent;
use aggregates::user::UserEvent;
use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use projections::{DecodedEvent, FeedCursor};
use uuid::Uuid;

use crate::read::views::MessageRead;

#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub cursor: FeedCursor,
    pub recorded_at: DateTime<Utc>,
    pub aggregate_id: Uuid,
    pub decoded: DecodedEvent,
    /// The channel a channel or message event belongs to.
    pub channel_id: Option<Uuid>,
    /// For a posted message: the MessageRead exactly as the POST answered it.
    pub message: Option<MessageRead>,
    /// That MessageRead as JSON, serialized once for every Zync socket on the node.
    pub message_json: Option<Utf8Bytes>,
    /// For a user event: the channels that user belongs to (their peers may see it).
    pub user_channels: Vec<Uuid>,
}

impl LiveEvent {
    pub fn position(&self) -> i64 {
        self.cursor.position
    }

    /// Whether this event ends `user`'s right to the channel's stream (they left, or the channel
    /// is gone).
    pub fn ends_membership_of(&self, user: Uuid) -> bool {
        match &self.decoded {
            DecodedEvent::Channel(ChannelEvent::MemberLeft { user_id }) => *user_id == user,
            DecodedEvent::Channel(ChannelEvent::ChannelDeleted {}) => true,
            _ => false,
        }
    }

    /// Whether this event revokes `user`'s sessions (deleted, erased, or their password changed).
    pub fn revokes(&self, user: Uuid) -> bool {
        self.revokes_someone() && self.aggregate_id == user
    }

    /// Whether this event revokes its user's sessions.
    pub fn revokes_someone(&self) -> bool {
        matches!(
            &self.decoded,
            DecodedEvent::User(
                UserEvent::UserDeleted {} | UserEvent::UserErased {} | UserEvent::UserPasswordChanged {}
            )
        )
    }

    pub fn is_message_posted(&self) -> bool {
        matches!(
            &self.decoded,
            DecodedEvent::Message(
                MessageEvent::TextMessagePosted { .. } | MessageEvent::FileMessagePosted { .. }
            )
        )
    }
}

#[cfg(test)]
impl LiveEvent {
    /// A bare event at `position` for unit tests: no message, no user channels.
    pub fn for_test(
        position: i64,
        aggregate_id: Uuid,
        channel_id: Option<Uuid>,
        decoded: DecodedEvent,
    ) -> Self {
        Self {
            cursor: FeedCursor {
                tx_id: position,
                position,
            },
            recorded_at: chrono::Utc::now(),
            aggregate_id,
            decoded,
            channel_id,
            message: None,
            message_json: None,
            user_channels: vec![],
        }
    }
}

/// What the hub publishes: stored events, and ephemeral typing signals (never stored).
#[derive(Debug, Clone)]
pub enum LiveItem {
    Event(std::sync::Arc<LiveEvent>),
    Typing {
        channel_id: Uuid,
        user_id: Uuid,
    },
    /// One of this user's tokens was revoked (`POST /logout`): their sockets re-check theirs.
    SessionsRevoked {
        user_id: Uuid,
    },
}
