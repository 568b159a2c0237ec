//! Channels: create, update, delete, hand over, join, leave. Each runs its command and, where the
//! contract answers with the channel or the membership, reads it back.

use aggregates::channel::{ChannelCommand, ChannelError};
use aggregates::values::{ChannelDescription, ChannelName};
use sqlx::PgPool;
use uuid::Uuid;

use super::UseCaseError;
use crate::commands::{CommandBus, CommandError, RequestMeta};
use crate::read::channels;
use crate::read::views::{ChannelRead, Membership};

type Result<T> = std::result::Result<T, UseCaseError<ChannelError>>;

/// The channel as the read table shows it after a command (which waited for the projections).
/// Missing means it was deleted meanwhile (`NotFound`) or, rarely, the read model is still behind
/// (`NotYetVisible`: retry the read).
async fn read_back(pool: &PgPool, channel_id: Uuid) -> Result<ChannelRead> {
    if let Some(channel) = channels::get(pool, channel_id).await? {
        return Ok(channel);
    }
    Err(if channels::exists(pool, channel_id).await? {
        CommandError::NotYetVisible.into()
    } else {
        UseCaseError::domain(ChannelError::NotFound)
    })
}

pub async fn create(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    owner_id: Uuid,
    name: ChannelName,
    description: Option<ChannelDescription>,
) -> Result<ChannelRead> {
    let channel_id = Uuid::now_v7();
    let create = ChannelCommand::Create {
        channel_id,
        name,
        description,
        owner_id,
    };
    commands
        .channel(&meta.clone().by(owner_id), channel_id, create)
        .await?;
    read_back(pool, channel_id).await
}

/// A partial update: `None` leaves a field alone; `Some(None)` clears the description.
pub async fn update(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    actor: Uuid,
    channel_id: Uuid,
    name: Option<ChannelName>,
    description: Option<Option<ChannelDescription>>,
) -> Result<ChannelRead> {
    let update = ChannelCommand::Update {
        actor,
        name,
        description,
    };
    commands
        .channel(&meta.clone().by(actor), channel_id, update)
        .await?;
    read_back(pool, channel_id).await
}

pub async fn delete(
    commands: &CommandBus,
    meta: &RequestMeta,
    actor: Uuid,
    channel_id: Uuid,
) -> std::result::Result<(), CommandError<ChannelError>> {
    // None of the channel's messages can be read any more; the file-removal reactor removes
    // their objects once the deletion is in the log.
    commands
        .channel(
            &meta.clone().by(actor),
            channel_id,
            ChannelCommand::Delete { actor },
        )
        .await
}

/// Makes `new_owner_id` the owner (and a member, if not one yet).
pub async fn change_owner(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    actor: Uuid,
    channel_id: Uuid,
    new_owner_id: Uuid,
) -> Result<ChannelRead> {
    let transfer = ChannelCommand::TransferOwnership { actor, new_owner_id };
    commands
        .channel(&meta.clone().by(actor), channel_id, transfer)
        .await?;
    read_back(pool, channel_id).await
}

/// Joins `user_id` to the channel; the membership as the read table shows it.
pub async fn join(
    commands: &CommandBus,
    pool: &PgPool,
    meta: &RequestMeta,
    user_id: Uuid,
    channel_id: Uuid,
) -> Result<Membership> {
    commands
        .channel(
            &meta.clone().by(user_id),
            channel_id,
            ChannelCommand::Join { user_id },
        )
        .await?;
    if let Some(membership) = channels::membership(pool, channel_id, user_id).await? {
        return Ok(membership);
    }
    // Left, or the channel was deleted, right after joining; or, rarely, the read model is still
    // behind (retry the read).
    Err(match channels::access(pool, channel_id, user_id).await? {
        Some(standing) if standing.is_member => CommandError::NotYetVisible.into(),
        Some(_) => UseCaseError::domain(ChannelError::NotAMember),
        None => UseCaseError::domain(ChannelError::NotFound),
    })
}

/// `user_id` leaves the channel (an owner must hand it over first).
pub async fn leave(
    commands: &CommandBus,
    meta: &RequestMeta,
    user_id: Uuid,
    channel_id: Uuid,
) -> std::result::Result<(), CommandError<ChannelError>> {
    commands
        .channel(
            &meta.clone().by(user_id),
            channel_id,
            ChannelCommand::Leave { user_id },
        )
        .await
}
