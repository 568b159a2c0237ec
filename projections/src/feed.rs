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

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;

use crate::event::RecordedEvent;

/// The channel the event store's insert trigger notifies on (at commit).
pub const EVENTS_CHANNEL: &str = "zync_events";

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
    /// Past every event: an open upper bound.
    pub const END: FeedCursor = FeedCursor {
        tx_id: i64::MAX,
        position: i64::MAX,
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
        self.read_between(conn, after, FeedCursor::END).await
    }

    /// [`read_after`](Self::read_after), stopping at `until` (included): what readers that must
    /// not run ahead of the projections read (see [`crate::runner::projected`]).
    pub async fn read_between(
        &self,
        conn: &mut PgConnection,
        after: FeedCursor,
        until: FeedCursor,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        let mut events = self.fetch_between(conn, after, until).await?;
        crate::event::prepare(conn, &mut events).await?;
        Ok(events)
    }

    /// The next batch as stored, not yet [prepared](crate::event::prepare): for a reader that
    /// looks up and opens it in steps of its own (the rebuild's read-ahead).
    pub async fn fetch_after(
        &self,
        conn: &mut PgConnection,
        after: FeedCursor,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        self.fetch_between(conn, after, FeedCursor::END).await
    }

    async fn fetch_between(
        &self,
        conn: &mut PgConnection,
        after: FeedCursor,
        until: FeedCursor,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        // xid8 has no cast from bigint, but round-trips through text.
        sqlx::query_as::<_, RecordedEvent>(
            "SELECT global_position, tx_id::text::bigint AS tx_id, aggregate_type, aggregate_id,
                    sequence, event_type, event_version, payload, metadata, recorded_at
               FROM events
              WHERE (tx_id, global_position) > ($1::text::xid8, $2)
                AND (tx_id, global_position) <= ($4::text::xid8, $5)
                AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
              -- Qualified: a bare `tx_id` would mean the bigint output column above, and
              -- sorting by that expression cannot use the (tx_id, global_position) index.
              ORDER BY events.tx_id, events.global_position
              LIMIT $3",
        )
        .bind(after.tx_id.to_string())
        .bind(after.position)
        .bind(self.batch_size)
        .bind(until.tx_id.to_string())
        .bind(until.position)
        .fetch_all(conn)
        .await
    }

    /// The last final event: where a reader that only wants what happens from now on starts.
    pub async fn head(conn: &mut PgConnection) -> Result<FeedCursor, sqlx::Error> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT tx_id::text::bigint, global_position FROM events
              WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY tx_id DESC, global_position DESC LIMIT 1",
        )
        .fetch_optional(conn)
        .await?;
        Ok(row.map_or(FeedCursor::START, |(tx_id, position)| FeedCursor {
            tx_id,
            position,
        }))
    }

    /// The cursor of the event at `position` (clients resume by position alone); `None` if no
    /// event has it.
    pub async fn cursor_at(
        conn: &mut PgConnection,
        position: i64,
    ) -> Result<Option<FeedCursor>, sqlx::Error> {
        let tx: Option<i64> =
            sqlx::query_scalar("SELECT tx_id::text::bigint FROM events WHERE global_position = $1")
                .bind(position)
                .fetch_optional(conn)
                .await?;
        Ok(tx.map(|tx_id| FeedCursor { tx_id, position }))
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

/// Wakes `wake` whenever events are committed, on any node (LISTEN on the insert trigger's
/// channel), reconnecting forever. Also wakes after each (re)connect, since notifications sent
/// while disconnected are lost; readers keep a slow poll as a further safety net.
pub async fn wake_on_append(pool: PgPool, wakes: Vec<Arc<Notify>>) {
    let wake = || wakes.iter().for_each(|w| w.notify_one());
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "event listener could not connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(EVENTS_CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        wake();
        loop {
            match listener.recv().await {
                Ok(_) => wake(),
                Err(e) => {
                    tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                    break;
                }
            }
        }
    }
}
