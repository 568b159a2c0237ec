//! Turns a batch of stored events into [`LiveEvent`]s, with one query per kind of lookup for the
//! whole batch (never one per event or per session).

use std::collections::HashMap;

use aggregates::message::MessageEvent;
use axum::extract::ws::Utf8Bytes;
use projections::projectors::{fold_in_memory, MessagesModel};
use projections::{DecodedEvent, ProjectionError, RecordedEvent};
use sqlx::PgPool;
use uuid::Uuid;

use super::event::LiveEvent;
use crate::read::users;
use crate::read::views::{MessageRead, UserRead};

pub async fn enrich(pool: &PgPool, batch: Vec<RecordedEvent>) -> Result<Vec<LiveEvent>, ProjectionError> {
    let decoded: Vec<(RecordedEvent, DecodedEvent)> = batch
        .into_iter()
        .map(|e| e.decode().map(|d| (e, d)))
        .collect::<Result<_, _>>()?;

    let authors: Vec<Uuid> = decoded
        .iter()
        .filter_map(|(_, d)| match d {
            DecodedEvent::Message(
                MessageEvent::TextMessagePosted { author_id, .. }
                | MessageEvent::FileMessagePosted { author_id, .. },
            ) => Some(*author_id),
            _ => None,
        })
        .collect();
    let authors = users::by_ids(pool, &authors).await?;

    let subjects: Vec<Uuid> = decoded
        .iter()
        .filter(|(_, d)| matches!(d, DecodedEvent::User(_)))
        .filter_map(|(e, _)| Uuid::parse_str(&e.aggregate_id).ok())
        .collect();
    let user_channels = channels_of_users(pool, &subjects).await?;

    decoded
        .into_iter()
        .map(|(event, decoded)| {
            let aggregate_id = event.aggregate_uuid()?;
            let (channel_id, message) = match &decoded {
                DecodedEvent::Channel(_) => (Some(aggregate_id), None),
                DecodedEvent::Message(m) => match m {
                    MessageEvent::TextMessagePosted { channel_id, .. }
                    | MessageEvent::FileMessagePosted { channel_id, .. } => {
                        (Some(*channel_id), posted(&event, &decoded, &authors)?)
                    }
                    MessageEvent::MessageEdited { channel_id, .. }
                    | MessageEvent::MessageDeleted { channel_id, .. } => (Some(*channel_id), None),
                },
                DecodedEvent::User(_) => (None, None),
            };
            let message_json = message
                .as_ref()
                .map(|m| Utf8Bytes::from(serde_json::to_string(m).expect("a MessageRead serializes")));
            Ok(LiveEvent {
                cursor: event.cursor(),
                recorded_at: event.recorded_at,
                aggregate_id,
                channel_id,
                message,
                message_json,
                user_channels: match decoded {
                    DecodedEvent::User(_) => user_channels.get(&aggregate_id).cloned().unwrap_or_default(),
                    _ => vec![],
                },
                decoded,
            })
        })
        .collect()
}

/// The MessageRead of a posted message: the row the messages projection builds from this event
/// (its own fold, so there is no second reading of the event to drift from it) with the author
/// embedded, so the frame equals the POST's answer.
fn posted(
    event: &RecordedEvent,
    decoded: &DecodedEvent,
    authors: &HashMap<Uuid, UserRead>,
) -> Result<Option<MessageRead>, ProjectionError> {
    // The model is only folded, never stored: the schema it would write to is irrelevant.
    let rows = fold_in_memory(&MessagesModel::new("public"), [(event, decoded)])?;
    let Some(row) = rows.get(&event.aggregate_uuid()?) else {
        return Ok(None);
    };
    Ok(Some(MessageRead::new(
        row.clone(),
        authors.get(&row.author_id).cloned(),
    )))
}

async fn channels_of_users(pool: &PgPool, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, Uuid)> =
        sqlx::query_as("SELECT user_id, channel_id FROM channel_member_guard WHERE user_id = ANY($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    let mut map: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (user, channel) in rows {
        map.entry(user).or_default().push(channel);
    }
    Ok(map)
}
