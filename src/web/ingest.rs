//! `POST /api/ingest`: log lines sent by shippers (Vector's and Fluent Bit's `http` outputs,
//! curl). An accepted batch is appended to a spool file and synced to disk before the answer,
//! and the live run follows the spool files like any log — so what was acknowledged survives
//! kill -9, and restarts, rotation and exactly-once counting are the file pipeline's.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tailpulse_core::format::FormatKind;

/// The spool file raw text lines of a detected format go to.
pub const TEXT_SPOOL: &str = "ingest-text.log";
/// The spool file JSON records go to.
pub const JSON_SPOOL: &str = "ingest-json.log";
/// A spool file this large, once read to its end, is rotated.
const ROTATE_BYTES: u64 = 64 << 20;
/// The formats a sender may name for its text lines (`?format=` or `X-Tailpulse-Format`);
/// each has a spool file of its own, read in that format.
pub const NAMED_FORMATS: [FormatKind; 3] = [
    FormatKind::Combined,
    FormatKind::VhostCombined,
    FormatKind::Traefik,
];

/// The spool file of text lines in `format` (`None`: detected from its first lines).
fn text_spool(format: Option<FormatKind>) -> String {
    match format {
        None => TEXT_SPOOL.to_owned(),
        Some(k) => format!("ingest-text-{}.log", k.name()),
    }
}

/// Every spool file, with the format it is read in when that is fixed.
fn spool_files() -> Vec<(String, Option<FormatKind>)> {
    let mut out = vec![(TEXT_SPOOL.to_owned(), None)];
    out.extend(NAMED_FORMATS.map(|k| (text_spool(Some(k)), Some(k))));
    out.push((JSON_SPOOL.to_owned(), Some(FormatKind::Json)));
    out
}

/// Where accepted batches go, and the limits on them.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    /// The largest body accepted, compressed or not (413 above).
    pub max_body: usize,
    /// Bytes the run may have left to read in the spool before senders are told to wait
    /// (503 with Retry-After).
    pub max_behind: u64,
    /// Open spool files by name.
    writers: Mutex<std::collections::HashMap<String, std::fs::File>>,
    /// The run's readers, which say how much of each spool file is still unread.
    readers: std::sync::OnceLock<std::sync::Arc<crate::health::Health>>,
}

