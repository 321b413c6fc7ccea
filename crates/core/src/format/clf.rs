//! nginx/Apache combined and common, Apache vhost_combined, and Traefik's CLF.
//!
//! ```text
//! 203.0.113.9 - bob [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1" 200 2326 "ref" "agent" 0.012
//! example.com:443 203.0.113.9 - - [...] "GET /a HTTP/1.1" 200 2326 "ref" "agent"
//! 203.0.113.9 - - [...] "GET /a HTTP/1.1" 200 2326 "ref" "agent" 42 "router@docker" "http://10.0.0.2:80" 12ms
//! ```
//! After the user agent, the first timing token is the response time: a decimal number is
//! seconds (nginx `$request_time`), `12ms` is milliseconds, a bare integer is in the
//! configured unit (Apache `%D` µs or `%T` s); `rt=`/`request_time=` key-value tokens win over
//! `urt=`/`upstream_response_time=` ones, which win over plain tokens.

use super::timing::{TimeUnit, token_ms};
use super::{FormatKind, LineError};
use crate::cursor::Cursor;
use crate::request::{Line, Request, parse_bytes, parse_status};

/// Which member of the CLF family a [`Clf`] parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// combined or common.
    Combined,
    /// `host:port` first.
    VhostCombined,
    /// Traefik CLF.
    Traefik,
}

/// A parser for one member of the CLF family.
#[derive(Debug, Clone, Copy)]
pub struct Clf {
    /// Which layout.
    pub variant: Variant,
    /// Unit of bare-integer response times.
    pub int_unit: TimeUnit,
    clock: crate::time::ClfClock,
}

impl Clf {
    /// A parser for `variant` with bare-integer timings in `int_unit`.
    pub fn new(variant: Variant, int_unit: TimeUnit) -> Self {
        Clf {
            variant,
            int_unit,
            clock: crate::time::ClfClock::default(),
        }
    }

    /// The format this parser reads.
    pub fn kind(&self) -> FormatKind {
        match self.variant {
            Variant::Combined => FormatKind::Combined,
            Variant::VhostCombined => FormatKind::VhostCombined,
            Variant::Traefik => FormatKind::Traefik,
        }
    }

    /// Parses one line.
    pub fn parse<'a>(&mut self, line: impl Into<Line<'a>>) -> Result<Request<'a>, LineError> {
        let mut req = Request::default();
        self.parse_into(line.into(), &mut req)?;
        Ok(req)
    }

    /// Parses one line into `req` (all of it is overwritten), so that the caller's request
    /// is filled in place rather than copied out.
    #[inline]
    pub fn parse_into<'a>(
        &mut self,
        line: Line<'a>,
        req: &mut Request<'a>,
    ) -> Result<(), LineError> {
        let mut c = Cursor::new(line.bytes());
        *req = Request::default();
        if self.variant == Variant::VhostCombined {
            let host = c.word().ok_or(LineError::Field("vhost"))?;
            let host = match memchr::memrchr(b':', host) {
                Some(i) if !host.starts_with(b"[") || host[..i].ends_with(b"]") => &host[..i],
                _ => host,
            };
            req.vhost = line.text(host);
        }
        req.client = line.text(c.word().ok_or(LineError::Field("client"))?);
        // Identity and user are almost always both absent: `- - `.
        if !c.eat_prefix(b"- - ") {
            c.word().ok_or(LineError::Field("ident"))?;
            let user = c.word().ok_or(LineError::Field("user"))?;
            req.remote_user = line.optional_text(user);
        }
        let ts = c.bracketed_time().ok_or(LineError::Field("time"))?;
        req.ts_ms = self.clock.parse(ts).ok_or(LineError::Field("time"))?;
        let request_line = c.quoted(false).ok_or(LineError::Field("request"))?;
        (req.method, req.path, req.protocol) = line.request_line(request_line);
        req.status = c
            .word()
            .and_then(parse_status)
            .ok_or(LineError::Field("status"))?;
        req.bytes = c
            .word()
            .and_then(parse_bytes)
            .ok_or(LineError::Field("bytes"))?;
        if let Some(referer) = c.quoted(true) {
            req.referer = line.optional_text(referer);
            if let Some(ua) = c.quoted(true) {
                req.user_agent = line.optional_text(ua);
            }
        }
        if self.variant == Variant::Traefik {
            self.traefik_tail(&line, &mut c, req)?;
        } else {
            req.response_ms = trailing_timing(&mut c, self.int_unit);
        }
        Ok(())
    }

    fn traefik_tail<'a>(
        &self,
        line: &Line<'a>,
        c: &mut Cursor<'a>,
        req: &mut Request<'a>,
    ) -> Result<(), LineError> {
        let count = c.word().ok_or(LineError::Field("request count"))?;
        if !super::timing::is_plain_integer(count) {
            return Err(LineError::Field("request count"));
        }
        let router = c.quoted(false).ok_or(LineError::Field("router"))?;
        c.quoted(false).ok_or(LineError::Field("backend"))?;
        let duration = c.word().ok_or(LineError::Field("duration"))?;
        req.response_ms =
            Some(token_ms(duration, TimeUnit::Millis).ok_or(LineError::Field("duration"))?);
        if req.vhost.is_empty() {
            req.vhost = line.optional_text(router);
        }
        Ok(())
    }
}

