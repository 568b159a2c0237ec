//! What a user may see: the channels they belong to *at each point of the feed*, so a resumed or
//! backfilled stream shows a channel's events only from when they joined until they left.

use std::collections::HashSet;

use aggregates::channel::ChannelEvent;
use projections::{DecodedEvent, FeedCursor};
use sqlx::PgPool;
use uuid::Uuid;

use super::event::LiveEvent;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memberships {
    user: Uuid,
    channels: HashSet<Uuid>,
}

impl Memberships {
    pub fn new(user: Uuid, channels: impl IntoIterator<Item = Uuid>) -> Self {
        Self {
            user,
            channels: channels.into_iter().collect(),
        }
    }

    /// The user's channels as of `cursor`, replayed from their membership events.
    pub async fn as_of(pool: &PgPool, user: Uuid, cursor: FeedCursor) -> Result<Self, sqlx::Error> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT aggregate_id, event_type, payload -> event_type ->> 'user_id' FROM events
              WHERE aggregate_type = 'Channel'
                AND ((event_type IN ('MemberJoined', 'MemberLeft') AND payload -> event_type ->> 'user_id' = $1)
                     OR event_type = 'ChannelDeleted')
                AND (tx_id, global_position) <= ($2::text::xid8, $3)
              ORDER BY tx_id, global_position",
        )
        .bind(user.to_string())
        .bind(cursor.tx_id.to_string())
        .bind(cursor.position)
        .fetch_all(pool)
        .await?;
        let mut channels = HashSet::new();
        for (channel, event_type, _) in rows {
            let Ok(channel) = Uuid::parse_str(&channel) else {
                continue;
            };
            match event_type.as_str() {
                "MemberJoined" => {
                    channels.insert(channel);
                }
                _ => {
                    channels.remove(&channel);
                }
            }
        }
        Ok(Self { user, channels })
    }

    pub fn user(&self) -> Uuid {
        self.user
    }

    pub fn contains(&self, channel: Uuid) -> bool {
        self.channels.contains(&channel)
    }

    /// Whether the user may see `event`, then applies it to the membership set. Call in feed
    /// order. A member sees their own joining and leaving, and a channel's deletion.
    pub fn observe(&mut self, event: &LiveEvent) -> bool {
        match (&event.decoded, event.channel_id) {
            (DecodedEvent::Channel(change), Some(channel)) => {
                let before = self.channels.contains(&channel);
                match change {
                    ChannelEvent::MemberJoined { user_id } if *user_id == self.user => {
                        self.channels.insert(channel);
                    }
                    ChannelEvent::MemberLeft { user_id } if *user_id == self.user => {
                        self.channels.remove(&channel);
                    }
                    ChannelEvent::ChannelDeleted {} => {
                        self.channels.remove(&channel);
                    }
                    _ => {}
                }
                before || self.channels.contains(&channel)
            }
            (DecodedEvent::Message(_), Some(channel)) => self.channels.contains(&channel),
            (DecodedEvent::User(_), _) => {
                event.aggregate_id == self.user
                    || event.user_channels.iter().any(|c| self.channels.contains(c))
            }
            _ => false,
        }
    }
}
