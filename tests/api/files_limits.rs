//! Refusals of file messages: size, membership, malformed uploads, text messages.

use serde_json::{json, Value};

use crate::files_support::{
    access_url, app_with_files, file_part, files_room, png, stored_objects, temporary_files, upload,
    upload_parts, Part,
};
use crate::messages::room;

async fn history_len(app: &crate::support::TestApp, user: &crate::support::TestUser, channel: &str) -> usize {
    app.get(&format!("/messages/channel/{channel}"), Some(&user.token))
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn oversize_uploads_get_413_and_leave_nothing() {
    let (app, files) = app_with_files(|mut c| {
        c.files.max_upload_bytes = 4096;
        c
    })
    .await;
    let room = room(&app).await;

    // Exactly at the limit is fine.
    let at_limit = vec![b'a'; 4096];
    upload(
        &app,
        &room.member,
        &room.channel,
        "ok.txt",
        "text/plain",
        &at_limit,
    )
    .await
    .expect(201);
    assert_eq!(stored_objects(&files).len(), 1);

    // One byte over (within the sniffed prefix), and far over (past it).
    for size in [4097, 60 * 1024] {
        let big = vec![b'b'; size];
        let resp = upload(&app, &room.member, &room.channel, "big.txt", "text/plain", &big).await;
        assert_eq!(resp.status, 413, "{size}: {}", resp.body);
        assert!(resp.detail().contains("4096"), "{}", resp.detail());
    }
    assert_eq!(history_len(&app, &room.member, &room.channel).await, 1);
    assert_eq!(stored_objects(&files).len(), 1);
    assert_eq!(temporary_files(&files), 0);
}

#[tokio::test]
async fn the_global_body_limit_does_not_cap_uploads() {
    let (app, _files, room) = files_room().await;
    // Larger than the 1 MiB limit of the other routes.
    let bytes = vec![7u8; 3 * 1024 * 1024];
    let m = upload(
        &app,
        &room.member,
        &room.channel,
        "big.bin",
        "application/octet-stream",
        &bytes,
    )
    .await
    .expect(201);
    assert_eq!(m["message_type"], "file");
}

#[tokio::test]
async fn non_members_can_neither_upload_nor_get_links() {
    let (app, files, room) = files_room().await;
    let resp = upload(
        &app,
        &room.stranger,
        &room.channel,
        "a.png",
        "image/png",
        &png(2, 2),
    )
    .await;
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert_eq!(resp.detail(), "You are not a member of this channel");
    assert!(stored_objects(&files).is_empty());

    let m = upload(
        &app,
        &room.member,
        &room.channel,
        "a.png",
        "image/png",
        &png(2, 2),
    )
    .await
    .expect(201);
    let resp = access_url(&app, &room.stranger, m["id"].as_str().unwrap()).await;
    assert_eq!(resp.status, 403, "{}", resp.body);

    // Unknown channel and message: 404; no token: 401.
    let nowhere = uuid::Uuid::now_v7().to_string();
    let resp = upload(&app, &room.member, &nowhere, "a.png", "image/png", &png(2, 2)).await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.detail(), "Channel not found");
    assert_eq!(access_url(&app, &room.member, &nowhere).await.status, 404);
    let resp = app
        .get(
            &format!("/messages/{}/access-url", m["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(resp.status, 401);
}

#[tokio::test]
async fn uploads_need_a_filename_and_a_content_type() {
    let (app, files, room) = files_room().await;
    let bytes = png(2, 2);
    for part in [
        Part {
            name: "file",
            filename: None,
            content_type: Some("image/png"),
            bytes: &bytes,
        },
        Part {
            name: "file",
            filename: Some(""),
            content_type: Some("image/png"),
            bytes: &bytes,
        },
        Part {
            name: "file",
            filename: Some("a.png"),
            content_type: None,
            bytes: &bytes,
        },
    ] {
        let resp = upload_parts(&app, &room.member, &room.channel, &[part]).await;
        assert_eq!(resp.status, 400, "{}", resp.body);
        assert_eq!(resp.detail(), "File must have a filename and a content type");
    }
    // No `file` field at all: the field is missing (422), as for any missing body field.
    let resp = upload_parts(
        &app,
        &room.member,
        &room.channel,
        &[Part {
            name: "other",
            filename: Some("a.png"),
            content_type: Some("image/png"),
            bytes: &bytes,
        }],
    )
    .await;
    assert_eq!(resp.status, 422, "{}", resp.body);
    assert_eq!(resp.body["detail"][0]["loc"], json!(["body", "file"]));
    // Other fields before `file` are skipped.
    let resp = upload_parts(
        &app,
        &room.member,
        &room.channel,
        &[
            Part {
                name: "note",
                filename: None,
                content_type: None,
                bytes: b"hello",
            },
            file_part("a.png", "image/png", &bytes),
        ],
    )
    .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert_eq!(stored_objects(&files).len(), 1);
    assert_eq!(history_len(&app, &room.member, &room.channel).await, 1);
}

#[tokio::test]
async fn a_text_message_has_no_access_url() {
    let (app, _files, room) = files_room().await;
    let m = app.post_message(&room.member, &room.channel, "just text").await;
    let resp = access_url(&app, &room.owner, m["id"].as_str().unwrap()).await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.detail(), "Not a file message");
    assert_eq!(m["s3_key"], Value::Null);
}