impl Spool {
    /// Spool files in `dir` (created).
    pub fn open(dir: &Path, max_body: usize) -> std::io::Result<Spool> {
        std::fs::create_dir_all(dir)?;
        for (name, _) in spool_files() {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))?;
        }
        Ok(Spool {
            dir: dir.to_owned(),
            max_body,
            max_behind: 256 << 20,
            writers: Mutex::default(),
            readers: std::sync::OnceLock::new(),
        })
    }

    /// Learns how far the run's readers are from `health` (once the run has started).
    pub fn read_by(&self, health: std::sync::Arc<crate::health::Health>) {
        let _ = self.readers.set(health);
    }

    /// Bytes of the spool file `path` not read yet (unknown before the run started: 0,
    /// and then no file is rotated).
    fn behind(&self, path: &str) -> Option<u64> {
        let h = self.readers.get()?;
        Some(
            h.counters()
                .files_behind
                .iter()
                .filter(|(n, _)| n.as_ref() == path)
                .map(|(_, b)| *b)
                .sum(),
        )
    }

    /// Bytes of all spool files not read yet.
    pub fn pending(&self) -> u64 {
        self.inputs()
            .iter()
            .filter_map(|(p, _)| self.behind(p))
            .sum()
    }

    /// The spool files, as inputs for the run to follow, with the format each is read in
    /// when that is fixed.
    pub fn inputs(&self) -> Vec<(String, Option<FormatKind>)> {
        spool_files()
            .into_iter()
            .map(|(n, k)| (self.dir.join(n).to_string_lossy().into_owned(), k))
            .collect()
    }

    /// Appends raw log lines (whole lines) to the text spool and syncs it.
    pub fn append_text(&self, text: &[u8]) -> std::io::Result<()> {
        self.append(&[(TEXT_SPOOL.to_owned(), text)])
    }

    /// Appends each batch (whole lines) to its spool file and syncs it.
    fn append(&self, batches: &[(String, &[u8])]) -> std::io::Result<()> {
        let mut w = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        for (name, data) in batches {
            if data.is_empty() {
                continue;
            }
            let path = self.dir.join(name);
            // Large and read to its end: moved aside under a name of its own (never over
            // another), and a new file begins; the run finishes the old one first.
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if len >= ROTATE_BYTES && self.behind(&path.to_string_lossy()) == Some(0) {
                let aside = path.with_extension(format!("log.{}", crate::clock::now_ms()));
                std::fs::rename(&path, aside)?;
                w.remove(name);
            }
            let file = match w.entry(name.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)?,
                ),
            };
            let before = file.metadata()?.len();
            let written = file.write_all(data).and_then(|()| file.sync_data());
            if let Err(e) = written {
                // Nothing half-written stays: the next batch must not be glued to it.
                let _ = file.set_len(before);
                w.remove(name);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Lines of a body, sorted into the spools: raw log lines, and JSON records.
#[derive(Debug, Default, PartialEq)]
pub struct Sorted {
    /// Raw log lines, each ending in `\n`.
    pub text: Vec<u8>,
    /// JSON records, one a line.
    pub json: Vec<u8>,
    /// Lines taken.
    pub lines: u64,
}

use tailpulse_core::format::envelope;

/// Sorts one JSON record: an envelope around a log line gives the line, tagged with the
/// envelope's host or else `host`; any other object is a record for the JSON format, tagged
/// with `host` (a host field of the record itself wins when the record is read).
fn sort_record(v: &serde_json::Value, host: &str, out: &mut Sorted) {
    let obj = match v {
        serde_json::Value::Object(o) => o,
        serde_json::Value::Array(items) => {
            for i in items {
                sort_record(i, host, out);
            }
            return;
        }
        _ => return,
    };
    match envelope::open_object(obj) {
        Some(opened) => {
            let host = opened.host.as_deref().unwrap_or(host);
            for l in opened.line.lines().filter(|l| !l.trim().is_empty()) {
                envelope::push_tagged(&mut out.text, host, l.as_bytes());
                out.lines += 1;
            }
        }
        None => {
            if let Ok(s) = serde_json::to_vec(v) {
                envelope::push_tagged(&mut out.json, host, &s);
                out.lines += 1;
            }
        }
    }
}

/// Sorts a body of `kind` into spool lines, each tagged with the host that sent it (`host`,
/// unless an envelope names its own); `Err` says why it is refused.
pub fn sort_body(body: &[u8], json: bool, host: &str) -> Result<Sorted, String> {
    let mut out = Sorted::default();
    if json {
        // One record a line, or one array or object for the whole body.
        let whole = serde_json::from_slice::<serde_json::Value>(body);
        match whole {
            Ok(v) => sort_record(&v, host, &mut out),
            Err(_) => {
                for (i, line) in body.split(|&b| b == b'\n').enumerate() {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let v: serde_json::Value = serde_json::from_slice(line)
                        .map_err(|e| format!("line {} is not JSON: {e}", i + 1))?;
                    sort_record(&v, host, &mut out);
                }
            }
        }
        return Ok(out);
    }
    let tag = envelope::HostTag::new(host);
    let mut start = 0;
    let lines = memchr::memchr_iter(b'\n', body)
        .chain((body.last() != Some(&b'\n')).then_some(body.len()))
        .map(|end| {
            let line = &body[start..end];
            start = end + 1;
            line
        });
    out.text.reserve(body.len() + body.len() / 8);
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        tag.push(&mut out.text, line);
        out.lines += 1;
    }
    Ok(out)
}

