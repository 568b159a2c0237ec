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
use sqlx::PgConnection;

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
    /// Only for a version-1 edit or deletion of a message, which did not name its channel: the
    /// channel the message was posted in, looked up by the reader ([`resolve_upcasts`]) so that
    /// [`decode`](Self::decode) can upcast it. The payload itself stays exactly as stored.
    #[sqlx(skip)]
    pub posted_in: Option<Uuid>,
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

    /// Decodes the payload; an unknown type or version is an error, never skipped. Events of an
    /// older version must have been [upcast](upcast) first (every reader of the log does it).
    pub fn decode(&self) -> Result<DecodedEvent, ProjectionError> {
        let readable = match self.aggregate_type.as_str() {
            aggregate_types::MESSAGE => MessageEvent::readable(&self.event_type, &self.event_version),
            _ => self.event_version == "1",
        };
        if !readable {
            return Err(self.unknown());
        }
        let decoded = match self.aggregate_type.as_str() {
            // Deserialize from a borrow: a rebuild decodes millions of payloads.
            aggregate_types::USER => UserEvent::deserialize(&self.payload).map(DecodedEvent::User),
            aggregate_types::CHANNEL => ChannelEvent::deserialize(&self.payload).map(DecodedEvent::Channel),
            aggregate_types::MESSAGE => match self.posted_in {
                Some(channel) if MessageEvent::needs_channel(&self.event_type, &self.event_version) => {
                    let mut payload = self.payload.clone();
                    MessageEvent::upcast_v1(&self.event_type, &mut payload, channel);
                    MessageEvent::deserialize(&payload)
                }
                // Without the channel a version-1 edit fails to decode here, loudly.
                _ => MessageEvent::deserialize(&self.payload),
            }
            .map(DecodedEvent::Message),
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

/// Finds what the events of a batch read from the log need to decode at their current version
/// (the log is never rewritten). Version-1 edits and deletions of messages did not name their
/// channel: it is looked up from their messages' first events, in one query for the whole batch,
/// and only when the batch holds such an event (logs written since version 2 never do).
pub async fn resolve_upcasts(
    conn: &mut PgConnection,
    events: &mut [RecordedEvent],
) -> Result<(), sqlx::Error> {
    let older = |e: &RecordedEvent| {
        e.aggregate_type == aggregate_types::MESSAGE
            && MessageEvent::needs_channel(&e.event_type, &e.event_version)
    };
    let ids: Vec<&str> = events
        .iter()
        .filter(|e| older(e))
        .map(|e| e.aggregate_id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let posts: Vec<(String, String, serde_json::Value)> = sqlx::query_as(
        "SELECT aggregate_id, event_type, payload FROM events
          WHERE aggregate_type = $1 AND aggregate_id = ANY($2) AND sequence = 1",
    )
    .bind(aggregate_types::MESSAGE)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let channels: std::collections::HashMap<String, Uuid> = posts
        .into_iter()
        .filter_map(|(id, event_type, payload)| {
            Some((id, MessageEvent::posted_channel(&event_type, &payload)?))
        })
        .collect();
    for event in events.iter_mut().filter(|e| older(e)) {
        event.posted_in = channels.get(&event.aggregate_id).copied();
    }
    Ok(())
}
