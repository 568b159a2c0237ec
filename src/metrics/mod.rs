//! This node's Prometheus metrics, kept in memory and rendered by `GET /metrics`
//! (`http::metrics`, which adds the gauges computed at scrape time: database, lags).
//!
//! A small registry of our own rather than a crate: every label set here is fixed by the code
//! (a route template, a method from a closed list, a status; a socket kind; an auth failure
//! reason), so the text format is a few dozen lines, and the per-request path can stay free of
//! allocation: a read lock, a lookup by the route template's `&str`, and relaxed atomic adds.
//! `prometheus-client` speaks OpenMetrics (its own content type and `_total`/`# EOF`
//! conventions) and wants an owned label set per observation; `metrics` with its Prometheus
//! exporter builds a key per call and brings a larger dependency tree. Neither buys anything
//! for a handful of metrics.
//!
//! Labels are never user input: routes are the router's templates (`/messages/{message_id}`,
//! never the raw path), a request no route matched is `unmatched`, and methods outside the
//! standard ones are `OTHER`, so a client cannot grow the series count.

mod layer;

use std::collections::HashMap;
use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use self::layer::MetricsLayer;

/// The route label of a request no route matched (404s of unknown paths).
pub const UNMATCHED: &str = "unmatched";

/// The method label: these, or `OTHER`.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
];

/// Upper bounds of the latency buckets, in microseconds, with their `le` labels (seconds).
const BUCKETS: [(u64, &str); 13] = [
    (1_000, "0.001"),
    (2_500, "0.0025"),
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (5_000_000, "5"),
    (10_000_000, "10"),
];

/// The two WebSocket endpoints.
#[derive(Debug, Clone, Copy)]
pub enum SocketKind {
    /// `GET /ws/{channel_id}`
    Zync = 0,
    /// `GET /v1/ws`
    Native = 1,
}

const SOCKET_KINDS: [&str; 2] = ["zync", "native"];

/// Why a request was refused authentication.
#[derive(Debug, Clone, Copy)]
pub enum AuthFailure {
    /// `POST /token` with a wrong username or password.
    Login = 0,
    /// No token (no `Authorization` header, no `?token=`).
    TokenMissing = 1,
    /// Not a token of ours: malformed, bad signature, wrong scheme.
    TokenInvalid = 2,
    TokenExpired = 3,
    /// Well-formed and signed, but its user is gone, changed password, or logged it out.
    TokenRevoked = 4,
    /// `POST /token` refused unchecked: too many failures for the account or the address.
    LoginRateLimited = 5,
}

const AUTH_FAILURES: [&str; 6] = [
    "login",
    "token_missing",
    "token_invalid",
    "token_expired",
    "token_revoked",
    "login_rate_limited",
];

pub struct Metrics {
    /// Route template → that route's series, one per (method, status) seen.
    http: RwLock<HashMap<Box<str>, Vec<Series>>>,
    sockets: [AtomicI64; SOCKET_KINDS.len()],
    auth_failures: [AtomicU64; AUTH_FAILURES.len()],
    /// `METRICS_TOKEN`: when set, scrapes must present it as a bearer token.
    token: Option<String>,
}

