//! Wrappers around log lines: the JSON of container runtimes and shippers (Docker's
//! json-file `log`, journald's `MESSAGE`, Vector's `message`), the CRI prefix of Kubernetes
//! logs, and the host tag that tailpulse's ingest spool puts in front of a line.
//!
//! Every parser reads wrapped lines the same way (see [`super::Parser::parse_into`]), so a
//! file, standard input and the ingest spool may mix wrapped and bare lines.

use serde_json::{Map, Value};

/// First byte of a host tag: ASCII record separator.
pub const TAG: u8 = 0x1e;
/// Ends the host of a host tag: ASCII unit separator.
pub const TAG_END: u8 = 0x1f;
/// The longest host name kept (a DNS name's limit); longer ones are cut.
pub const HOST_MAX: usize = 253;

/// The string fields that hold a whole log line in an envelope, in order of preference.
pub const LINE_FIELDS: [&str; 3] = ["log", "MESSAGE", "message"];

/// The fields that name the server in an envelope (Vector's `host`, Filebeat's `host.name`,
/// journald's `_HOSTNAME`, Fluent Bit's Kubernetes filter).
const HOST_FIELDS: [&str; 5] = [
    "host",
    "hostname",
    "_HOSTNAME",
    "kubernetes.host",
    "agent.hostname",
];

/// `host` made safe for a tag and for display: control characters dropped, at most
/// [`HOST_MAX`] bytes.
pub fn clean_host(host: &str) -> String {
    let mut out = String::with_capacity(host.len().min(HOST_MAX));
    for c in host.trim().chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > HOST_MAX {
            break;
        }
        out.push(c);
    }
    out
}

/// Appends `line` tagged with `host` (see [`clean_host`]) and a newline to `out`.
pub fn push_tagged(out: &mut Vec<u8>, host: &str, line: &[u8]) {
    HostTag::new(host).push(out, line);
}

/// The tag of one host, made once for the many lines it goes in front of.
#[derive(Debug, Clone)]
pub struct HostTag(Vec<u8>);

impl HostTag {
    /// The tag naming `host` (see [`clean_host`]).
    pub fn new(host: &str) -> Self {
        let mut tag = vec![TAG];
        tag.extend_from_slice(clean_host(host).as_bytes());
        tag.push(TAG_END);
        HostTag(tag)
    }

    /// Appends `line` with this tag in front and a newline to `out`.
    pub fn push(&self, out: &mut Vec<u8>, line: &[u8]) {
        out.extend_from_slice(&self.0);
        out.extend_from_slice(line);
        out.push(b'\n');
    }
}

/// For a tagged line: where its host ends and its line begins (`line[1..end]` is the host,
/// `line[start..]` the line). `None` for an untagged line.
pub fn split_tag(line: &[u8]) -> Option<(usize, usize)> {
    if line.first() != Some(&TAG) {
        return None;
    }
    let end = memchr::memchr(TAG_END, &line[1..line.len().min(HOST_MAX + 2)])? + 1;
    // A host of control characters is no tag (tailpulse writes none).
    if line[1..end].iter().any(|&b| b < 0x20 || b == 0x7f) {
        return None;
    }
    Some((end, end + 1))
}

/// `line` without its host tag, when it has one.
pub fn strip_tag(line: &[u8]) -> &[u8] {
    match split_tag(line) {
        Some((_, start)) => &line[start..],
        None => line,
    }
}

/// The log line inside `line`, as a sample shows it: without a host tag, a CRI prefix or a
/// JSON envelope around it.
pub fn inner_line(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let line = strip_tag(line);
    if let Some(start) = cri_start(line) {
        return std::borrow::Cow::Borrowed(&line[start..]);
    }
    match open(line) {
        Some(opened) => std::borrow::Cow::Owned(opened.line.into_bytes()),
        None => std::borrow::Cow::Borrowed(line),
    }
}

/// For a CRI line (`<RFC 3339 time> stdout|stderr F|P <line>`): where its line begins.
pub fn cri_start(line: &[u8]) -> Option<usize> {
    if line.len() < 21 || line[4] != b'-' || line[7] != b'-' || line[10] != b'T' {
        return None;
    }
    let time_end = memchr::memchr(b' ', line)?;
    let rest = &line[time_end + 1..];
    let stream_len = if rest.starts_with(b"stdout ") || rest.starts_with(b"stderr ") {
        7
    } else {
        return None;
    };
    match &rest[stream_len..] {
        [b'F' | b'P', b' ', ..] => Some(time_end + 1 + stream_len + 2),
        [b'F' | b'P'] => Some(line.len()),
        _ => None,
    }
}

