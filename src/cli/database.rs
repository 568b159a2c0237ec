//! The database an operator command works on: `DATABASE_URL`, or the embedded cluster of the data
//! directory (shared with a server already running there, started privately otherwise).

use anyhow::Context;
use sqlx::PgPool;

use crate::app;
use crate::config::Config;
use crate::db::embedded::EmbeddedPostgres;

pub struct Database {
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects and applies pending migrations (as `serve` does), so every command sees the
    /// schema its code expects.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let db = Self::open_unmigrated(config).await?;
        crate::db::migrate(&db.pool).await?;
        app::unlock_personal_data(config, &db.pool)
            .await
            .context("cannot read the log's personal data")?;
        Ok(db)
    }

    pub async fn open_unmigrated(config: &Config) -> anyhow::Result<Self> {
        let (options, embedded) = app::database_beside_server(config).await?;
        let pool = app::pool(config, options).await?;
        Ok(Self { pool, embedded })
    }

    /// Closes the pool, and stops the cluster if this command started it.
    pub async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(pg) = self.embedded {
            pg.stop().await?;
        }
        Ok(())
    }
}