/// Requests of one (route, method, status): a histogram, whose count is also the request count.
struct Series {
    method: u8,
    status: u16,
    /// Observations per bucket (not cumulative; summed when rendered). Slower than the last
    /// bound: only in `count`.
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Series {
    fn new(method: u8, status: u16) -> Self {
        Self {
            method,
            status,
            buckets: Default::default(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, micros: u64) {
        if let Some(i) = BUCKETS.iter().position(|(le, _)| micros <= *le) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.sum_micros.fetch_add(micros, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }
}

impl Metrics {
    pub fn new(token: Option<String>) -> Self {
        Self {
            http: RwLock::new(HashMap::new()),
            sockets: Default::default(),
            auth_failures: Default::default(),
            token: token.filter(|t| !t.is_empty()),
        }
    }

    /// Whether a scrape with this `Authorization` header may read the metrics.
    pub fn scrape_allowed(&self, authorization: Option<&str>) -> bool {
        let Some(expected) = &self.token else {
            return true;
        };
        let presented = authorization
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .unwrap_or_default();
        // Constant time in the content (the length may show).
        presented.len() == expected.len()
            && presented
                .bytes()
                .zip(expected.bytes())
                .fold(0, |diff, (a, b)| diff | (a ^ b))
                == 0
    }

    pub fn auth_failure(&self, reason: AuthFailure) {
        self.auth_failures[reason as usize].fetch_add(1, Relaxed);
    }

    /// Counts a socket as open until the returned guard is dropped.
    pub fn socket_opened(self: &Arc<Self>, kind: SocketKind) -> OpenSocket {
        self.sockets[kind as usize].fetch_add(1, Relaxed);
        OpenSocket {
            metrics: self.clone(),
            kind,
        }
    }

    fn record(&self, method: u8, route: &str, status: u16, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let find = |list: &[Series]| list.iter().position(|s| s.method == method && s.status == status);
        {
            let routes = self.http.read().unwrap_or_else(|p| p.into_inner());
            if let Some(list) = routes.get(route) {
                if let Some(i) = find(list) {
                    list[i].observe(micros);
                    return;
                }
            }
        }
        // A series' first request: the only path that allocates.
        let mut routes = self.http.write().unwrap_or_else(|p| p.into_inner());
        let list = routes.entry(route.into()).or_default();
        let i = find(list).unwrap_or_else(|| {
            list.push(Series::new(method, status));
            list.len() - 1
        });
        list[i].observe(micros);
    }

    /// Everything kept in memory, in the text exposition format.
    pub fn render(&self, out: &mut Exposition) {
        out.family(
            "zync_http_requests_total",
            "counter",
            "HTTP requests answered, by method, route template and status.",
        );
        let routes = self.http.read().unwrap_or_else(|p| p.into_inner());
        let mut series: Vec<(&str, &Series)> = routes
            .iter()
            .flat_map(|(route, list)| list.iter().map(move |s| (&**route, s)))
            .collect();
        sort_series(&mut series);
        let labels = |route: &str, s: &Series| {
            format!(
                "method=\"{}\",route=\"{}\",status=\"{}\"",
                METHODS[usize::from(s.method)],
                escape(route),
                s.status
            )
        };
        for (route, s) in &series {
            out.sample_raw(
                "zync_http_requests_total",
                &labels(route, s),
                s.count.load(Relaxed),
            );
        }
        out.family(
            "zync_http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its response headers, by method, route template and status.",
        );
        for (route, s) in &series {
            let labels = labels(route, s);
            let mut cumulative = 0;
            for ((_, le), bucket) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += bucket.load(Relaxed);
                out.sample_raw(
                    "zync_http_request_duration_seconds_bucket",
                    &format!("{labels},le=\"{le}\""),
                    cumulative,
                );
            }
            // Loaded after the buckets: observations land in a bucket first, so +Inf (the count)
            // is never below the last bucket.
            let count = s.count.load(Relaxed);
            out.sample_raw(
                "zync_http_request_duration_seconds_bucket",
                &format!("{labels},le=\"+Inf\""),
                count.max(cumulative),
            );
            out.sample_raw(
                "zync_http_request_duration_seconds_sum",
                &labels,
                s.sum_micros.load(Relaxed) as f64 / 1e6,
            );
            out.sample_raw("zync_http_request_duration_seconds_count", &labels, count);
        }
        drop(routes);

        out.family(
            "zync_websocket_connections",
            "gauge",
            "WebSocket connections open on this node, by endpoint (zync: /ws/{channel_id}, native: /v1/ws).",
        );
        for (kind, open) in SOCKET_KINDS.iter().zip(&self.sockets) {
            out.sample(
                "zync_websocket_connections",
                &[("kind", *kind)],
                open.load(Relaxed),
            );
        }
        out.family(
            "zync_auth_failures_total",
            "counter",
            "Refused authentications, by reason: login (wrong username or password at POST /token), token_missing, token_invalid, token_expired, token_revoked.",
        );
        for (reason, n) in AUTH_FAILURES.iter().zip(&self.auth_failures) {
            out.sample(
                "zync_auth_failures_total",
                &[("reason", *reason)],
                n.load(Relaxed),
            );
        }
    }
}

/// Stable output: by route, then method, then status.
fn sort_series(series: &mut [(&str, &Series)]) {
    series.sort_by_key(|(route, s)| (*route, s.method, s.status));
}

/// Keeps one socket counted as open while it lives.
pub struct OpenSocket {
    metrics: Arc<Metrics>,
    kind: SocketKind,
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.metrics.sockets[self.kind as usize].fetch_sub(1, Relaxed);
    }
}

/// A text exposition being written.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// The `# HELP` and `# TYPE` lines that start a metric family.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample; label values are escaped.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        let labels = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect::<Vec<_>>()
            .join(",");
        self.sample_raw(name, &labels, value);
    }

    /// One sample with labels already rendered (`a="x",b="y"`), or none.
    fn sample_raw(&mut self, name: &str, labels: &str, value: impl Display) {
        let _ = if labels.is_empty() {
            writeln!(self.out, "{name} {value}")
        } else {
            writeln!(self.out, "{name}{{{labels}}} {value}")
        };
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::layer::method_label;
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_count_is_the_request_count() {
        let metrics = Metrics::new(None);
        metrics.record(0, "/users/me", 200, Duration::from_micros(500));
        metrics.record(0, "/users/me", 200, Duration::from_millis(30));
        metrics.record(0, "/users/me", 200, Duration::from_secs(60));
        metrics.record(2, UNMATCHED, 404, Duration::from_micros(10));
        let mut out = Exposition::default();
        metrics.render(&mut out);
        let text = out.finish();
        let me = "method=\"GET\",route=\"/users/me\",status=\"200\"";
        for line in [
            format!("zync_http_requests_total{{{me}}} 3"),
            format!("zync_http_request_duration_seconds_bucket{{{me},le=\"0.001\"}} 1"),
            format!("zync_http_request_duration_seconds_bucket{{{me},le=\"0.025\"}} 1"),
            format!("zync_http_request_duration_seconds_bucket{{{me},le=\"0.05\"}} 2"),
            format!("zync_http_request_duration_seconds_bucket{{{me},le=\"10\"}} 2"),
            format!("zync_http_request_duration_seconds_bucket{{{me},le=\"+Inf\"}} 3"),
            format!("zync_http_request_duration_seconds_count{{{me}}} 3"),
            "zync_http_requests_total{method=\"POST\",route=\"unmatched\",status=\"404\"} 1".into(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(METHODS[usize::from(method_label(&Method::PATCH))], "PATCH");
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(METHODS[usize::from(method_label(&odd))], "OTHER");
    }

    #[test]
    fn the_scrape_token_is_a_bearer() {
        assert!(Metrics::new(None).scrape_allowed(None));
        let guarded = Metrics::new(Some("s3cret".into()));
        assert!(guarded.scrape_allowed(Some("Bearer s3cret")));
        assert!(!guarded.scrape_allowed(Some("Bearer s3cres")));
        assert!(!guarded.scrape_allowed(Some("s3cret")));
        assert!(!guarded.scrape_allowed(None));
    }
}
