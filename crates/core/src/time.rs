//! Timestamps as logs write them, converted to UTC milliseconds.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

fn month(b: &[u8]) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(b))
        .map(|i| i as u32 + 1)
}

/// Parses a zone offset such as `+0900`, `-07:00` or `Z` into seconds east of UTC.
fn offset_seconds(b: &[u8]) -> Option<i64> {
    if b == b"Z" || b == b"z" {
        return Some(0);
    }
    let (sign, rest) = match b.split_first()? {
        (b'+', r) => (1, r),
        (b'-', r) => (-1, r),
        _ => return None,
    };
    let (h, m) = match rest {
        [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
        _ => return None,
    };
    (h < 24 && m < 60).then(|| sign * i64::from(h * 3600 + m * 60))
}

fn millis(date: NaiveDate, h: u32, mi: u32, s: u32, ms: u32) -> Option<i64> {
    let t = NaiveTime::from_hms_milli_opt(h, mi, s.min(59), ms)?;
    Some(NaiveDateTime::new(date, t).and_utc().timestamp_millis())
}

/// Fractional seconds after a `.`: returns the milliseconds and the bytes left.
fn fraction(b: &[u8]) -> (u32, &[u8]) {
    match b.split_first() {
        Some((b'.' | b',', rest)) => {
            let n = rest.iter().take_while(|d| d.is_ascii_digit()).count();
            let mut ms = 0;
            for i in 0..3 {
                ms = ms * 10
                    + rest
                        .get(i)
                        .filter(|_| i < n)
                        .map_or(0, |d| u32::from(d - b'0'));
            }
            (ms, &rest[n..])
        }
        _ => (0, b),
    }
}

/// Parses the common-log-format time `10/Oct/2000:13:55:36 -0700` (fraction of a second
/// allowed) into UTC milliseconds.
pub fn parse_clf(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let day = digits(&b[0..2])?;
    let mon = month(&b[3..6])?;
    let year = digits(&b[7..11])?;
    let (h, mi, s) = (
        digits(&b[12..14])?,
        digits(&b[15..17])?,
        digits(&b[18..20])?,
    );
    if b[14] != b':' || b[17] != b':' {
        return None;
    }
    let (ms, rest) = fraction(&b[20..]);
    let rest = rest.trim_ascii();
    let offset = if rest.is_empty() {
        0
    } else {
        offset_seconds(rest)?
    };
    let date = NaiveDate::from_ymd_opt(year as i32, mon, day)?;
    Some(millis(date, h, mi, s, ms)? - offset * 1000)
}

/// Reads CLF times like [`parse_clf`], remembering the minute and zone of the last one, so
/// that the lines of one minute only read their seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClfClock {
    /// `dd/Mon/yyyy:HH:MM` of the remembered time; empty until one was read.
    minute: [u8; 17],
    zone: [u8; 8],
    zone_len: usize,
    /// UTC milliseconds at the start of that minute in that zone.
    minute_ms: Option<i64>,
}

impl ClfClock {
    /// The UTC milliseconds of `b`, as [`parse_clf`] reads them.
    pub fn parse(&mut self, b: &[u8]) -> Option<i64> {
        let seconds = (b.len() >= 20 && b[17] == b':')
            .then(|| digits(&b[18..20]))
            .flatten()
            .filter(|s| *s < 60);
        let Some(s) = seconds else {
            return parse_clf(b);
        };
        let (ms, rest) = fraction(&b[20..]);
        let zone = rest.trim_ascii();
        let since_minute = i64::from(s * 1000 + ms);
        if let Some(minute_ms) = self.minute_ms
            && b[..17] == self.minute
            && zone == &self.zone[..self.zone_len]
        {
            return Some(minute_ms + since_minute);
        }
        let t = parse_clf(b)?;
        if zone.len() <= self.zone.len() {
            self.minute.copy_from_slice(&b[..17]);
            self.zone[..zone.len()].copy_from_slice(zone);
            self.zone_len = zone.len();
            self.minute_ms = Some(t - since_minute);
        }
        Some(t)
    }
}

/// Parses an ISO 8601 / RFC 3339 time (`2024-03-01T12:00:00.250+09:00`, `2024-03-01 12:00:00`;
/// no zone means UTC) into UTC milliseconds.
pub fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        digits(&b[0..4])? as i32,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )?;
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let (ms, rest) = fraction(&b[19..]);
    let rest = rest.trim_ascii();
    let offset = if rest.is_empty() {
        0
    } else {
        offset_seconds(rest)?
    };
    Some(millis(date, h, mi, sec, ms)? - offset * 1000)
}

/// Interprets a Unix timestamp number: seconds, milliseconds, microseconds or nanoseconds,
/// told apart by magnitude (any date between 1973 and 2286 comes out right).
pub fn from_epoch_number(v: f64) -> Option<i64> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    let ms = if v < 1e11 {
        v * 1e3
    } else if v < 1e14 {
        v
    } else if v < 1e17 {
        v / 1e3
    } else {
        v / 1e6
    };
    Some(ms.round() as i64)
}

