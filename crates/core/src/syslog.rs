//! Syslog messages as senders such as nginx (`access_log syslog:server=…`), rsyslog and
//! `logger` send them: RFC 5424 and RFC 3164 headers around the message, and the two TCP
//! framings of RFC 6587 (octet counting, and one message a line).

/// A message's parts that tailpulse uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// The sending host, when the header names it (`-` and empty are none).
    pub host: Option<&'a str>,
    /// The message: for an access log, the log line.
    pub msg: &'a str,
}

/// The parts of one syslog message (without framing); `None` when it has no `<PRI>`.
pub fn parse(frame: &str) -> Option<Message<'_>> {
    let frame = frame.trim_end_matches(['\r', '\n', '\0']);
    let rest = frame.strip_prefix('<')?;
    let close = rest.find('>')?;
    if close == 0 || close > 3 || !rest[..close].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = &rest[close + 1..];
    match rest.strip_prefix("1 ") {
        Some(r) => Some(rfc5424(r)),
        None => Some(rfc3164(rest)),
    }
}

/// The next space-separated field of `s`, and what follows it.
fn field(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

fn host(h: &str) -> Option<&str> {
    (!h.is_empty() && h != "-").then_some(h)
}

/// `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`.
fn rfc5424(s: &str) -> Message<'_> {
    let (_time, s) = field(s);
    let (hostname, s) = field(s);
    let (_app, s) = field(s);
    let (_proc, s) = field(s);
    let (_msgid, s) = field(s);
    let msg = skip_structured_data(s);
    Message {
        host: host(hostname),
        msg: msg.strip_prefix('\u{feff}').unwrap_or(msg),
    }
}

