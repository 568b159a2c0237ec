//! Helpers for the `/v1/events` tests: pages, whole histories, and what a frame is about.

use serde_json::Value;

use crate::support::TestApp;

/// One page: `(events, next_after, caught_up)`.
pub async fn page(app: &TestApp, token: &str, after: i64, limit: i64) -> (Vec<Value>, i64, bool) {
    let body = app
        .get(&format!("/v1/events?after={after}&limit={limit}"), Some(token))
        .await
        .expect(200);
    let events = body["events"].as_array().expect("events is a list").clone();
    let next = body["next_after"].as_i64().expect("next_after is an integer");
    let caught_up = body["caught_up"].as_bool().expect("caught_up is a boolean");
    (events, next, caught_up)
}

/// Everything the caller may see, polled as a client would: pages of `limit`, each continuing from
/// the previous `next_after`, until caught up. Also returns how many pages it took.
pub async fn all_events(app: &TestApp, token: &str, limit: i64) -> (Vec<Value>, usize) {
    let mut after = 0;
    let mut events = vec![];
    let mut pages = 0;
    loop {
        let (batch, next, caught_up) = page(app, token, after, limit).await;
        pages += 1;
        assert!(batch.len() as i64 <= limit, "a page longer than its limit");
        if caught_up {
            let (more, again, still) = page(app, token, next, limit).await;
            assert!(
                more.is_empty() && again == next && still,
                "a caught-up page's next_after continues after everything"
            );
        } else {
            assert_ne!(next, after, "a page that is not caught up must move on");
        }
        events.extend(batch);
        after = next;
        if caught_up {
            return (events, pages);
        }
        assert!(pages < 10_000, "polling never caught up");
    }
}

/// `(type, the id the event is about)` of each frame, for readable comparisons.
pub fn summary(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            let data = &e["data"];
            let about = match e["type"].as_str().unwrap() {
                "member.joined" | "member.left" => data["user_id"].as_str(),
                _ => data["id"].as_str(),
            };
            (
                e["type"].as_str().unwrap().to_string(),
                about.unwrap_or_default().to_string(),
            )
        })
        .collect()
}

pub fn entry(kind: &str, id: &str) -> (String, String) {
    (kind.to_string(), id.to_string())
}

/// Whether a frame concerns `channel_id` (the channel itself, or one of its messages/members).
pub fn concerns_channel(event: &Value, channel_id: &str) -> bool {
    let data = &event["data"];
    data["channel_id"].as_str() == Some(channel_id) || data["id"].as_str() == Some(channel_id)
}

pub fn positions(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["position"].as_i64().unwrap()).collect()
}
