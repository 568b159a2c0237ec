//! A moment in the log, as an operator or auditor names it: a global position or a time.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use projections::FeedCursor;
use serde::{Serialize, Serializer};

use super::AuditError;
use crate::eventlog::snapshot::{Limit, Snapshot};

/// `--since`, `--until`, `--as-of` and `?as_of=`: an event's global position (`0` is the origin,
/// before any event) or an RFC 3339 time, compared with the events' `recorded_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Position(i64),
    Time(DateTime<Utc>),
}

/// How a bound reads when it cannot be parsed; also the 422 message of `?as_of=`.
pub const BOUND_SYNTAX: &str =
    "expected a global position (a non-negative integer) or an RFC 3339 time such as 2026-01-31T12:00:00Z";

impl FromStr for Bound {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            return raw
                .parse::<i64>()
                .map(Bound::Position)
                .map_err(|_| format!("position {raw} is out of range"));
        }
        DateTime::parse_from_rfc3339(raw)
            .map(|t| Bound::Time(t.with_timezone(&Utc)))
            .map_err(|_| BOUND_SYNTAX.to_string())
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Position(p) => write!(f, "position {p}"),
            Bound::Time(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// As JSON: a position is a number, a time an RFC 3339 string.
impl Serialize for Bound {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Bound::Position(p) => s.serialize_i64(*p),
            Bound::Time(t) => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// Resolves a bound against `snapshot`: a time as it is; a position to its place in feed order,
/// which must be a final event's (or 0, the origin).
pub(crate) async fn resolve(snapshot: &mut Snapshot, bound: Bound) -> Result<Limit, AuditError> {
    match bound {
        Bound::Time(t) => Ok(Limit::Time(t)),
        Bound::Position(0) => Ok(Limit::Cursor(FeedCursor::START)),
        Bound::Position(p) => match snapshot.cursor_at(p).await? {
            None => Err(AuditError::NoSuchPosition(p)),
            Some(c) if c > snapshot.head() => Err(AuditError::NotFinal(p)),
            Some(c) => Ok(Limit::Cursor(c)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_times_parse_and_anything_else_is_refused() {
        assert_eq!("42".parse::<Bound>(), Ok(Bound::Position(42)));
        assert_eq!(" 0 ".parse::<Bound>(), Ok(Bound::Position(0)));
        let t: Bound = "2026-01-31T13:00:00+01:00".parse().unwrap();
        assert_eq!(t, Bound::Time("2026-01-31T12:00:00Z".parse().unwrap()));
        assert_eq!(t.to_string(), "2026-01-31T12:00:00Z");
        for bad in ["", "-1", "4x", "yesterday", "2026-01-31", "99999999999999999999"] {
            assert!(bad.parse::<Bound>().is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn json_keeps_the_kind() {
        assert_eq!(serde_json::to_string(&Bound::Position(7)).unwrap(), "7");
        let t: Bound = "2026-01-31T12:00:00.25Z".parse().unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2026-01-31T12:00:00.250Z\"");
    }
}
