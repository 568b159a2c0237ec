//! The ordered, gap-free event feed.
//!
//! `global_position` comes from an identity sequence, which hands out numbers at insert time, not
//! at commit: transaction A can take position 10, transaction B position 11, and B can commit
//! first. A reader that remembered "I have seen up to 11" would never see 10. So the feed is read
//! in `(tx_id, global_position)` order, and only rows whose `tx_id` is below the xmin of the
//! current snapshot: every transaction below that xmin has finished, so no row can ever appear
//! behind the cursor. A transaction still running holds the feed back until it ends; that delay
//! is the price of never skipping an event.
//!
//! The reader's own transaction must not hold an xid when it reads (it would count as running),
//! so read before writing anything.

use sqlx::PgConnection;

use crate::event::RecordedEvent;

/// A place in the feed. Ordered as the feed is: by transaction id, then position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedCursor {
    pub tx_id: i64,
    pub position: i64,
}

impl FeedCursor {
    pub const START: FeedCursor = FeedCursor {
        tx_id: 0,
        position: 0,
    };
}

/// Reads batches of the feed after a cursor.
#[derive(Debug, Clone, Copy)]
pub struct FeedReader {
    pub batch_size: i64,
}

impl Default for FeedReader {
    fn default() -> Self {
        Self { batch_size: 1000 }
    }
}

impl FeedReader {
    /// The next committed, final events after `after`, in feed order; empty when caught up.
    pub async fn read_after(
        &self,
        conn: &mut PgConnection,
        after: FeedCursor,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        // xid8 has no cast from bigint, but round-trips through text.
        sqlx::query_as::<_, RecordedEvent>(
            "SELECT global_position, tx_id::text::bigint AS tx_id, aggregate_type, aggregate_id,
                    sequence, event_type, event_version, payload, metadata, recorded_at
               FROM events
              WHERE (tx_id, global_position) > ($1::text::xid8, $2)
                AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY tx_id, global_position
              LIMIT $3",
        )
        .bind(after.tx_id.to_string())
        .bind(after.position)
        .bind(self.batch_size)
        .fetch_all(conn)
        .await
    }

    /// The feed cursor of an aggregate's latest event, for read-your-writes waits.
    pub async fn last_of_aggregate(
        conn: &mut PgConnection,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<FeedCursor>, sqlx::Error> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT tx_id::text::bigint, global_position FROM events
              WHERE aggregate_type = $1 AND aggregate_id = $2
              ORDER BY sequence DESC LIMIT 1",
        )
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_optional(conn)
        .await?;
        Ok(row.map(|(tx_id, position)| FeedCursor { tx_id, position }))
    }
}
