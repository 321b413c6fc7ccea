//! GoAccess-compatible format strings, so a `--log-format` that works with GoAccess works here.
//!
//! Supported specifiers: `%d` date and `%t` time (with `--date-format`/`--time-format`,
//! strftime), `%x` date and time in one field, `%v` vhost, `%e` user, `%h` client, `%r` request
//! line, `%m` method, `%U` path, `%q` query, `%H` protocol, `%s` status, `%b` bytes, `%R` referer,
//! `%u` user agent, `%L` ms, `%T` s, `%D` µs, `%n` ns, `%^` a field to ignore, `%~` spaces to
//! skip; `%C %k %K %M` are read and ignored. `\t` in the string is a tab.

use super::timing::TimeUnit;
use super::{FormatError, LineError};
use crate::request::{Line, Request, parse_bytes, parse_f64, parse_status};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    Date,
    Time,
    DateTime,
    Vhost,
    Host,
    Request,
    Method,
    Url,
    Query,
    Protocol,
    Status,
    Bytes,
    Referer,
    UserAgent,
    Elapsed(TimeUnit),
    RemoteUser,
    CacheStatus,
    Mime,
    Tls,
    Ignore,
    Spaces,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(Vec<u8>),
    Spec(Spec),
}

/// A compiled GoAccess-style format.
#[derive(Debug, Clone)]
pub struct Custom {
    toks: Vec<Tok>,
    date_format: String,
    time_format: String,
}

fn spec(c: char) -> Option<Spec> {
    Some(match c {
        'd' => Spec::Date,
        't' => Spec::Time,
        'x' => Spec::DateTime,
        'v' => Spec::Vhost,
        'h' => Spec::Host,
        'r' => Spec::Request,
        'm' => Spec::Method,
        'U' => Spec::Url,
        'q' => Spec::Query,
        'H' => Spec::Protocol,
        's' => Spec::Status,
        'b' => Spec::Bytes,
        'R' => Spec::Referer,
        'u' => Spec::UserAgent,
        'L' => Spec::Elapsed(TimeUnit::Millis),
        'T' => Spec::Elapsed(TimeUnit::Seconds),
        'D' => Spec::Elapsed(TimeUnit::Micros),
        'n' => Spec::Elapsed(TimeUnit::Nanos),
        'e' => Spec::RemoteUser,
        'C' => Spec::CacheStatus,
        'M' => Spec::Mime,
        'k' | 'K' => Spec::Tls,
        '^' => Spec::Ignore,
        '~' => Spec::Spaces,
        _ => return None,
    })
}

impl Custom {
    /// Compiles a format string; `date_format`/`time_format` default to GoAccess's
    /// `%d/%b/%Y` and `%H:%M:%S`.
    pub fn new(
        format: &str,
        date_format: Option<&str>,
        time_format: Option<&str>,
    ) -> Result<Self, FormatError> {
        let mut toks = Vec::new();
        let mut lit = Vec::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    let n = chars
                        .next()
                        .ok_or_else(|| FormatError::LogFormat("trailing %".into()))?;
                    if n == '%' {
                        lit.push(b'%');
                        continue;
                    }
                    let s = spec(n)
                        .ok_or_else(|| FormatError::LogFormat(format!("unknown specifier %{n}")))?;
                    if !lit.is_empty() {
                        toks.push(Tok::Lit(std::mem::take(&mut lit)));
                    }
                    toks.push(Tok::Spec(s));
                }
                '\\' => match chars.next() {
                    Some('t') => lit.push(b'\t'),
                    Some(o) => lit.extend_from_slice(o.to_string().as_bytes()),
                    None => lit.push(b'\\'),
                },
                _ => lit.extend_from_slice(c.to_string().as_bytes()),
            }
        }
        if !lit.is_empty() {
            toks.push(Tok::Lit(lit));
        }
        let has = |s: Spec| toks.contains(&Tok::Spec(s));
        if !(has(Spec::Date) || has(Spec::DateTime)) {
            return Err(FormatError::LogFormat(
                "needs %d (date) or %x (date and time)".into(),
            ));
        }
        if !(has(Spec::Request) || has(Spec::Url)) {
            return Err(FormatError::LogFormat(
                "needs %r (request) or %U (path)".into(),
            ));
        }
        if !has(Spec::Status) {
            return Err(FormatError::LogFormat("needs %s (status)".into()));
        }
        Ok(Custom {
            toks,
            date_format: date_format.unwrap_or("%d/%b/%Y").to_owned(),
            time_format: time_format.unwrap_or("%H:%M:%S").to_owned(),
        })
    }

    /// Parses one line.
    pub fn parse<'a>(&self, line: impl Into<Line<'a>>) -> Result<Request<'a>, LineError> {
        let line = line.into();
        let mut rest = line.bytes();
        let mut req = Request::default();
        let (mut date, mut time, mut datetime): (&[u8], &[u8], &[u8]) = (b"", b"", b"");
        let mut query: &[u8] = b"";
        let mut status = None;
        for (i, tok) in self.toks.iter().enumerate() {
            let s = match tok {
                Tok::Lit(l) => {
                    rest = rest
                        .strip_prefix(l.as_slice())
                        .ok_or(LineError::Field("literal text"))?;
                    continue;
                }
                Tok::Spec(Spec::Spaces) => {
                    rest = rest.trim_ascii_start();
                    continue;
                }
                Tok::Spec(s) => *s,
            };
            let delim = match self.toks.get(i + 1) {
                Some(Tok::Lit(l)) => Some(l[0]),
                Some(Tok::Spec(_)) => Some(b' '),
                None => None,
            };
            let (value, after) =
                take_field(rest, delim, matches!(s, Spec::UserAgent | Spec::Referer))
                    .ok_or(LineError::Field("field"))?;
            rest = after;
            match s {
                Spec::Date => date = value,
                Spec::Time => time = value,
                Spec::DateTime => datetime = value,
                Spec::Vhost => req.vhost = line.optional_text(value),
                Spec::Host => req.client = line.text(value),
                Spec::Request => (req.method, req.path, req.protocol) = line.request_line(value),
                Spec::Method => req.method = line.text(value),
                Spec::Url => req.path = line.text(value),
                Spec::Query => query = value,
                Spec::Protocol => req.protocol = line.optional_text(value),
                Spec::Status => status = parse_status(value),
                Spec::Bytes => req.bytes = parse_bytes(value).ok_or(LineError::Field("bytes"))?,
                Spec::Referer => req.referer = line.optional_text(value),
                Spec::UserAgent => req.user_agent = line.optional_text(value),
                Spec::Elapsed(unit) => req.response_ms = parse_f64(value).map(|v| unit.to_ms(v)),
                Spec::RemoteUser => req.remote_user = line.optional_text(value),
                Spec::CacheStatus => req.cache_status = line.optional_text(value),
                Spec::Mime => req.mime = line.optional_text(value),
                // %k (version) and %K (cipher) both describe the TLS session.
                Spec::Tls if req.tls.is_empty() => req.tls = line.optional_text(value),
                Spec::Tls => {
                    let v = line.optional_text(value);
                    if !v.is_empty() {
                        req.tls = Cow::Owned(format!("{} {v}", req.tls));
                    }
                }
                Spec::Ignore | Spec::Spaces => {}
            }
        }
        req.status = status.ok_or(LineError::Field("status"))?;
        if req.path.is_empty() {
            return Err(LineError::Field("request"));
        }
        if !query.is_empty() && query != b"-" {
            let q = String::from_utf8_lossy(query);
            let q = q.strip_prefix('?').unwrap_or(&q);
            req.path = Cow::Owned(format!("{}?{q}", req.path));
        }
        req.ts_ms = self
            .timestamp(date, time, datetime)
            .ok_or(LineError::Field("time"))?;
        Ok(req)
    }

    fn timestamp(&self, date: &[u8], time: &[u8], datetime: &[u8]) -> Option<i64> {
        let date = std::str::from_utf8(date).ok()?;
        let time = std::str::from_utf8(time).ok()?;
        let datetime = std::str::from_utf8(datetime).ok()?;
        if !datetime.is_empty() {
            return crate::time::parse_iso(datetime)
                .or_else(|| crate::time::parse_clf(datetime.as_bytes()))
                .or_else(|| {
                    datetime
                        .parse::<f64>()
                        .ok()
                        .and_then(crate::time::from_epoch_number)
                })
                .or_else(|| crate::time::parse_with_formats(datetime, &self.date_format, "", ""));
        }
        if self.date_format == "%d/%b/%Y" && self.time_format == "%H:%M:%S" {
            return crate::time::parse_clf(format!("{date}:{time}").as_bytes());
        }
        crate::time::parse_with_formats(date, &self.date_format, time, &self.time_format)
    }
}