/// What follows the structured data (`-`, or `[id k="v"]…` with `\]` and `\"` escapes).
fn skip_structured_data(s: &str) -> &str {
    if let Some(r) = s.strip_prefix("- ") {
        return r;
    }
    if s == "-" {
        return "";
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b'[' {
        let mut quoted = false;
        i += 1;
        while i < b.len() {
            match b[i] {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    s.get(i..).map_or("", |r| r.strip_prefix(' ').unwrap_or(r))
}

/// `Mmm dd hh:mm:ss HOSTNAME TAG: MSG` (the timestamp may also be RFC 3339, as some senders
/// write; the tag may be missing).
fn rfc3164(s: &str) -> Message<'_> {
    let after_time = match s.get(..15) {
        Some(t) if is_bsd_time(t) => s[15..].trim_start_matches(' '),
        _ => match field(s) {
            (t, r) if t.len() >= 19 && t.as_bytes()[4] == b'-' && t.contains('T') => r,
            _ => s,
        },
    };
    let (hostname, rest) = field(after_time);
    // A tag is a word ending in ':' (with an optional [pid]).
    let (tag, msg) = field(rest);
    let tagged = tag.ends_with(':')
        && tag.len() <= 49
        && tag[..tag.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./[]".contains(&b));
    if tagged {
        Message {
            host: host(hostname),
            msg,
        }
    } else if hostname.ends_with(':') {
        // No host, a tag only (`<13>Nov 30 12:00:00 nginx: …`).
        Message {
            host: None,
            msg: rest,
        }
    } else {
        Message {
            host: host(hostname),
            msg: rest,
        }
    }
}

/// `Mmm dd hh:mm:ss` (day padded with a space or a zero).
fn is_bsd_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 15
        && b[..3].iter().all(u8::is_ascii_alphabetic)
        && b[3] == b' '
        && b[6] == b' '
        && b[9] == b':'
        && b[12] == b':'
        && b[7..9]
            .iter()
            .chain(&b[10..12])
            .chain(&b[13..15])
            .all(u8::is_ascii_digit)
}

/// The frames of a TCP syslog stream (RFC 6587), as bytes arrive: octet-counted
/// (`LEN SP MSG`) or one message a line, told apart frame by frame.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

/// The longest frame kept; a longer one is cut there (and counted by the caller as a line).
pub const MAX_FRAME: usize = 64 * 1024;

impl Framer {
    /// Adds `data` and hands every complete frame to `each`.
    pub fn push(&mut self, data: &[u8], mut each: impl FnMut(&[u8])) {
        self.buf.extend_from_slice(data);
        let mut start = 0;
        loop {
            // Line ends between frames (some senders add one after a counted frame).
            while self
                .buf
                .get(start)
                .is_some_and(|b| matches!(b, b'\n' | b'\r'))
            {
                start += 1;
            }
            let rest = &self.buf[start..];
            if rest.is_empty() {
                break;
            }
            // Octet counting: digits, a space, then that many bytes (a syslog message, so
            // it starts with `<`; a line that merely starts with a number is a line).
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let counted = digits > 0
                && digits <= 6
                && rest.get(digits) == Some(&b' ')
                && rest.get(digits + 1).is_none_or(|b| *b == b'<');
            let len: usize = std::str::from_utf8(&rest[..digits])
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            // A count past the longest frame is not waited for: the bytes are read as lines.
            if counted && len <= MAX_FRAME {
                let end = digits + 1 + len;
                if rest.len() < end {
                    break;
                }
                each(&rest[digits + 1..end]);
                start += end;
                continue;
            }
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    each(&rest[..i]);
                    start += i + 1;
                }
                None if rest.len() > MAX_FRAME => {
                    each(&rest[..MAX_FRAME]);
                    start += MAX_FRAME;
                }
                None => break,
            }
        }
        self.buf.drain(..start);
    }

    /// What is left when the stream ends (a last frame without its newline).
    pub fn finish(&mut self, each: impl FnOnce(&[u8])) {
        if !self.buf.is_empty() {
            each(&self.buf);
            self.buf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str =
        r#"203.0.113.9 - - [30/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8""#;

    #[test]
    fn both_headers_give_host_and_line() {
        let nginx = format!("<190>Nov 30 12:00:00 web-1 nginx: {LINE}");
        assert_eq!(
            parse(&nginx),
            Some(Message {
                host: Some("web-1"),
                msg: LINE
            })
        );
        let logger = format!(
            "<13>1 2026-11-30T12:00:00.123+00:00 web-2 nginx 42 - [timeQuality tzKnown=\"1\" x=\"a\\]b\"] {LINE}"
        );
        assert_eq!(parse(&logger).unwrap().msg, LINE);
        assert_eq!(parse(&logger).unwrap().host, Some("web-2"));
        let bare = format!("<13>1 - - - - - - \u{feff}{LINE}");
        assert_eq!(
            parse(&bare),
            Some(Message {
                host: None,
                msg: LINE
            })
        );
        let no_host = format!("<13>Nov  3 02:00:00 nginx[7]: {LINE}");
        assert_eq!(parse(&no_host).unwrap().msg, LINE);
        assert_eq!(parse("no pri"), None);
        assert_eq!(parse("<1234>x"), None);
    }

    #[test]
    fn frames_are_counted_or_lines_even_split_anywhere() {
        let stream = b"5 <1>ab10 <1>a world\nplain line\n3 <1>";
        for cut in 0..stream.len() {
            let mut f = Framer::default();
            let mut got: Vec<String> = Vec::new();
            f.push(&stream[..cut], |m| {
                got.push(String::from_utf8_lossy(m).into())
            });
            f.push(&stream[cut..], |m| {
                got.push(String::from_utf8_lossy(m).into())
            });
            assert_eq!(
                got,
                ["<1>ab", "<1>a world", "plain line", "<1>"],
                "cut at {cut}"
            );
        }
        // Regression (review): a count past the longest frame held everything after it.
        let mut f = Framer::default();
        let mut got: Vec<Vec<u8>> = Vec::new();
        f.push(b"999999 <1>x\n<2>y\n", |m| got.push(m.to_vec()));
        assert_eq!(got, [b"999999 <1>x".to_vec(), b"<2>y".to_vec()]);
        let mut f = Framer::default();
        let mut got = Vec::new();
        f.push(b"no newline yet", |m| got.push(m.to_vec()));
        assert!(got.is_empty());
        f.finish(|m| got.push(m.to_vec()));
        assert_eq!(got, [b"no newline yet".to_vec()]);
    }
}
