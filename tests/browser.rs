//! The Zync web client's path through a real browser: a page of another origin (another port)
//! registers a user whose name has a space, logs in, opens the Zync socket, uploads a PNG, and
//! on the image's frame puts its `access_url` into `<img src>`. The image must decode: CORS must
//! let the page call the API, and the link must be absolute (a relative one would resolve
//! against the page's own origin and fail).
//!
//! A real `zync serve` process on a real PostgreSQL, a real headless Chromium through
//! chromedriver (`apt-get install -y chromium chromium-driver`), loopback only.

#[path = "common/browser.rs"]
mod browser;
#[path = "common/db.rs"]
mod db;
#[path = "common/node.rs"]
mod node;
#[path = "common/png.rs"]
mod png;

use std::path::Path;
use std::time::{Duration, Instant};

use browser::{serve_page, Browser};
use node::Node;
use serde_json::Value;

/// A guard against a wedged browser, not a performance expectation: the flow takes well under
/// a second when it works.
const PATIENCE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_flow_shows_an_uploaded_image_from_another_origin() {
    // Before anything else: without a browser this test must fail, and say how to get one.
    browser::locate();

    let image = png::png(7, 5);
    let page = serve_page(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/page.html"),
        image.clone(),
    )
    .await;
    let page_origin = format!("http://{page}");

    let db = db::fresh_database().await;
    // No PUBLIC_BASE_URL: links are built from the Host the browser sent.
    let mut server = Node::start_with(
        "browser",
        &db::database_url(&db),
        &[("FRONTEND_ORIGIN", page_origin.as_str())],
    );
    server.ready(&reqwest::Client::new()).await;
    let api = server.url("");
    assert_ne!(api, page_origin, "the page and the API must be different origins");

    let browser = Browser::start().await;
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let url = format!("{page_origin}/?api={api}&suffix={suffix}");
    browser.client.goto(&url).await.expect("the page loads");

    let deadline = Instant::now() + PATIENCE;
    let result = loop {
        let result = browser
            .client
            .execute("return window.zyncResult || null;", vec![])
            .await
            .expect("the page answers scripts");
        if !result.is_null() {
            break result;
        }
        if Instant::now() > deadline {
            let status = browser
                .client
                .execute("return document.getElementById('status').textContent;", vec![])
                .await
                .unwrap_or(Value::Null);
            panic!("the page did not finish within {PATIENCE:?}; last step: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    browser.close().await;

    assert_eq!(
        result["error"],
        Value::Null,
        "the page failed: {}",
        result["error"]
    );
    assert_eq!(result["ok"], true, "{result}");
    // The browser decoded the PNG: it knows its real size.
    assert_eq!(result["naturalWidth"], 7, "{result}");
    assert_eq!(result["naturalHeight"], 5, "{result}");
    let src = result["src"].as_str().unwrap();
    assert!(
        src.starts_with(&format!("{api}/files/media/")),
        "an absolute link on the API: {src}"
    );
    assert_eq!(result["username"], format!("Browser User {suffix}"));
}
