//! The two renderings of a replayed event: an aligned table row for people, a JSON line for
//! programs. Pure functions of the event, so the table's exact shape is pinned by golden files
//! (`tests/golden/`).

use chrono::{DateTime, Utc};
use projections::RecordedEvent;
use serde::Serialize;
use serde_json::Value;

/// An event ready to print: the stored row and its summary.
pub struct EventLine<'a> {
    pub event: &'a RecordedEvent,
    pub summary: &'a str,
}

impl EventLine<'_> {
    /// From the metadata as the reader opened it (the client address is sealed in the log).
    fn meta(&self, key: &str) -> Option<&str> {
        let metadata = self
            .event
            .opened_metadata
            .as_ref()
            .unwrap_or(&self.event.metadata);
        metadata.get(key).and_then(Value::as_str)
    }

    /// The acting user (a registration's is the new user); absent for an event appended outside
    /// a request.
    pub fn actor(&self) -> Option<&str> {
        self.meta("actor_id")
    }

    pub fn request_id(&self) -> Option<&str> {
        self.meta("request_id")
    }

    pub fn client_addr(&self) -> Option<&str> {
        self.meta("client_addr")
    }
}

/// Column widths. Fixed rather than measured, so a streamed replay of any length lines up; a
/// UUID fills ACTOR and REQUEST exactly and `ChannelOwnershipTransferred` fills EVENT.
const POSITION: usize = 8;
const TIME: usize = 27;
const ID: usize = 36;
const EVENT: usize = 27;

/// Times as the table and the JSON show them: UTC, microseconds (what the store keeps).
pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn table_header() -> String {
    row("POSITION", "TIME", "ACTOR", "REQUEST", "EVENT", "SUMMARY")
}

pub fn table_row(line: &EventLine<'_>) -> String {
    row(
        &line.event.global_position.to_string(),
        &time(&line.event.recorded_at),
        line.actor().unwrap_or("-"),
        &cell(line.request_id().unwrap_or("-"), ID),
        &line.event.event_type,
        line.summary,
    )
}

fn row(position: &str, time: &str, actor: &str, request: &str, event: &str, summary: &str) -> String {
    format!("{position:>POSITION$}  {time:<TIME$}  {actor:<ID$}  {request:<ID$}  {event:<EVENT$}  {summary}")
        .trim_end()
        .to_string()
}

/// A value from outside (a client's request id) fitted to a column: control characters escaped,
/// cut with `…` when longer than the column.
pub fn cell(raw: &str, width: usize) -> String {
    let escaped: String = raw
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if escaped.chars().count() <= width {
        escaped
    } else {
        let mut cut: String = escaped.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

/// One JSON object per event: every stored field, the audit fields lifted out of the metadata,
/// and the summary.
#[derive(Serialize)]
struct JsonEvent<'a> {
    position: i64,
    tx_id: i64,
    recorded_at: String,
    aggregate_type: &'a str,
    aggregate_id: &'a str,
    sequence: i64,
    event_type: &'a str,
    event_version: &'a str,
    actor_id: Option<&'a str>,
    request_id: Option<&'a str>,
    client_addr: Option<&'a str>,
    summary: &'a str,
    payload: &'a Value,
    metadata: &'a Value,
}

pub fn json_line(line: &EventLine<'_>) -> String {
    let e = line.event;
    let json = JsonEvent {
        position: e.global_position,
        tx_id: e.tx_id,
        recorded_at: time(&e.recorded_at),
        aggregate_type: &e.aggregate_type,
        aggregate_id: &e.aggregate_id,
        sequence: e.sequence,
        event_type: &e.event_type,
        event_version: &e.event_version,
        actor_id: line.actor(),
        request_id: line.request_id(),
        client_addr: line.client_addr(),
        summary: line.summary,
        payload: &e.payload,
        metadata: &e.metadata,
    };
    // Strings, integers and JSON values with string keys: serialization cannot fail.
    serde_json::to_string(&json).expect("an event serializes to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_control_characters_and_cut_long_values() {
        assert_eq!(cell("abc", 5), "abc");
        assert_eq!(cell("a\tb", 10), "a\\tb");
        assert_eq!(cell("abcdefgh", 5), "abcd…");
    }
}
