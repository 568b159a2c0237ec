//! File messages in history, on the Zync WebSocket, and deleted with their objects: one by one,
//! by clearing or deleting their channel. A deleted author's files stay with their messages.
//!
//! Links die with the deletion (the read side); the objects go shortly after, through the
//! file-removal reactor, so the store is looked at once it has caught up with the log.

use serde_json::Value;

use crate::files_support::{
    access_url, download, files_room, link, png, settled_objects, stored_objects, upload,
};
use crate::ws_support::{frame, zync};

#[tokio::test]
async fn file_messages_reach_history_and_the_zync_socket() {
    let (app, _files, room) = files_room().await;
    let mut ws = zync(&app, &room.owner.token, &room.channel).await;
    let text = app
        .post_message(&room.member, &room.channel, "look at this")
        .await;
    let file = upload(
        &app,
        &room.member,
        &room.channel,
        "pic.png",
        "image/png",
        &png(8, 8),
    )
    .await
    .expect(201);
    assert_eq!(frame(&mut ws).await, text);
    let pushed = frame(&mut ws).await;
    assert_eq!(pushed, file);
    assert_eq!(pushed["message_type"], "image");
    assert_eq!(pushed["s3_key"], file["s3_key"]);
    assert_eq!(pushed["content_type"], "image/png");
    assert_eq!(pushed["original_filename"], "pic.png");
    assert_eq!(pushed["content"], Value::Null);

    let history = app
        .get(
            &format!("/messages/channel/{}", room.channel),
            Some(&room.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(history, Value::Array(vec![text, file]));
}

#[tokio::test]
async fn deleting_a_file_message_removes_its_object_and_kills_its_links() {
    let (app, files, room) = files_room().await;
    let mine = upload(
        &app,
        &room.member,
        &room.channel,
        "a.png",
        "image/png",
        &png(3, 3),
    )
    .await
    .expect(201);
    let theirs = upload(&app, &room.member, &room.channel, "b.txt", "text/plain", b"bye")
        .await
        .expect(201);
    assert_eq!(stored_objects(&files).len(), 2);

    // By its author.
    let id = mine["id"].as_str().unwrap();
    let url = link(&app, &room.owner, id).await;
    assert_eq!(download(&app, &url).await.status, 200);
    app.delete(&format!("/messages/{id}"), Some(&room.member.token))
        .await
        .expect(200);
    assert_eq!(download(&app, &url).await.status, 404);
    assert_eq!(access_url(&app, &room.owner, id).await.status, 404);
    assert_eq!(settled_objects(&app, &files).await.len(), 1);

    // By the channel owner.
    let id = theirs["id"].as_str().unwrap();
    let url = link(&app, &room.member, id).await;
    app.delete(&format!("/messages/{id}"), Some(&room.owner.token))
        .await
        .expect(200);
    assert_eq!(download(&app, &url).await.status, 404);
    assert!(settled_objects(&app, &files).await.is_empty());
}

#[tokio::test]
async fn clearing_a_channel_removes_its_files() {
    let (app, files, room) = files_room().await;
    let mut urls = Vec::new();
    for i in 0..3 {
        let m = upload(
            &app,
            &room.member,
            &room.channel,
            &format!("{i}.png"),
            "image/png",
            &png(2, 2),
        )
        .await
        .expect(201);
        urls.push(link(&app, &room.member, m["id"].as_str().unwrap()).await);
    }
    app.post_message(&room.owner, &room.channel, "text too").await;
    assert_eq!(stored_objects(&files).len(), 3);
    let cleared = app
        .delete(
            &format!("/messages/channel/{}/messages", room.channel),
            Some(&room.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(cleared["count"], 4);
    assert!(settled_objects(&app, &files).await.is_empty());
    for url in urls {
        assert_eq!(download(&app, &url).await.status, 404);
    }
}

#[tokio::test]
async fn deleting_a_channel_removes_its_files_and_only_those() {
    let (app, files, room) = files_room().await;
    let mut links = Vec::new();
    let mut ids = Vec::new();
    for (name, content_type, bytes) in [
        ("a.png", "image/png", png(2, 2)),
        ("b.txt", "text/plain", b"notes".to_vec()),
    ] {
        let m = upload(&app, &room.member, &room.channel, name, content_type, &bytes)
            .await
            .expect(201);
        let id = m["id"].as_str().unwrap().to_string();
        links.push(link(&app, &room.owner, &id).await);
        ids.push(id);
    }
    app.post_message(&room.member, &room.channel, "and some text")
        .await;
    // A file message deleted before the channel: its object is already gone.
    let early = upload(&app, &room.owner, &room.channel, "c.png", "image/png", &png(1, 1))
        .await
        .expect(201);
    app.delete(
        &format!("/messages/{}", early["id"].as_str().unwrap()),
        Some(&room.owner.token),
    )
    .await
    .expect(200);
    // Another channel's file is not touched.
    let other = app.create_channel(&room.owner, "other").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let kept = upload(&app, &room.owner, &other, "keep.png", "image/png", &png(2, 2))
        .await
        .expect(201);
    assert_eq!(settled_objects(&app, &files).await.len(), 3);

    app.delete(&format!("/channels/{}", room.channel), Some(&room.owner.token))
        .await
        .expect(200);

    let left = settled_objects(&app, &files).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].ends_with(kept["s3_key"].as_str().unwrap()), "{left:?}");
    for url in links {
        assert_eq!(download(&app, &url).await.status, 404, "{url}");
    }
    for id in ids {
        assert_eq!(access_url(&app, &room.owner, &id).await.status, 404);
        assert_eq!(access_url(&app, &room.member, &id).await.status, 404);
    }
    let kept_link = link(&app, &room.owner, kept["id"].as_str().unwrap()).await;
    assert_eq!(download(&app, &kept_link).await.status, 200);
}

#[tokio::test]
async fn a_deleted_authors_files_stay_with_their_messages() {
    // Deleting a user leaves their messages in place (with a null `author`); their files are
    // part of those messages.
    let (app, files, room) = files_room().await;
    let bytes = png(5, 5);
    let m = upload(&app, &room.member, &room.channel, "mine.png", "image/png", &bytes)
        .await
        .expect(201);
    let id = m["id"].as_str().unwrap();
    let before = link(&app, &room.owner, id).await;

    app.delete(&format!("/users/{}", room.member.id), Some(&room.member.token))
        .await
        .expect(200);

    assert_eq!(settled_objects(&app, &files).await.len(), 1);
    let read = app
        .get(&format!("/messages/{id}"), Some(&room.owner.token))
        .await
        .expect(200);
    assert_eq!(read["author"], Value::Null);
    assert_eq!(read["s3_key"], m["s3_key"]);
    for url in [before, link(&app, &room.owner, id).await] {
        let got = download(&app, &url).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.bytes, bytes);
    }
}
