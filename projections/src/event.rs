//! Events as read back from the store, and their typed decoding.

use std::collections::HashMap;

use aggregates::aggregate_types;
use aggregates::channel::ChannelEvent;
use aggregates::message::MessageEvent;
use aggregates::user::UserEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::feed::FeedCursor;
use crate::personal::{self, fields, DataKey, EventPlace, KeyError, SealError};
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
    /// Only for a version-1 edit or deletion of a message, which did not name its channel: the
    /// channel the message was posted in, looked up by the reader ([`prepare`]) so that
    /// [`decode`](Self::decode) can upcast it. The payload itself stays exactly as stored.
    #[sqlx(skip)]
    pub posted_in: Option<Uuid>,
    /// When the payload holds sealed personal fields: the payload with them opened (or null,
    /// erased, where the key is gone), set by the reader ([`prepare`]); or why they did not open.
    /// The payload itself stays exactly as stored.
    #[sqlx(skip)]
    pub opened: Option<Result<serde_json::Value, SealError>>,
    /// Whether the payload held sealed fields whose key is gone: they decode as erased.
    #[sqlx(skip)]
    pub erased: bool,
    /// The metadata with its sealed entries (the client address) opened with the actor's key, or
    /// null where it is gone; set only by readers that show metadata ([`open_metadata`]).
    #[sqlx(skip)]
    pub opened_metadata: Option<serde_json::Value>,
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

    /// Where the event is, for its sealed fields' associated data.
    pub fn place(&self) -> EventPlace<'_> {
        EventPlace {
            aggregate_type: &self.aggregate_type,
            aggregate_id: &self.aggregate_id,
            sequence: self.sequence,
            event_type: &self.event_type,
        }
    }

    /// The payload as readers see it: with its sealed fields opened (null where erased). The
    /// reader must have [prepared](prepare) the event.
    pub fn readable_payload(&self) -> Result<&serde_json::Value, ProjectionError> {
        match &self.opened {
            None => Ok(&self.payload),
            Some(Ok(opened)) => Ok(opened),
            Some(Err(source)) => Err(ProjectionError::Sealed {
                position: self.global_position,
                source: source.clone(),
            }),
        }
    }

    /// Decodes the payload; an unknown type or version is an error, never skipped. The reader
    /// must have [prepared](prepare) the event (upcasting, opening sealed fields): every reader of
    /// the log does.
    pub fn decode(&self) -> Result<DecodedEvent, ProjectionError> {
        let payload = self.readable_payload()?;
        let readable = match self.aggregate_type.as_str() {
            aggregate_types::MESSAGE => MessageEvent::readable(&self.event_type, &self.event_version),
            _ => self.event_version == "1",
        };
        if !readable {
            return Err(self.unknown());
        }
        let decoded = match self.aggregate_type.as_str() {
            // Deserialize from a borrow: a rebuild decodes millions of payloads.
            aggregate_types::USER => UserEvent::deserialize(payload).map(DecodedEvent::User),
            aggregate_types::CHANNEL => ChannelEvent::deserialize(payload).map(DecodedEvent::Channel),
            aggregate_types::MESSAGE => match self.posted_in {
                Some(channel) if MessageEvent::needs_channel(&self.event_type, &self.event_version) => {
                    let mut payload = payload.clone();
                    MessageEvent::upcast_v1(&self.event_type, &mut payload, channel);
                    MessageEvent::deserialize(&payload)
                }
                // Without the channel a version-1 edit fails to decode here, loudly.
                _ => MessageEvent::deserialize(payload),
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

/// Readies a batch read from the log for [`RecordedEvent::decode`], with one query per kind of
/// lookup for the whole batch and none when there is nothing to do:
/// - version-1 edits and deletions of messages did not name their channel: it is looked up from
///   their messages' first events (the log is never rewritten);
/// - sealed personal fields are opened with their subjects' data keys and the process's master
///   key; a field whose key was destroyed opens as null (erased). Without a master key installed
///   they stay sealed, and decoding them fails loudly.
pub async fn prepare(conn: &mut PgConnection, events: &mut [RecordedEvent]) -> Result<(), sqlx::Error> {
    look_up(conn, events).await?.open(events);
    Ok(())
}

/// [`prepare`]'s database part: the channels of older events (set on them) and the data keys of
/// the batch's sealed fields, for [`Lookups::open`], which is CPU work only and can run on
/// another thread.
pub async fn look_up(conn: &mut PgConnection, events: &mut [RecordedEvent]) -> Result<Lookups, sqlx::Error> {
    resolve_channels(conn, events).await?;
    let nothing = Lookups {
        keys: None,
        sealed: Vec::new(),
    };
    let Some(master) = personal::installed() else {
        return Ok(nothing);
    };
    let sealed: Vec<usize> = (0..events.len())
        .filter(|&i| fields::has_sealed(events[i].place(), &events[i].payload))
        .collect();
    let subjects: Vec<Uuid> = sealed
        .iter()
        .filter_map(|&i| Uuid::parse_str(&events[i].aggregate_id).ok())
        .collect();
    if subjects.is_empty() {
        return Ok(nothing);
    }
    let keys = match personal::data_keys(conn, master, &subjects).await {
        Ok(keys) => Ok(keys),
        Err(KeyError::Database(e)) => return Err(e),
        // A key that does not unwrap: every sealed event of the batch reports it when decoded.
        Err(KeyError::Seal(e)) => Err(e),
    };
    Ok(Lookups {
        keys: Some(keys),
        sealed,
    })
}

/// The data keys a batch's sealed fields open with (see [`look_up`]).
pub struct Lookups {
    /// `None`: nothing to open (no sealed field, or no master key installed).
    keys: Option<Result<HashMap<Uuid, DataKey>, SealError>>,
    /// Where in the batch the events with sealed fields are, found once by [`look_up`].
    sealed: Vec<usize>,
}

impl Lookups {
    /// Opens the sealed fields of `events`, the batch these keys were looked up for, into
    /// [`RecordedEvent::opened`]; the payloads stay as stored.
    pub fn open(self, events: &mut [RecordedEvent]) {
        self.open_with(events, |event, key| {
            let opened = fields::open(event.place(), key, &event.payload);
            event.opened = Some(opened);
        });
    }

    /// Opens the sealed fields of `events` in their payloads, without a copy: for a reader that
    /// only decodes them (a projection), never for one that shows the log as stored (audit).
    pub fn open_in_place(self, events: &mut [RecordedEvent]) {
        self.open_with(events, |event, key| {
            let mut payload = std::mem::take(&mut event.payload);
            let opened = fields::open_in_place(event.place(), key, &mut payload);
            event.payload = payload;
            if let Err(e) = opened {
                event.opened = Some(Err(e));
            }
        });
    }

    /// Calls `open` with every sealed event and its key (`None` where it was destroyed).
    fn open_with(self, events: &mut [RecordedEvent], open: impl Fn(&mut RecordedEvent, Option<&DataKey>)) {
        let Some(keys) = self.keys else {
            return;
        };
        for &i in &self.sealed {
            let event = &mut events[i];
            match &keys {
                Ok(keys) => {
                    let key = Uuid::parse_str(&event.aggregate_id)
                        .ok()
                        .and_then(|id| keys.get(&id));
                    event.erased = key.is_none();
                    open(event, key);
                }
                Err(e) => event.opened = Some(Err(e.clone())),
            }
        }
    }
}

async fn resolve_channels(conn: &mut PgConnection, events: &mut [RecordedEvent]) -> Result<(), sqlx::Error> {
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
    let channels: HashMap<String, Uuid> = posts
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

/// Opens the sealed entries of the batch's metadata (the client addresses, under their actors'
/// keys), for readers that show them (the audit log); one query for the batch. An entry that
/// does not open is an error: it was altered or moved from another event.
pub async fn open_metadata(
    conn: &mut PgConnection,
    events: &mut [RecordedEvent],
) -> Result<(), ProjectionError> {
    let Some(master) = personal::installed() else {
        return Ok(());
    };
    let actor = |e: &RecordedEvent| {
        e.metadata
            .get("actor_id")
            .and_then(|v| v.as_str())
            .and_then(|v| Uuid::parse_str(v).ok())
    };
    let sealed: Vec<&RecordedEvent> = events
        .iter()
        .filter(|e| fields::metadata_has_sealed(&e.metadata))
        .collect();
    let Some(first) = sealed.first() else {
        return Ok(());
    };
    let position = first.global_position;
    let actors: Vec<Uuid> = sealed.iter().filter_map(|e| actor(e)).collect();
    let keys = personal::data_keys(conn, master, &actors)
        .await
        .map_err(|e| match e {
            KeyError::Database(e) => ProjectionError::Database(e),
            KeyError::Seal(source) => ProjectionError::Sealed { position, source },
        })?;
    for event in events.iter_mut() {
        if fields::metadata_has_sealed(&event.metadata) {
            let key = actor(event).and_then(|a| keys.get(&a));
            let opened = fields::open_metadata(event.place(), key, &event.metadata).map_err(|source| {
                ProjectionError::Sealed {
                    position: event.global_position,
                    source,
                }
            })?;
            event.opened_metadata = Some(opened);
        }
    }
    Ok(())
}