/// Splits off one field ending at `delim` (or the end of the line). A field ending at a `"`
/// skips escaped quotes; with `lenient`, a missing closing delimiter takes the rest.
fn take_field(rest: &[u8], delim: Option<u8>, lenient: bool) -> Option<(&[u8], &[u8])> {
    let Some(d) = delim else {
        return Some((rest, &[]));
    };
    let mut from = 0;
    while let Some(i) = memchr::memchr(d, &rest[from..]) {
        let at = from + i;
        let escaped =
            d == b'"' && rest[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1;
        if !escaped {
            return Some((&rest[..at], &rest[at..]));
        }
        from = at + 1;
    }
    lenient.then_some((rest, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOACCESS_COMBINED_T: &str = r#"%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T"#;

    #[test]
    fn goaccess_combined_with_seconds() {
        let p = Custom::new(GOACCESS_COMBINED_T, None, None).unwrap();
        let r = p
            .parse(br#"10.1.1.1 - - [01/Mar/2024:12:00:00 +0000] "GET /a?b HTTP/1.1" 200 5 "-" "ua \"x\"" 0.125"#)
            .unwrap();
        assert_eq!(
            (r.client.as_ref(), r.path.as_ref(), r.status),
            ("10.1.1.1", "/a?b", 200)
        );
        assert_eq!(r.user_agent, r#"ua \"x\""#);
        assert_eq!(r.response_ms, Some(125.0));
        assert_eq!(
            r.ts_ms,
            crate::time::parse_iso("2024-03-01T12:00:00Z").unwrap()
        );
    }

    #[test]
    fn tab_separated_with_other_dates() {
        let p = Custom::new(
            r"%d\t%t\t%m\t%U\t%q\t%s\t%D",
            Some("%Y-%m-%d"),
            Some("%H:%M:%S"),
        )
        .unwrap();
        let r = p
            .parse(b"2024-03-01\t12:00:00\tPUT\t/x\tid=1\t201\t2500")
            .unwrap();
        assert_eq!((r.method.as_ref(), r.path.as_ref()), ("PUT", "/x?id=1"));
        assert_eq!((r.status, r.response_ms), (201, Some(2.5)));
        assert_eq!(
            r.ts_ms,
            crate::time::parse_iso("2024-03-01T12:00:00Z").unwrap()
        );
    }

    #[test]
    fn bad_formats_and_lines() {
        assert!(Custom::new("%h %Z", None, None).is_err());
        assert!(Custom::new("%h %s", None, None).is_err());
        let p = Custom::new(GOACCESS_COMBINED_T, None, None).unwrap();
        assert!(p.parse(b"nothing like it").is_err());
    }
}