/// Parses a date and a time with strftime-style formats (as GoAccess's `--date-format` and
/// `--time-format`), taken as UTC unless the format carries a zone.
pub fn parse_with_formats(date: &str, date_fmt: &str, time: &str, time_fmt: &str) -> Option<i64> {
    let joined = format!("{date} {time}");
    let fmt = format!("{date_fmt} {time_fmt}");
    if let Ok(t) = DateTime::parse_from_str(&joined, &fmt) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(&joined, &fmt) {
        return Some(t.and_utc().timestamp_millis());
    }
    let day = NaiveDate::parse_from_str(date, date_fmt).ok()?;
    let t = NaiveTime::parse_from_str(time, time_fmt).ok()?;
    Some(NaiveDateTime::new(day, t).and_utc().timestamp_millis())
}

/// Hour of day (0–23, UTC) of a timestamp in milliseconds.
pub fn hour_of_day(ts_ms: i64) -> u8 {
    (ts_ms.div_euclid(3_600_000).rem_euclid(24)) as u8
}

/// Formats UTC milliseconds as `2024-03-01 12:00:00` (UTC).
pub fn format_utc(ts_ms: i64) -> String {
    DateTime::from_timestamp_millis(ts_ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ts_ms.to_string())
}

/// Formats UTC milliseconds as RFC 3339 with milliseconds (`2024-03-01T12:00:00.250Z`).
pub fn format_rfc3339(ts_ms: i64) -> String {
    DateTime::from_timestamp_millis(ts_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ts_ms.to_string())
}

/// Formats UTC milliseconds as a Common Log Format time (`10/Oct/2000:13:55:36 +0000`).
pub fn format_clf(ts_ms: i64) -> String {
    DateTime::from_timestamp_millis(ts_ms)
        .map(|t| t.format("%d/%b/%Y:%H:%M:%S +0000").to_string())
        .unwrap_or_else(|| ts_ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_with_offsets() {
        let utc = parse_clf(b"10/Oct/2000:20:55:36 +0000").unwrap();
        assert_eq!(parse_clf(b"10/Oct/2000:13:55:36 -0700"), Some(utc));
        assert_eq!(parse_clf(b"11/Oct/2000:05:55:36 +0900"), Some(utc));
        assert_eq!(utc, 971_211_336_000);
        assert_eq!(format_clf(utc), "10/Oct/2000:20:55:36 +0000");
        assert_eq!(
            parse_clf(b"10/Oct/2000:20:55:36.250 +0000"),
            Some(utc + 250)
        );
        assert_eq!(parse_clf(b"10/oct/2000:20:55:36"), Some(utc));
        assert_eq!(parse_clf(b"31/Feb/2000:20:55:36 +0000"), None);
        assert_eq!(parse_clf(b"10/Foo/2000:20:55:36 +0000"), None);
        assert_eq!(parse_clf(b"10/Oct/2000:20:55:36 +99"), None);
        assert_eq!(parse_clf(b"garbage"), None);
    }

    #[test]
    fn clf_clock_reads_like_parse_clf() {
        let mut clock = ClfClock::default();
        for t in [
            &b"10/Oct/2000:20:55:36 +0000"[..],
            b"10/Oct/2000:20:55:59 +0000",
            b"10/Oct/2000:20:55:07.250 +0000",
            b"10/Oct/2000:20:55:07 +0900",
            b"10/Oct/2000:20:55:07 +0000",
            b"10/Oct/2000:20:55:60 +0000",
            b"10/Oct/2000:20:55:7x +0000",
            b"10/Oct/2000:20:55:07 +00",
            b"10/Oct/2000:20:56:00",
            b"10/Oct/2000:20:56:01",
            b"31/Feb/2000:20:56:01",
            b"10/Oct/2000:20:56:01 -07:00",
            b"10/Oct/2000:20:56",
        ] {
            assert_eq!(
                clock.parse(t),
                parse_clf(t),
                "{}",
                String::from_utf8_lossy(t)
            );
        }
    }

    #[test]
    fn iso_variants() {
        let t = parse_iso("2024-03-01T12:00:00Z").unwrap();
        assert_eq!(parse_iso("2024-03-01T21:00:00+09:00"), Some(t));
        assert_eq!(parse_iso("2024-03-01 12:00:00"), Some(t));
        assert_eq!(parse_iso("2024-03-01T12:00:00.5Z"), Some(t + 500));
        assert_eq!(parse_iso("2024-03-01T07:00:00-0500"), Some(t));
        assert_eq!(parse_iso("yesterday"), None);
    }

    #[test]
    fn epoch_numbers_by_magnitude() {
        let ms = 1_709_294_400_000i64;
        assert_eq!(from_epoch_number(1_709_294_400.0), Some(ms));
        assert_eq!(from_epoch_number(1_709_294_400_000.0), Some(ms));
        assert_eq!(from_epoch_number(1_709_294_400_000_000.0), Some(ms));
        assert_eq!(from_epoch_number(1_709_294_400_000_000_000.0), Some(ms));
        assert_eq!(from_epoch_number(-1.0), None);
    }

    #[test]
    fn strftime_formats() {
        let t = parse_with_formats("01/Mar/2024", "%d/%b/%Y", "12:00:00", "%H:%M:%S");
        assert_eq!(t, parse_iso("2024-03-01T12:00:00Z"));
    }

    #[test]
    fn hours() {
        assert_eq!(hour_of_day(parse_iso("2024-03-01T23:59:59Z").unwrap()), 23);
        assert_eq!(hour_of_day(-1), 23);
    }
}
