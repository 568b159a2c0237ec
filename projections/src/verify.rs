//! Checking the live read tables against a fresh projection of the whole log.
//!
//! Every projection is rebuilt into [`VERIFY_SCHEMA`]; then, holding the live projections' lock so
//! neither side moves, both are brought to the same point of the log and compared row by row.
//! Differences are reported per table and primary key: a row only live, a row only rebuilt, or
//! the same key with other values.

use std::collections::BTreeMap;

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::feed::FeedCursor;
use crate::projectors;
use crate::rebuild::{read_tables, REBUILD_BATCH};
use crate::runner::ProjectionRunner;
use crate::shadow::{self, quote};
use crate::ProjectionError;

pub const VERIFY_SCHEMA: &str = "zync_verify";

/// At most this many differing rows are fetched per table: enough to show the problem.
const MAX_ROWS: i64 = 1000;

#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// In the live table, not in the rebuild.
    OnlyLive { key: Value, row: Value },
    /// In the rebuild, missing from the live table.
    OnlyRebuilt { key: Value, row: Value },
    /// Same key, other values: (column, live, rebuilt) for each column that differs.
    Changed {
        key: Value,
        columns: Vec<(String, Value, Value)>,
    },
}

#[derive(Debug)]
pub struct TableReport {
    pub table: &'static str,
    pub rows: i64,
    pub differences: Vec<Difference>,
    /// True when there were more differing rows than were fetched.
    pub truncated: bool,
}

#[derive(Debug)]
pub struct Report {
    /// The point of the log both sides reflect.
    pub cursor: FeedCursor,
    pub tables: Vec<TableReport>,
}

impl Report {
    pub fn difference_count(&self) -> usize {
        self.tables.iter().map(|t| t.differences.len()).sum()
    }
}

/// Rebuilds into the scratch schema, compares, and drops the scratch schema.
pub async fn verify(pool: &PgPool) -> Result<Report, ProjectionError> {
    let prefix = format!("{VERIFY_SCHEMA}/");
    let mut tx = crate::tx::begin(pool).await?;
    // One verification at a time shares the scratch schema.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('zync verify'))")
        .execute(&mut *tx)
        .await?;
    for table in read_tables() {
        shadow::create_copy(&mut tx, VERIFY_SCHEMA, table).await?;
    }
    sqlx::query("DELETE FROM projection_checkpoints WHERE starts_with(name, $1)")
        .bind(&prefix)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;

    let scratch =
        ProjectionRunner::with_checkpoint_prefix(pool.clone(), projectors::all(VERIFY_SCHEMA), &prefix)
            .with_batch_size(REBUILD_BATCH);
    scratch.init().await?;
    scratch.catch_up().await?;

    let live = crate::live_runner(pool.clone());
    let mut tx = crate::tx::begin(pool).await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(live.lock_key())
        .execute(&mut *tx)
        .await?;
    // Both sides to the same point: repeat until neither finds anything new in the same round.
    let cursor = loop {
        let (live_read, _) = live.cycle(&mut tx).await?;
        let (scratch_read, at) = scratch.cycle(&mut tx).await?;
        if live_read == 0 && scratch_read == 0 {
            break at;
        }
    };
    let mut tables = Vec::new();
    for table in read_tables() {
        tables.push(compare(&mut tx, table).await?);
    }
    // Keep what the live projections applied; the scratch copy goes either way.
    for table in read_tables() {
        sqlx::query(&format!("DROP TABLE {}.{}", quote(VERIFY_SCHEMA), quote(table)))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM projection_checkpoints WHERE starts_with(name, $1)")
        .bind(&prefix)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Report { cursor, tables })
}

async fn compare(conn: &mut PgConnection, table: &'static str) -> Result<TableReport, ProjectionError> {
    let (live, scratch) = (
        format!("public.{}", quote(table)),
        format!("{}.{}", quote(VERIFY_SCHEMA), quote(table)),
    );
    let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {live}"))
        .fetch_one(&mut *conn)
        .await?;
    let keys = primary_key(&mut *conn, table).await?;
    // The copies were made LIKE the live tables, so `*` lists the same columns in the same order.
    let differing: Vec<(bool, Value)> = sqlx::query_as(&format!(
        "(SELECT true, to_jsonb(d) FROM (SELECT * FROM {live} EXCEPT ALL SELECT * FROM {scratch}) d LIMIT $1)
         UNION ALL
         (SELECT false, to_jsonb(d) FROM (SELECT * FROM {scratch} EXCEPT ALL SELECT * FROM {live}) d LIMIT $1)"
    ))
    .bind(MAX_ROWS)
    .fetch_all(&mut *conn)
    .await?;
    let truncated = differing.len() as i64 >= MAX_ROWS;
    Ok(TableReport {
        table,
        rows,
        differences: classify(&keys, differing),
        truncated,
    })
}

async fn primary_key(conn: &mut PgConnection, table: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT a.attname::text
           FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
          WHERE i.indrelid = ('public.' || quote_ident($1))::regclass AND i.indisprimary
          ORDER BY array_position(i.indkey::int2[], a.attnum)",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

/// Pairs differing rows by primary key. `rows`: (is the live side, row as JSON).
fn classify(keys: &[String], rows: Vec<(bool, Value)>) -> Vec<Difference> {
    let key_of = |row: &Value| Value::Object(keys.iter().map(|k| (k.clone(), row[k].clone())).collect());
    let mut by_key: BTreeMap<String, (Option<Value>, Option<Value>)> = BTreeMap::new();
    for (is_live, row) in rows {
        let entry = by_key.entry(key_of(&row).to_string()).or_default();
        if is_live {
            entry.0 = Some(row);
        } else {
            entry.1 = Some(row);
        }
    }
    by_key
        .into_values()
        .map(|pair| match pair {
            (Some(live), Some(rebuilt)) => {
                let columns = live
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(c, v)| rebuilt.get(c.as_str()) != Some(*v))
                    .map(|(c, v)| (c.clone(), v.clone(), rebuilt[c].clone()))
                    .collect();
                Difference::Changed {
                    key: key_of(&live),
                    columns,
                }
            }
            (Some(row), None) => Difference::OnlyLive {
                key: key_of(&row),
                row,
            },
            (None, Some(row)) => Difference::OnlyRebuilt {
                key: key_of(&row),
                row,
            },
            (None, None) => unreachable!("every entry has at least one side"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_pair_up_by_primary_key() {
        let keys = vec!["id".to_string()];
        let rows = vec![
            (true, json!({"id": 1, "content": "edited by hand", "n": 5})),
            (false, json!({"id": 1, "content": "hello", "n": 5})),
            (true, json!({"id": 2, "content": "stray"})),
            (false, json!({"id": 3, "content": "lost"})),
        ];
        let d = classify(&keys, rows);
        assert_eq!(
            d,
            vec![
                Difference::Changed {
                    key: json!({"id": 1}),
                    columns: vec![("content".into(), json!("edited by hand"), json!("hello"))],
                },
                Difference::OnlyLive {
                    key: json!({"id": 2}),
                    row: json!({"id": 2, "content": "stray"}),
                },
                Difference::OnlyRebuilt {
                    key: json!({"id": 3}),
                    row: json!({"id": 3, "content": "lost"}),
                },
            ]
        );
    }
}