/// The header that names the server a body's lines come from.
pub const HOST_HEADER: &str = "x-tailpulse-host";

/// The header that names the format of a body's text lines.
pub const FORMAT_HEADER: &str = "x-tailpulse-format";

/// The value of the query parameter `name`.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The format a body's text lines are in, when the sender names it (`X-Tailpulse-Format`
/// or `?format=`; `auto` or nothing: detected); `Err` names the formats there are.
fn named_format(headers: &HeaderMap, query: Option<&str>) -> Result<Option<FormatKind>, String> {
    let named = headers
        .get(FORMAT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_param(query, "format"));
    let Some(name) = named.map(|n| n.trim().to_ascii_lowercase()) else {
        return Ok(None);
    };
    if name.is_empty() || name == "auto" {
        return Ok(None);
    }
    if name == FormatKind::Json.name() {
        return Ok(Some(FormatKind::Json));
    }
    NAMED_FORMATS
        .into_iter()
        .find(|k| k.name() == name)
        .map(Some)
        .ok_or_else(|| {
            let names: Vec<&str> = NAMED_FORMATS.iter().map(|k| k.name()).collect();
            format!(
                "unknown format {:?}: name one of auto, json, {}",
                crate::text::clip(&name, 40),
                names.join(", ")
            )
        })
}

/// The host of a body's lines: the `X-Tailpulse-Host` header, the `host` query parameter,
/// or else the sender's address.
fn sender_host(headers: &HeaderMap, query: Option<&str>, peer: Option<std::net::IpAddr>) -> String {
    let from_query = query_param(query, "host");
    headers
        .get(HOST_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(from_query)
        .map(|h| envelope::clean_host(&h))
        .filter(|h| !h.is_empty())
        .or_else(|| peer.map(|ip| ip.to_string()))
        .unwrap_or_else(|| "(unknown)".to_owned())
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": why }))).into_response()
}

/// Why a body is refused: the status and what to tell the sender.
type Refusal = (StatusCode, String);

/// The body, gunzipped when its encoding says so, within `max` bytes.
fn decoded<'a>(
    headers: &HeaderMap,
    body: &'a Bytes,
    max: usize,
) -> Result<std::borrow::Cow<'a, [u8]>, Refusal> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .to_ascii_lowercase();
    match encoding.as_str() {
        "identity" => Ok(std::borrow::Cow::Borrowed(&body[..])),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            let limit = u64::try_from(max).unwrap_or(u64::MAX) + 1;
            flate2::read::MultiGzDecoder::new(&body[..])
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad gzip body: {e}")))?;
            if out.len() > max {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the uncompressed body is too large".into(),
                ));
            }
            Ok(std::borrow::Cow::Owned(out))
        }
        other => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported content-encoding {:?}",
                crate::text::clip(other, 40)
            ),
        )),
    }
}

