//! The contract's JSON objects that only HTTP has: acknowledgements and errors. The objects the
//! routes read (users, channels, messages…) are `read::views`, serialized as they are.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
