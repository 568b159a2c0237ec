//! `zync migrate` against a real database.

use crate::cli_support::zync;
use crate::db::fresh_database;

#[tokio::test]
async fn migrate_reports_an_up_to_date_database() {
    // The harness's databases are cloned from a migrated template.
    let db = fresh_database().await;
    let ran = zync(&db, &["migrate"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout.trim(), "database is up to date; no migrations applied");
}

#[tokio::test]
async fn migrate_lists_what_it_applied_to_an_empty_database() {
    let db = fresh_database().await;
    let pool = sqlx::PgPool::connect_with(db.clone()).await.unwrap();
    // Empty the database: drop everything the migrations made.
    sqlx::query("DROP SCHEMA public CASCADE")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("CREATE SCHEMA public").execute(&pool).await.unwrap();
    pool.close().await;
    let ran = zync(&db, &["migrate"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"applied 0001 event store"), "{}", ran.stdout);
    assert!(lines.iter().all(|l| l.starts_with("applied ")), "{}", ran.stdout);
    let again = zync(&db, &["migrate"]).await;
    assert!(again.stdout.contains("up to date"), "{}", again.stdout);
}
