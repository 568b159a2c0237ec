//! Aggregate streams as the command side loads and appends them: postgres-es's repository, with
//! events of older versions brought up to date on the way in (the log is never rewritten) and
//! personal data sealed on the way out and opened on the way in (`super::sealing`).

use aggregates::aggregate_types::MESSAGE;
use aggregates::message::MessageEvent;
use cqrs_es::persist::{
    PersistedEventRepository, PersistedEventStore, PersistenceError, ReplayStream, SerializedEvent,
    SerializedSnapshot,
};
use cqrs_es::{Aggregate, CqrsFramework};
use postgres_es::PostgresEventRepository;
use serde_json::Value;
use sqlx::PgPool;

use super::sealing;

/// The command side's framework for aggregate `A`.
pub type Cqrs<A> = CqrsFramework<A, PersistedEventStore<LogRepository, A>>;

/// A framework for `A` over the event store: the plain event store (the snapshot modes of
/// cqrs-es 0.5 apply events twice; ARCHITECTURE.md), no queries (the projections read the feed).
pub fn cqrs<A: Aggregate<Services = ()>>(pool: PgPool) -> Cqrs<A> {
    let repository = LogRepository {
        inner: PostgresEventRepository::new(pool.clone()),
        pool,
    };
    let store = PersistedEventStore::new_event_store(repository);
    CqrsFramework::new(store, vec![], ())
}

/// postgres-es's repository, upcasting what it loads: a message's version-1 edits and deletions
/// did not name the channel; it is the one its stream's first event (the post) names, which a
/// stream loaded whole always holds. (cqrs-es's own upcasters see one event at a time, so they
/// could not.) And sealing personal data before it is appended, opening it when loaded.
pub struct LogRepository {
    inner: PostgresEventRepository,
    pool: PgPool,
}

fn upcast_stream(aggregate_type: &str, events: &mut [SerializedEvent]) {
    if aggregate_type != MESSAGE {
        return;
    }
    let channel = events
        .iter()
        .find(|e| e.sequence == 1)
        .and_then(|post| MessageEvent::posted_channel(&post.event_type, &post.payload));
    let Some(channel) = channel else {
        return;
    };
    for event in events {
        if MessageEvent::needs_channel(&event.event_type, &event.event_version) {
            MessageEvent::upcast_v1(&event.event_type, &mut event.payload, channel);
        }
    }
}

impl PersistedEventRepository for LogRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let mut events = self.inner.get_events::<A>(aggregate_id).await?;
        sealing::open_stream(&self.pool, &mut events).await?;
        upcast_stream(A::TYPE, &mut events);
        Ok(events)
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        // Only the snapshot modes read partial streams, and Zync does not use them: upcast what
        // can be (a partial stream without its post stays as stored and fails to decode loudly).
        let mut events = self
            .inner
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await?;
        sealing::open_stream(&self.pool, &mut events).await?;
        upcast_stream(A::TYPE, &mut events);
        Ok(events)
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.inner.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        let sealed = sealing::seal_for_append(&self.pool, events).await?;
        self.inner.persist::<A>(&sealed, snapshot_update).await
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        self.inner.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.inner.stream_all_events::<A>().await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn stored(sequence: usize, event_type: &str, version: &str, payload: Value) -> SerializedEvent {
        SerializedEvent {
            aggregate_id: "m".into(),
            sequence,
            aggregate_type: MESSAGE.into(),
            event_type: event_type.into(),
            event_version: version.into(),
            payload,
            metadata: json!({}),
        }
    }

    #[test]
    fn a_version_1_edit_and_deletion_take_the_channel_of_the_post() {
        let (id, channel) = (Uuid::now_v7(), Uuid::now_v7());
        let mut events = vec![
            stored(
                1,
                "TextMessagePosted",
                "1",
                json!({"TextMessagePosted": {
                "message_id": id, "channel_id": channel, "author_id": id, "content": "a"}}),
            ),
            stored(
                2,
                "MessageEdited",
                "1",
                json!({"MessageEdited": {"content": "b"}}),
            ),
            stored(
                3,
                "MessageDeleted",
                "1",
                json!({"MessageDeleted": {
                "deleted_by": id, "reason": "by_author"}}),
            ),
        ];
        upcast_stream(MESSAGE, &mut events);
        for event in &events[1..] {
            let decoded: MessageEvent = serde_json::from_value(event.payload.clone()).unwrap();
            match decoded {
                MessageEvent::MessageEdited { channel_id, .. }
                | MessageEvent::MessageDeleted { channel_id, .. } => {
                    assert_eq!(channel_id, channel)
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
