//! A real headless Chromium for tests, driven over WebDriver: `chromedriver` started on a free
//! loopback port, and a fantoccini session to it. Plus a tiny static server for the test's own
//! pages, on another port (so pages and API are of different origins, as in production).
//!
//! Chromium and chromedriver come from Debian (`apt-get install -y chromium chromium-driver`;
//! `.ci/run` installs them). Missing, the test fails saying so: it never passes without a browser.
//!
//! Include it with `#[path = "common/browser.rs"] mod browser;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

const INSTALL_HINT: &str =
    "install them with `apt-get install -y chromium chromium-driver` (Debian; .ci/run does this)";
/// How long chromedriver may take to answer its first `/status`: a guard against hanging
/// forever, not a performance expectation.
const DRIVER_STARTUP: Duration = Duration::from_secs(60);

/// The first of `names` found on `PATH` (or the path in `env_var`, if set).
fn find(env_var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The browser binary and its driver, or a panic that says how to install them.
pub fn locate() -> (PathBuf, PathBuf) {
    let chromium = find("CHROME_BIN", &["chromium", "chromium-browser", "google-chrome"]);
    let driver = find("CHROMEDRIVER", &["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => (chromium, driver),
        (chromium, driver) => panic!(
            "the browser test needs Chromium ({}) and chromedriver ({}): {INSTALL_HINT}",
            if chromium.is_some() { "found" } else { "missing" },
            if driver.is_some() { "found" } else { "missing" },
        ),
    }
}

/// A running chromedriver and one headless browser session. Dropping it ends both.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    pub async fn start() -> Self {
        let (chromium, driver_bin) = locate();
        let port = free_port();
        let profile = std::env::temp_dir().join(format!("zync-chromium-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&profile).unwrap();
        let mut driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}; {INSTALL_HINT}", driver_bin.display()));
        let url = format!("http://127.0.0.1:{port}");
        wait_for_driver(&mut driver, &url).await;

        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                // --no-sandbox: Chromium's sandbox refuses to run as root (CI runs as root).
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("could not open a Chromium session through chromedriver: {e}"));
        Self {
            client,
            driver,
            profile,
        }
    }

    /// Ends the browser session (the driver goes with `drop`).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn wait_for_driver(driver: &mut Child, url: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + DRIVER_STARTUP;
    loop {
        if let Some(status) = driver.try_wait().unwrap() {
            panic!("chromedriver exited ({status}) while starting; {INSTALL_HINT}");
        }
        if let Ok(resp) = client.get(format!("{url}/status")).send().await {
            if resp.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "chromedriver did not answer on {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().unwrap().port()
}

/// Serves `page` (an HTML file) at `/` and `image` (PNG bytes) at `/image.png` on a free
/// loopback port, for the rest of the test process; returns the address.
pub async fn serve_page(page: &Path, image: Vec<u8>) -> SocketAddr {
    let html = std::fs::read_to_string(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    let app = Router::new()
        .route(
            "/",
            get(move || async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html) }),
        )
        .route(
            "/image.png",
            get(move || async move { ([(header::CONTENT_TYPE, "image/png")], image).into_response() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}
