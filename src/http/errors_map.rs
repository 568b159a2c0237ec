//! How command failures read to clients. Domain errors carry their contract wording; the
//! infrastructure cases are the same for every aggregate.

use aggregates::channel::ChannelError;
use aggregates::message::MessageError;
use aggregates::user::UserError;
use axum::http::StatusCode;

use super::error::ApiError;
use crate::commands::CommandError;
use crate::service::users::AccountError;
use crate::service::UseCaseError;

pub const IDENTITY_TAKEN: &str = "Username or email already registered.";
pub const NOT_A_MEMBER: &str = "You are not a member of this channel";

/// Status and wording of a domain refusal.
pub trait DomainStatus: std::error::Error {
    fn status(&self) -> StatusCode;
}

impl DomainStatus for UserError {
    fn status(&self) -> StatusCode {
        match self {
            UserError::AlreadyRegistered => StatusCode::BAD_REQUEST,
            UserError::NotFound => StatusCode::NOT_FOUND,
            UserError::NotPermitted => StatusCode::FORBIDDEN,
        }
    }
}

impl DomainStatus for ChannelError {
    fn status(&self) -> StatusCode {
        match self {
            ChannelError::AlreadyExists | ChannelError::AlreadyMember => StatusCode::CONFLICT,
            ChannelError::NotFound | ChannelError::NotAMember => StatusCode::NOT_FOUND,
            ChannelError::NotOwner => StatusCode::FORBIDDEN,
            ChannelError::OwnerCannotLeave => StatusCode::BAD_REQUEST,
        }
    }
}

impl DomainStatus for MessageError {
    fn status(&self) -> StatusCode {
        match self {
            MessageError::AlreadyExists => StatusCode::CONFLICT,
            MessageError::NotFound => StatusCode::NOT_FOUND,
            MessageError::NotAuthor | MessageError::NotAuthorOrOwner => StatusCode::FORBIDDEN,
            MessageError::NotText => StatusCode::BAD_REQUEST,
        }
    }
}

impl<E: DomainStatus> From<CommandError<E>> for ApiError {
    fn from(e: CommandError<E>) -> Self {
        match e {
            CommandError::Domain(d) => ApiError::new(d.status(), d.to_string()),
            CommandError::IdentityTaken => ApiError::bad_request(IDENTITY_TAKEN),
            CommandError::NotAMember => ApiError::forbidden(NOT_A_MEMBER),
            CommandError::UnknownUser => ApiError::not_found("User not found"),
            CommandError::NoLongerPermitted => ApiError::forbidden("Not enough permissions"),
            // Only message events can meet a deleted channel: the message went with it.
            CommandError::ChannelGone => ApiError::not_found("Message not found"),
            CommandError::Conflict => {
                ApiError::conflict("The resource was changed concurrently too many times; please retry")
            }
            CommandError::Unavailable => ApiError::unavailable(),
            CommandError::NotYetVisible => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The change was saved but is not visible yet; please retry the read",
            ),
            CommandError::Internal(_) => ApiError::internal(),
        }
    }
}

impl<E: DomainStatus> From<UseCaseError<E>> for ApiError {
    fn from(e: UseCaseError<E>) -> Self {
        match e {
            UseCaseError::Command(e) => e.into(),
            UseCaseError::Database(e) => e.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Command(e) => e.into(),
            AccountError::Hashing(e) => {
                tracing::error!(error = %e, "password hashing failed");
                ApiError::unavailable()
            }
            AccountError::Database(e) => e.into(),
            // Not the caller's mistake and not final: the channel changed under the hand-over.
            AccountError::HandOver { channel_id, source } => {
                tracing::info!(%channel_id, error = %source, "an erasure could not hand over a channel");
                ApiError::conflict(format!(
                    "Could not hand over channel {channel_id}; nothing was erased, please try again."
                ))
            }
        }
    }
}
