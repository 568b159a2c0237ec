//! The `event_type` values stored in the log, for queries that select by type. The aggregates
//! define them (`DomainEvent::event_type`); a test below keeps the two in step.

pub const MEMBER_JOINED: &str = "MemberJoined";
pub const MEMBER_LEFT: &str = "MemberLeft";
pub const CHANNEL_DELETED: &str = "ChannelDeleted";
pub const TEXT_MESSAGE_POSTED: &str = "TextMessagePosted";
pub const FILE_MESSAGE_POSTED: &str = "FileMessagePosted";
pub const MESSAGE_DELETED: &str = "MessageDeleted";
pub const USER_ERASED: &str = "UserErased";

#[cfg(test)]
mod tests {
    use aggregates::channel::ChannelEvent;
    use aggregates::message::MessageEvent;
    use aggregates::user::UserEvent;
    use cqrs_es::DomainEvent;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn the_names_are_the_ones_the_aggregates_store() {
        let id = Uuid::now_v7();
        let joined = ChannelEvent::MemberJoined { user_id: id };
        let left = ChannelEvent::MemberLeft { user_id: id };
        assert_eq!(joined.event_type(), MEMBER_JOINED);
        assert_eq!(left.event_type(), MEMBER_LEFT);
        assert_eq!(ChannelEvent::ChannelDeleted {}.event_type(), CHANNEL_DELETED);
        assert_eq!(UserEvent::UserErased {}.event_type(), USER_ERASED);
        let deleted = MessageEvent::MessageDeleted {
            channel_id: id,
            deleted_by: id,
            reason: aggregates::message::DeletionReason::ByAuthor,
        };
        assert_eq!(deleted.event_type(), MESSAGE_DELETED);
        let posted = |name: &str, fields: serde_json::Value| {
            let mut body = json!({"message_id": id, "channel_id": id, "author_id": id});
            body.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            serde_json::from_value::<MessageEvent>(json!({ name: body }))
                .unwrap()
                .event_type()
        };
        assert_eq!(
            posted(TEXT_MESSAGE_POSTED, json!({"content": "hi"})),
            TEXT_MESSAGE_POSTED
        );
        let file = json!({
            "message_type": "file", "s3_key": "k", "content_type": "text/plain",
            "original_filename": "a.txt",
        });
        assert_eq!(posted(FILE_MESSAGE_POSTED, file), FILE_MESSAGE_POSTED);
    }
}
