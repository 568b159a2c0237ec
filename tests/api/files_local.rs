//! File messages on the local store, end to end over HTTP: upload, access URL, download, expiry,
//! tampering, typing by magic bytes, and how risky types are served.

use std::time::Duration;

use serde_json::Value;

use crate::files_support::{app_with_files, download, files_room, link, png, stored_objects, upload};
use crate::messages::room;

#[tokio::test]
async fn a_png_uploads_and_downloads_byte_for_byte() {
    let (app, files, room) = files_room().await;
    let bytes = png(64, 48);
    let m = upload(
        &app,
        &room.member,
        &room.channel,
        "holiday photo.PNG",
        "image/png",
        &bytes,
    )
    .await
    .expect(201);
    assert_eq!(m["message_type"], "image");
    assert_eq!(m["content"], Value::Null);
    assert_eq!(m["content_type"], "image/png");
    assert_eq!(m["original_filename"], "holiday photo.PNG");
    assert_eq!(m["author_id"], room.member.id.as_str());
    assert_eq!(m["channel_id"], room.channel.as_str());
    assert_eq!(m["author"]["username"], "member");
    let key = m["s3_key"].as_str().unwrap();
    let id = key
        .strip_prefix("media/")
        .and_then(|k| k.strip_suffix(".png"))
        .unwrap_or_else(|| panic!("key {key}"));
    uuid::Uuid::parse_str(id).expect("a UUID in the key");
    assert_eq!(stored_objects(&files).len(), 1);

    // Any member (here the owner) gets a link; anyone holding it downloads the file.
    let url = link(&app, &room.owner, m["id"].as_str().unwrap()).await;
    // Absolute, on the host the client asked (here the loopback address and port).
    assert!(
        url.starts_with(&app.url(&format!("/files/{key}?expires="))),
        "{url}"
    );
    let got = download(&app, &url).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes, bytes);
    assert_eq!(got.header("content-type"), Some("image/png"));
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        got.header("content-length"),
        Some(bytes.len().to_string().as_str())
    );
    // Images display inline, under the name they were uploaded with.
    assert_eq!(
        got.header("content-disposition"),
        Some("inline; filename=\"holiday photo.PNG\"; filename*=UTF-8''holiday%20photo.PNG")
    );

    // The message reads back the same.
    let read = app
        .get(
            &format!("/messages/{}", m["id"].as_str().unwrap()),
            Some(&room.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(read, m);
}

#[tokio::test]
async fn tampered_links_are_refused() {
    let (app, _files, room) = files_room().await;
    let m = upload(
        &app,
        &room.member,
        &room.channel,
        "a.png",
        "image/png",
        &png(4, 4),
    )
    .await
    .expect(201);
    let url = link(&app, &room.member, m["id"].as_str().unwrap()).await;
    let (path, query) = url.split_once('?').unwrap();
    let sig = query.split("sig=").nth(1).unwrap();
    let expires: i64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("expires="))
        .unwrap()
        .parse()
        .unwrap();

    assert!(query.contains("&name=a.png&"), "{url}");

    let flipped = format!("{}{}", if sig.starts_with('0') { "1" } else { "0" }, &sig[1..]);
    let other_key = path.replace("media/", "media/0");
    for bad in [
        format!("{path}?expires={expires}&name=a.png&sig={flipped}"),
        format!("{path}?expires={}&name=a.png&sig={sig}", expires + 3600),
        format!("{other_key}?expires={expires}&name=a.png&sig={sig}"),
        // The download's name is signed too: no renaming, no dropping it.
        format!("{path}?expires={expires}&name=a.html&sig={sig}"),
        format!("{path}?expires={expires}&sig={sig}"),
        format!("{path}?expires={expires}&name=a.png"),
        format!("{path}?expires={expires}&name=a.png&sig=not-hex"),
        path.to_string(),
    ] {
        let got = download(&app, &bad).await;
        assert_eq!(got.status, 403, "{bad}");
        assert!(!got.detail().is_empty());
    }
    // Paths that try to leave the store are not files.
    for bad in [
        "/files/../secret_key",
        "/files/%2e%2e/secret_key",
        "/files/.meta/x",
        "/files//etc/passwd",
    ] {
        let got = download(&app, &format!("{bad}?expires={expires}&sig={sig}")).await;
        assert_eq!(got.status, 404, "{bad}");
    }
    assert_eq!(download(&app, &url).await.status, 200);
}

