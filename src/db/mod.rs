//! Database plumbing: the embedded cluster, the pool and migrations.

pub mod embedded;

use sqlx::migrate::Migrator;
use sqlx::PgPool;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Whether `e` means "the database can't serve right now" (retry later: 503), not a bug (500).
/// SQLSTATE classes: 08 connection exception, 40 transaction rollback (a serialization failure or
/// a deadlock PostgreSQL broke by aborting us), 53 insufficient resources, 57 operator
/// intervention (a server shutting down or starting up, a statement timeout), 58 system error.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            ["08", "40", "53", "57", "58"]
                .iter()
                .any(|class| code.starts_with(class))
        }),
        _ => false,
    }
}

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
