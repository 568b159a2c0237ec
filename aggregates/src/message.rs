//! The message aggregate: one stream per message, so posting never reloads a channel's history.
//!
//! Cross-aggregate rules (only members post, only the channel owner clears a channel) are decided
//! by the caller from strongly consistent state and re-checked inside the append transaction by
//! the event store's guard trigger (migrations/0002), so the aggregate stays pure.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::personal::Personal;
use crate::values::{ContentType, FileName, MessageContent, StorageKey};

/// The contract's `message_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    Image,
    Video,
    Audio,
    File,
}

impl MessageKind {
    /// File messages are typed by MIME type: image/*, video/*, audio/*, else file.
    pub fn from_mime(content_type: &str) -> Self {
        let mime = content_type.trim().to_ascii_lowercase();
        if mime.starts_with("image/") {
            Self::Image
        } else if mime.starts_with("video/") {
            Self::Video
        } else if mime.starts_with("audio/") {
            Self::Audio
        } else {
            Self::File
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::File => "file",
        }
    }
}

/// Read back from a text column (the `messages` table's `message_type`).
impl TryFrom<String> for MessageKind {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        [Self::Text, Self::Image, Self::Video, Self::Audio, Self::File]
            .into_iter()
            .find(|kind| kind.as_str() == raw)
            .ok_or_else(|| format!("unknown message type {raw:?}"))
    }
}

/// Why a message was deleted; kept for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionReason {
    /// The author deleted their own message.
    ByAuthor,
    /// The channel owner deleted someone's message.
    ByChannelOwner,
    /// The channel owner cleared the whole channel.
    ChannelCleared,
}

