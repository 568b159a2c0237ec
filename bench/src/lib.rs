//! Shared pieces of the benchmarks: a private PostgreSQL per run and synthetic event logs.
//!
//! Every benchmark prints its figures next to a baseline measured in the same run on the same
//! database, because these machines are shared and absolute numbers drift from run to run.

pub mod seed;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use zync::db::embedded::{EmbeddedOptions, EmbeddedPostgres};

/// A throwaway, durable (fsync on, as in production) cluster and a migrated database in it.
pub struct BenchDb {
    pub pool: PgPool,
    pg: EmbeddedPostgres,
    dir: PathBuf,
}

impl BenchDb {
    pub async fn start() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("zync-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pg = EmbeddedPostgres::start(EmbeddedOptions {
            data_dir: dir.join("postgres"),
            durable: true,
            max_connections: 50,
        })
        .await?;
        pg.ensure_database("bench").await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(pg.connect_options("bench"))
            .await?;
        zync::db::migrate(&pool).await?;
        Ok(Self { pool, pg, dir })
    }

    /// A `DATABASE_URL` for the database, over the cluster's Unix socket.
    pub fn url(&self) -> String {
        let options = self.pg.connect_options("bench");
        format!(
            "postgres:///bench?host={}&port={}&user={}",
            self.pg.socket_dir().display(),
            options.get_port(),
            options.get_username()
        )
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.pool.close().await;
        self.pg.stop().await?;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

/// Runs `f` and returns its result with the time it took.
pub async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = f.await;
    (out, started.elapsed())
}

/// Events per second, for printing.
pub fn rate(events: u64, took: Duration) -> f64 {
    events as f64 / took.as_secs_f64().max(1e-9)
}