/// Rank of a `key=value` timing token: lower is preferred.
fn key_rank(key: &[u8]) -> Option<u8> {
    match key {
        b"rt" | b"request_time" | b"rtime" => Some(0),
        b"urt" | b"upstream_response_time" | b"upstream_time" | b"ut" => Some(1),
        _ => None,
    }
}

/// Finds the response time among the tokens after the user agent.
fn trailing_timing(c: &mut Cursor<'_>, int_unit: TimeUnit) -> Option<f64> {
    // The usual tail is one number (`0.123` or `%D` µs): read it without splitting tokens.
    let rest = c.rest().trim_ascii();
    if rest.is_empty() {
        return None;
    }
    if let Some(ms) = super::timing::decimal_seconds_ms(rest) {
        return Some(ms);
    }
    if rest.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return token_ms(rest, int_unit);
    }
    let mut keyed: Option<(u8, f64)> = None;
    let mut plain: Option<f64> = None;
    loop {
        c.skip_spaces();
        let tok = match c.rest().first() {
            None => break,
            Some(b'"') => c.quoted(true),
            Some(_) => c.word(),
        };
        let Some(tok) = tok else { break };
        if let Some(eq) = memchr::memchr(b'=', tok) {
            let (key, value) = (&tok[..eq], &tok[eq + 1..]);
            let value = value.strip_prefix(b"\"").unwrap_or(value);
            let value = value.strip_suffix(b"\"").unwrap_or(value);
            if let (Some(rank), Some(ms)) = (key_rank(key), token_ms(value, int_unit))
                && keyed.is_none_or(|(r, _)| rank < r)
            {
                keyed = Some((rank, ms));
            }
        } else if plain.is_none() {
            plain = token_ms(tok, int_unit);
        }
    }
    keyed.map(|(_, ms)| ms).or(plain)
}

