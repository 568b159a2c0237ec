//! Events as read back from the store, and their typed decoding.

use aggregates::aggregate_types;
use aggregates::channel::ChannelEvent;
use aggregates::message::MessageEvent;
use aggregates::user::UserEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::feed::FeedCursor;
use crate::ProjectionError;

/// One row of `events`, with its place in the feed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecordedEvent {
    pub global_position: i64,
    pub tx_id: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: serde_json::Value,
    pub metadata: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
}

/// A stored event decoded into the domain's types.
#[derive(Debug, Clone)]
pub enum DecodedEvent {
    User(UserEvent),
    Channel(ChannelEvent),
    Message(MessageEvent),
}

impl RecordedEvent {
    pub fn cursor(&self) -> FeedCursor {
        FeedCursor {
            tx_id: self.tx_id,
            position: self.global_position,
        }
    }

    /// The aggregate id as a UUID (all Zync aggregates are keyed by UUIDv7).
    pub fn aggregate_uuid(&self) -> Result<Uuid, ProjectionError> {
        Uuid::parse_str(&self.aggregate_id).map_err(|_| self.unknown())
    }

    /// Decodes the payload; an unknown type or version is an error, never skipped.
    pub fn decode(&self) -> Result<DecodedEvent, ProjectionError> {
        if self.event_version != "1" {
            return Err(self.unknown());
        }
        let decoded = match self.aggregate_type.as_str() {
            // Deserialize from a borrow: a rebuild decodes millions of payloads.
            aggregate_types::USER => UserEvent::deserialize(&self.payload).map(DecodedEvent::User),
            aggregate_types::CHANNEL => ChannelEvent::deserialize(&self.payload).map(DecodedEvent::Channel),
            aggregate_types::MESSAGE => MessageEvent::deserialize(&self.payload).map(DecodedEvent::Message),
            _ => return Err(self.unknown()),
        };
        decoded.map_err(|source| {
            // serde reports an unknown variant as a data error; name it as what it is.
            if source.to_string().contains("unknown variant") {
                self.unknown()
            } else {
                ProjectionError::Undecodable {
                    position: self.global_position,
                    event_type: self.event_type.clone(),
                    source,
                }
            }
        })
    }

    fn unknown(&self) -> ProjectionError {
        ProjectionError::UnknownEvent {
            position: self.global_position,
            aggregate_type: self.aggregate_type.clone(),
            event_type: self.event_type.clone(),
            event_version: self.event_version.clone(),
        }
    }
}
