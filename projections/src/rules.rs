//! The domain's cross-aggregate rules, checked along the log in feed order.
//!
//! The guard trigger enforces these rules when an event is appended, and ADR 0005 makes the log's
//! order agree with the order in which it checked them. This walk is the independent check: it
//! folds the log as a reader would and reports every event that breaks a rule *at its position*
//! (a post by a non-member, an event on a deleted channel, ...). A rebuild folds the same order,
//! so read tables equal to a rebuild cannot reveal such a log; this can.
//!
//! Each aggregate's own rules (an author edits their message, a channel is created once) are
//! already kept by its `decide` and its stream's sequence; they are checked here too where they
//! matter to the others. Identity uniqueness is not: it depends on PostgreSQL's case folding and
//! is enforced by a unique index.

use std::collections::{HashMap, HashSet};

use aggregates::channel::ChannelEvent;
use aggregates::message::MessageEvent;
use aggregates::user::UserEvent;
use uuid::Uuid;

use crate::event::{DecodedEvent, RecordedEvent};
use crate::ProjectionError;

/// An event that breaks a rule where it stands in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub position: i64,
    pub event_type: String,
    pub aggregate_id: String,
    pub rule: &'static str,
}

struct ChannelState {
    owner: Uuid,
    members: HashSet<Uuid>,
}

struct MessageState {
    channel: Uuid,
    author: Uuid,
    deleted: bool,
}

/// The state the rules need, folded event by event.
#[derive(Default)]
pub struct RuleCheck {
    users: HashSet<Uuid>,
    /// Registered users not erased yet, deleted ones included.
    erasable: HashSet<Uuid>,
    channels: HashMap<Uuid, ChannelState>,
    messages: HashMap<Uuid, MessageState>,
    violations: Vec<Violation>,
    events: u64,
}

impl RuleCheck {
    /// Folds one event (in feed order), recording the rules it breaks.
    pub fn observe(&mut self, event: &RecordedEvent, decoded: &DecodedEvent) -> Result<(), ProjectionError> {
        self.events += 1;
        let id = event.aggregate_uuid()?;
        let broken = match decoded {
            DecodedEvent::User(e) => self.user(id, e),
            DecodedEvent::Channel(e) => self.channel(id, e),
            DecodedEvent::Message(e) => self.message(id, e),
        };
        self.violations.extend(broken.into_iter().map(|rule| Violation {
            position: event.global_position,
            event_type: event.event_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            rule,
        }));
        Ok(())
    }

    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// How many events were checked.
    pub fn events(&self) -> u64 {
        self.events
    }