#[tokio::test]
async fn links_expire() {
    let (app, _files) = app_with_files(|mut c| {
        c.files.access_url_expiry = Duration::from_secs(1);
        c
    })
    .await;
    let room = room(&app).await;
    let m = upload(
        &app,
        &room.member,
        &room.channel,
        "a.png",
        "image/png",
        &png(4, 4),
    )
    .await
    .expect(201);
    let url = link(&app, &room.member, m["id"].as_str().unwrap()).await;
    assert_eq!(download(&app, &url).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let got = download(&app, &url).await;
    assert_eq!(got.status, 403);
    assert!(got.detail().contains("expired"), "{}", got.detail());
}

#[tokio::test]
async fn html_is_served_as_an_attachment_with_nosniff() {
    let (app, _files, room) = files_room().await;
    let page = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let m = upload(&app, &room.member, &room.channel, "page.html", "text/html", page)
        .await
        .expect(201);
    assert_eq!(m["message_type"], "file");
    assert_eq!(m["content_type"], "text/html");
    assert!(m["s3_key"].as_str().unwrap().ends_with(".html"));
    let url = link(&app, &room.member, m["id"].as_str().unwrap()).await;
    let got = download(&app, &url).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes, page);
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename=\"page.html\"; filename*=UTF-8''page.html")
    );
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn the_real_type_is_recorded_when_the_declared_one_is_wrong() {
    let (app, _files, room) = files_room().await;
    // Declared a PNG, really a PDF.
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let m = upload(&app, &room.member, &room.channel, "cat.png", "image/png", pdf)
        .await
        .expect(201);
    assert_eq!(m["content_type"], "application/pdf");
    assert_eq!(m["message_type"], "file");
    assert_eq!(m["original_filename"], "cat.png");
    let url = link(&app, &room.member, m["id"].as_str().unwrap()).await;
    let got = download(&app, &url).await;
    assert_eq!(got.header("content-type"), Some("application/pdf"));
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename=\"cat.png\"; filename*=UTF-8''cat.png")
    );

    // Declared an image, with no image signature at all: not trusted as an image.
    let m = upload(
        &app,
        &room.member,
        &room.channel,
        "x.png",
        "image/png",
        b"plain words",
    )
    .await
    .expect(201);
    assert_eq!(m["content_type"], "application/octet-stream");
    assert_eq!(m["message_type"], "file");

    // Declared generically, really a PNG: an image.
    let m = upload(
        &app,
        &room.member,
        &room.channel,
        "blob.bin",
        "application/octet-stream",
        &png(2, 2),
    )
    .await
    .expect(201);
    assert_eq!(m["content_type"], "image/png");
    assert_eq!(m["message_type"], "image");
}

#[tokio::test]
async fn office_documents_keep_their_declared_type() {
    let (app, _files, room) = files_room().await;
    // The start of a ZIP archive, as a .docx is, whose first entry names no particular format.
    let mut docx = b"PK\x03\x04\x14\0\0\0\x08\0".to_vec();
    docx.resize(30, 0);
    docx.extend_from_slice(b"customXml/item1.xml");
    docx.resize(4096, 0);
    let word = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    let m = upload(&app, &room.member, &room.channel, "report.docx", word, &docx)
        .await
        .expect(201);
    assert_eq!(m["content_type"], word);
    assert_eq!(m["message_type"], "file");

    // The same bytes claiming to be a Word document under another extension are a ZIP archive.
    let m = upload(&app, &room.member, &room.channel, "report.html", word, &docx)
        .await
        .expect(201);
    assert_eq!(m["content_type"], "application/zip");
}

#[tokio::test]
async fn a_signed_link_to_a_directory_is_not_a_file() {
    let (app, files, room) = files_room().await;
    upload(
        &app,
        &room.member,
        &room.channel,
        "a.png",
        "image/png",
        &png(4, 4),
    )
    .await
    .expect(201);
    assert!(files.join("media").is_dir());
    // Only the server signs links; a store on the same directory with the same secret signs the
    // ones it would, had a key ever named a directory.
    let secret = crate::users_support::app_secret(&app);
    let signer = zync::storage::local::LocalStore::new(&files, secret.as_bytes(), None).unwrap();
    let expires = chrono::Utc::now().timestamp() + 600;
    let url = signer.link(&format!("http://{}", app.addr), "media", expires, None);
    let got = download(&app, &url).await;
    assert_eq!(got.status, 404, "{url}");
    assert_eq!(got.detail(), "File not found");
}
