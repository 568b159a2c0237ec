//! Changing posted messages: editing, deleting one, clearing a channel. (Posting is
//! [`super::posting`].) A file message's object is removed by the file-removal reactor once the
//! deletion is in the log, never here.

use aggregates::message::{MessageCommand, MessageError};
use aggregates::values::MessageContent;
use futures::stream::{self, StreamExt};
use sqlx::PgPool;
use uuid::Uuid;

use super::UseCaseError;
use crate::commands::{CommandBus, CommandError, RequestMeta};
use crate::read::messages;
use crate::read::views::MessageRead;

/// How many deletions clearing a channel runs at once (each holds a pooled connection briefly).
const CLEAR_CONCURRENCY: usize = 8;

/// Replaces a text message's content; the message as edited.
pub async fn edit(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    actor: Uuid,
    message_id: Uuid,
    content: MessageContent,
) -> Result<MessageRead, UseCaseError<MessageError>> {
    commands
        .message(
            &meta.clone().by(actor),
            message_id,
            MessageCommand::Edit { actor, content },
        )
        .await?;
    // The command waited for the projections; missing now means it was deleted concurrently.
    messages::get(pool, message_id)
        .await?
        .ok_or(UseCaseError::domain(MessageError::NotFound))
}

/// Deletes one message, by its author or by the owner of its channel (`actor_owns_channel`).
pub async fn delete(
    commands: &CommandBus,
    meta: &RequestMeta,
    actor: Uuid,
    message_id: Uuid,
    actor_owns_channel: bool,
) -> Result<(), CommandError<MessageError>> {
    let delete = MessageCommand::Delete {
        actor,
        actor_owns_channel,
        clearing_channel: false,
    };
    commands
        .message(&meta.clone().by(actor), message_id, delete)
        .await
}

/// Deletes every message of a channel, by its owner; how many this request deleted.
pub async fn clear_channel(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    owner: Uuid,
    channel_id: Uuid,
) -> Result<usize, UseCaseError<MessageError>> {
    let meta = meta.clone().by(owner);
    let ids = messages::ids_in_channel(pool, channel_id).await?;
    let results: Vec<_> = stream::iter(ids)
        .map(|id| {
            let meta = &meta;
            async move {
                let cmd = MessageCommand::Delete {
                    actor: owner,
                    actor_owns_channel: true,
                    clearing_channel: true,
                };
                commands.message(meta, id, cmd).await
            }
        })
        .buffer_unordered(CLEAR_CONCURRENCY)
        .collect()
        .await;
    let mut count = 0;
    for result in results {
        match result {
            Ok(()) => count += 1,
            // Deleted by someone else meanwhile: nothing left to clear.
            Err(CommandError::Domain(MessageError::NotFound)) => {}
            // The rest are stored deletions or retryable failures; a retry clears what is left.
            Err(e) => return Err(e.into()),
        }
    }
    Ok(count)
}
