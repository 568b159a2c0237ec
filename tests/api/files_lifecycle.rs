//! File messages in history, on the Zync WebSocket, and deleted with their objects.

use serde_json::Value;

use crate::files_support::{access_url, download, files_room, png, stored_objects, upload};
use crate::ws_support::{frame, zync};

async fn link(app: &crate::support::TestApp, user: &crate::support::TestUser, id: &str) -> String {
    access_url(app, user, id).await.expect(200)["access_url"]
        .as_str()
        .unwrap()
        .to_string()
}

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
    assert_eq!(stored_objects(&files).len(), 1);

    // By the channel owner.
    let id = theirs["id"].as_str().unwrap();
    let url = link(&app, &room.member, id).await;
    app.delete(&format!("/messages/{id}"), Some(&room.owner.token))
        .await
        .expect(200);
    assert_eq!(download(&app, &url).await.status, 404);
    assert!(stored_objects(&files).is_empty());
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
    assert!(stored_objects(&files).is_empty());
    for url in urls {
        assert_eq!(download(&app, &url).await.status, 404);
    }
}
