//! Reconstructed states: a channel, user or message as it was at a moment. The same structures
//! are the CLI's JSON and the body of `GET /v1/channels/{id}/history`.
//!
//! A user is the projection's own [`UserRow`]. A channel, member and message are not their rows:
//! they add the usernames as they then were (and a message whether it was edited), a member has
//! no channel id, and the channel ones are the REST history's OpenAPI schemas.

use aggregates::message::MessageKind;
use chrono::{DateTime, Utc};
use projections::projectors::UserRow;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::bound::Bound;

/// Whether the subject existed at the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Existence {
    /// No event had created it yet.
    NotYetCreated,
    Live,
    Deleted,
}

impl Existence {
    pub fn as_str(self) -> &'static str {
        match self {
            Existence::NotYetCreated => "not yet created",
            Existence::Live => "live",
            Existence::Deleted => "deleted",
        }
    }
}

/// A channel as it was at `as_of`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelHistory {
    pub channel_id: Uuid,
    /// The moment reconstructed: a global position (a number) or a time (an RFC 3339 string).
    /// When the request named none, the head of the log when it was answered.
    #[schema(value_type = Value, example = 42)]
    pub as_of: Bound,
    /// Position of the channel's (or one of its messages') last event at or before `as_of`;
    /// null when there was none.
    pub last_position: Option<i64>,
    pub status: Existence,
    /// Null unless `status` is `live`.
    pub channel: Option<ChannelAsOf>,
    /// In joining order.
    pub members: Vec<MemberAsOf>,
    /// Messages that could be read at `as_of`, oldest first, with their text as it then read.
    pub messages: Vec<MessageAsOf>,
    /// Messages posted in the channel and deleted by `as_of` (with the channel, when it was
    /// deleted), in posting order.
    pub deleted_message_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelAsOf {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub owner_id: Uuid,
    /// The owner's username as it then was.
    pub owner_username: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberAsOf {
    pub user_id: Uuid,
    /// As it then was.
    pub username: Option<String>,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageAsOf {
    pub id: Uuid,
    pub channel_id: Uuid,
    pub author_id: Uuid,
    /// The author's username as it then was.
    pub author_username: Option<String>,
    /// "text" | "image" | "video" | "audio" | "file"
    #[schema(value_type = String, example = "text")]
    pub message_type: MessageKind,
    /// The text as it read at `as_of` (null for files).
    pub content: Option<String>,
    pub s3_key: Option<String>,
    pub content_type: Option<String>,
    pub original_filename: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The last edit at or before `as_of` (`created_at` if none).
    pub updated_at: DateTime<Utc>,
    /// Whether it had been edited by `as_of`.
    pub edited: bool,
}

/// A user account as it was at `as_of`.
#[derive(Debug, Clone, Serialize)]
pub struct UserHistory {
    pub user_id: Uuid,
    pub as_of: Bound,
    pub last_position: Option<i64>,
    pub status: Existence,
    /// The users table's row as it then was: kept after deletion (with status "deleted"), as the
    /// table keeps it.
    pub user: Option<UserRow>,
}

/// A message as it was at `as_of`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageHistory {
    pub message_id: Uuid,
    pub as_of: Bound,
    pub last_position: Option<i64>,
    pub status: Existence,
    /// The channel it was posted in (null before it was posted).
    pub channel_id: Option<Uuid>,
    /// Whether it went away with its channel rather than being deleted itself.
    pub channel_deleted: bool,
    /// Null unless `status` is `live`.
    pub message: Option<MessageAsOf>,
}
