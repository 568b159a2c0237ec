//! The feed never skips an event that commits late.

use projections::{FeedCursor, FeedReader};
use sqlx::{Connection, PgConnection};

use crate::db;

async fn append(conn: &mut PgConnection, id: &str) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Probe', $1, 1, 'Probed', '1', '{}', '{}')",
    )
    .bind(id)
    .execute(conn)
    .await
    .unwrap();
}

fn ids(batch: &[projections::RecordedEvent]) -> Vec<String> {
    batch.iter().map(|e| e.aggregate_id.clone()).collect()
}

/// Reads until at least `n` events arrived. The snapshot xmin is cluster-wide, so another test's
/// open transaction (in another database) may hold the feed back for a moment: that is the
/// rule working, so poll rather than expect the first read to deliver.
async fn read_at_least(
    conn: &mut PgConnection,
    after: FeedCursor,
    n: usize,
) -> Vec<projections::RecordedEvent> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let batch = FeedReader::default().read_after(conn, after).await.unwrap();
        if batch.len() >= n || std::time::Instant::now() > deadline {
            return batch;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_delayed_commit_holds_the_feed_back_and_nothing_is_skipped() {
    let opts = db::fresh_database().await;
    let mut slow = PgConnection::connect_with(&opts).await.unwrap();
    let mut fast = PgConnection::connect_with(&opts).await.unwrap();
    let mut reader_conn = PgConnection::connect_with(&opts).await.unwrap();
    let reader = FeedReader::default();

    append(&mut fast, "a").await;
    // `slow` takes the next position, then stays open while later appends commit.
    let mut held = slow.begin().await.unwrap();
    append(&mut held, "b-late").await;
    append(&mut fast, "c").await;
    append(&mut fast, "d").await;

    // Another test's transaction may hold the cluster-wide horizon below "a" for a moment; ours
    // (`held`) holds it below "b-late" for good, so exactly "a" must arrive.
    let first = read_at_least(&mut reader_conn, FeedCursor::START, 1).await;
    assert_eq!(
        ids(&first),
        ["a"],
        "nothing past the open transaction may be delivered"
    );
    let cursor = first.last().unwrap().cursor();
    assert!(reader
        .read_after(&mut reader_conn, cursor)
        .await
        .unwrap()
        .is_empty());

    held.commit().await.unwrap();
    let rest = read_at_least(&mut reader_conn, cursor, 3).await;
    assert_eq!(
        ids(&rest),
        ["b-late", "c", "d"],
        "everything, in order, once the slow one commits"
    );
    let all_positions: Vec<i64> = first.iter().chain(&rest).map(|e| e.global_position).collect();
    let mut sorted = all_positions.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 4, "no event delivered twice");
}

#[tokio::test]
async fn a_rolled_back_append_leaves_no_hole_that_stalls_the_feed() {
    let opts = db::fresh_database().await;
    let mut conn = PgConnection::connect_with(&opts).await.unwrap();
    let mut other = PgConnection::connect_with(&opts).await.unwrap();
    let mut tx = other.begin().await.unwrap();
    append(&mut tx, "never").await;
    tx.rollback().await.unwrap();
    append(&mut conn, "after").await;
    let batch = read_at_least(&mut conn, FeedCursor::START, 1).await;
    assert_eq!(ids(&batch), ["after"]);
}

#[tokio::test]
async fn the_event_store_is_append_only() {
    let opts = db::fresh_database().await;
    let mut conn = PgConnection::connect_with(&opts).await.unwrap();
    append(&mut conn, "x").await;
    for sql in [
        "UPDATE events SET payload = '{}'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let err = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}
