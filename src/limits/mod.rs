//! Rate limits: the GCRA ("generic cell rate algorithm") decision, a per-node keyed limiter for
//! message posts and WebSocket frames ([`local`]), and a limiter shared by every node through
//! PostgreSQL for failed logins ([`shared`]).
//!
//! GCRA keeps one timestamp per key (the "theoretical arrival time"): a rate of `burst` per
//! `period` admits a request while that time is at most `period - period/burst` ahead of now,
//! and each admitted request pushes it `period/burst` further. Equivalent to a token bucket that
//! holds `burst` tokens and refills one every `period/burst`, without a refill task or a counter.

pub mod local;
pub mod shared;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use uuid::Uuid;

use self::local::KeyedLimiter;

/// `burst` requests per `period`, refilled evenly. Written `300/10s` (units `s`, `m`, `h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub period: Duration,
}

impl Rate {
    pub const fn new(burst: u32, period: Duration) -> Self {
        Self { burst, period }
    }

    /// The time one request "costs": the refill interval.
    pub fn interval(&self) -> Duration {
        self.period / self.burst.max(1)
    }

    /// How far ahead of now the arrival time may be and still admit a request.
    pub fn tolerance(&self) -> Duration {
        self.period.saturating_sub(self.interval())
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.burst, self.period.as_secs())
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let bad = || format!("{raw:?} is not a rate like 300/10s, 5/5m or 1000/1h");
        let (count, period) = raw.trim().split_once('/').ok_or_else(bad)?;
        let burst: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let split = period.len().saturating_sub(1);
        let (amount, unit) = period.split_at(split);
        let amount: u64 = if amount.is_empty() {
            1
        } else {
            amount.parse().map_err(|_| bad())?
        };
        let seconds = match unit {
            "s" => amount,
            "m" => amount * 60,
            "h" => amount * 3600,
            _ => return Err(bad()),
        };
        if burst == 0 || seconds == 0 {
            return Err(bad());
        }
        Ok(Self::new(burst, Duration::from_secs(seconds)))
    }
}

/// A limit from configuration: a rate, or `off`.
pub fn parse_limit(raw: &str) -> Result<Option<Rate>, String> {
    if raw.trim().eq_ignore_ascii_case("off") {
        Ok(None)
    } else {
        raw.parse().map(Some)
    }
}

/// The configured limits (`RATE_LIMIT_*`); `None` is `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// `RATE_LIMIT_MESSAGES`: text and file posts per user (per node). Generous by default: it
    /// stops a runaway client, not a busy human or a bot seeding a channel.
    pub messages: Option<Rate>,
    /// `RATE_LIMIT_WS_FRAMES`: frames a user's WebSockets may send (per node).
    pub ws_frames: Option<Rate>,
    /// `RATE_LIMIT_LOGIN_ACCOUNT`: failed logins per account, across nodes.
    pub login_account: Option<Rate>,
    /// `RATE_LIMIT_LOGIN_ADDRESS`: failed logins per client address, across nodes.
    pub login_address: Option<Rate>,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            messages: Some(Rate::new(300, Duration::from_secs(10))),
            ws_frames: Some(Rate::new(120, Duration::from_secs(10))),
            login_account: Some(Rate::new(10, Duration::from_secs(600))),
            login_address: Some(Rate::new(50, Duration::from_secs(600))),
        }
    }
}

/// This node's limiters, built from the settings.
pub struct Limiters {
    pub settings: LimitSettings,
    pub messages: Option<KeyedLimiter<Uuid>>,
    pub ws_frames: Option<KeyedLimiter<Uuid>>,
}

impl Limiters {
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            settings,
            messages: settings.messages.map(KeyedLimiter::new),
            ws_frames: settings.ws_frames.map(KeyedLimiter::new),
        }
    }
}

/// What a limiter said about one request, with what the `X-RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    /// Requests that would still be admitted right now.
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset_after: Duration,
    /// Until a refused request would be admitted (zero when allowed).
    pub retry_after: Duration,
}

/// The GCRA step. `tat` is the key's arrival time as an offset from `now`
/// (`None` or negative: the bucket is full). Returns the decision and, when allowed, the new
/// offset to store.
pub fn decide(rate: Rate, tat_ahead: Duration) -> (Decision, Option<Duration>) {
    let interval = rate.interval();
    let tolerance = rate.tolerance();
    if tat_ahead > tolerance {
        let decision = Decision {
            allowed: false,
            limit: rate.burst,
            remaining: 0,
            reset_after: tat_ahead,
            retry_after: tat_ahead - tolerance,
        };
        return (decision, None);
    }
    let ahead = tat_ahead + interval;
    let spare = rate.period.saturating_sub(ahead);
    let remaining = (spare.as_nanos() / interval.as_nanos().max(1)) as u32;
    let decision = Decision {
        allowed: true,
        limit: rate.burst,
        remaining,
        reset_after: ahead,
        retry_after: Duration::ZERO,
    };
    (decision, Some(ahead))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_units_and_off() {
        assert_eq!("300/10s".parse(), Ok(Rate::new(300, Duration::from_secs(10))));
        assert_eq!(" 5/5m ".parse(), Ok(Rate::new(5, Duration::from_secs(300))));
        assert_eq!("1000/h".parse(), Ok(Rate::new(1000, Duration::from_secs(3600))));
        assert_eq!(parse_limit("off"), Ok(None));
        for bad in ["", "10", "0/1s", "10/0s", "10/5d", "x/1s", "-1/1s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
    }

    /// Walks a key through time: a full bucket admits `burst` at once, then one per interval.
    #[test]
    fn admits_the_burst_then_one_per_interval() {
        let rate = Rate::new(3, Duration::from_secs(3));
        let mut ahead = Duration::ZERO;
        let mut remaining = Vec::new();
        for _ in 0..3 {
            let (d, next) = decide(rate, ahead);
            assert!(d.allowed);
            remaining.push(d.remaining);
            ahead = next.unwrap();
        }
        assert_eq!(remaining, vec![2, 1, 0]);
        let (refused, next) = decide(rate, ahead);
        assert!(!refused.allowed && next.is_none());
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert_eq!(refused.reset_after, Duration::from_secs(3));
        // One interval later, exactly one more.
        let (d, next) = decide(rate, ahead - Duration::from_secs(1));
        assert!(d.allowed && d.remaining == 0);
        assert!(!decide(rate, next.unwrap()).0.allowed);
    }
}
