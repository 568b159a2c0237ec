//! Which scheme and host a client reached us at, when a reverse proxy stands in between: the
//! `Forwarded` header (RFC 7239) and the older `X-Forwarded-Proto` / `X-Forwarded-Host`, plus the
//! strict host check that keeps anything but `host[:port]` out of the URLs we hand out.
//!
//! Pure functions over header values; whether to believe them at all (the peer must be one of
//! `TRUSTED_PROXIES`) is decided by the caller ([`super::origin`]).

use std::net::IpAddr;

use ipnet::IpNet;

/// `TRUSTED_PROXIES`: the addresses (single IPs or CIDR blocks) whose forwarding headers are
/// believed. Empty by default: then nobody can make us mint links to a host of their choosing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated IPs or CIDRs (`10.0.0.0/8, 127.0.0.1, ::1`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{item:?} is neither an IP address nor a CIDR block"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn contains(&self, peer: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d.
        let peer = peer.to_canonical();
        self.0.iter().any(|net| net.contains(&peer))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a trusted proxy says the client asked for; either part may be missing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    /// `http` or `https`.
    pub proto: Option<&'static str>,
    /// A host that passed [`valid_host`].
    pub host: Option<String>,
}

/// Reads `Forwarded` first (the standard), then `X-Forwarded-Proto` / `X-Forwarded-Host` for
/// whatever it did not say. A proxy appends its own element to what the client sent, so only the
/// last element or value is the trusted proxy's; earlier ones may be the client's inventions.
/// Values that are not a plain scheme or a valid host are ignored, not passed on.
pub fn read<'a>(
    forwarded: impl IntoIterator<Item = &'a str>,
    x_proto: impl IntoIterator<Item = &'a str>,
    x_host: impl IntoIterator<Item = &'a str>,
) -> Forwarded {
    let mut found = Forwarded::default();
    let all: Vec<&str> = forwarded.into_iter().collect();
    if let Some(last) = elements(&all.join(",")).last() {
        for (name, value) in last {
            if name.eq_ignore_ascii_case("proto") {
                found.proto = scheme(value);
            } else if name.eq_ignore_ascii_case("host") {
                found.host = valid_host(value);
            }
        }
    }
    if found.proto.is_none() {
        found.proto = last_value(x_proto).and_then(scheme);
    }
    if found.host.is_none() {
        found.host = last_value(x_host).and_then(valid_host);
    }
    found
}

fn last_value<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    values
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .last()
}

fn scheme(raw: &str) -> Option<&'static str> {
    match raw.trim() {
        s if s.eq_ignore_ascii_case("http") => Some("http"),
        s if s.eq_ignore_ascii_case("https") => Some("https"),
        _ => None,
    }
}

/// The elements of a `Forwarded` value: comma-separated lists of `name=value` pairs separated by
/// semicolons, a value being a token or a quoted string (which may hold `,`, `;` and `\"`).
/// A malformed element is dropped whole rather than half-read.
fn elements(raw: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut pairs = Vec::new();
    let mut chars = raw.chars().peekable();
    let mut broken = false;
    loop {
        // name
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ';' || c == ',' {
                break;
            }
            name.push(c);
            chars.next();
        }
        let name = name.trim().to_string();
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                broken |= !closed;
                // Only white space may follow a quoted string before the next separator.
                while let Some(&c) = chars.peek() {
                    if c == ';' || c == ',' {
                        break;
                    }
                    broken |= !c.is_whitespace();
                    chars.next();
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ';' || c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
                value = value.trim().to_string();
            }
        } else if !name.is_empty() {
            broken = true;
        }
        if !name.is_empty() {
            pairs.push((name, value));
        }
        let separator = chars.next();
        if separator == Some(';') {
            continue;
        }
        // `,` or the end: the element is complete.
        if !broken && !pairs.is_empty() {
            out.push(std::mem::take(&mut pairs));
        }
        pairs.clear();
        broken = false;
        if separator.is_none() {
            break;
        }
    }
    out
}

/// `raw` if it is a plain `host[:port]` that is safe to put in a URL: a DNS name (letters,
/// digits, `-`, `.`), an IPv4 address, or an IPv6 address in brackets, with an optional port
/// 1-65535; at most 255 characters. Lower-cased. Anything else (user info, paths, spaces, `@`,
/// percent signs...) is `None`: we never reflect it.
pub fn valid_host(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 255 {
        return None;
    }
    let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        inside.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (&raw[..inside.len() + 2], port)
    } else {
        match raw.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (raw, None),
        }
    };
    if let Some(port) = port {
        let digits_only = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
        if !digits_only || !(1..=65535).contains(&port.parse::<u32>().ok()?) {
            return None;
        }
    }
    if !host.starts_with('[') {
        let name = host.strip_suffix('.').unwrap_or(host);
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if name.is_empty() || !name.split('.').all(label_ok) {
            return None;
        }
    }
    Some(raw.to_ascii_lowercase())
}

#[cfg(test)]
#[path = "forwarded_tests.rs"]
mod tests;
