//! The local store's access URLs are absolute, on the scheme and host the client reached the
//! server at: the Zync web client puts them into `<img src>` on a page of another origin. From
//! the `Host` header by default; from `Forwarded` / `X-Forwarded-*` only when the peer is in
//! `TRUSTED_PROXIES`; never a host that is not a plain `host[:port]`.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zync::config::TrustedProxies;

use crate::files_support::{app_with_files, download, png, upload};
use crate::messages::{room, Room};
use crate::support::TestApp;

/// An app (trusting `trusted` as proxies) with a room and one uploaded PNG: (app, room, message
/// id, the PNG's bytes).
async fn app_with_image(trusted: &str) -> (TestApp, Room, String, Vec<u8>) {
    let (app, _files) = app_with_files(|mut c| {
        c.trusted_proxies = TrustedProxies::parse(trusted).unwrap();
        c
    })
    .await;
    let room = room(&app).await;
    let bytes = png(3, 2);
    let m = upload(&app, &room.member, &room.channel, "dot.png", "image/png", &bytes)
        .await
        .expect(201);
    (app, room, m["id"].as_str().unwrap().to_string(), bytes)
}

/// `GET /messages/{id}/access-url` with extra headers (a `host` among them replaces reqwest's).
async fn access_url_with(app: &TestApp, token: &str, id: &str, headers: &[(&str, &str)]) -> String {
    let mut req = app
        .client
        .get(app.url(&format!("/messages/{id}/access-url")))
        .bearer_auth(token);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    TestApp::read(req.send().await.unwrap()).await.expect(200)["access_url"]
        .as_str()
        .unwrap()
        .to_string()
}

/// GETs `url` with `host` resolved to the app's address, as a browser would reach it through
/// DNS: the bytes come from this server, addressed by the name in the link.
async fn download_via(host: &str, addr: SocketAddr, url: &str) -> Vec<u8> {
    let client = reqwest::Client::builder().resolve(host, addr).build().unwrap();
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.bytes().await.unwrap().to_vec()
}

/// The link's path and query (what the server checks), for a download at the app's address.
fn on_app(app: &TestApp, url: &str, origin: &str) -> String {
    let rest = url
        .strip_prefix(origin)
        .unwrap_or_else(|| panic!("{url} is not on {origin}"));
    assert!(rest.starts_with("/files/media/"), "{url}");
    app.url(rest)
}

#[tokio::test]
async fn default_links_are_absolute_on_the_host_the_client_asked() {
    let (app, room, id, bytes) = app_with_image("").await;
    let port = app.addr.port();

    let url = access_url_with(&app, &room.owner.token, &id, &[]).await;
    assert!(url.starts_with(&app.url("/files/media/")), "{url}");
    assert_eq!(download(&app, &url).await.bytes, bytes);

    // Asked by another name (a browser on http://chat.test:<port>), the link uses that name
    // and downloads the same bytes through it.
    let host = format!("chat.test:{port}");
    let url = access_url_with(&app, &room.owner.token, &id, &[("host", &host)]).await;
    assert!(url.starts_with(&format!("http://{host}/files/media/")), "{url}");
    assert_eq!(download_via("chat.test", app.addr, &url).await, bytes);
}

#[tokio::test]
async fn forwarding_headers_are_ignored_from_untrusted_peers() {
    // Nobody trusted (the default), and a trust list without the loopback peer.
    for trusted in ["", "10.0.0.0/8, ::2"] {
        let (app, room, id, _) = app_with_image(trusted).await;
        for headers in [
            vec![("x-forwarded-proto", "https"), ("x-forwarded-host", "evil.test")],
            vec![("forwarded", "for=1.2.3.4;proto=https;host=evil.test")],
        ] {
            let url = access_url_with(&app, &room.owner.token, &id, &headers).await;
            assert!(url.starts_with(&app.url("/files/media/")), "{trusted:?}: {url}");
        }
    }
}

#[tokio::test]
async fn a_trusted_proxy_names_the_scheme_and_host() {
    let (app, room, id, bytes) = app_with_image("127.0.0.1").await;
    let token = &room.owner.token;

    let url = access_url_with(
        &app,
        token,
        &id,
        &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "chat.example.com"),
        ],
    )
    .await;
    // The link's signature does not depend on the host: served here, it downloads.
    let on_here = on_app(&app, &url, "https://chat.example.com");
    assert_eq!(download(&app, &on_here).await.bytes, bytes);

    let url = access_url_with(
        &app,
        token,
        &id,
        &[(
            "forwarded",
            r#"for=192.0.2.1;proto=https;host="files.example.org:8443""#,
        )],
    )
    .await;
    on_app(&app, &url, "https://files.example.org:8443");
    // Forwarded wins over X-Forwarded-*, and of several elements the proxy's own (last) counts.
    let url = access_url_with(
        &app,
        token,
        &id,
        &[
            (
                "forwarded",
                "host=client-made-up.test, for=192.0.2.1;host=proxy.example",
            ),
            ("x-forwarded-host", "other.example"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    on_app(&app, &url, "https://proxy.example");

    // Through the names the proxy gave, over plain HTTP, the link really downloads.
    let host = format!("proxied.test:{}", app.addr.port());
    let url = access_url_with(&app, token, &id, &[("x-forwarded-host", &host)]).await;
    assert!(url.starts_with(&format!("http://{host}/files/")), "{url}");
    assert_eq!(download_via("proxied.test", app.addr, &url).await, bytes);

    // A proxy's garbage is ignored like a client's: the request's own Host is used.
    let url = access_url_with(
        &app,
        token,
        &id,
        &[
            ("x-forwarded-host", "evil.test/phish?"),
            ("x-forwarded-proto", "javascript"),
        ],
    )
    .await;
    on_app(&app, &url, &app.url(""));
}

/// A raw HTTP/1.1 request (reqwest refuses to send some of these heads), answered in full.
async fn raw_get(app: &TestApp, head: &str) -> (u16, serde_json::Value) {
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or_default())
}

#[tokio::test]
async fn a_bad_or_missing_host_never_reaches_the_link() {
    let (app, room, id, bytes) = app_with_image("").await;
    let path = format!("/messages/{id}/access-url");
    let auth = format!("Authorization: Bearer {}", room.owner.token);
    for host in [
        "evil.test/phish?",
        "user@evil.test",
        "evil.test:99999",
        "[::1",
        "a b",
        "\"><img src=x>",
        "evil.test%2f",
        "",
    ] {
        let head = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\nConnection: close\r\n\r\n");
        let (status, body) = raw_get(&app, &head).await;
        assert_eq!(status, 200, "{host:?}: {body}");
        let url = body["access_url"].as_str().unwrap();
        // The connection's own address instead: still a link that works.
        let on_here = on_app(&app, url, &app.url(""));
        assert_eq!(download(&app, &on_here).await.bytes, bytes, "{host:?}");
    }
    // No Host at all (HTTP/1.0).
    let head = format!("GET {path} HTTP/1.0\r\n{auth}\r\n\r\n");
    let (status, body) = raw_get(&app, &head).await;
    assert_eq!(status, 200, "{body}");
    on_app(&app, body["access_url"].as_str().unwrap(), &app.url(""));
}
