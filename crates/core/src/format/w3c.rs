//! W3C extended log format (IIS and others): space-separated fields named by a `#Fields:`
//! directive; `-` is an empty field and `+` stands for a space in user agents.

use super::LineError;
use crate::request::{Line, Request, parse_bytes, parse_status};
use std::borrow::Cow;

/// IIS's default field list, used until a `#Fields:` directive says otherwise.
pub const IIS_DEFAULT_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Date,
    Time,
    Method,
    Stem,
    Query,
    Status,
    Bytes,
    TimeTaken,
    Client,
    UserAgent,
    Referer,
    Host,
    Version,
    Other,
}

fn col(name: &str) -> Col {
    match name.to_ascii_lowercase().as_str() {
        "date" => Col::Date,
        "time" => Col::Time,
        "cs-method" => Col::Method,
        "cs-uri-stem" => Col::Stem,
        "cs-uri-query" => Col::Query,
        "sc-status" => Col::Status,
        "sc-bytes" => Col::Bytes,
        "time-taken" => Col::TimeTaken,
        "c-ip" => Col::Client,
        "cs(user-agent)" => Col::UserAgent,
        "cs(referer)" => Col::Referer,
        "cs-host" | "cs(host)" => Col::Host,
        "cs-version" => Col::Version,
        _ => Col::Other,
    }
}

/// A W3C parser that remembers the current `#Fields:` directive.
#[derive(Debug, Clone)]
pub struct W3c {
    cols: Vec<Col>,
}

impl Default for W3c {
    fn default() -> Self {
        W3c::with_fields(IIS_DEFAULT_FIELDS)
    }
}

impl W3c {
    /// A parser for the given space-separated field names.
    pub fn with_fields(fields: &str) -> Self {
        W3c {
            cols: fields.split_ascii_whitespace().map(col).collect(),
        }
    }

    /// A parser whose fields come from the first `#Fields:` line of `sample`, or IIS's default.
    pub fn from_sample<'a>(sample: impl IntoIterator<Item = &'a [u8]>) -> Self {
        sample
            .into_iter()
            .find_map(|l| l.trim_ascii().strip_prefix(b"#Fields:"))
            .map(|f| W3c::with_fields(&String::from_utf8_lossy(f)))
            .unwrap_or_default()
    }

    /// Parses one line: a directive updates the fields and yields no request.
    pub fn parse<'a>(
        &mut self,
        line: impl Into<Line<'a>>,
    ) -> Result<Option<Request<'a>>, LineError> {
        let line = line.into();
        let bytes = line.bytes();
        if let Some(directive) = bytes.strip_prefix(b"#") {
            if let Some(fields) = directive.strip_prefix(b"Fields:") {
                *self = W3c::with_fields(&String::from_utf8_lossy(fields));
            }
            return Ok(None);
        }
        let mut req = Request::default();
        let (mut date, mut time, mut query): (&[u8], &[u8], &[u8]) = (b"", b"", b"-");
        let mut status = None;
        let mut values = bytes
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|v| !v.is_empty());
        for c in &self.cols {
            let v = values.next().ok_or(LineError::Field("field count"))?;
            match c {
                Col::Date => date = v,
                Col::Time => time = v,
                Col::Method => req.method = line.optional_text(v),
                Col::Stem => req.path = line.text(v),
                Col::Query => query = v,
                Col::Status => status = parse_status(v),
                Col::Bytes => req.bytes = parse_bytes(v).ok_or(LineError::Field("sc-bytes"))?,
                Col::TimeTaken => req.response_ms = crate::request::parse_f64(v),
                Col::Client => req.client = line.optional_text(v),
                Col::UserAgent => req.user_agent = plus_to_space(line.optional_text(v)),
                Col::Referer => req.referer = line.optional_text(v),
                Col::Host => req.vhost = line.optional_text(v),
                Col::Version => req.protocol = line.optional_text(v),
                Col::Other => {}
            }
        }
        req.status = status.ok_or(LineError::Field("sc-status"))?;
        if req.path.is_empty() {
            return Err(LineError::Field("cs-uri-stem"));
        }
        if query != b"-" && !query.is_empty() {
            req.path = Cow::Owned(format!("{}?{}", req.path, String::from_utf8_lossy(query)));
        }
        let stamp = format!(
            "{} {}",
            String::from_utf8_lossy(date),
            String::from_utf8_lossy(time)
        );
        req.ts_ms = crate::time::parse_iso(&stamp).ok_or(LineError::Field("date/time"))?;
        Ok(Some(req))
    }
}

fn plus_to_space(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.contains('+') {
        Cow::Owned(s.replace('+', " "))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iis_with_header() {
        let mut p = W3c::default();
        assert_eq!(
            p.parse(b"#Software: Microsoft Internet Information Services 10.0"),
            Ok(None)
        );
        assert_eq!(
            p.parse(b"#Fields: date time cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) sc-status sc-bytes time-taken"),
            Ok(None)
        );
        let r = p
            .parse(b"2024-03-01 12:00:00 GET /default.aspx id=3 2001:db8::5 Mozilla/5.0+(Windows+NT) 500 1234 87")
            .unwrap()
            .unwrap();
        assert_eq!(r.path, "/default.aspx?id=3");
        assert_eq!(r.client, "2001:db8::5");
        assert_eq!(r.user_agent, "Mozilla/5.0 (Windows NT)");
        assert_eq!((r.status, r.bytes, r.response_ms), (500, 1234, Some(87.0)));
        assert_eq!(
            r.ts_ms,
            crate::time::parse_iso("2024-03-01T12:00:00Z").unwrap()
        );
    }

    #[test]
    fn default_iis_fields() {
        let mut p = W3c::default();
        let r = p
            .parse(b"2024-03-01 12:00:00 10.0.0.1 GET /a - 443 - 192.0.2.1 curl/8 - 404 0 2 15")
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.status, r.response_ms, r.path.as_ref()),
            (404, Some(15.0), "/a")
        );
        assert!(p.parse(b"2024-03-01 12:00:00 too few").is_err());
    }
}
