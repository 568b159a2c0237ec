//! The event decoder: how every reader (projectors, live hub, audit) turns a stored row into a
//! domain event (`projections::RecordedEvent::decode`). There are no upcasters: version "1" is
//! the only one, anything else is refused as unknown.
//! Invariants: no panic; an accepted payload re-encodes to JSON that decodes to an equal event,
//! with a stable encoding and an `event_type` naming the variant it was stored as.
#![no_main]

use aggregates::aggregate_types;
use cqrs_es::DomainEvent;
use libfuzzer_sys::fuzz_target;
use projections::event::{DecodedEvent, RecordedEvent};

fuzz_target!(|data: &[u8]| {
    let Some((&which, payload)) = data.split_first() else {
        return;
    };
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return;
    };
    let aggregate_type = match which % 3 {
        0 => aggregate_types::USER,
        1 => aggregate_types::CHANNEL,
        _ => aggregate_types::MESSAGE,
    };
    let row = record(aggregate_type, "1", payload.clone());
    let Ok(event) = row.decode() else {
        // Another version of the same payload is always refused.
        assert!(record(aggregate_type, "2", payload).decode().is_err());
        return;
    };
    let (encoded, event_type) = encode(&event);
    // Externally tagged: the payload is `{"<event_type>": {...}}`.
    assert_eq!(
        payload.as_object().map(|o| o.keys().next().cloned()),
        Some(Some(event_type.clone()))
    );
    let again = record(aggregate_type, "1", encoded.clone())
        .decode()
        .expect("a re-encoded event decodes");
    let (reencoded, again_type) = encode(&again);
    assert_eq!(event_type, again_type);
    assert_eq!(encoded, reencoded, "the encoding is stable");
    match (&event, &again) {
        (DecodedEvent::User(a), DecodedEvent::User(b)) => assert_eq!(a, b),
        (DecodedEvent::Channel(a), DecodedEvent::Channel(b)) => assert_eq!(a, b),
        (DecodedEvent::Message(a), DecodedEvent::Message(b)) => assert_eq!(a, b),
        _ => panic!("decoded as another aggregate's event"),
    }
});

fn record(aggregate_type: &str, version: &str, payload: serde_json::Value) -> RecordedEvent {
    RecordedEvent {
        global_position: 1,
        tx_id: 1,
        aggregate_type: aggregate_type.into(),
        aggregate_id: "0190c5f2-8f7e-7c4a-9d2b-3f1e2a4b5c6d".into(),
        sequence: 1,
        event_type: String::new(),
        event_version: version.into(),
        payload,
        metadata: serde_json::json!({}),
        recorded_at: chrono::DateTime::UNIX_EPOCH,
        posted_in: None,
        opened: None,
    }
}

fn encode(event: &DecodedEvent) -> (serde_json::Value, String) {
    let (value, kind) = match event {
        DecodedEvent::User(e) => (serde_json::to_value(e), e.event_type()),
        DecodedEvent::Channel(e) => (serde_json::to_value(e), e.event_type()),
        DecodedEvent::Message(e) => (serde_json::to_value(e), e.event_type()),
    };
    (value.expect("a decoded event encodes"), kind)
}