/// A log line taken out of a JSON envelope, with the server named there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The log line, without surrounding whitespace.
    pub line: String,
    /// The server that logged it, when the envelope says.
    pub host: Option<String>,
}

/// The log line of a JSON envelope `obj` and its host, when `obj` is one.
pub fn open_object(obj: &Map<String, Value>) -> Option<Opened> {
    let line = LINE_FIELDS
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))?;
    let host = HOST_FIELDS.iter().find_map(|k| host_at(obj, k));
    Some(Opened {
        line: line.trim().to_owned(),
        host,
    })
}

/// The host name at `key` (dotted keys walk into objects; Filebeat's `host` is an object
/// whose `name` is the host).
fn host_at(obj: &Map<String, Value>, key: &str) -> Option<String> {
    let mut parts = key.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for part in parts {
        cur = cur.as_object()?.get(part)?;
    }
    let name = match cur {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("name")?.as_str()?,
        _ => return None,
    };
    let host = clean_host(name);
    (!host.is_empty()).then_some(host)
}

/// The log line of `line` when it is a JSON envelope.
pub fn open(line: &[u8]) -> Option<Opened> {
    if !line.starts_with(b"{") {
        return None;
    }
    match serde_json::from_slice::<Value>(line).ok()? {
        Value::Object(obj) => open_object(&obj),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_back_into_host_and_line() {
        let mut out = Vec::new();
        push_tagged(&mut out, " web-1\u{1f}\n ", b"GET /");
        assert_eq!(out, b"\x1eweb-1\x1fGET /\n");
        let line = &out[..out.len() - 1];
        let (end, start) = split_tag(line).unwrap();
        assert_eq!(
            (&line[1..end], &line[start..]),
            (&b"web-1"[..], &b"GET /"[..])
        );
        assert_eq!(split_tag(b"GET /"), None);
        assert_eq!(split_tag(b"\x1eno end"), None);
        let long = "h".repeat(400);
        assert_eq!(clean_host(&long).len(), HOST_MAX);
        assert_eq!(clean_host("caf\u{e9}\u{7}"), "caf\u{e9}");
    }

    #[test]
    fn cri_lines_give_their_line() {
        let l = b"2024-03-01T00:00:00.123456789Z stdout F 1.2.3.4 - - x";
        assert_eq!(&l[cri_start(l).unwrap()..], b"1.2.3.4 - - x");
        let e = b"2024-03-01T00:00:00Z stderr P part";
        assert_eq!(&e[cri_start(e).unwrap()..], b"part");
        assert_eq!(cri_start(b"2024-03-01T00:00:00Z stdin F x"), None);
        assert_eq!(
            cri_start(b"10.0.0.1 - - [01/Mar/2024:00:00:00 +0000]"),
            None
        );
        let empty = b"2024-03-01T00:00:00Z stdout F";
        assert_eq!(cri_start(empty), Some(empty.len()), "an empty line");
    }

    #[test]
    fn envelopes_of_docker_journald_vector_and_filebeat() {
        let docker = open(br#"{"log":"a line\n","stream":"stdout","time":"2024-03-01T00:00:00Z"}"#);
        assert_eq!(
            docker.unwrap(),
            Opened {
                line: "a line".into(),
                host: None
            }
        );
        let journald = open(br#"{"MESSAGE":"b","_HOSTNAME":"web-2","PRIORITY":"6"}"#).unwrap();
        assert_eq!(
            (journald.line.as_str(), journald.host.as_deref()),
            ("b", Some("web-2"))
        );
        let vector = open(br#"{"message":"c","host":"web-3","source_type":"file"}"#).unwrap();
        assert_eq!(vector.host.as_deref(), Some("web-3"));
        let filebeat = open(br#"{"message":"d","host":{"name":"web-4"}}"#).unwrap();
        assert_eq!(filebeat.host.as_deref(), Some("web-4"));
        assert_eq!(open(br#"{"status":200}"#), None);
        assert_eq!(open(br#"{"log":7}"#), None);
        assert_eq!(open(b"[1]"), None);
    }
}
