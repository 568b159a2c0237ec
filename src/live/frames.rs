//! The native protocol's frames: `{"type", "position", "data"}` (docs/realtime.md).

use aggregates::channel::ChannelEvent;
use aggregates::message::MessageEvent;
use aggregates::user::UserEvent;
use projections::DecodedEvent;
use serde_json::{json, Value};

use super::event::LiveEvent;

/// The frame for an event, or `None` for events that have no client-facing form (a password
/// change, a registration).
pub fn frame(event: &LiveEvent) -> Option<Value> {
    let (kind, data) = body(event)?;
    Some(json!({ "type": kind, "position": event.position(), "data": data }))
}

fn body(e: &LiveEvent) -> Option<(&'static str, Value)> {
    let at = e.recorded_at;
    Some(match &e.decoded {
        DecodedEvent::Message(m) => match m {
            MessageEvent::TextMessagePosted { .. } | MessageEvent::FileMessagePosted { .. } => {
                ("message.created", serde_json::to_value(e.message.as_ref()?).ok()?)
            }
            MessageEvent::MessageEdited { content, .. } => (
                "message.edited",
                json!({"id": e.aggregate_id, "channel_id": e.channel_id, "content": content, "updated_at": at}),
            ),
            MessageEvent::MessageDeleted {
                deleted_by, reason, ..
            } => (
                "message.deleted",
                json!({"id": e.aggregate_id, "channel_id": e.channel_id, "deleted_by": deleted_by, "reason": reason}),
            ),
        },
        DecodedEvent::Channel(c) => match c {
            ChannelEvent::ChannelCreated {
                name,
                description,
                owner_id,
                ..
            } => (
                "channel.created",
                json!({"id": e.aggregate_id, "name": name, "description": description, "owner_id": owner_id,
                       "created_at": at, "updated_at": at}),
            ),
            ChannelEvent::ChannelUpdated { name, description } => {
                let mut data = json!({"id": e.aggregate_id, "updated_at": at});
                if let Some(name) = name {
                    data["name"] = json!(name);
                }
                if let Some(description) = description {
                    data["description"] = json!(description);
                }
                ("channel.updated", data)
            }
            ChannelEvent::ChannelOwnershipTransferred {
                previous_owner_id,
                new_owner_id,
            } => (
                "channel.owner_changed",
                json!({"id": e.aggregate_id, "previous_owner_id": previous_owner_id, "owner_id": new_owner_id}),
            ),
            ChannelEvent::ChannelDeleted {} => ("channel.deleted", json!({"id": e.aggregate_id})),
            ChannelEvent::MemberJoined { user_id } => (
                "member.joined",
                json!({"channel_id": e.aggregate_id, "user_id": user_id, "joined_at": at}),
            ),
            ChannelEvent::MemberLeft { user_id } => (
                "member.left",
                json!({"channel_id": e.aggregate_id, "user_id": user_id}),
            ),
        },
        DecodedEvent::User(u) => match u {
            UserEvent::UserProfileUpdated { changes } => {
                let mut data = serde_json::to_value(changes).ok()?;
                data["id"] = json!(e.aggregate_id);
                data["updated_at"] = json!(at);
                ("user.updated", data)
            }
            // Clients know one way for a user to go; an erased account may have been deleted
            // before, and a second `user.deleted` changes nothing for them.
            UserEvent::UserDeleted {} | UserEvent::UserErased {} => {
                ("user.deleted", json!({"id": e.aggregate_id}))
            }
            UserEvent::UserRegistered { .. } | UserEvent::UserPasswordChanged {} => return None,
        },
    })
}
