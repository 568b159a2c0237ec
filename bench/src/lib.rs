//! The Zync benchmark harness: a private PostgreSQL, the release server as its own process, a
//! loopback-only load generator, and a report of every figure next to a baseline measured in the
//! same run (these machines are shared, so absolute numbers drift from run to run; ratios less).

pub mod api;
pub mod baseline;
pub mod cpu;
pub mod loopback;
pub mod machine;
pub mod report;
pub mod seed;
pub mod server;
pub mod subscriber;
pub mod workloads;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use zync::db::embedded::{EmbeddedOptions, EmbeddedPostgres};

/// Connections the cluster accepts: 64 pgbench clients, a server's pool, the CLI, the harness.
const MAX_CONNECTIONS: u32 = 200;

/// A throwaway, durable (fsync on, as in production) cluster for one run.
pub struct Cluster {
    pg: EmbeddedPostgres,
    dir: PathBuf,
}

/// How to reach one database of the cluster, for tools other than sqlx.
#[derive(Debug, Clone)]
pub struct Connection {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
}

/// A migrated database of the cluster.
pub struct BenchDb {
    pub pool: PgPool,
    connection: Connection,
}

impl Cluster {
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let _ = std::fs::remove_dir_all(dir);
        let pg = EmbeddedPostgres::start(EmbeddedOptions {
            data_dir: dir.join("postgres"),
            durable: true,
            max_connections: MAX_CONNECTIONS,
        })
        .await?;
        Ok(Self {
            pg,
            dir: dir.to_path_buf(),
        })
    }

    /// Creates (if needed) and migrates database `name`.
    pub async fn database(&self, name: &str) -> anyhow::Result<BenchDb> {
        self.pg.ensure_database(name).await?;
        let options = self.pg.connect_options(name);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await?;
        zync::db::migrate(&pool).await?;
        let connection = Connection {
            host: self.pg.socket_dir().display().to_string(),
            port: options.get_port(),
            user: options.get_username().to_string(),
            database: name.to_string(),
        };
        Ok(BenchDb { pool, connection })
    }

    pub fn version(&self) -> &str {
        self.pg.version()
    }

    pub fn postmaster_pid(&self) -> u32 {
        self.pg.pid()
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.pg.stop().await?;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

impl BenchDb {
    /// A `DATABASE_URL` for the database, over the cluster's Unix socket.
    pub fn url(&self) -> String {
        let c = &self.connection;
        format!(
            "postgres:///{}?host={}&port={}&user={}",
            c.database, c.host, c.port, c.user
        )
    }

    pub fn connection(&self) -> Connection {
        self.connection.clone()
    }
}

/// Runs `f` and returns its result with the time it took.
pub async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = f.await;
    (out, started.elapsed())
}

/// Per second, for printing.
pub fn rate(count: u64, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64().max(1e-9)
}
