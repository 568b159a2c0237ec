//! The contract's JSON objects (`zync-api.md` § Objects), as returned by every route.

use chrono::{DateTime, Utc};
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
    pub status: String,
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
    pub message_type: String,
    pub content: Option<String>,
    pub s3_key: Option<String>,
    pub content_type: Option<String>,
    pub original_filename: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The author, or null once their account is deleted.
    pub author: Option<UserRead>,
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

/// `{"message": ...}` acknowledgements of deletions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Acknowledgement {
    pub message: String,
}

/// The answer to clearing a channel's messages.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ClearedMessages {
    pub message: String,
    pub count: i64,
}

/// `{"detail": ...}`: a string, or for 422 a list of located issues.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    #[schema(value_type = ErrorDetail)]
    pub detail: serde_json::Value,
}

/// What went wrong: a sentence, or (422) every refused input with its location.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ErrorDetail {
    Message(String),
    Issues(Vec<ValidationIssue>),
}

/// One refused input, as FastAPI reports it: `{"loc": ["body", "email"], "msg": ..., "type": ...}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidationIssue {
    /// Where: `body`, `query` or `path`, then the field (or a column of malformed JSON).
    pub loc: Vec<LocationPart>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LocationPart {
    Name(String),
    Index(i64),
}
