//! Building read models from the start of the log into a separate schema. The projectors are the
//! live ones, pointed at other tables, so a rebuild proves (or repairs) exactly what serving does.

use sqlx::PgPool;

use crate::feed::FeedCursor;
use crate::projectors::{self, Projector};
use crate::runner::ProjectionRunner;
use crate::ProjectionError;

/// Every table the projectors own, in `public`.
pub fn read_tables() -> Vec<&'static str> {
    projectors::all("public")
        .iter()
        .flat_map(|p| p.tables().iter().copied())
        .collect()
}

/// Recreates `schema` with empty copies of the read tables (same columns, indexes, checks) and
/// projects the whole log into it. Returns the feed cursor the copy reflects.
pub async fn rebuild_into_schema(pool: &PgPool, schema: &str) -> Result<FeedCursor, ProjectionError> {
    let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {quoted} CASCADE"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("CREATE SCHEMA {quoted}"))
        .execute(&mut *tx)
        .await?;
    for table in read_tables() {
        sqlx::query(&format!(
            "CREATE TABLE {quoted}.{table} (LIKE public.{table} INCLUDING ALL)"
        ))
        .execute(&mut *tx)
        .await?;
    }
    let prefix = format!("{schema}/");
    sqlx::query("DELETE FROM projection_checkpoints WHERE starts_with(name, $1)")
        .bind(&prefix)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;

    let projectors: Vec<Box<dyn Projector>> = projectors::all(schema);
    let runner = ProjectionRunner::with_checkpoint_prefix(pool.clone(), projectors, &prefix);
    runner.init().await?;
    runner.catch_up().await
}
