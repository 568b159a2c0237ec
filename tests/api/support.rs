//! `TestApp`: the real server on a random port, on a fresh database, driven over real HTTP.

use std::net::SocketAddr;

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use zync::app::Application;
use zync::config::Config;

use crate::db;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// A pool of the test's own on the app's database, for assertions on tables.
    pub pool: PgPool,
    pub db: PgConnectOptions,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The body's `detail` string (panics if it is not one).
    pub fn detail(&self) -> &str {
        self.body["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("no string detail in {}", self.body))
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        self.body
    }
}

#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub password: String,
    pub token: String,
}

/// The master key of every test app (`ZYNC_MASTER_KEY`).
pub const TEST_MASTER_KEY: &str = "7a796e632d746573742d6d61737465722d6b65792d3031323334353637383961";

/// The configuration every test app starts from: no environment involved.
pub fn test_config(db: PgConnectOptions) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("default config");
    config.files_dir = Some(shared_files_dir(&db));
    config.database = Some(db);
    config.host = [127, 0, 0, 1].into();
    config.port = 0;
    config.db_pool_size = 10;
    config.secret_key = Some("test-secret-key-that-is-long-enough-0123456789".into());
    // Apps restarted on a database with a new data directory must still open its sealed data.
    config.master_key = Some(TEST_MASTER_KEY.into());
    config.data_dir = std::env::temp_dir().join(format!("zync-app-{}", uuid::Uuid::now_v7().simple()));
    config
}

/// The file directory of every app on `db`: nodes on one database share their files (ADR 0006;
/// a node with a directory of its own would be refused), and a restarted app finds its files.
pub fn shared_files_dir(db: &PgConnectOptions) -> std::path::PathBuf {
    let name = db.get_database().expect("the harness names the database");
    std::env::temp_dir().join(format!("zync-files-{name}"))
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|c| c).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(Config) -> Config) -> Self {
        let db = db::fresh_database().await;
        Self::spawn_on(db, adjust).await
    }

    /// Starts an app on an existing database (to restart "the same" server).
    pub async fn spawn_on(db: PgConnectOptions, adjust: impl FnOnce(Config) -> Config) -> Self {
        let config = adjust(test_config(db.clone()));
        let app = Application::build(config).await.expect("application starts");
        let addr = app.local_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(db.clone())
            .await
            .unwrap();
        Self {
            addr,
            client: reqwest::Client::new(),
            pool,
            db,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Makes this test's database refuse connections and ends the ones it has, as an outage
    /// would; [`DatabaseCutOff::restore`] lets connections in again.
    pub async fn cut_off_database(&self) -> DatabaseCutOff {
        let name = self.db.get_database().expect("a named test database").to_string();
        let admin =
            <sqlx::PgConnection as sqlx::Connection>::connect_with(&self.db.clone().database("postgres"))
                .await
                .unwrap();
        let mut cut = DatabaseCutOff { admin, name };
        cut.allow(false).await;
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&cut.name)
            .execute(&mut cut.admin)
            .await
            .unwrap();
        cut
    }

    /// Graceful stop; the database stays for a restart with [`TestApp::spawn_on`].
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    pub async fn read(resp: reqwest::Response) -> Resp {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("non-JSON body ({status}): {}", String::from_utf8_lossy(&bytes)))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, token, None).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Resp {
        let resp = self
            .client
            .post(self.url("/token"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
        Self::read(resp).await
    }

    /// Registers `username` (e-mail `<username>@example.com`) and logs in.
    pub async fn register(&self, username: &str) -> TestUser {
        let password = format!("pw-{username}-secret");
        let user = self
            .post(
                "/users/",
                None,
                json!({"username": username, "email": format!("{username}@example.com"), "password": password}),
            )
            .await
            .expect(201);
        let token = self.login(username, &password).await.expect(200)["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        TestUser {
            id: user["id"].as_str().unwrap().to_string(),
            username: username.to_string(),
            password,
            token,
        }
    }

    /// Creates a channel owned by `owner`; returns its ChannelRead.
    pub async fn create_channel(&self, owner: &TestUser, name: &str) -> Value {
        self.post(
            "/channels/",
            Some(&owner.token),
            json!({"name": name, "description": format!("about {name}")}),
        )
        .await
        .expect(201)
    }

    pub async fn join(&self, user: &TestUser, channel_id: &str) {
        self.post(
            &format!("/channels/{channel_id}/join"),
            Some(&user.token),
            json!({}),
        )
        .await
        .expect(201);
    }

    /// Posts a text message; returns its MessageRead.
    pub async fn post_message(&self, author: &TestUser, channel_id: &str, content: &str) -> Value {
        self.post(
            &format!("/messages/channels/{channel_id}/messages"),
            Some(&author.token),
            json!({ "content": content }),
        )
        .await
        .expect(201)
    }
}

/// A test database that refuses connections (see [`TestApp::cut_off_database`]).
pub struct DatabaseCutOff {
    admin: sqlx::PgConnection,
    name: String,
}

impl DatabaseCutOff {
    async fn allow(&mut self, allowed: bool) {
        let sql = format!(
            "ALTER DATABASE \"{}\" WITH ALLOW_CONNECTIONS {allowed}",
            self.name
        );
        sqlx::query(&sql).execute(&mut self.admin).await.unwrap();
    }

    pub async fn restore(mut self) {
        self.allow(true).await;
    }
}
