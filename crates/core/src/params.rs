//! The values a user writes — durations, spans of time, range bounds, status filters — read
//! one way wherever they are written: on the command line, in the configuration file and in
//! the API's query strings. Each reader says what was wrong in words fit for any of the three.

use crate::aggregate::recent::StatusFilter;
use std::time::Duration;

/// The longest `range` or `step` the API and dashboard take.
pub const MAX_SPAN_MS: i64 = 400 * 86_400_000;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// Not a duration.
    #[error("{0:?} is not a duration like 30s, 15m or 2h")]
    Duration(String),
    /// Zero where something is done at an interval.
    #[error("{0:?} must be longer than 0s")]
    Zero(String),
    /// A span outside 1s..400d.
    #[error("{0:?} is not from 1s to 400d")]
    Span(String),
    /// Not a time, date or duration.
    #[error(
        "{0:?} is not a time (2026-11-20T10:00:00Z), a date (2026-11-20) or a duration back from the newest data (7d)"
    )]
    Bound(String),
    /// Not a status filter.
    #[error("{0:?} is not a status like 5xx or 404")]
    Status(String),
    /// A range that ends before it starts.
    #[error("since must be before until")]
    Empty,
}

/// The value as quoted in an error: at most 40 characters.
fn quoted(s: &str) -> String {
    crate::text::clip(s, 40)
}

/// A duration: `30s`, `15m`, `2h 30m`, `7d`.
pub fn duration(s: &str) -> Result<Duration, ParamError> {
    humantime::parse_duration(s.trim()).map_err(|_| ParamError::Duration(quoted(s)))
}

/// A duration longer than zero (an interval something is done at).
pub fn positive_duration(s: &str) -> Result<Duration, ParamError> {
    let d = duration(s)?;
    if d.is_zero() {
        return Err(ParamError::Zero(quoted(s)));
    }
    Ok(d)
}

/// A `range` or `step` in ms: a duration from one second to [`MAX_SPAN_MS`].
pub fn span_ms(s: &str) -> Result<i64, ParamError> {
    let d = duration(s)?;
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    if !(1000..=MAX_SPAN_MS).contains(&ms) {
        return Err(ParamError::Span(quoted(s)));
    }
    Ok(ms)
}

/// A range bound in UTC ms: an RFC 3339 time (`2026-11-20T10:00:00Z`), a date (`2026-11-20`,
/// UTC midnight), or a duration (`7d`, `90m`) meaning that long before `newest_ms`.
pub fn bound(s: &str, newest_ms: i64) -> Result<i64, ParamError> {
    let t = s.trim();
    if let Some(ms) = crate::time::parse_iso(t) {
        return Ok(ms);
    }
    if t.len() == 10
        && let Some(ms) = crate::time::parse_iso(&format!("{t}T00:00:00Z"))
    {
        return Ok(ms);
    }
    humantime::parse_duration(t)
        .map(|d| newest_ms.saturating_sub(d.as_millis().min(i64::MAX as u128) as i64))
        .map_err(|_| ParamError::Bound(quoted(s)))
}

/// The range `[since, until)` in UTC ms that two optional bounds give; a missing `since`
/// is `default_from`, a missing `until` is open-ended.
pub fn range(
    since: Option<&str>,
    until: Option<&str>,
    newest_ms: i64,
    default_from: i64,
) -> Result<(i64, i64), ParamError> {
    let read = |s: Option<&str>, default: i64| match s.map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => bound(v, newest_ms),
    };
    let (from, to) = (read(since, default_from)?, read(until, i64::MAX)?);
    if from >= to {
        return Err(ParamError::Empty);
    }
    Ok((from, to))
}

/// A status filter: a class (`5xx`) or one code (`404`).
pub fn status(s: &str) -> Result<StatusFilter, ParamError> {
    StatusFilter::parse(s.trim()).ok_or_else(|| ParamError::Status(quoted(s)))
}

/// A [`Duration`] in a configuration file, written as a string (`"30s"`): for
/// `#[serde(with = "crate::params::serde_duration")]`.
pub mod serde_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Writes `d` as `humantime` does (`1m 30s`).
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    /// Reads a duration string, refusing anything else with [`super::ParamError`]'s words.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        super::duration(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_spans() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration(" 2h "), Ok(Duration::from_secs(7200)));
        assert!(matches!(duration("soon"), Err(ParamError::Duration(_))));
        assert!(matches!(positive_duration("0s"), Err(ParamError::Zero(_))));
        assert_eq!(positive_duration("1ms"), Ok(Duration::from_millis(1)));
        assert_eq!(span_ms("1s"), Ok(1000));
        assert_eq!(span_ms("400d"), Ok(MAX_SPAN_MS));
        assert!(matches!(span_ms("500ms"), Err(ParamError::Span(_))));
        assert!(matches!(span_ms("401d"), Err(ParamError::Span(_))));
        let long = "x".repeat(500);
        assert!(
            span_ms(&long).unwrap_err().to_string().len() < 100,
            "quoted short"
        );
    }

    #[test]
    fn bounds_are_times_dates_or_durations_back_from_the_newest() {
        let newest = bound("2026-11-20T10:00:00Z", 0).unwrap();
        assert_eq!(bound("2026-11-20", 0), Ok(newest - 10 * 3_600_000));
        assert_eq!(bound("2h", newest), Ok(newest - 2 * 3_600_000));
        assert!(matches!(
            bound("yesterday-ish", newest),
            Err(ParamError::Bound(_))
        ));
        assert_eq!(
            range(None, Some("1h"), newest, 0),
            Ok((0, newest - 3_600_000))
        );
        assert_eq!(range(Some(""), None, newest, 5), Ok((5, i64::MAX)));
        assert_eq!(
            range(Some("1h"), Some("2h"), newest, 0),
            Err(ParamError::Empty)
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(status("5xx"), Ok(StatusFilter::Class(5)));
        assert_eq!(status("404"), Ok(StatusFilter::Code(404)));
        assert!(matches!(status("6xx"), Err(ParamError::Status(_))));
    }

    #[test]
    fn config_durations_read_and_write_as_strings() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct C {
            #[serde(with = "serde_duration")]
            every: Duration,
        }
        let c: C = serde_json::from_str(r#"{"every":"1m 30s"}"#).unwrap();
        assert_eq!(c.every, Duration::from_secs(90));
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"every":"1m 30s"}"#);
        let e = serde_json::from_str::<C>(r#"{"every":"often"}"#).unwrap_err();
        assert!(e.to_string().contains("not a duration like 30s"), "{e}");
    }
}
