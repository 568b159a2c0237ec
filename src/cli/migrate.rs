//! `zync migrate`: apply pending migrations and say which.

use super::database::Database;
use super::Outcome;
use crate::config::Config;

pub async fn run(config: &Config) -> anyhow::Result<Outcome> {
    let db = Database::open_unmigrated(config).await?;
    let applied = crate::db::migrate(&db.pool).await;
    db.close().await?;
    let applied = applied?;
    if applied.is_empty() {
        println!("database is up to date; no migrations applied");
    }
    for m in &applied {
        println!("applied {:04} {}", m.version, m.description);
    }
    Ok(Outcome::Success)
}
