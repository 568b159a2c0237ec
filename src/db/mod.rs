//! Database plumbing: the embedded cluster, the pool and migrations.

pub mod embedded;

use sqlx::PgPool;

/// Applies every pending migration in `migrations/`.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(pool).await
}
