//! Given/when/then tests of the message aggregate.

use aggregates::message::{DeletionReason, Message, MessageCommand, MessageError, MessageEvent, MessageKind};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use uuid::Uuid;

mod message_fixtures;

use message_fixtures::*;

fn post_text() -> MessageCommand {
    MessageCommand::PostText {
        message_id: MSG,
        channel_id: CHAN,
        author_id: AUTHOR,
        content: text("hello"),
    }
}

fn post_file(content_type: &str) -> MessageCommand {
    MessageCommand::PostFile {
        message_id: MSG,
        channel_id: CHAN,
        author_id: AUTHOR,
        file: file(content_type),
    }
}

fn edit(actor: Uuid, s: &str) -> MessageCommand {
    MessageCommand::Edit {
        actor,
        content: text(s),
    }
}

fn delete(actor: Uuid, actor_owns_channel: bool, clearing_channel: bool) -> MessageCommand {
    MessageCommand::Delete {
        actor,
        actor_owns_channel,
        clearing_channel,
    }
}

fn given_text() -> AggregateTestExecutor<Message> {
    TestFramework::<Message>::with(()).given(vec![text_posted()])
}

fn given_file() -> AggregateTestExecutor<Message> {
    TestFramework::<Message>::with(()).given(vec![file_posted("image/png", MessageKind::Image)])
}

#[tokio::test]
async fn post_text_message() {
    TestFramework::<Message>::with(())
        .given_no_previous_events()
        .when_async(post_text())
        .await
        .then_expect_events(vec![text_posted()]);
}

#[tokio::test]
async fn post_file_derives_message_type_from_mime() {
    for (mime, kind) in [
        ("image/png", MessageKind::Image),
        ("image/svg+xml", MessageKind::Image),
        ("IMAGE/JPEG", MessageKind::Image),
        ("video/mp4", MessageKind::Video),
        ("audio/ogg", MessageKind::Audio),
        ("application/pdf", MessageKind::File),
        ("text/plain", MessageKind::File),
        ("weird/odd", MessageKind::File),
        ("imagery/png", MessageKind::File),
        ("no-slash-at-all", MessageKind::File),
        ("/image", MessageKind::File),
        ("image", MessageKind::File),
        (" image/png ", MessageKind::Image),
    ] {
        TestFramework::<Message>::with(())
            .given_no_previous_events()
            .when_async(post_file(mime))
            .await
            .then_expect_events(vec![file_posted(mime, kind)]);
    }
}

#[test]
fn message_kind_from_mime_and_as_str() {
    assert_eq!(
        MessageKind::from_mime("video/webm; codecs=vp9"),
        MessageKind::Video
    );
    assert_eq!(
        MessageKind::from_mime("application/octet-stream"),
        MessageKind::File
    );
    for (kind, s) in [
        (MessageKind::Text, "text"),
        (MessageKind::Image, "image"),
        (MessageKind::Video, "video"),
        (MessageKind::Audio, "audio"),
        (MessageKind::File, "file"),
    ] {
        assert_eq!(kind.as_str(), s);
        // The serde name is the contract's `message_type` value too.
        assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(s));
    }
}

#[tokio::test]
async fn post_twice_is_refused() {
    for given in [given_text(), given_file()] {
        given
            .when_async(post_text())
            .await
            .then_expect_error(MessageError::AlreadyExists);
    }
    for given in [given_text(), given_file()] {
        given
            .when_async(post_file("image/png"))
            .await
            .then_expect_error(MessageError::AlreadyExists);
    }
    // A deleted message's id stays taken.
    given_text()
        .and(vec![deleted(AUTHOR, DeletionReason::ByAuthor)])
        .when_async(post_text())
        .await
        .then_expect_error(MessageError::AlreadyExists);
}

#[tokio::test]
async fn edit_by_author() {
    given_text()
        .when_async(edit(AUTHOR, "hello, world"))
        .await
        .then_expect_events(vec![MessageEvent::MessageEdited {
            channel_id: CHAN,
            content: text("hello, world").into(),
        }]);
}

#[tokio::test]
async fn edit_by_someone_else_is_refused() {
    // Even the channel owner may not edit someone else's words.
    for actor in [OTHER, OWNER] {
        given_text()
            .when_async(edit(actor, "rewritten"))
            .await
            .then_expect_error(MessageError::NotAuthor);
    }
    // Authorship is checked before the message type.
    given_file()
        .when_async(edit(OTHER, "rewritten"))
        .await
        .then_expect_error(MessageError::NotAuthor);
}