    fn user(&mut self, id: Uuid, event: &UserEvent) -> Vec<&'static str> {
        match event {
            UserEvent::UserRegistered { .. } => {
                self.erasable.insert(id);
                if !self.users.insert(id) {
                    return vec!["a user is registered twice"];
                }
                vec![]
            }
            UserEvent::UserDeleted {} => {
                if !self.users.remove(&id) {
                    return vec!["only an existing user can be deleted"];
                }
                vec![]
            }
            // Live or deleted (an operator erases a deleted account too), but only once.
            UserEvent::UserErased {} => {
                self.users.remove(&id);
                if !self.erasable.remove(&id) {
                    return vec!["only a registered, not yet erased user can be erased"];
                }
                vec![]
            }
            UserEvent::UserProfileUpdated { .. } | UserEvent::UserPasswordChanged {} => {
                self.require_user(id, "only an existing user changes their profile or password")
            }
        }
    }

    fn channel(&mut self, id: Uuid, event: &ChannelEvent) -> Vec<&'static str> {
        if let ChannelEvent::ChannelCreated { owner_id, .. } = event {
            let mut broken = self.require_user(*owner_id, "a channel's owner is an existing user");
            let fresh = ChannelState {
                owner: *owner_id,
                members: HashSet::new(),
            };
            if self.channels.insert(id, fresh).is_some() {
                broken.push("a channel is created once");
            }
            return broken;
        }
        const NO_CHANNEL: &str = "nothing happens to a channel that does not exist (or was deleted)";
        if let ChannelEvent::ChannelDeleted {} = event {
            return match self.channels.remove(&id) {
                Some(_) => vec![],
                None => vec![NO_CHANNEL],
            };
        }
        let users = &self.users;
        let Some(channel) = self.channels.get_mut(&id) else {
            return vec![NO_CHANNEL];
        };
        match event {
            ChannelEvent::ChannelCreated { .. }
            | ChannelEvent::ChannelUpdated { .. }
            | ChannelEvent::ChannelDeleted {} => vec![],
            ChannelEvent::MemberJoined { user_id } => {
                let mut broken = vec![];
                if !users.contains(user_id) {
                    broken.push("only an existing user joins a channel");
                }
                if !channel.members.insert(*user_id) {
                    broken.push("a member does not join again");
                }
                broken
            }
            ChannelEvent::MemberLeft { user_id } => {
                if !channel.members.remove(user_id) {
                    return vec!["only a member leaves a channel"];
                }
                vec![]
            }
            ChannelEvent::ChannelOwnershipTransferred { new_owner_id, .. } => {
                let mut broken = vec![];
                if !users.contains(new_owner_id) {
                    broken.push("ownership passes to an existing user");
                }
                if !channel.members.contains(new_owner_id) {
                    broken.push("ownership passes to a member");
                }
                channel.owner = *new_owner_id;
                broken
            }
        }
    }

    fn message(&mut self, id: Uuid, event: &MessageEvent) -> Vec<&'static str> {
        match event {
            MessageEvent::TextMessagePosted {
                channel_id,
                author_id,
                ..
            }
            | MessageEvent::FileMessagePosted {
                channel_id,
                author_id,
                ..
            } => {
                let mut broken = vec![];
                match self.channels.get(channel_id) {
                    None => broken.push("posts go to an existing channel"),
                    Some(c) if !c.members.contains(author_id) => broken.push("only members post"),
                    Some(_) => {}
                }
                if !self.users.contains(author_id) {
                    broken.push("only an existing user posts");
                }
                let state = MessageState {
                    channel: *channel_id,
                    author: *author_id,
                    deleted: false,
                };
                if self.messages.insert(id, state).is_some() {
                    broken.push("a message is posted once");
                }
                broken
            }
            MessageEvent::MessageEdited { .. } => {
                let Some((message, channel)) = self.live_message(id) else {
                    return vec!["only a live message in an existing channel is edited"];
                };
                if !channel.members.contains(&message.author) {
                    return vec!["only an author who is a member edits"];
                }
                vec![]
            }
            MessageEvent::MessageDeleted { deleted_by, .. } => {
                let Some((message, channel)) = self.live_message(id) else {
                    return vec!["only a live message in an existing channel is deleted"];
                };
                let allowed = *deleted_by == message.author || *deleted_by == channel.owner;
                if let Some(m) = self.messages.get_mut(&id) {
                    m.deleted = true;
                }
                if !allowed {
                    return vec!["only the author or the channel's owner deletes a message"];
                }
                vec![]
            }
        }
    }

    fn live_message(&self, id: Uuid) -> Option<(&MessageState, &ChannelState)> {
        let message = self.messages.get(&id).filter(|m| !m.deleted)?;
        Some((message, self.channels.get(&message.channel)?))
    }

    fn require_user(&self, id: Uuid, rule: &'static str) -> Vec<&'static str> {
        if self.users.contains(&id) {
            vec![]
        } else {
            vec![rule]
        }
    }
}

/// Walks the whole final log (in batches, feed order) through a [`RuleCheck`].
pub async fn check_log(pool: &sqlx::PgPool) -> Result<RuleCheck, ProjectionError> {
    let reader = crate::FeedReader::default();
    let mut check = RuleCheck::default();
    let mut after = crate::FeedCursor::START;
    loop {
        let batch = {
            let mut conn = pool.acquire().await?;
            reader.read_after(&mut conn, after).await?
        };
        let Some(last) = batch.last() else {
            return Ok(check);
        };
        after = last.cursor();
        for event in &batch {
            check.observe(event, &event.decode()?)?;
        }
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
