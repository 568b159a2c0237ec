//! Posting a message, text or file: the command, the read-back, and the idempotency protocol
//! around them, written once for both kinds (`service::idempotency` describes the protocol).

use aggregates::aggregate_types::MESSAGE;
use aggregates::message::{MessageCommand, MessageError};
use sqlx::PgPool;
use uuid::Uuid;

use super::idempotency::{self, Claim, ClaimError, Fingerprint, IdempotencyKey};
use crate::commands::{CommandBus, CommandError, RequestMeta};
use crate::read::messages;
use crate::read::views::MessageRead;

/// A post's `Idempotency-Key`, with what identifies its request.
pub struct Keyed<'a> {
    pub key: &'a IdempotencyKey,
    pub fingerprint: Fingerprint,
}

/// What a post stored, as the author will read it.
pub enum Posted {
    /// This request's message.
    New(MessageRead),
    /// The message an earlier request under the same key stored (it answered already, or landed
    /// first): this request stored nothing, so whatever it prepared for its own message (an
    /// uploaded object) is referenced by no message.
    Original(MessageRead),
}

impl Posted {
    pub fn message(self) -> MessageRead {
        match self {
            Self::New(message) | Self::Original(message) => message,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error(transparent)]
    Claim(ClaimError),
    /// The command failed. `may_have_stored`: the message may be in the log all the same (a
    /// lost connection, a read model that did not catch up in time), so nothing it refers to
    /// may be removed.
    #[error("{source}")]
    Command {
        source: CommandError<MessageError>,
        may_have_stored: bool,
    },
    /// Stored, but it could not be read back.
    #[error(transparent)]
    ReadBack(#[from] sqlx::Error),
}

impl PostError {
    /// Whether no message can refer to what this request prepared for it.
    pub fn stored_nothing(&self) -> bool {
        match self {
            Self::Claim(_) => true,
            Self::Command { may_have_stored, .. } => !may_have_stored,
            Self::ReadBack(_) => false,
        }
    }
}

/// Posts the message `command` builds for the id this post gets: a fresh one, or under a key
/// already claimed by an unanswered attempt, that attempt's (so that exactly one of them lands).
pub async fn post(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    author: Uuid,
    keyed: Option<Keyed<'_>>,
    command: impl FnOnce(Uuid) -> MessageCommand,
) -> Result<Posted, PostError> {
    let (key, claim) = match keyed {
        Some(Keyed { key, fingerprint }) => (
            Some(key),
            idempotency::claim(pool, author, key, fingerprint)
                .await
                .map_err(PostError::Claim)?,
        ),
        None => (None, Claim::Fresh(Uuid::now_v7())),
    };
    let message_id = match claim {
        Claim::Replay(original) => return Ok(Posted::Original(*original)),
        Claim::Fresh(id) | Claim::Retry(id) => id,
    };
    let failed = |source| PostError::Command {
        source,
        may_have_stored: true,
    };
    let by_author = meta.clone().by(author);
    let landed_first = match commands
        .message(&by_author, message_id, command(message_id))
        .await
    {
        Ok(()) => false,
        // The retried original landed (here or on another node): answer with it.
        Err(CommandError::Domain(MessageError::AlreadyExists)) if key.is_some() => {
            commands
                .await_visible::<MessageError>(MESSAGE, message_id)
                .await
                .map_err(failed)?;
            true
        }
        Err(source) => {
            let may_have_stored = commands.may_have_stored(MESSAGE, message_id, &source).await;
            return Err(PostError::Command {
                source,
                may_have_stored,
            });
        }
    };
    // The command waited for the projections. Missing means the message was deleted at once (a
    // channel cleared or deleted meanwhile) or the projections run on another node: it is stored,
    // so "retry the read" (503), never a 500 or a second post.
    let message = messages::get(pool, message_id)
        .await?
        .ok_or_else(|| failed(CommandError::NotYetVisible))?;
    if let Some(key) = key {
        idempotency::record(pool, author, key, &message).await;
    }
    Ok(if landed_first {
        Posted::Original(message)
    } else {
        Posted::New(message)
    })
}
