//! History for one user: the events they may see after a cursor, read from the log. Serves
//! `GET /v1/events` and the backfill of a resumed socket.

use projections::{FeedCursor, FeedReader};
use sqlx::PgPool;

use super::enrich::enrich;
use super::event::LiveEvent;
use super::gate::ProjectedPosition;
use super::membership::Memberships;

/// The most events read per call, visible or not: a user who sees little of a busy log still
/// gets a bounded answer, with a cursor to continue from.
pub const SCAN_LIMIT: usize = 5000;

pub struct Page {
    pub events: Vec<LiveEvent>,
    /// Where the next call continues (after everything examined, not just what was returned).
    pub next: FeedCursor,
    /// Whether the end of the log was reached, as far as the read tables have followed it.
    pub caught_up: bool,
}

/// Up to `limit` events visible to `memberships.user()` after `after`, in feed order.
/// `memberships` must hold the user's channels as of `after`; it is advanced as events pass.
pub async fn visible_after(
    pool: &PgPool,
    memberships: &mut Memberships,
    after: FeedCursor,
    limit: usize,
) -> Result<Page, projections::ProjectionError> {
    // Read in full batches whatever `limit` is: a small page over a log the user mostly cannot
    // see would otherwise take one round trip per few events.
    let reader = FeedReader::default();
    // Causal delivery: nothing the read tables cannot show yet (see `gate`).
    let until = ProjectedPosition::current(pool).await?;
    let mut next = after;
    let mut scanned = 0;
    let mut events = Vec::new();
    loop {
        let rows = {
            let mut conn = pool.acquire().await?;
            reader.read_between(&mut conn, next, until).await?
        };
        if rows.is_empty() {
            return Ok(Page {
                events,
                next,
                caught_up: true,
            });
        }
        scanned += rows.len();
        for event in enrich(pool, rows).await? {
            next = event.cursor;
            if memberships.observe(&event) && super::frames::frame(&event).is_some() {
                events.push(event);
                if events.len() == limit {
                    return Ok(Page {
                        events,
                        next,
                        caught_up: false,
                    });
                }
            }
        }
        if scanned >= SCAN_LIMIT {
            return Ok(Page {
                events,
                next,
                caught_up: false,
            });
        }
    }
}
