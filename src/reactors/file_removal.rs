//! The reactor that removes stored objects no message needs any more: a deleted file message's,
//! every file message's of a deleted channel (whether deleted one by one, by clearing the
//! channel, or with it), and every file an erased user posted.
//!
//! It replaced removals the HTTP handlers did inline, best effort, after the command: a crash
//! between the acknowledged deletion and the removal orphaned the object for good. Here the
//! deletion event is the work item: the runner keeps the reactor's checkpoint, so a removal that
//! fails or is interrupted is retried (after a restart too) until it succeeds. Removing an object
//! that is already gone is success, so repeating a reaction is harmless.

use aggregates::channel::ChannelEvent;
use aggregates::message::MessageEvent;
use aggregates::user::UserEvent;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use projections::projectors::Projectable;
use projections::{DecodedEvent, ReactionError, Reactor};
use sqlx::PgPool;
use std::sync::Arc;
use uuid::Uuid;

use crate::eventlog::messages::{file_key_of_message, file_keys_posted_by, file_keys_posted_in_channel};
use crate::storage::ObjectStore;

/// How many objects of a deleted channel are removed at once.
const REMOVE_CONCURRENCY: usize = 8;

pub struct FileRemoval {
    pool: PgPool,
    storage: Arc<dyn ObjectStore>,
}

impl FileRemoval {
    /// Its checkpoint row (beside the projections' in `projection_checkpoints`).
    pub const NAME: &'static str = "reactor/file_removal";

    pub fn new(pool: PgPool, storage: Arc<dyn ObjectStore>) -> Self {
        Self { pool, storage }
    }

    async fn message_deleted(&self, message_id: Uuid) -> Result<(), ReactionError> {
        if let Some(key) = file_key_of_message(&self.pool, message_id).await? {
            self.storage.delete(key).await?;
        }
        Ok(())
    }

    async fn channel_deleted(&self, channel_id: Uuid) -> Result<(), ReactionError> {
        let keys = file_keys_posted_in_channel(&self.pool, channel_id).await?;
        self.remove_all(keys, &format!("deleted channel {channel_id}"))
            .await
    }

    /// An erased user's files, wherever they were posted: they are personal data.
    async fn user_erased(&self, user_id: Uuid) -> Result<(), ReactionError> {
        let keys = file_keys_posted_by(&self.pool, user_id).await?;
        self.remove_all(keys, &format!("erased user {user_id}")).await
    }

    /// Every object of `keys`, a few at a time; any failure fails the reaction (and all of them
    /// are tried again: the objects already removed are no-ops then).
    async fn remove_all(&self, keys: Vec<String>, whose: &str) -> Result<(), ReactionError> {
        let total = keys.len();
        let failures: Vec<_> = futures::stream::iter(keys)
            .map(|key| self.storage.delete(key))
            .buffer_unordered(REMOVE_CONCURRENCY)
            .filter_map(|removed| futures::future::ready(removed.err()))
            .collect()
            .await;
        match failures.first() {
            None => Ok(()),
            Some(first) => Err(format!(
                "{} of the {total} files of {whose} could not be removed: {first}",
                failures.len()
            )
            .into()),
        }
    }
}

impl Reactor for FileRemoval {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn react<'a>(&'a self, (recorded, decoded): Projectable<'a>) -> BoxFuture<'a, Result<(), ReactionError>> {
        async move {
            match decoded {
                DecodedEvent::Message(MessageEvent::MessageDeleted { .. }) => {
                    self.message_deleted(recorded.aggregate_uuid()?).await
                }
                DecodedEvent::Channel(ChannelEvent::ChannelDeleted {}) => {
                    self.channel_deleted(recorded.aggregate_uuid()?).await
                }
                DecodedEvent::User(UserEvent::UserErased {}) => {
                    self.user_erased(recorded.aggregate_uuid()?).await
                }
                _ => Ok(()),
            }
        }
        .boxed()
    }
}
