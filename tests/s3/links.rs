//! Presigned links: the `Content-Disposition` they ask for, expiry, and tampering.

use std::time::Duration;

use zync::storage::ObjectStore;

use crate::s3_server::{S3Server, BUCKET};
use crate::support::{body, get, payload, store};

/// The `response-content-disposition` a presigned URL asks S3 for.
fn requested_disposition(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "response-content-disposition")
        .map(|(_, value)| value.into_owned())
}

#[tokio::test]
async fn presigned_urls_serve_html_as_an_attachment_and_images_inline() {
    let server = S3Server::start().await;
    let store = store(&server).await;
    let page = b"<!DOCTYPE html><script>alert(document.cookie)</script>";
    store
        .put("media/page.html".into(), "text/html".into(), body(page))
        .await
        .unwrap();
    let image = payload(1000);
    store
        .put("media/pic.png".into(), "image/png".into(), body(&image))
        .await
        .unwrap();

    let html_url = store
        .access_url(
            "media/page.html".into(),
            "text/html".into(),
            "résumé \"v2\".html".into(),
            Duration::from_secs(600),
            "http://unused.test".into(),
        )
        .await
        .unwrap();
    let attachment = "attachment; filename=\"r_sum_ _v2_.html\"; \
                      filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.html";
    assert_eq!(requested_disposition(&html_url).as_deref(), Some(attachment));
    let response = get(&html_url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert_eq!(response.headers()["content-disposition"], attachment);
    assert_eq!(&response.bytes().await.unwrap()[..], page);

    let png_url = store
        .access_url(
            "media/pic.png".into(),
            "image/png".into(),
            "pic.png".into(),
            Duration::from_secs(600),
            "http://unused.test".into(),
        )
        .await
        .unwrap();
    let inline = "inline; filename=\"pic.png\"; filename*=UTF-8''pic.png";
    assert_eq!(requested_disposition(&png_url).as_deref(), Some(inline));
    let response = get(&png_url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-disposition"], inline);
    assert!(response.bytes().await.unwrap() == image);

    // The override is signed: a link holder can neither drop it nor make the page inline.
    let (head, query) = html_url.split_once('?').unwrap();
    let with_override = |value: Option<&str>| {
        let mut params: Vec<&str> = query
            .split('&')
            .filter(|p| !p.starts_with("response-content-disposition="))
            .collect();
        let replaced = value.map(|v| format!("response-content-disposition={v}"));
        params.extend(replaced.as_deref());
        format!("{head}?{}", params.join("&"))
    };
    assert_eq!(get(&with_override(None)).await.status(), 403, "override removed");
    assert_eq!(
        get(&with_override(Some("inline"))).await.status(),
        403,
        "override changed"
    );
    assert_eq!(
        get(&html_url).await.status(),
        200,
        "the untouched URL still works"
    );
}

#[tokio::test]
async fn expired_presigned_url_is_refused() {
    let server = S3Server::start().await;
    let store = store(&server).await;
    store
        .put("media/x.txt".into(), "text/plain".into(), body(b"hello"))
        .await
        .unwrap();

    let url = store
        .access_url(
            "media/x.txt".into(),
            "text/plain".into(),
            "x.txt".into(),
            Duration::from_secs(1),
            "http://unused.test".into(),
        )
        .await
        .unwrap();
    assert_eq!(get(&url).await.status(), 200, "valid before it expires");
    // The signing time has one-second resolution: wait well past the expiry.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let response = get(&url).await;
    assert_eq!(response.status(), 403);
    let text = response.text().await.unwrap();
    assert!(text.contains("AccessDenied") && !text.contains("hello"), "{text}");
}

#[tokio::test]
async fn tampered_presigned_url_is_refused() {
    let server = S3Server::start().await;
    let store = store(&server).await;
    store
        .put("media/a.txt".into(), "text/plain".into(), body(b"secret a"))
        .await
        .unwrap();
    store
        .put("media/b.txt".into(), "text/plain".into(), body(b"secret b"))
        .await
        .unwrap();
    let url = store
        .access_url(
            "media/a.txt".into(),
            "text/plain".into(),
            "a.txt".into(),
            Duration::from_secs(600),
            "http://unused.test".into(),
        )
        .await
        .unwrap();

    // A flipped signature digit.
    let (head, sig) = url.split_once("X-Amz-Signature=").unwrap();
    let sig: String = sig.chars().take(64).collect();
    let flipped = format!("{}{}", &sig[..63], if sig.ends_with('0') { '1' } else { '0' });
    let tampered = format!(
        "{head}X-Amz-Signature={flipped}{}",
        &url[head.len() + "X-Amz-Signature=".len() + 64..]
    );
    assert_ne!(tampered, url);
    assert_eq!(get(&tampered).await.status(), 403);

    // The same signature on another key, and with a longer expiry.
    assert_eq!(
        get(&url.replace("media/a.txt", "media/b.txt")).await.status(),
        403
    );
    assert_eq!(
        get(&url.replace("X-Amz-Expires=600", "X-Amz-Expires=6000"))
            .await
            .status(),
        403
    );
    // No signature at all.
    assert_eq!(
        get(&format!("{}/{BUCKET}/media/a.txt", server.endpoint()))
            .await
            .status(),
        403
    );

    assert_eq!(get(&url).await.status(), 200, "the untouched URL still works");
}
