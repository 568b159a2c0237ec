//! Where each projection (and each reactor) stands against the log: what `zync projections
//! status` reports.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::feed::{FeedCursor, FeedReader};
use crate::projectors;
use crate::rebuild::REBUILD_SCHEMA;

#[derive(Debug, Serialize)]
pub struct ProjectionStatus {
    pub name: String,
    /// The position of the last event applied (0: none yet).
    pub position: i64,
    /// Final events in the log that it has not applied yet.
    pub lag: i64,
    pub updated_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// A rebuild's copy (interrupted or running) rather than a live projection.
    pub rebuild: bool,
}

#[derive(Debug, Serialize)]
pub struct Status {
    /// Position of the last final event of the log.
    pub head: i64,
    pub events: i64,
    pub projections: Vec<ProjectionStatus>,
    /// The reactors named by the caller (they live in the server, not here), measured alike.
    pub reactors: Vec<ProjectionStatus>,
}

/// name, last tx, last position, updated at, last error
type CheckpointRow = (String, i64, i64, DateTime<Utc>, Option<String>);

/// The status of every live projection, rebuild copy, and of the reactors named `reactors`.
pub async fn status(pool: &PgPool, reactors: &[&str]) -> Result<Status, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let head = FeedReader::head(&mut conn).await?;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut *conn)
        .await?;
    let rows: Vec<CheckpointRow> = sqlx::query_as(
        "SELECT name, last_tx::text::bigint, last_position, updated_at, last_error FROM projection_checkpoints",
    )
    .fetch_all(&mut *conn)
    .await?;
    let rebuild_prefix = format!("{REBUILD_SCHEMA}/");
    let mut projections = Vec::new();
    // Every live projection, even one no server has started yet, then any rebuild copies.
    let live_names = projectors::names();
    let wanted = live_names.iter().map(|n| (n.to_string(), false)).chain(
        rows.iter()
            .filter_map(|r| r.0.strip_prefix(&rebuild_prefix).map(|_| (r.0.clone(), true))),
    );
    for (name, rebuild) in wanted {
        projections.push(checkpoint_status(&mut conn, &rows, name, rebuild).await?);
    }
    let mut reacting = Vec::new();
    for name in reactors {
        reacting.push(checkpoint_status(&mut conn, &rows, name.to_string(), false).await?);
    }
    Ok(Status {
        head: head.position,
        events,
        projections,
        reactors: reacting,
    })
}

/// The status of the checkpoint `name` (at the start if it has no row yet).
async fn checkpoint_status(
    conn: &mut PgConnection,
    rows: &[CheckpointRow],
    name: String,
    rebuild: bool,
) -> Result<ProjectionStatus, sqlx::Error> {
    let row = rows.iter().find(|r| r.0 == name);
    let cursor = row.map_or(FeedCursor::START, |r| FeedCursor {
        tx_id: r.1,
        position: r.2,
    });
    let lag: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events
          WHERE (tx_id, global_position) > ($1::text::xid8, $2)
            AND tx_id < pg_snapshot_xmin(pg_current_snapshot())",
    )
    .bind(cursor.tx_id.to_string())
    .bind(cursor.position)
    .fetch_one(conn)
    .await?;
    Ok(ProjectionStatus {
        name,
        position: cursor.position,
        lag,
        updated_at: row.map(|r| r.3),
        last_error: row.and_then(|r| r.4.clone()),
        rebuild,
    })
}