/// The bare-integer timing token of a line, if its response time is one (used to guess
/// whether integers are `%D` microseconds or `%T` seconds).
pub fn plain_integer_timing(line: &[u8]) -> Option<u64> {
    let mut c = Cursor::new(line);
    c.until(b'[')?;
    c.until(b']')?;
    c.quoted(false)?;
    c.word()?;
    c.word()?;
    c.quoted(true)?;
    c.quoted(true)?;
    crate::request::parse_u64(c.word()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &[u8] = br#"203.0.113.9 - bob [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;

    fn combined() -> Clf {
        Clf::new(Variant::Combined, TimeUnit::Micros)
    }

    #[test]
    fn combined_line() {
        let r = combined().parse(COMBINED).unwrap();
        assert_eq!(r.client, "203.0.113.9");
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/apache_pb.gif?x=1");
        assert_eq!(r.protocol, "HTTP/1.0");
        assert_eq!(r.status, 200);
        assert_eq!(r.bytes, 2326);
        assert_eq!(r.referer, "http://www.example.com/start.html");
        assert_eq!(r.user_agent, "Mozilla/4.08 [en] (Win98; I ;Nav)");
        assert_eq!(
            r.ts_ms,
            crate::time::parse_iso("2000-10-10T20:55:36Z").unwrap()
        );
        assert_eq!(r.response_ms, None);
    }

    #[test]
    fn common_line_and_dash_bytes() {
        let r = combined()
            .parse(br#"::1 - - [10/Oct/2000:13:55:36 +0000] "HEAD / HTTP/2.0" 304 -"#)
            .unwrap();
        assert_eq!((r.client.as_ref(), r.status, r.bytes), ("::1", 304, 0));
        assert_eq!(r.user_agent, "");
    }

    #[test]
    fn nginx_timings() {
        let base = r#"2001:db8::1 - - [10/Oct/2000:13:55:36 +0000] "POST /api HTTP/1.1" 502 10 "-" "curl/8""#;
        let t = |tail: &str| {
            combined()
                .parse(format!("{base}{tail}").as_bytes())
                .unwrap()
                .response_ms
        };
        assert_eq!(t(" 0.250"), Some(250.0));
        assert_eq!(t(" 0.250 0.200"), Some(250.0), "request_time comes first");
        assert_eq!(t(" - 0.2"), Some(200.0), "a dash is skipped");
        assert_eq!(t(r#" "0.100, 0.050""#), Some(150.0));
        assert_eq!(t(r#" rt=0.300 uct="0.001" urt="0.290""#), Some(300.0));
        assert_eq!(t(r#" urt="0.290" rt=0.300"#), Some(300.0));
        assert_eq!(
            t(" 1500"),
            Some(1.5),
            "bare integers in the configured unit"
        );
    }

    #[test]
    fn escaped_quotes_in_agent() {
        let line = br#"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "a \"quoted\" agent" 0.001"#;
        let r = combined().parse(line).unwrap();
        assert_eq!(r.user_agent, r#"a \"quoted\" agent"#);
        assert_eq!(r.response_ms, Some(1.0));
    }

    #[test]
    fn truncated_agent_is_kept() {
        let line = br#"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "Mozilla/5.0 (trunc"#;
        let r = combined().parse(line).unwrap();
        assert_eq!(r.user_agent, "Mozilla/5.0 (trunc");
    }

    #[test]
    fn vhost_combined() {
        let mut p = Clf::new(Variant::VhostCombined, TimeUnit::Micros);
        let line = br#"example.com:443 1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x""#;
        let r = p.parse(line).unwrap();
        assert_eq!(
            (r.vhost.as_ref(), r.client.as_ref()),
            ("example.com", "1.1.1.1")
        );
        assert!(
            p.parse(&line[16..]).is_err(),
            "a combined line is not vhost-combined"
        );
    }

    #[test]
    fn traefik() {
        let mut p = Clf::new(Variant::Traefik, TimeUnit::Micros);
        let line = br#"192.168.1.5 - - [10/Oct/2000:13:55:36 +0000] "GET /x HTTP/2.0" 200 512 "-" "Go-http-client/1.1" 8 "web@docker" "http://172.17.0.3:80" 27ms"#;
        let r = p.parse(line).unwrap();
        assert_eq!(r.response_ms, Some(27.0));
        assert_eq!(r.vhost, "web@docker");
        assert!(p.parse(COMBINED).is_err());
    }

    #[test]
    fn odd_methods_and_garbage_requests() {
        let mut p = combined();
        let r = p
            .parse(br#"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] "PROPFIND /dav HTTP/1.1" 207 1"#)
            .unwrap();
        assert_eq!(r.method, "PROPFIND");
        let r = p
            .parse(br#"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] "\x16\x03\x01" 400 0 "-" "-""#)
            .unwrap();
        assert_eq!((r.path.as_ref(), r.status), (r"\x16\x03\x01", 400));
    }

    #[test]
    fn rejects() {
        let mut p = combined();
        for bad in [
            &b"garbage"[..],
            b"1.1.1.1 - - [bad time] \"GET / HTTP/1.1\" 200 1",
            b"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.1\" abc 1",
            b"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.1",
            b"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.1\" 200",
        ] {
            assert!(p.parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn plain_integer_guess_input() {
        let line =
            br#"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x" 5231"#;
        assert_eq!(plain_integer_timing(line), Some(5231));
    }
}
