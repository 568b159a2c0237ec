//! Database plumbing: the embedded cluster, the pool and migrations.

pub mod embedded;

use sqlx::migrate::Migrator;
use sqlx::PgPool;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// A migration this run applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i64,
    pub description: String,
}

/// Applies every pending migration in `migrations/`, returning those it applied (empty when the
/// database was already current).
pub async fn migrate(pool: &PgPool) -> Result<Vec<Applied>, sqlx::migrate::MigrateError> {
    let before = applied_versions(pool).await?;
    MIGRATOR.run(pool).await?;
    Ok(MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !before.contains(&m.version))
        .map(|m| Applied {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect())
}

/// Versions already recorded as applied (none on a fresh database).
async fn applied_versions(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
        .await?;
    if table.is_none() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
}
