//! Accounts: registering, updating a profile (password included), deleting. Passwords live
//! outside the event store (`auth::credentials`: a hash must never enter an immutable log), so
//! each use case orders its credentials write around the command such that a refused command
//! leaves the credentials as they were.

use aggregates::channel::{ChannelCommand, ChannelError};
use aggregates::user::{Profile, ProfileChanges, UserCommand, UserError};
use aggregates::values::{Email, Username};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::credentials;
use crate::auth::password::{self, PasswordError};
use crate::commands::{CommandBus, CommandError, RequestMeta};
use crate::read::views::UserRead;
use crate::read::{channels, users};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Command(#[from] CommandError<UserError>),
    #[error(transparent)]
    Hashing(#[from] PasswordError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// Handing over a channel before an erasure failed (its successor left meanwhile, say):
    /// nothing was erased; the erasure can be run again.
    #[error("could not hand over channel {channel_id}: {source}")]
    HandOver {
        channel_id: Uuid,
        source: CommandError<ChannelError>,
    },
}

impl From<UserError> for AccountError {
    fn from(e: UserError) -> Self {
        Self::Command(CommandError::Domain(e))
    }
}

/// A new account, validated.
pub struct Registration {
    pub username: Username,
    pub email: Email,
    pub password: String,
    pub profile: Profile,
}

/// The live user as the read model shows them (after a command: it waited for the projections).
async fn read_back(pool: &PgPool, user_id: Uuid) -> Result<UserRead, AccountError> {
    Ok(users::get(pool, user_id).await?.ok_or(UserError::NotFound)?)
}

pub async fn register(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    new: Registration,
) -> Result<UserRead, AccountError> {
    let user_id = Uuid::now_v7();
    let hash = password::hash(new.password).await?;
    // Credentials first: if the registration then fails, they are removed; if we crash in
    // between, nobody can log in with them (login goes through the identity claims).
    credentials::insert(pool, user_id, &hash).await?;
    let registered = commands
        .user(
            &meta.clone().by(user_id),
            user_id,
            UserCommand::Register {
                user_id,
                username: new.username,
                email: new.email,
                profile: new.profile,
            },
        )
        .await;
    if let Err(e) = registered {
        if let Err(cleanup) = credentials::remove(pool, user_id).await {
            tracing::warn!(%user_id, error = %cleanup, "could not remove credentials of a failed registration");
        }
        return Err(e.into());
    }
    read_back(pool, user_id).await
}

/// The early answer for a change to `user_id` by `actor`: `NotFound` unless the read model shows
/// the user, then `NotPermitted` unless it is the actor (a user changes only their own account).
pub async fn authorize(pool: &PgPool, actor: Uuid, user_id: Uuid) -> Result<(), AccountError> {
    read_back(pool, user_id).await?;
    if actor != user_id {
        return Err(UserError::NotPermitted.into());
    }
    Ok(())
}

/// Applies a partial update, a new password included, as one command: its events are appended
/// together or not at all.
pub async fn update(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    actor: Uuid,
    user_id: Uuid,
    changes: ProfileChanges,
    new_password: Option<String>,
) -> Result<UserRead, AccountError> {
    let hash = match new_password {
        Some(new_password) => Some(password::hash(new_password).await?),
        None => None,
    };
    // The hash changes before the event that records it (that is what protects the account: a
    // crash in between leaves a changed password without its event, never an event claiming a
    // change that did not happen). Refused, the command stored nothing: the old hash goes back.
    let previous = match &hash {
        Some(hash) => credentials::change_password(pool, user_id, hash).await?,
        None => None,
    };
    let updated = commands
        .user(
            &meta.clone().by(actor),
            user_id,
            UserCommand::UpdateProfile {
                actor,
                changes,
                password_changed: hash.is_some(),
            },
        )
        .await;
    if let Err(e) = updated {
        // Not refused (the database went away mid-append, say): the change may be stored, so
        // the new hash stays; a retry of the same update records it if it was not.
        if let (true, Some(hash), Some(previous)) = (e.refused(), &hash, &previous) {
            if let Err(undo) = credentials::restore_password(pool, user_id, hash, previous).await {
                tracing::error!(%user_id, error = %undo, "could not restore the password of a refused update");
            }
        }
        return Err(e.into());
    }
    read_back(pool, user_id).await
}

pub async fn delete(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    actor: Uuid,
    user_id: Uuid,
) -> Result<(), AccountError> {
    commands
        .user(&meta.clone().by(actor), user_id, UserCommand::Delete { actor })
        .await?;
    // The deletion event freed the identity claim, which already revokes every token; the
    // credentials row has no further use.
    credentials::remove(pool, user_id).await?;
    // Their messages are not deleted (they stay in their channels with a null `author`), so the
    // files of their file messages stay too: those go with the message or its channel.
    Ok(())
}

/// What an erasure did besides forgetting the user.
#[derive(Debug, Default, serde::Serialize)]
pub struct Erasure {
    /// Channels the user owned, each with who owns it now.
    pub handed_over: Vec<HandOver>,
    /// Channels the user owned with nobody else in them: deleted.
    pub deleted_channels: Vec<Uuid>,
}

#[derive(Debug, serde::Serialize)]
pub struct HandOver {
    pub channel_id: Uuid,
    pub new_owner_id: Uuid,
}

/// The right to be forgotten (docs/personal-data.md): `user_id` erases themselves (`actor` is
/// them), or an operator erases them (`actor` is `None`; a deleted account can be erased too).
///
/// First every channel they own passes to its longest-standing other member, or is deleted when
/// nobody else is in it; then `UserErased` is appended, which destroys their data key and their
/// messages' keys in the same transaction (migration 0014) and frees their username and e-mail.
/// The file-removal reactor then removes their files; their tokens and sockets are revoked by the
/// event itself. A crash in between is repaired by running the erasure again: channels already
/// handed over are not theirs any more.
pub async fn erase(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    actor: Option<Uuid>,
    user_id: Uuid,
) -> Result<Erasure, AccountError> {
    let mut done = Erasure::default();
    // Recorded as done by whoever erases: the user, or an operator (no actor).
    let by = match actor {
        Some(actor) => meta.clone().by(actor),
        None => meta.clone(),
    };
    for channel_id in channels::owned_by(pool, user_id).await? {
        let outcome = match channels::successor(pool, channel_id, user_id).await? {
            Some(new_owner_id) => {
                let transfer = ChannelCommand::TransferOwnership {
                    actor: user_id,
                    new_owner_id,
                };
                let handed = commands.channel(&by, channel_id, transfer).await;
                handed.map(|()| {
                    done.handed_over.push(HandOver {
                        channel_id,
                        new_owner_id,
                    })
                })
            }
            None => {
                let delete = ChannelCommand::Delete { actor: user_id };
                let deleted = commands.channel(&by, channel_id, delete).await;
                deleted.map(|()| done.deleted_channels.push(channel_id))
            }
        };
        // A successor who left or was deleted meanwhile: the next run of the erasure picks
        // another; nothing was erased yet.
        outcome.map_err(|source| AccountError::HandOver { channel_id, source })?;
    }
    commands.user(&by, user_id, UserCommand::Erase { actor }).await?;
    credentials::remove(pool, user_id).await?;
    Ok(done)
}
