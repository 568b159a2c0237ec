//! A user's export (data portability, docs/personal-data.md): everything they put in, as one JSON
//! document written as it is read, so a user with a million messages costs a page of memory.
//!
//! It is read from one consistent snapshot of the log (the read tables add only what is current:
//! their profile and memberships), with sealed fields opened. What was erased reads as null: a
//! deleted message's text, say, is gone for them too.

use aggregates::message::MessageEvent;
use chrono::{DateTime, Utc};
use projections::{DecodedEvent, ProjectionError, RecordedEvent};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

use crate::eventlog::snapshot::{Scope, Selection, Snapshot};
use crate::read::{channels, users};

/// The document's `format`: bumped when its shape changes incompatibly.
pub const FORMAT: &str = "zync-export/1";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("User not found")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Log(#[from] ProjectionError),
    #[error("could not write the export: {0}")]
    Write(#[from] std::io::Error),
}

/// One event of the user's account or of what they did to channels, as the export lists it.
#[derive(Serialize)]
struct Entry {
    position: i64,
    at: DateTime<Utc>,
    event: String,
    aggregate_id: String,
    /// The event's fields, opened (null where erased).
    data: Value,
}

impl Entry {
    fn of(event: &RecordedEvent) -> Result<Self, ProjectionError> {
        Ok(Self {
            position: event.global_position,
            at: event.recorded_at,
            event: event.event_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            data: event.readable_payload()?[&event.event_type].clone(),
        })
    }
}

/// One message the user posted, with every version of its text.
#[derive(Serialize)]
struct ExportedMessage {
    id: String,
    channel_id: Uuid,
    kind: &'static str,
    posted_at: DateTime<Utc>,
    /// Texts in the order they were written: the post, then each edit.
    versions: Vec<Version>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct Version {
    at: DateTime<Utc>,
    content: Option<String>,
}

/// Writes `user_id`'s export to `out`. `NotFound` (before anything is written) when the log never
/// registered them.
pub async fn export<W: AsyncWrite + Unpin>(
    pool: &PgPool,
    user_id: Uuid,
    out: &mut W,
) -> Result<(), ExportError> {
    let mut snapshot = Snapshot::open(pool).await?;
    // Their account and what they did to channels: a few events per channel, kept in memory.
    let (mut profile, mut channel_activity) = (Vec::new(), Vec::new());
    let mut pages = snapshot
        .pages(&Scope::Selected(Selection::User(user_id)), None, None)
        .await?;
    loop {
        let page = pages.next().await?;
        if page.is_empty() {
            break;
        }
        for event in &page {
            match event.decode()? {
                DecodedEvent::User(_) => profile.push(Entry::of(event)?),
                DecodedEvent::Channel(_) => channel_activity.push(Entry::of(event)?),
                DecodedEvent::Message(_) => {}
            }
        }
    }
    if profile.is_empty() {
        return Err(ExportError::NotFound);
    }
    let head = json!({
        "format": FORMAT,
        "exported_at": Utc::now(),
        "user_id": user_id,
        "profile": users::get(pool, user_id).await?,
        "profile_history": profile,
        "memberships": channels::memberships_of(pool, user_id).await?,
        "channel_activity": channel_activity,
    });
    // The head object, left open for the messages that follow it.
    let head = serde_json::to_string(&head).expect("JSON values serialize");
    out.write_all(&head.as_bytes()[..head.len() - 1]).await?;
    out.write_all(b",\"messages\":[").await?;

    let mut pages = snapshot.pages(&Scope::MessagesBy(user_id), None, None).await?;
    let mut current: Option<ExportedMessage> = None;
    let mut first = true;
    loop {
        let page = pages.next().await?;
        if page.is_empty() {
            break;
        }
        for event in &page {
            let DecodedEvent::Message(decoded) = event.decode()? else {
                continue;
            };
            if let Some(posted) = posted(event, &decoded) {
                if let Some(done) = current.replace(posted) {
                    write_message(out, &done, &mut first).await?;
                }
                continue;
            }
            let Some(message) = current.as_mut().filter(|m| m.id == event.aggregate_id) else {
                continue;
            };
            match decoded {
                MessageEvent::MessageEdited { content, .. } => message.versions.push(Version {
                    at: event.recorded_at,
                    content: content.into_known().map(|c| c.as_str().to_owned()),
                }),
                MessageEvent::MessageDeleted { .. } => message.deleted_at = Some(event.recorded_at),
                _ => {}
            }
        }
    }
    if let Some(done) = current {
        write_message(out, &done, &mut first).await?;
    }
    out.write_all(b"]}\n").await?;
    out.flush().await?;
    Ok(())
}

/// The message a post starts, if `decoded` is one.
fn posted(event: &RecordedEvent, decoded: &MessageEvent) -> Option<ExportedMessage> {
    let message = |channel_id, kind, versions, file| ExportedMessage {
        id: event.aggregate_id.clone(),
        channel_id,
        kind,
        posted_at: event.recorded_at,
        versions,
        file,
        deleted_at: None,
    };
    match decoded {
        MessageEvent::TextMessagePosted {
            channel_id, content, ..
        } => Some(message(
            *channel_id,
            "text",
            vec![Version {
                at: event.recorded_at,
                content: content.known().map(|c| c.as_str().to_owned()),
            }],
            None,
        )),
        MessageEvent::FileMessagePosted {
            channel_id,
            message_type,
            file,
            ..
        } => Some(message(
            *channel_id,
            message_type.as_str(),
            Vec::new(),
            Some(json!({
                "original_filename": file.original_filename.known().map(|n| n.as_str()),
                "content_type": file.content_type.as_str(),
                // The file itself: a link from this route, while the message lives.
                "download": format!("/messages/{}/access-url", event.aggregate_id),
            })),
        )),
        _ => None,
    }
}

async fn write_message<W: AsyncWrite + Unpin>(
    out: &mut W,
    message: &ExportedMessage,
    first: &mut bool,
) -> Result<(), ExportError> {
    if !std::mem::take(first) {
        out.write_all(b",").await?;
    }
    let text = serde_json::to_vec(message).expect("a message serializes");
    out.write_all(&text).await?;
    Ok(())
}
