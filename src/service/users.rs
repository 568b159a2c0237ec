//! Accounts: registering, updating a profile (password included), deleting. Passwords live
//! outside the event store (`auth::credentials`: a hash must never enter an immutable log), so
//! each use case orders its credentials write around the command such that a refused command
//! leaves the credentials as they were.

use aggregates::user::{Profile, ProfileChanges, UserCommand, UserError};
use aggregates::values::{Email, Username};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::credentials;
use crate::auth::password::{self, PasswordError};
use crate::commands::{CommandBus, CommandError, RequestMeta};
use crate::read::users;
use crate::read::views::UserRead;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Command(#[from] CommandError<UserError>),
    #[error(transparent)]
    Hashing(#[from] PasswordError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
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