/// `POST /api/ingest`: `application/x-ndjson` or `application/json` (records, or envelopes
/// around log lines), or `text/plain` log lines; gzip bodies too.
pub async fn ingest(
    State(st): State<super::AppState>,
    peer: Option<axum::Extension<super::auth::Peer>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(spool) = st.spool.clone() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "ingest is off (tailpulse run --ingest turns it on)",
        );
    };
    // A browser page elsewhere must not post lines here (shippers send no Origin).
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v != "same-origin" && v != "none")
        || headers.contains_key(header::ORIGIN);
    if cross_site {
        tracing::warn!(target: "web", "cross-site ingest request refused");
        return refuse(
            StatusCode::FORBIDDEN,
            "cross-site requests cannot send lines",
        );
    }
    if body.len() > spool.max_body {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large");
    }
    // A few bodies are decoded at a time; the others are told to come back.
    static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
    let Ok(_turn) = DECODING.try_acquire() else {
        let mut res = refuse(StatusCode::SERVICE_UNAVAILABLE, "busy; send again shortly");
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return res;
    };
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/plain")
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let mut json = match media.as_str() {
        "application/x-ndjson" | "application/json" | "application/jsonlines" => true,
        "text/plain" | "" => false,
        other => {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!(
                    "content-type {:?}: send application/x-ndjson, application/json or text/plain",
                    crate::text::clip(other, 60)
                ),
            );
        }
    };
    // The format of text lines, when the sender names it; JSON lines go with the records.
    let format = match named_format(&headers, uri.query()) {
        Ok(Some(FormatKind::Json)) => {
            json = true;
            None
        }
        Ok(f) => f,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, &why),
    };
    let pending = spool.pending();
    if pending > spool.max_behind {
        let mut res = refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the analysis is behind; send again later",
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return res;
    }
    let host = sender_host(&headers, uri.query(), peer.map(|p| p.0.0.ip()));
    let work = tokio::task::spawn_blocking(move || {
        crate::health::as_part("web", || {
            let body = decoded(&headers, &body, spool.max_body)?;
            let sorted =
                sort_body(&body, json, &host).map_err(|why| (StatusCode::BAD_REQUEST, why))?;
            let batches = [
                (text_spool(format), &sorted.text[..]),
                (JSON_SPOOL.to_owned(), &sorted.json[..]),
            ];
            spool.append(&batches).map_err(|e| {
                tracing::error!(target: "web", error = %e, "cannot write the ingest spool");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cannot keep the lines now; send again".to_owned(),
                )
            })?;
            Ok::<_, Refusal>(sorted.lines)
        })
    })
    .await;
    match work {
        Ok(Ok(lines)) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "accepted": lines })),
        )
            .into_response(),
        Ok(Err((status, why))) => refuse(status, &why),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "ingest failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_give_their_line_and_records_stay_json() {
        let body = br#"{"message":"1.2.3.4 - - [01/Mar/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5","host":"web-1"}
{"log":"5.6.7.8 - - [01/Mar/2024:00:00:01 +0000] \"GET /a HTTP/1.1\" 404 0\n","stream":"stdout","time":"2024-03-01T00:00:01Z"}
{"status":200,"request":"GET /x HTTP/1.1","time_local":"01/Mar/2024:00:00:02 +0000"}
"#;
        let s = sort_body(body, true, "sender").unwrap();
        assert_eq!(s.lines, 3);
        let text = String::from_utf8(s.text).unwrap();
        let hosts: Vec<&str> = text
            .lines()
            .map(|l| &l[1..l.find('\u{1f}').unwrap()])
            .collect();
        assert_eq!(hosts, ["web-1", "sender"], "the envelope's host wins");
        assert!(String::from_utf8_lossy(&s.json).starts_with("\u{1e}sender\u{1f}{"));
        let arr = sort_body(br#"[{"log":"a"},{"log":"b"}]"#, true, "h").unwrap();
        assert_eq!(arr.text, b"\x1eh\x1fa\n\x1eh\x1fb\n");
        assert!(sort_body(b"{\"a\":1}\nnot json\n", true, "h").is_err());
        let text = sort_body(b"one\r\n\ntwo", false, "h").unwrap();
        assert_eq!(
            (text.text.as_slice(), text.lines),
            (&b"\x1eh\x1fone\n\x1eh\x1ftwo\n"[..], 2)
        );
    }

    #[test]
    fn the_host_header_wins_over_the_query_and_the_address() {
        let mut headers = HeaderMap::new();
        let peer = Some(std::net::IpAddr::from([10, 0, 0, 9]));
        assert_eq!(sender_host(&headers, None, peer), "10.0.0.9");
        assert_eq!(
            sender_host(&headers, Some("a=1&host=web%2D7"), peer),
            "web-7"
        );
        headers.insert(HOST_HEADER, HeaderValue::from_static("web-8\t"));
        assert_eq!(sender_host(&headers, Some("host=web-7"), peer), "web-8");
    }
}
