//! File messages on S3, end to end over HTTP, against a real S3-compatible server that checks
//! signatures (s3s-fs, in process): upload, presigned download and how it is served, deletion,
//! and the storage server going away.

use std::time::Duration;

use zync::storage::s3::S3Settings;

use crate::files_support::{access_url, download, link, png, reactors_caught_up, upload};
use crate::messages::room;
use crate::s3_server::{S3Server, ACCESS_KEY, BUCKET, REGION, SECRET_KEY};
use crate::support::TestApp;

async fn app_on(server: &S3Server) -> TestApp {
    let endpoint = server.endpoint();
    TestApp::spawn_with(move |mut c| {
        c.s3 = Some(S3Settings {
            bucket: BUCKET.into(),
            region: REGION.into(),
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.into()),
            session_token: None,
            endpoint_url: Some(endpoint),
            connect_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(10),
        });
        c
    })
    .await
}

#[tokio::test]
async fn a_png_round_trips_through_s3_and_deletion_removes_it() {
    let server = S3Server::start().await;
    let app = app_on(&server).await;
    let room = room(&app).await;
    let bytes = png(32, 32);
    let m = upload(&app, &room.member, &room.channel, "pic.png", "image/png", &bytes)
        .await
        .expect(201);
    assert_eq!(m["message_type"], "image");
    let id = m["id"].as_str().unwrap();

    let url = link(&app, &room.owner, id).await;
    assert!(url.starts_with(&server.endpoint()), "a presigned S3 URL: {url}");
    assert!(url.contains("X-Amz-Signature="), "presigned: {url}");
    let got = download(&app, &url).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes, bytes, "identical bytes");
    let key = m["s3_key"]
        .as_str()
        .unwrap()
        .trim_start_matches("media/")
        .to_string();
    let holds_key = || server.files().iter().any(|f| f.to_string_lossy().contains(&key));
    assert!(holds_key(), "the object is in the bucket");

    app.delete(&format!("/messages/{id}"), Some(&room.member.token))
        .await
        .expect(200);
    // The message is gone at once; a presigned link is S3's to serve, so it stops working when
    // the file-removal reactor has removed the object, shortly after.
    let gone = access_url(&app, &room.owner, id).await;
    assert_eq!(gone.status, 404);
    reactors_caught_up(&app).await;
    assert!(!holds_key(), "the object is removed");
    assert_eq!(download(&app, &url).await.status, 404, "the link stops working");
}

#[tokio::test]
async fn presigned_downloads_follow_the_local_stores_disposition_rule() {
    let server = S3Server::start().await;
    let app = app_on(&server).await;
    let room = room(&app).await;
    let page = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let m = upload(&app, &room.member, &room.channel, "page.html", "text/html", page)
        .await
        .expect(201);
    assert_eq!(m["message_type"], "file");
    let got = download(&app, &link(&app, &room.owner, m["id"].as_str().unwrap()).await).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes, page);
    assert_eq!(got.header("content-type"), Some("text/html"));
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename=\"page.html\"; filename*=UTF-8''page.html")
    );

    let bytes = png(4, 4);
    let m = upload(&app, &room.member, &room.channel, "pic.png", "image/png", &bytes)
        .await
        .expect(201);
    let got = download(&app, &link(&app, &room.owner, m["id"].as_str().unwrap()).await).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes, bytes);
    assert_eq!(
        got.header("content-disposition"),
        Some("inline; filename=\"pic.png\"; filename*=UTF-8''pic.png")
    );
}

#[tokio::test]
async fn a_stopped_storage_server_gives_a_clear_error_and_no_message() {
    let mut server = S3Server::start().await;
    let app = app_on(&server).await;
    let room = room(&app).await;
    server.stop().await;

    let resp = upload(
        &app,
        &room.member,
        &room.channel,
        "pic.png",
        "image/png",
        &png(8, 8),
    )
    .await;
    assert!(
        matches!(resp.status, 502 | 503),
        "status {} body {}",
        resp.status,
        resp.body
    );
    assert!(resp.body["detail"].is_string());
    let history = app
        .get(
            &format!("/messages/channel/{}", room.channel),
            Some(&room.member.token),
        )
        .await
        .expect(200);
    assert_eq!(
        history.as_array().unwrap().len(),
        0,
        "no message without its object"
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'FileMessagePosted'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn a_channel_is_deleted_while_the_store_is_down_and_its_files_go_when_it_is_back() {
    let mut server = S3Server::start().await;
    let app = app_on(&server).await;
    let room = room(&app).await;
    let m = upload(
        &app,
        &room.member,
        &room.channel,
        "pic.png",
        "image/png",
        &png(4, 4),
    )
    .await
    .expect(201);
    let key = m["s3_key"]
        .as_str()
        .unwrap()
        .trim_start_matches("media/")
        .to_string();
    let holds_key = |server: &S3Server| server.files().iter().any(|f| f.to_string_lossy().contains(&key));
    assert!(holds_key(&server));
    server.stop().await;

    // The deletion event is the source of truth: the store being down is not the client's
    // problem, and the read side forgets the channel at once.
    app.delete(&format!("/channels/{}", room.channel), Some(&room.owner.token))
        .await
        .expect(200);
    let gone = app
        .get(&format!("/channels/{}", room.channel), Some(&room.owner.token))
        .await;
    assert_eq!(gone.status, 404);
    let gone = access_url(&app, &room.owner, m["id"].as_str().unwrap()).await;
    assert_eq!(gone.status, 404);

    // The reactor fails, says so in its checkpoint row, and keeps the event.
    let reactor = zync::reactors::FileRemoval::NAME;
    let mut failed = None;
    for _ in 0..600 {
        failed = sqlx::query_scalar("SELECT last_error FROM projection_checkpoints WHERE name = $1")
            .bind(reactor)
            .fetch_optional(&app.pool)
            .await
            .unwrap()
            .flatten();
        if failed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed: String = failed.expect("the reactor records its failure");
    assert!(failed.contains(&room.channel), "{failed}");
    assert!(
        holds_key(&server),
        "nothing could be removed while the store was down"
    );

    // Back up: the retried reaction removes the file.
    server.restart().await;
    reactors_caught_up(&app).await;
    assert!(
        !holds_key(&server),
        "the deleted channel's file is removed once the store is back"
    );
    let error: Option<String> =
        sqlx::query_scalar("SELECT last_error FROM projection_checkpoints WHERE name = $1")
            .bind(reactor)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(error, None, "the error is cleared once the reaction succeeds");
}