/// A stored file, already uploaded before the command is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFile {
    pub s3_key: StorageKey,
    pub content_type: ContentType,
    /// Personal: the uploader's name for it.
    pub original_filename: Personal<FileName>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MessageCommand {
    PostText {
        message_id: Uuid,
        channel_id: Uuid,
        author_id: Uuid,
        content: MessageContent,
    },
    PostFile {
        message_id: Uuid,
        channel_id: Uuid,
        author_id: Uuid,
        file: StoredFile,
    },
    Edit {
        actor: Uuid,
        content: MessageContent,
    },
    /// `actor_owns_channel` is decided by the caller from the channel's current owner.
    Delete {
        actor: Uuid,
        actor_owns_channel: bool,
        clearing_channel: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MessageEvent {
    TextMessagePosted {
        message_id: Uuid,
        channel_id: Uuid,
        author_id: Uuid,
        content: Personal<MessageContent>,
    },
    FileMessagePosted {
        message_id: Uuid,
        channel_id: Uuid,
        author_id: Uuid,
        message_type: MessageKind,
        #[serde(flatten)]
        file: StoredFile,
    },
    /// Version 2 names the channel (version 1 did not: see [`MessageEvent::upcast_v1`]).
    MessageEdited {
        channel_id: Uuid,
        content: Personal<MessageContent>,
    },
    /// Version 2 names the channel, as [`MessageEvent::MessageEdited`].
    MessageDeleted {
        channel_id: Uuid,
        deleted_by: Uuid,
        reason: DeletionReason,
    },
}

impl MessageEvent {
    /// Whether a stored message event of this type and version can be read once
    /// [upcast](Self::upcast_v1).
    pub fn readable(event_type: &str, event_version: &str) -> bool {
        match event_type {
            "TextMessagePosted" | "FileMessagePosted" => event_version == "1",
            "MessageEdited" | "MessageDeleted" => matches!(event_version, "1" | "2"),
            _ => false,
        }
    }

    /// Whether a stored event is a version-1 edit or deletion, which did not say which channel
    /// its message is in: it must be [upcast](Self::upcast_v1) before it decodes.
    pub fn needs_channel(event_type: &str, event_version: &str) -> bool {
        event_version == "1" && matches!(event_type, "MessageEdited" | "MessageDeleted")
    }

    /// Brings a version-1 edit or deletion to version 2 by adding `channel_id`, the channel its
    /// message was posted in (the `channel_id` of its stream's first event; a message never
    /// moves). The stored log is never rewritten: readers upcast as they read.
    pub fn upcast_v1(event_type: &str, payload: &mut serde_json::Value, channel_id: Uuid) {
        if let Some(body) = payload
            .get_mut(event_type)
            .and_then(serde_json::Value::as_object_mut)
        {
            body.insert("channel_id".into(), channel_id.to_string().into());
        }
    }

    /// The channel a stream's first event (a post) names.
    pub fn posted_channel(event_type: &str, payload: &serde_json::Value) -> Option<Uuid> {
        let channel = payload.get(event_type)?.get("channel_id")?.as_str()?;
        Uuid::parse_str(channel).ok()
    }
}

impl DomainEvent for MessageEvent {
    fn event_type(&self) -> String {
        match self {
            Self::TextMessagePosted { .. } => "TextMessagePosted",
            Self::FileMessagePosted { .. } => "FileMessagePosted",
            Self::MessageEdited { .. } => "MessageEdited",
            Self::MessageDeleted { .. } => "MessageDeleted",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        match self {
            Self::TextMessagePosted { .. } | Self::FileMessagePosted { .. } => "1",
            Self::MessageEdited { .. } | Self::MessageDeleted { .. } => "2",
        }
        .to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("Message already exists")]
    AlreadyExists,
    #[error("Message not found")]
    NotFound,
    #[error("Only the author can edit this message")]
    NotAuthor,
    #[error("Only the author or the channel owner can delete this message")]
    NotAuthorOrOwner,
    #[error("Only text messages can be edited")]
    NotText,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    id: Option<Uuid>,
    channel_id: Option<Uuid>,
    author_id: Option<Uuid>,
    kind: Option<MessageKind>,
    content: Option<MessageContent>,
    deleted: bool,
}

impl Message {
    /// The live message's author and channel.
    fn require_live(&self) -> Result<(Uuid, Uuid), MessageError> {
        match (self.id, self.author_id, self.channel_id) {
            (Some(_), Some(author), Some(channel)) if !self.deleted => Ok((author, channel)),
            _ => Err(MessageError::NotFound),
        }
    }

    fn decide(&self, command: MessageCommand) -> Result<Option<MessageEvent>, MessageError> {
        Ok(Some(match command {
            MessageCommand::PostText {
                message_id,
                channel_id,
                author_id,
                content,
            } => {
                if self.id.is_some() {
                    return Err(MessageError::AlreadyExists);
                }
                MessageEvent::TextMessagePosted {
                    message_id,
                    channel_id,
                    author_id,
                    content: content.into(),
                }
            }
            MessageCommand::PostFile {
                message_id,
                channel_id,
                author_id,
                file,
            } => {
                if self.id.is_some() {
                    return Err(MessageError::AlreadyExists);
                }
                MessageEvent::FileMessagePosted {
                    message_id,
                    channel_id,
                    author_id,
                    message_type: MessageKind::from_mime(file.content_type.as_str()),
                    file,
                }
            }
            MessageCommand::Edit { actor, content } => {
                let (author, channel_id) = self.require_live()?;
                if author != actor {
                    return Err(MessageError::NotAuthor);
                }
                if self.kind != Some(MessageKind::Text) {
                    return Err(MessageError::NotText);
                }
                if self.content.as_ref() == Some(&content) {
                    return Ok(None);
                }
                MessageEvent::MessageEdited {
                    channel_id,
                    content: content.into(),
                }
            }
            MessageCommand::Delete {
                actor,
                actor_owns_channel,
                clearing_channel,
            } => {
                let (author, channel_id) = self.require_live()?;
                let reason = if clearing_channel && actor_owns_channel {
                    DeletionReason::ChannelCleared
                } else if actor == author {
                    DeletionReason::ByAuthor
                } else if actor_owns_channel {
                    DeletionReason::ByChannelOwner
                } else {
                    return Err(MessageError::NotAuthorOrOwner);
                };
                MessageEvent::MessageDeleted {
                    channel_id,
                    deleted_by: actor,
                    reason,
                }
            }
        }))
    }
}

impl Aggregate for Message {
    const TYPE: &'static str = crate::aggregate_types::MESSAGE;
    type Command = MessageCommand;
    type Event = MessageEvent;
    type Error = MessageError;
    type Services = ();

    async fn handle(
        &mut self,
        command: MessageCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), MessageError> {
        if let Some(event) = self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: MessageEvent) {
        match event {
            MessageEvent::TextMessagePosted {
                message_id,
                channel_id,
                author_id,
                content,
            } => {
                self.id = Some(message_id);
                self.channel_id = Some(channel_id);
                self.author_id = Some(author_id);
                self.kind = Some(MessageKind::Text);
                // Erased only once deleted (or its author erased): nothing edits it then.
                self.content = content.into_known();
            }
            MessageEvent::FileMessagePosted {
                message_id,
                channel_id,
                author_id,
                message_type,
                ..
            } => {
                self.id = Some(message_id);
                self.channel_id = Some(channel_id);
                self.author_id = Some(author_id);
                self.kind = Some(message_type);
            }
            MessageEvent::MessageEdited { content, .. } => self.content = content.into_known(),
            MessageEvent::MessageDeleted { .. } => self.deleted = true,
        }
    }
}
