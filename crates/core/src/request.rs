//! The parsed form of one access-log line.

use std::borrow::Cow;

/// One HTTP request as read from a log line, borrowing from the line where it can.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    /// When the request was logged, UTC milliseconds since the Unix epoch.
    pub ts_ms: i64,
    /// HTTP method (`GET`, `POST`, ...); empty when the log has none.
    pub method: Cow<'a, str>,
    /// Path as logged, query string included.
    pub path: Cow<'a, str>,
    /// Protocol (`HTTP/1.1`, `HTTP/2.0`); empty when the log has none.
    pub protocol: Cow<'a, str>,
    /// Response status code.
    pub status: u16,
    /// Response size in bytes (`-` counts as 0).
    pub bytes: u64,
    /// Time taken to serve the request in milliseconds, when the format records it.
    pub response_ms: Option<f64>,
    /// Client address (IPv4, IPv6 or a host name).
    pub client: Cow<'a, str>,
    /// User agent; empty when not logged.
    pub user_agent: Cow<'a, str>,
    /// Referer; empty when not logged.
    pub referer: Cow<'a, str>,
    /// Virtual host; empty when not logged.
    pub vhost: Cow<'a, str>,
    /// The server that logged the request (from a syslog header, an ingest envelope, or the
    /// input's label); empty until the reader sets it.
    pub host: Cow<'a, str>,
    /// The authenticated user (`%u` of Apache, `$remote_user` of nginx); empty when none.
    pub remote_user: Cow<'a, str>,
    /// The cache's verdict (`HIT`, `MISS`, …); empty when not logged.
    pub cache_status: Cow<'a, str>,
    /// The response's content type; empty when not logged.
    pub mime: Cow<'a, str>,
    /// The TLS version and cipher; empty when not logged.
    pub tls: Cow<'a, str>,
}

impl Default for Request<'_> {
    fn default() -> Self {
        Request {
            ts_ms: 0,
            method: Cow::Borrowed(""),
            path: Cow::Borrowed(""),
            protocol: Cow::Borrowed(""),
            status: 0,
            bytes: 0,
            response_ms: None,
            client: Cow::Borrowed(""),
            user_agent: Cow::Borrowed(""),
            referer: Cow::Borrowed(""),
            vhost: Cow::Borrowed(""),
            host: Cow::Borrowed(""),
            remote_user: Cow::Borrowed(""),
            cache_status: Cow::Borrowed(""),
            mime: Cow::Borrowed(""),
            tls: Cow::Borrowed(""),
        }
    }
}

impl Request<'_> {
    /// The same request, owning all of its text.
    pub fn into_owned(self) -> Request<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Request {
            ts_ms: self.ts_ms,
            method: own(self.method),
            path: own(self.path),
            protocol: own(self.protocol),
            status: self.status,
            bytes: self.bytes,
            response_ms: self.response_ms,
            client: own(self.client),
            user_agent: own(self.user_agent),
            referer: own(self.referer),
            vhost: own(self.vhost),
            host: own(self.host),
            remote_user: own(self.remote_user),
            cache_status: own(self.cache_status),
            mime: own(self.mime),
            tls: own(self.tls),
        }
    }
}

/// Text of a log field: borrowed when the bytes are valid UTF-8, replacement characters otherwise.
pub fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Splits a request line (`GET /path HTTP/1.1`) into method, path and protocol.
///
/// A line with one word is taken as a bare path (`-` or garbage sent by scanners is kept
/// as the path so nothing is lost).
pub fn split_request_line(line: &str) -> (Cow<'_, str>, Cow<'_, str>, Cow<'_, str>) {
    Line::from_text(line).request_line(line.as_bytes())
}

