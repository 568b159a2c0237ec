//! `RequestOrigin`: the scheme and authority the client reached this server at
//! (`http://chat.example.com:8000`), for the absolute URLs the API hands out. Clients put those
//! URLs straight into `<img src>` on pages of another origin, so a relative link would resolve
//! against the wrong server.
//!
//! Taken from a trusted proxy's `Forwarded` / `X-Forwarded-*` headers when the peer is one of
//! `TRUSTED_PROXIES`; otherwise from the request itself: `http` (this server speaks plain HTTP)
//! and the `Host` header (or HTTP/2's `:authority`), validated strictly, else the address the
//! connection came in on. `PUBLIC_BASE_URL`, when set, overrides all of this in the store.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{FORWARDED, HOST};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::forwarded::{self, valid_host, TrustedProxies};
use crate::state::AppState;

/// The local address of the connection a request came in on (set by [`super::server`]).
#[derive(Clone, Copy, Debug)]
pub struct LocalAddr(pub SocketAddr);

/// `scheme://host[:port]`, without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestOrigin(String);

impl RequestOrigin {
    pub fn into_string(self) -> String {
        self.0
    }

    /// The origin of a request with these headers from `peer`, received on `local`.
    pub fn resolve(
        headers: &HeaderMap,
        authority: Option<&str>,
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
        trusted: &TrustedProxies,
    ) -> Self {
        let told = match peer {
            Some(peer) if trusted.contains(peer.ip()) => forwarded::read(
                values(headers, FORWARDED.as_str()),
                values(headers, "x-forwarded-proto"),
                values(headers, "x-forwarded-host"),
            ),
            _ => forwarded::Forwarded::default(),
        };
        let scheme = told.proto.unwrap_or("http");
        let host = told
            .host
            .or_else(|| {
                headers
                    .get(HOST)
                    .and_then(|v| v.to_str().ok())
                    .and_then(valid_host)
            })
            .or_else(|| authority.and_then(valid_host))
            .or_else(|| local.map(authority_of))
            // No connection information at all (a router driven in-process).
            .unwrap_or_else(|| "localhost".to_string());
        Self(format!("{scheme}://{host}"))
    }
}

/// Every value of header `name` (a header may be sent on several lines); non-text ones are skipped.
fn values<'h>(headers: &'h HeaderMap, name: &str) -> Vec<&'h str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// `ip:port`, IPv6 in brackets; an unspecified address (never the case for an accepted
/// connection's local side) reads as loopback.
fn authority_of(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        }
    } else {
        addr.ip().to_canonical()
    };
    SocketAddr::new(ip, addr.port()).to_string()
}

impl FromRequestParts<AppState> for RequestOrigin {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        let local = parts.extensions.get::<LocalAddr>().map(|LocalAddr(addr)| *addr);
        Ok(Self::resolve(
            &parts.headers,
            parts.uri.authority().map(|a| a.as_str()),
            peer,
            local,
            &state.trusted_proxies,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn origin(pairs: &[(&'static str, &str)], peer: &str, trusted: &str) -> String {
        RequestOrigin::resolve(
            &headers(pairs),
            None,
            Some(peer.parse().unwrap()),
            Some("10.0.0.5:8000".parse().unwrap()),
            &TrustedProxies::parse(trusted).unwrap(),
        )
        .into_string()
    }

    #[test]
    fn the_host_header_unless_a_trusted_proxy_says_otherwise() {
        let proxied = [
            ("host", "internal:8000"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "chat.example.com"),
        ];
        assert_eq!(origin(&proxied, "1.2.3.4:5", ""), "http://internal:8000");
        assert_eq!(
            origin(&proxied, "1.2.3.4:5", "10.0.0.0/8"),
            "http://internal:8000"
        );
        assert_eq!(
            origin(&proxied, "10.1.1.1:5", "10.0.0.0/8"),
            "https://chat.example.com"
        );
        let standard = [
            ("host", "internal"),
            ("forwarded", "proto=https;host=chat.example.com"),
        ];
        assert_eq!(origin(&standard, "[::1]:5", "::1"), "https://chat.example.com");
    }

    #[test]
    fn a_bad_or_missing_host_falls_back_to_the_connection() {
        assert_eq!(
            origin(&[("host", "evil.test/x?")], "1.2.3.4:5", ""),
            "http://10.0.0.5:8000"
        );
        assert_eq!(origin(&[], "1.2.3.4:5", ""), "http://10.0.0.5:8000");
        // A trusted proxy's bad host is ignored too; the request's own is used.
        let bad = [("host", "ok.test"), ("x-forwarded-host", "a b")];
        assert_eq!(origin(&bad, "10.1.1.1:5", "10.0.0.0/8"), "http://ok.test");
        assert_eq!(authority_of("[::]:80".parse().unwrap()), "[::1]:80");
        assert_eq!(
            authority_of("[::ffff:10.0.0.1]:80".parse().unwrap()),
            "10.0.0.1:80"
        );
    }
}
