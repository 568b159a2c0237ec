//! Reading the feed ahead of the cycle that applies it, in two stages that overlap each other
//! and the writing: fetching a batch and looking up its keys (a task on a connection of its
//! own: PostgreSQL's work), then opening and decoding it (a blocking thread: this process's
//! work). A rebuild applies batch N while it decodes N+1 and fetches N+2.

use tokio::task::JoinHandle;

use crate::event::{self, DecodedEvent, Lookups, RecordedEvent};
use crate::feed::FeedCursor;
use crate::runner::ProjectionRunner;
use crate::ProjectionError;

/// A batch fetched and its data keys looked up, not yet opened nor decoded.
pub struct Fetched {
    after: FeedCursor,
    events: Vec<RecordedEvent>,
    lookups: Lookups,
}

impl Fetched {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Where the next batch starts: after this one, or where this one started if it is empty.
    pub fn next_after(&self) -> FeedCursor {
        self.events.last().map_or(self.after, RecordedEvent::cursor)
    }

    /// Opens and decodes the batch on a blocking thread.
    pub fn decode(self) -> JoinHandle<Result<ReadAhead, ProjectionError>> {
        let Fetched {
            after,
            mut events,
            lookups,
        } = self;
        tokio::task::spawn_blocking(move || {
            // Projectors read the decoded events only (and the rows' other columns).
            lookups.open_in_place(&mut events);
            let decoded = events
                .iter()
                .map(RecordedEvent::decode)
                .collect::<Result<Vec<_>, _>>()?;
            // Freed here rather than by the thread that writes the batch.
            for event in &mut events {
                event.payload = serde_json::Value::Null;
            }
            Ok(ReadAhead {
                after,
                events,
                decoded,
            })
        })
    }
}

/// A batch read and decoded ahead of its cycle.
pub struct ReadAhead {
    pub(crate) after: FeedCursor,
    /// The rows, without their payloads: those are in `decoded` (see [`Fetched::decode`]).
    pub(crate) events: Vec<RecordedEvent>,
    pub(crate) decoded: Vec<DecodedEvent>,
}

impl ReadAhead {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Where the next batch starts: after this one, or where this one started if it is empty.
    pub fn next_after(&self) -> FeedCursor {
        self.events.last().map_or(self.after, RecordedEvent::cursor)
    }
}

impl ProjectionRunner {
    /// Starts fetching the batch after `after` (and looking up its keys) on a connection of its
    /// own, as a task: it goes on while the caller awaits something else.
    pub fn fetch_ahead(&self, after: FeedCursor) -> JoinHandle<Result<Fetched, ProjectionError>> {
        let (pool, reader) = (self.pool.clone(), self.reader);
        tokio::spawn(async move {
            let mut conn = pool.acquire().await?;
            let mut events = reader.fetch_after(&mut conn, after).await?;
            let lookups = event::look_up(&mut conn, &mut events).await?;
            Ok(Fetched {
                after,
                events,
                lookups,
            })
        })
    }

    /// The batch after `after`, fetched and decoded.
    pub async fn read_ahead(&self, after: FeedCursor) -> Result<ReadAhead, ProjectionError> {
        let fetched = joined(self.fetch_ahead(after)).await?;
        joined(fetched.decode()).await
    }
}

/// What a read-ahead task gave, its panic passed on to whoever awaits it. Nothing aborts these
/// tasks, and the runtime cancels them only while shutting down, when their awaiter is dropped
/// with them.
pub async fn joined<T>(task: JoinHandle<T>) -> T {
    match task.await {
        Ok(value) => value,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("a read-ahead task was cancelled: {e}"),
        },
    }
}
