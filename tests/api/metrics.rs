//! `GET /metrics`: the Prometheus text format, counters that move with requests, open sockets,
//! lags, and never a user's id, name, content or token in a label.

use std::time::Duration;

use crate::support::TestApp;
use crate::ws_support;

#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// Parses the text format strictly: every line is a `#` comment or `name{labels} value`.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, vec![]),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                (name, parse_labels(body, line))
            }
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

fn parse_labels(mut body: &str, line: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    while !body.is_empty() {
        let (key, rest) = body
            .split_once("=\"")
            .unwrap_or_else(|| panic!("bad label: {line}"));
        assert!(
            key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad label name: {line}"
        );
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => panic!("bad escape: {line}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {line}"),
            }
        };
        labels.push((key.to_string(), value));
        body = &rest[end + 1..];
        body = body.strip_prefix(',').unwrap_or(body);
    }
    labels
}

/// The value of the sample with exactly these labels.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|s| s.value)
}

async fn scrape(app: &TestApp) -> (String, Vec<Sample>) {
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = resp.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

#[tokio::test]
async fn requests_and_auth_failures_are_counted_by_route_template_without_user_data() {
    let app = TestApp::spawn().await;
    let alice = app.register("metrics_alice_x7").await;
    let channel = app.create_channel(&alice, "metrics-secret-room").await;
    let channel_id = channel["id"].as_str().unwrap().to_string();
    let content = "the metrics must never show this sentence";
    let message = app.post_message(&alice, &channel_id, content).await;
    let message_id = message["id"].as_str().unwrap().to_string();
    app.get(&format!("/messages/{message_id}"), Some(&alice.token))
        .await;

    app.get("/users/me", None).await.expect(401);
    app.get("/users/me", Some("not-a-token")).await.expect(401);
    app.login("metrics_alice_x7", "a wrong password")
        .await
        .expect(401);
    app.get("/no/such/place/metrics_unmatched_secret", None)
        .await
        .expect(404);

    let (text, samples) = scrape(&app).await;
    let requests = |method: &str, route: &str, status: &str| {
        value(
            &samples,
            "zync_http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(requests("GET", "/users/me", "401"), Some(2.0), "{text}");
    assert_eq!(requests("POST", "/token", "401"), Some(1.0), "{text}");
    assert_eq!(requests("POST", "/users/", "201"), Some(1.0), "{text}");
    assert_eq!(requests("GET", "unmatched", "404"), Some(1.0), "{text}");
    assert!(
        samples.iter().any(|s| s.name == "zync_http_requests_total"
            && s.labels
                .iter()
                .any(|(k, v)| k == "route" && v == "/messages/{message_id}")),
        "the template, not the path: {text}"
    );
    assert_eq!(
        value(
            &samples,
            "zync_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/users/me"), ("status", "401")],
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &samples,
            "zync_http_request_duration_seconds_bucket",
            &[
                ("method", "GET"),
                ("route", "/users/me"),
                ("status", "401"),
                ("le", "+Inf")
            ],
        ),
        Some(2.0)
    );

    let failures = |reason: &str| value(&samples, "zync_auth_failures_total", &[("reason", reason)]);
    assert_eq!(failures("token_missing"), Some(1.0), "{text}");
    assert_eq!(failures("token_invalid"), Some(1.0), "{text}");
    assert_eq!(failures("login"), Some(1.0), "{text}");
    assert_eq!(failures("token_expired"), Some(0.0), "{text}");
    assert_eq!(failures("token_revoked"), Some(0.0), "{text}");

    // Nothing the users sent or were given appears anywhere, labels or not.
    for secret in [
        alice.id.as_str(),
        alice.username.as_str(),
        alice.token.as_str(),
        channel_id.as_str(),
        message_id.as_str(),
        content,
        "metrics-secret-room",
        "metrics_unmatched_secret",
    ] {
        assert!(!text.contains(secret), "{secret:?} leaked into\n{text}");
    }

    assert_eq!(value(&samples, "zync_database_up", &[]), Some(1.0), "{text}");
    let head = value(&samples, "zync_event_log_head_position", &[]).expect("head");
    assert!(head >= 3.0, "{text}");
    let live = value(&samples, "zync_live_feed_lag_positions", &[]).expect("live lag");
    assert!(live >= 0.0, "{text}");
    for projection in projections::projectors::names() {
        let lag = value(
            &samples,
            "zync_projection_lag_positions",
            &[("projection", projection)],
        )
        .unwrap_or_else(|| panic!("no lag for {projection}: {text}"));
        assert!(lag >= 0.0);
    }
    for reactor in zync::reactors::names() {
        let lag = value(&samples, "zync_reactor_lag_positions", &[("reactor", reactor)])
            .unwrap_or_else(|| panic!("no lag for {reactor}: {text}"));
        assert!(lag >= 0.0);
    }
}

/// The gauge after `check` holds, polled: a socket is counted once its session starts, which
/// is just after the client sees the handshake answered.
async fn sockets_become(app: &TestApp, zync: f64, native: f64) {
    let mut last = String::new();
    for _ in 0..100 {
        let (text, samples) = scrape(app).await;
        let open = |kind| value(&samples, "zync_websocket_connections", &[("kind", kind)]);
        if open("zync") == Some(zync) && open("native") == Some(native) {
            return;
        }
        last = text;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected zync={zync} native={native}:\n{last}");
}

#[tokio::test]
async fn open_websockets_are_gauged_by_kind_until_they_close() {
    let app = TestApp::spawn().await;
    let bob = app.register("metrics_bob").await;
    let channel = app.create_channel(&bob, "gauged").await;
    let channel_id = channel["id"].as_str().unwrap().to_string();
    sockets_become(&app, 0.0, 0.0).await;

    let mut zync = ws_support::zync(&app, &bob.token, &channel_id).await;
    let (mut native, _) = ws_support::native(&app, &bob).await;
    sockets_become(&app, 1.0, 1.0).await;

    let _ = zync.close(None).await;
    let _ = ws_support::until_close(&mut zync).await;
    sockets_become(&app, 0.0, 1.0).await;
    let _ = native.close(None).await;
    let _ = ws_support::until_close(&mut native).await;
    sockets_become(&app, 0.0, 0.0).await;

    // A refused socket (no token) is counted while open, and as an auth failure.
    let mut refused = ws_support::open(&app, "/v1/ws").await;
    ws_support::expect_close(&mut refused, 1008, "no token").await;
    sockets_become(&app, 0.0, 0.0).await;
    let (_, samples) = scrape(&app).await;
    assert_eq!(
        value(
            &samples,
            "zync_auth_failures_total",
            &[("reason", "token_missing")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn the_scrape_answers_without_the_database_and_says_so() {
    let app = TestApp::spawn().await;
    let cut = app.cut_off_database().await;

    let (text, samples) = scrape(&app).await;
    assert_eq!(value(&samples, "zync_database_up", &[]), Some(0.0), "{text}");
    assert!(
        !text.contains("zync_projection_lag_positions{"),
        "no lag it could not read: {text}"
    );
    assert!(
        value(&samples, "zync_websocket_connections", &[("kind", "native")]).is_some(),
        "what is in memory is still there: {text}"
    );

    cut.restore().await;
}

#[tokio::test]
async fn metrics_token_when_set_is_required() {
    let app = TestApp::spawn_with(|mut c| {
        c.metrics_token = Some("scrape-secret".into());
        c
    })
    .await;
    assert_eq!(app.get("/metrics", None).await.status, 401);
    assert_eq!(app.get("/metrics", Some("wrong")).await.status, 401);
    let ok = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert!(ok.text().await.unwrap().contains("zync_http_requests_total"));
}

#[tokio::test]
async fn the_openapi_spec_describes_the_scrape_as_text() {
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json", None).await.expect(200);
    let get = &spec["paths"]["/metrics"]["get"];
    assert_eq!(get["tags"][0], "operations", "{get}");
    assert!(
        get["responses"]["200"]["content"]["text/plain"].is_object(),
        "{get}"
    );
}