#[tokio::test]
async fn edit_of_a_file_message_is_refused() {
    given_file()
        .when_async(edit(AUTHOR, "caption"))
        .await
        .then_expect_error(MessageError::NotText);
    TestFramework::<Message>::with(())
        .given(vec![file_posted("application/pdf", MessageKind::File)])
        .when_async(edit(AUTHOR, "caption"))
        .await
        .then_expect_error(MessageError::NotText);
}

#[tokio::test]
async fn edit_to_identical_content_emits_nothing() {
    given_text()
        .when_async(edit(AUTHOR, "hello"))
        .await
        .then_expect_events(vec![]);
    // The comparison is exact: white space and case count.
    given_text()
        .when_async(edit(AUTHOR, "Hello"))
        .await
        .then_expect_events(vec![MessageEvent::MessageEdited {
            channel_id: CHAN,
            content: text("Hello").into(),
        }]);
}

#[tokio::test]
async fn edits_are_the_new_baseline() {
    let after_edit = || {
        given_text().and(vec![MessageEvent::MessageEdited {
            channel_id: CHAN,
            content: text("v2").into(),
        }])
    };
    after_edit()
        .when_async(edit(AUTHOR, "v2"))
        .await
        .then_expect_events(vec![]);
    after_edit()
        .when_async(edit(AUTHOR, "hello"))
        .await
        .then_expect_events(vec![MessageEvent::MessageEdited {
            channel_id: CHAN,
            content: text("hello").into(),
        }]);
}

#[tokio::test]
async fn delete_by_author() {
    for given in [given_text(), given_file()] {
        given
            .when_async(delete(AUTHOR, false, false))
            .await
            .then_expect_events(vec![deleted(AUTHOR, DeletionReason::ByAuthor)]);
    }
    // An author who also owns the channel deletes "as author" unless clearing the channel.
    given_text()
        .when_async(delete(AUTHOR, true, false))
        .await
        .then_expect_events(vec![deleted(AUTHOR, DeletionReason::ByAuthor)]);
}

#[tokio::test]
async fn delete_by_channel_owner() {
    given_text()
        .when_async(delete(OWNER, true, false))
        .await
        .then_expect_events(vec![deleted(OWNER, DeletionReason::ByChannelOwner)]);
}

#[tokio::test]
async fn delete_by_neither_author_nor_owner_is_refused() {
    given_text()
        .when_async(delete(OTHER, false, false))
        .await
        .then_expect_error(MessageError::NotAuthorOrOwner);
    // Claiming to clear the channel does not help a non-owner.
    given_text()
        .when_async(delete(OTHER, false, true))
        .await
        .then_expect_error(MessageError::NotAuthorOrOwner);
}

#[tokio::test]
async fn clearing_channel_by_owner() {
    given_text()
        .when_async(delete(OWNER, true, true))
        .await
        .then_expect_events(vec![deleted(OWNER, DeletionReason::ChannelCleared)]);
    // Clearing wins over authorship when the owner wrote the message.
    given_file()
        .when_async(delete(AUTHOR, true, true))
        .await
        .then_expect_events(vec![deleted(AUTHOR, DeletionReason::ChannelCleared)]);
}

fn every_command_but_post() -> Vec<MessageCommand> {
    vec![
        edit(AUTHOR, "again"),
        edit(AUTHOR, "hello"),
        edit(OTHER, "again"),
        delete(AUTHOR, false, false),
        delete(OWNER, true, false),
        delete(OWNER, true, true),
        delete(OTHER, false, false),
    ]
}

#[tokio::test]
async fn anything_after_delete_is_not_found() {
    for reason in [
        DeletionReason::ByAuthor,
        DeletionReason::ByChannelOwner,
        DeletionReason::ChannelCleared,
    ] {
        for cmd in every_command_but_post() {
            given_text()
                .and(vec![deleted(OWNER, reason)])
                .when_async(cmd)
                .await
                .then_expect_error(MessageError::NotFound);
        }
    }
}

#[tokio::test]
async fn anything_on_a_missing_message_is_not_found() {
    for cmd in every_command_but_post() {
        TestFramework::<Message>::with(())
            .given_no_previous_events()
            .when_async(cmd)
            .await
            .then_expect_error(MessageError::NotFound);
    }
}
