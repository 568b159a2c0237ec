//! What a user may see: the channels they belong to *at each point of the feed*, so a resumed or
//! backfilled stream shows a channel's events only from when they joined until they left.

use std::collections::HashSet;

use aggregates::channel::ChannelEvent;
use projections::{DecodedEvent, FeedCursor};
use sqlx::PgPool;
use uuid::Uuid;

use super::event::LiveEvent;
use crate::eventlog::{self, memberships::MembershipChange};

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
        let mut channels = HashSet::new();
        for change in eventlog::memberships::history(pool, user, cursor).await? {
            match change {
                MembershipChange::Joined(channel) => channels.insert(channel),
                MembershipChange::Gone(channel) => channels.remove(&channel),
            };
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
                // The creator's own MemberJoined follows ChannelCreated; they see the creation too.
                let created_by_me =
                    matches!(change, ChannelEvent::ChannelCreated { owner_id, .. } if *owner_id == self.user);
                before || created_by_me || self.channels.contains(&channel)
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

#[cfg(test)]
mod tests {
    use super::*;
    use aggregates::message::MessageEvent;
    use aggregates::user::{ProfileChanges, UserEvent};
    use aggregates::values::MessageContent;

    fn event(
        position: i64,
        aggregate_id: Uuid,
        channel_id: Option<Uuid>,
        decoded: DecodedEvent,
    ) -> LiveEvent {
        LiveEvent::for_test(position, aggregate_id, channel_id, decoded)
    }

    fn channel(position: i64, c: Uuid, e: ChannelEvent) -> LiveEvent {
        event(position, c, Some(c), DecodedEvent::Channel(e))
    }

    fn edited(position: i64, c: Uuid) -> LiveEvent {
        let content = MessageContent::parse("x").unwrap().into();
        event(
            position,
            Uuid::now_v7(),
            Some(c),
            DecodedEvent::Message(MessageEvent::MessageEdited {
                channel_id: c,
                content,
            }),
        )
    }

    #[test]
    fn a_member_sees_from_joining_until_leaving_including_both() {
        let (me, other, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut m = Memberships::new(me, []);
        assert!(!m.observe(&edited(1, c)), "not yet a member");
        assert!(!m.observe(&channel(2, c, ChannelEvent::MemberJoined { user_id: other })));
        assert!(m.observe(&channel(3, c, ChannelEvent::MemberJoined { user_id: me })));
        assert!(m.observe(&edited(4, c)));
        assert!(m.observe(&channel(5, c, ChannelEvent::MemberJoined { user_id: other })));
        assert!(
            m.observe(&channel(6, c, ChannelEvent::MemberLeft { user_id: me })),
            "sees own leaving"
        );
        assert!(!m.observe(&edited(7, c)), "nothing after leaving");
        assert!(!m.contains(c));
    }

    #[test]
    fn the_creator_sees_the_creation_and_nobody_else_does() {
        let (me, other, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let created = channel(
            1,
            c,
            ChannelEvent::ChannelCreated {
                channel_id: c,
                name: aggregates::values::ChannelName::parse("x").unwrap(),
                description: None,
                owner_id: me,
            },
        );
        assert!(Memberships::new(me, []).observe(&created));
        assert!(!Memberships::new(other, []).observe(&created));
    }

    #[test]
    fn channel_deletion_is_seen_and_ends_membership() {
        let (me, c) = (Uuid::now_v7(), Uuid::now_v7());
        let mut m = Memberships::new(me, [c]);
        assert!(m.observe(&channel(1, c, ChannelEvent::ChannelDeleted {})));
        assert!(!m.observe(&edited(2, c)));
    }

    #[test]
    fn user_events_reach_the_user_and_their_peers_only() {
        let (me, peer, stranger, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let update = |who: Uuid, channels: Vec<Uuid>| LiveEvent {
            user_channels: channels,
            ..event(
                1,
                who,
                None,
                DecodedEvent::User(UserEvent::UserProfileUpdated {
                    changes: ProfileChanges::default(),
                }),
            )
        };
        let mut m = Memberships::new(me, [c]);
        assert!(m.observe(&update(me, vec![])));
        assert!(m.observe(&update(peer, vec![c])));
        assert!(!m.observe(&update(stranger, vec![Uuid::now_v7()])));
    }
}
