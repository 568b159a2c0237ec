//! What the read side returns: the contract's objects (`zync-api.md` § Objects), defined once.
//! `http` serializes them as they are, the sockets put them in frames, and `read` fills them from
//! the read tables.

use aggregates::message::MessageKind;
use chrono::{DateTime, Utc};
use projections::projectors::{MessageRow, UserStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema, sqlx::FromRow)]
pub struct UserRead {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub bio: Option<String>,
    pub profile_picture: Option<String>,
    /// "active" | "suspended" | "deleted"
    #[sqlx(try_from = "String")]
    #[schema(value_type = String, example = "active")]
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema, sqlx::FromRow)]
pub struct ChannelRead {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub owner_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct MessageRead {
    pub id: Uuid,
    pub author_id: Uuid,
    pub channel_id: Uuid,
    /// "text" | "image" | "video" | "audio" | "file"
    #[schema(value_type = String, example = "text")]
    pub message_type: MessageKind,
    pub content: Option<String>,
    pub s3_key: Option<String>,
    pub content_type: Option<String>,
    pub original_filename: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The author, or null once their account is deleted.
    pub author: Option<UserRead>,
}

impl MessageRead {
    /// The messages table's row, with its author embedded (`None` once their account is deleted).
    pub fn new(row: MessageRow, author: Option<UserRead>) -> Self {
        Self {
            id: row.id,
            author_id: row.author_id,
            channel_id: row.channel_id,
            message_type: row.message_type,
            content: row.content,
            s3_key: row.s3_key,
            content_type: row.content_type,
            original_filename: row.original_filename,
            created_at: row.created_at,
            updated_at: row.updated_at,
            author,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema, sqlx::FromRow)]
pub struct Membership {
    pub user_id: Uuid,
    pub channel_id: Uuid,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema, sqlx::FromRow)]
pub struct ChannelOwner {
    pub channel_id: Uuid,
    pub channel_name: String,
    pub owner_id: Uuid,
    pub owner_name: String,
}
