//! The load generator's safety rule: it only ever talks to this machine. Every address it
//! connects to or binds goes through here first, and anything that is not loopback (127.0.0.0/8,
//! `::1`, or `localhost`, which is taken to mean 127.0.0.1 without asking a resolver) is refused.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{bail, Context};
use reqwest::Url;

/// Loopback, including an IPv4-mapped IPv6 loopback (`::ffff:127.0.0.1`).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// `ip` itself, or an error naming it when it is not loopback.
pub fn require_ip(ip: IpAddr) -> anyhow::Result<IpAddr> {
    if !is_loopback(ip) {
        bail!("refusing {ip}: the load generator only targets loopback (127.0.0.0/8, ::1)");
    }
    Ok(ip)
}

/// The socket address an `http://` or `ws://` URL points at, refused unless it is loopback.
pub fn require_url(url: &str) -> anyhow::Result<SocketAddr> {
    let parsed = Url::parse(url).with_context(|| format!("not a URL: {url}"))?;
    let ip = match parsed.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        // Never resolved: a hosts file or resolver could map any name anywhere.
        Some(url::Host::Domain(name)) if name.eq_ignore_ascii_case("localhost") => {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
        other => bail!("refusing {url}: host {other:?} is not a loopback address"),
    };
    let port = parsed
        .port_or_known_default()
        .with_context(|| format!("no port in {url}"))?;
    Ok(SocketAddr::new(require_ip(ip)?, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_accepted() {
        for url in [
            "http://127.0.0.1:8000/",
            "ws://127.9.8.7:1/ws/x?token=y",
            "http://[::1]:80/",
            "http://[::ffff:127.0.0.1]:80/",
            "http://localhost:9/",
            "http://LOCALHOST:9/",
            // Other spellings of 127.0.0.1, which the URL parser normalises.
            "http://127.1:80/",
            "http://2130706433:80/",
        ] {
            let addr = require_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(is_loopback(addr.ip()), "{url}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for url in [
            "http://10.0.0.1/",
            "http://0.0.0.0:80/",
            "http://[::]:80/",
            "http://192.168.1.1/",
            "http://example.com/",
            "http://localhost.example.com/",
            "http://127.0.0.1.nip.io/",
            "http://[2001:db8::1]/",
            "http://[::ffff:10.0.0.1]/",
            "not a url",
        ] {
            assert!(require_url(url).is_err(), "{url} must be refused");
        }
        assert!(require_ip("8.8.8.8".parse().unwrap()).is_err());
        assert!(require_ip("127.0.0.42".parse().unwrap()).is_ok());
    }
}