/// One log line, and the same line as text when it is valid UTF-8, so that its fields can be
/// borrowed as text without checking each one again.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Line<'a> {
    /// A line already known to be text.
    pub fn from_text(text: &'a str) -> Self {
        Line {
            bytes: text.as_bytes(),
            text: Some(text),
        }
    }

    /// The raw bytes of the line.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The part of the line from byte `at` on (`at` must not cut a character of a text line).
    pub fn from_byte(self, at: usize) -> Self {
        Line {
            bytes: &self.bytes[at.min(self.bytes.len())..],
            text: self.text.and_then(|t| t.get(at..)),
        }
    }

    /// The line without surrounding ASCII whitespace.
    pub fn trim(self) -> Self {
        Line {
            bytes: self.bytes.trim_ascii(),
            text: self.text.map(str::trim_ascii),
        }
    }

    /// Text of `field`, a part of this line: borrowed when valid UTF-8, with replacement
    /// characters otherwise.
    pub fn text(&self, field: &'a [u8]) -> Cow<'a, str> {
        if let Some(line) = self.text {
            let from = (field.as_ptr() as usize).wrapping_sub(self.bytes.as_ptr() as usize);
            if let Some(s) = from
                .checked_add(field.len())
                .and_then(|to| line.get(from..to))
            {
                return Cow::Borrowed(s);
            }
        }
        text(field)
    }

    /// [`Line::text`] of a field where `-` means "not logged" (empty text).
    pub fn optional_text(&self, field: &'a [u8]) -> Cow<'a, str> {
        if field == b"-" {
            Cow::Borrowed("")
        } else {
            self.text(field)
        }
    }

    /// Method, path and protocol of `field`, a request line in this line (see
    /// [`split_request_line`]).
    pub fn request_line(&self, field: &'a [u8]) -> (Cow<'a, str>, Cow<'a, str>, Cow<'a, str>) {
        let field = field.trim_ascii();
        let Some(first_space) = field.iter().position(|&b| b == b' ') else {
            return (Cow::Borrowed(""), self.text(field), Cow::Borrowed(""));
        };
        let method = &field[..first_space];
        let rest = field[first_space + 1..].trim_ascii_start();
        // The usual protocol, `HTTP/1.1` or `HTTP/2.0`, ends the line after the last space.
        let last_space = match rest.len().checked_sub(9) {
            Some(i)
                if rest[i] == b' '
                    && rest[i + 1..].starts_with(b"HTTP/")
                    && !rest[i + 6..].contains(&b' ') =>
            {
                Some(i)
            }
            _ => rest.iter().rposition(|&b| b == b' '),
        };
        match last_space {
            Some(last_space) if rest[last_space + 1..].starts_with(b"HTTP/") => (
                self.text(method),
                self.text(rest[..last_space].trim_ascii_end()),
                self.text(&rest[last_space + 1..]),
            ),
            _ => (self.text(method), self.text(rest), Cow::Borrowed("")),
        }
    }
}

impl<'a> From<&'a [u8]> for Line<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Line {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
        }
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Line<'a> {
    fn from(bytes: &'a [u8; N]) -> Self {
        Line::from(&bytes[..])
    }
}

impl<'a> From<&'a str> for Line<'a> {
    fn from(text: &'a str) -> Self {
        Line::from_text(text)
    }
}

/// Reads an unsigned decimal integer; `None` for anything else.
pub fn parse_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

/// Reads an HTTP status code (100–599); anything else is not a status.
pub fn parse_status(bytes: &[u8]) -> Option<u16> {
    match bytes {
        [a @ b'1'..=b'5', b, c] if b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// Reads a byte count where `-` means zero.
pub fn parse_bytes(bytes: &[u8]) -> Option<u64> {
    if bytes == b"-" {
        Some(0)
    } else {
        parse_u64(bytes)
    }
}

/// Reads a non-negative decimal number (`0.123`, `12`).
pub fn parse_f64(bytes: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(bytes).ok()?;
    let v: f64 = s.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_variants() {
        for (line, want) in [
            ("GET /a?b=1 HTTP/1.1", ("GET", "/a?b=1", "HTTP/1.1")),
            ("GET /a", ("GET", "/a", "")),
            ("-", ("", "-", "")),
            ("GET /a b HTTP/2.0", ("GET", "/a b", "HTTP/2.0")),
            // Eight bytes after a space that look like a protocol but hold a space.
            ("GET /a HTTP/1 1", ("GET", "/a HTTP/1 1", "")),
            ("GET /a HTTP/2", ("GET", "/a", "HTTP/2")),
            ("GET HTTP/1.1", ("GET", "HTTP/1.1", "")),
        ] {
            let (m, p, proto) = split_request_line(line);
            assert_eq!((&*m, &*p, &*proto), want, "{line}");
        }
    }

    #[test]
    fn line_fields_borrow_or_replace() {
        let raw = b"ok \xff caf\xc3\xa9";
        let line = Line::from(&raw[..]);
        assert_eq!(line.text(&raw[..2]), "ok");
        assert_eq!(
            line.text(&raw[3..4]),
            "\u{fffd}",
            "invalid bytes are replaced"
        );
        let valid = Line::from("GET /caf\u{e9} HTTP/1.1");
        let b = valid.bytes();
        assert!(matches!(valid.text(&b[4..10]), Cow::Borrowed("/caf\u{e9}")));
        assert_eq!(
            valid.text(&b[4..9]),
            "/caf\u{fffd}",
            "a cut through a character is replaced"
        );
        assert_eq!(
            valid.optional_text(b"-"),
            "",
            "a field from elsewhere still reads"
        );
        assert_eq!(valid.text(b"elsewhere"), "elsewhere");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_status(b"200"), Some(200));
        assert_eq!(parse_status(b"099"), None);
        assert_eq!(parse_status(b"599"), Some(599));
        assert_eq!(
            parse_status(b"905"),
            None,
            "found by fuzzing: 6xx-9xx are not statuses"
        );
        assert_eq!(parse_status(b"20"), None);
        assert_eq!(parse_bytes(b"-"), Some(0));
        assert_eq!(parse_u64(b"99999999999999999999"), None);
        assert_eq!(parse_f64(b"0.250"), Some(0.25));
        assert_eq!(parse_f64(b"-1"), None);
        assert_eq!(parse_f64(b"NaN"), None);
    }
}
