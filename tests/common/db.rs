//! Test database harness: one server per test process, one fresh migrated database per test.
//!
//! With `DATABASE_URL` set, that server is used (it needs CREATEDB). Otherwise one embedded cluster
//! is started in `<tmp>/zync-test-<pid>`. Databases are cloned from `zync_template`, migrated once
//! per process, which is much faster than migrating every test database.
//!
//! Standalone on purpose: include it with `#[path = "../common/db.rs"] mod db;`.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};
use tokio::sync::OnceCell;
use zync::db::embedded::{EmbeddedOptions, EmbeddedPostgres};

const TEMPLATE: &str = "zync_template";
const MAINTENANCE_DB: &str = "postgres";
/// Advisory lock on the maintenance database: taken exclusively while (re)building the template
/// and shared while cloning it, so test processes sharing one `DATABASE_URL` server don't clone a
/// half-migrated template or connect to it while another process clones it.
const TEMPLATE_LOCK: i64 = 0x7a79_6e63_7470_6c00;

enum Server {
    External(Box<PgConnectOptions>),
    Embedded(EmbeddedPostgres),
}

impl Server {
    fn options(&self, database: &str) -> PgConnectOptions {
        match self {
            Server::External(opts) => opts.clone().database(database),
            Server::Embedded(pg) => pg.connect_options(database),
        }
    }
}

/// Holds no connections or runtime handles: every test runs its own tokio runtime, so anything
/// async tied to the first test's runtime would break once that test ends. Errors are kept so
/// that every test fails fast with the same message instead of retrying a slow startup.
static SERVER: OnceCell<Result<Server, String>> = OnceCell::const_new();

/// A fresh, migrated, empty database for one test. Same cluster for the whole test process.
pub async fn fresh_database() -> PgConnectOptions {
    let server = match SERVER.get_or_init(init).await {
        Ok(server) => server,
        Err(e) => panic!("test database server unavailable: {e}"),
    };
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect_with(&server.options(MAINTENANCE_DB))
        .await
        .expect("connect to the test database server");
    admin
        .execute(format!("SELECT pg_advisory_lock_shared({TEMPLATE_LOCK})").as_str())
        .await
        .unwrap();
    admin
        .execute(format!("CREATE DATABASE \"{name}\" TEMPLATE {TEMPLATE}").as_str())
        .await
        .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
    admin.close().await.unwrap(); // also releases the advisory lock
    server.options(&name)
}

async fn init() -> Result<Server, String> {
    let server = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let opts = url
                .parse()
                .map_err(|e| format!("DATABASE_URL is not a valid URL: {e}"))?;
            Server::External(Box::new(opts))
        }
        _ => Server::Embedded(start_embedded().await?),
    };
    prepare_template(&server)
        .await
        .map_err(|e| format!("preparing {TEMPLATE}: {e}"))?;
    Ok(server)
}

async fn start_embedded() -> Result<EmbeddedPostgres, String> {
    let tmp = std::env::temp_dir();
    remove_stale_dirs(&tmp);
    let data_dir = tmp.join(format!("zync-test-{}", std::process::id()));
    // Left over from an earlier process with our pid (that one is dead: pids are unique).
    let _ = std::fs::remove_dir_all(&data_dir);
    let opts = EmbeddedOptions {
        data_dir,
        durable: false,
        max_connections: 400,
    };
    let pg = EmbeddedPostgres::start(opts).await.map_err(|e| e.to_string())?;
    // Statics are never dropped. The server's death signal stops it whenever we exit, but only
    // this handler can wait for it and remove its files (not run on SIGKILL: see remove_stale_dirs).
    unsafe { libc::atexit(stop_at_exit) };
    Ok(pg)
}

extern "C" fn stop_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        if let Some(Ok(Server::Embedded(pg))) = SERVER.get() {
            if pg.shutdown_blocking(Duration::from_secs(10)) {
                let _ = std::fs::remove_dir_all(pg.data_dir());
                let _ = std::fs::remove_dir_all(pg.socket_dir());
            }
        }
    });
}

/// Removes `zync-test-<pid>` dirs left by killed test processes, once neither that process nor
/// its server (which may still be shutting down) is alive.
fn remove_stale_dirs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("zync-test-")?.parse::<i32>().ok())
        else {
            continue;
        };
        let server_pid = std::fs::read_to_string(entry.path().join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next()?.trim().parse::<i32>().ok());
        if pid as u32 != std::process::id() && !alive(pid) && !server_pid.is_some_and(alive) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn alive(pid: i32) -> bool {
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// Creates and migrates the template; on a shared server, migrates an existing one forward and
/// rebuilds it when its recorded migrations no longer match ours (edited during development).
async fn prepare_template(server: &Server) -> Result<(), String> {
    let e = |e: sqlx::Error| e.to_string();
    let mut admin = PgConnection::connect_with(&server.options(MAINTENANCE_DB))
        .await
        .map_err(e)?;
    admin
        .execute(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})").as_str())
        .await
        .map_err(e)?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(TEMPLATE)
        .fetch_one(&mut admin)
        .await
        .map_err(e)?;
    if !exists {
        admin
            .execute(format!("CREATE DATABASE {TEMPLATE}").as_str())
            .await
            .map_err(e)?;
    }
    if let Err(err) = migrate(server).await {
        if !exists {
            return Err(err);
        }
        eprintln!("rebuilding stale {TEMPLATE}: {err}");
        admin
            .execute(format!("ALTER DATABASE {TEMPLATE} IS_TEMPLATE false").as_str())
            .await
            .map_err(e)?;
        admin
            .execute(format!("DROP DATABASE {TEMPLATE} WITH (FORCE)").as_str())
            .await
            .map_err(e)?;
        admin
            .execute(format!("CREATE DATABASE {TEMPLATE}").as_str())
            .await
            .map_err(e)?;
        migrate(server).await?;
    }
    // Lets a non-superuser DATABASE_URL role with CREATEDB clone it.
    admin
        .execute(format!("ALTER DATABASE {TEMPLATE} IS_TEMPLATE true").as_str())
        .await
        .map_err(e)?;
    admin.close().await.map_err(e)
}

/// CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template, so the pool is
/// closed (all its connections terminated) before returning.
async fn migrate(server: &Server) -> Result<(), String> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(server.options(TEMPLATE))
        .await
        .map_err(|e| e.to_string())?;
    let result = zync::db::migrate(&pool)
        .await
        .map(drop)
        .map_err(|e| e.to_string());
    pool.close().await;
    result
}

/// `DATABASE_URL` for a server process: the harness's database, over its Unix socket when it
/// started its own cluster: `postgres:///DB?host=<socket dir>&port=<port>&user=<user>` (the user
/// goes in the query: a URL with user info must have a host).
pub fn database_url(db: &PgConnectOptions) -> String {
    let name = db.get_database().expect("the harness names the database");
    match db.get_socket() {
        Some(socket) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("host", &socket.to_string_lossy())
                .append_pair("port", &db.get_port().to_string())
                .append_pair("user", db.get_username())
                .finish();
            format!("postgres:///{name}?{query}")
        }
        // A DATABASE_URL server: keep its host, user and password.
        None => db.to_url_lossy().to_string(),
    }
}
