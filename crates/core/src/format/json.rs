//! JSON lines: nginx `log_format … escape=json`, Caddy's access log, Traefik's JSON log, and
//! any other JSON log through a field mapping.
//!
//! Each request field is looked up under a list of well-known keys (dotted keys walk into
//! nested objects, arrays give their first element); `--json-field FIELD=KEY[:UNIT]` puts a
//! key of the user's in front of that list.

use super::timing::TimeUnit;
use super::{FormatError, LineError};
use crate::request::{Request, split_request_line};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// For a line that is a JSON object tailpulse could not read: a hint naming `--json-field`
/// and the keys the line has. `None` when the line is not a JSON object.
pub fn mapping_hint(line: &[u8]) -> Option<String> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(line.trim_ascii()) else {
        return None;
    };
    let keys: Vec<String> = map
        .keys()
        .take(20)
        .map(|k| crate::text::clip(k, 40))
        .collect();
    Some(format!(
        "hint: this is JSON in a shape tailpulse does not know; map its keys with --json-field, e.g. --format json --json-field time=KEY --json-field path=KEY --json-field status=KEY (fields: {}); its keys: {}",
        FIELD_NAMES.map(|f| f.0).join(" "),
        keys.join(", ")
    ))
}

/// The request fields a JSON key can be mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Time,
    Method,
    Path,
    RequestLine,
    Protocol,
    Status,
    Bytes,
    ResponseTime,
    Client,
    UserAgent,
    Referer,
    Vhost,
    Host,
    RemoteUser,
    CacheStatus,
    Mime,
    Tls,
}

const FIELD_NAMES: [(&str, Field); 17] = [
    ("time", Field::Time),
    ("method", Field::Method),
    ("path", Field::Path),
    ("request", Field::RequestLine),
    ("protocol", Field::Protocol),
    ("status", Field::Status),
    ("bytes", Field::Bytes),
    ("response_time", Field::ResponseTime),
    ("client", Field::Client),
    ("user_agent", Field::UserAgent),
    ("referer", Field::Referer),
    ("vhost", Field::Vhost),
    ("host", Field::Host),
    ("remote_user", Field::RemoteUser),
    ("cache_status", Field::CacheStatus),
    ("mime", Field::Mime),
    ("tls", Field::Tls),
];

/// Well-known keys per field, in order of preference. Response-time keys carry their unit.
const DEFAULT_KEYS: &[(Field, &str, Option<TimeUnit>)] = &[
    (Field::Time, "time", None),
    (Field::Time, "timestamp", None),
    (Field::Time, "ts", None),
    (Field::Time, "@timestamp", None),
    (Field::Time, "time_iso8601", None),
    (Field::Time, "time_local", None),
    (Field::Time, "StartUTC", None),
    (Field::Time, "date", None),
    (Field::Method, "method", None),
    (Field::Method, "request_method", None),
    (Field::Method, "request.method", None),
    (Field::Method, "RequestMethod", None),
    (Field::Method, "http.method", None),
    (Field::Path, "request_uri", None),
    (Field::Path, "uri", None),
    (Field::Path, "request.uri", None),
    (Field::Path, "RequestPath", None),
    (Field::Path, "path", None),
    (Field::Path, "url", None),
    (Field::Path, "http.url", None),
    (Field::RequestLine, "request", None),
    (Field::Protocol, "server_protocol", None),
    (Field::Protocol, "protocol", None),
    (Field::Protocol, "request.proto", None),
    (Field::Protocol, "RequestProtocol", None),
    (Field::Status, "status", None),
    (Field::Status, "status_code", None),
    (Field::Status, "DownstreamStatus", None),
    (Field::Status, "http.status_code", None),
    (Field::Status, "response.status", None),
    (Field::Status, "statusCode", None),
    (Field::Status, "http_status", None),
    (Field::Status, "code", None),
    (Field::Bytes, "body_bytes_sent", None),
    (Field::Bytes, "bytes_sent", None),
    (Field::Bytes, "size", None),
    (Field::Bytes, "DownstreamContentSize", None),
    (Field::Bytes, "bytes", None),
    (Field::Bytes, "response_size", None),
    (Field::ResponseTime, "request_time", Some(TimeUnit::Seconds)),
    (Field::ResponseTime, "duration", Some(TimeUnit::Seconds)),
    (Field::ResponseTime, "Duration", Some(TimeUnit::Nanos)),
    (Field::ResponseTime, "duration_ms", Some(TimeUnit::Millis)),
    (
        Field::ResponseTime,
        "response_time_ms",
        Some(TimeUnit::Millis),
    ),
    (Field::ResponseTime, "latency_ms", Some(TimeUnit::Millis)),
    (Field::ResponseTime, "elapsed_ms", Some(TimeUnit::Millis)),
    (Field::ResponseTime, "response_time", Some(TimeUnit::Millis)),
    (
        Field::ResponseTime,
        "upstream_response_time",
        Some(TimeUnit::Seconds),
    ),
    (Field::Client, "remote_addr", None),
    (Field::Client, "client_ip", None),
    (Field::Client, "request.client_ip", None),
    (Field::Client, "request.remote_ip", None),
    (Field::Client, "ClientHost", None),
    (Field::Client, "remote_ip", None),
    (Field::Client, "ip", None),
    (Field::Client, "client", None),
    (Field::Client, "clientIp", None),
    (Field::Client, "remote_host", None),
    (Field::Client, "remote", None),
    (Field::UserAgent, "http_user_agent", None),
    (Field::UserAgent, "user_agent", None),
    (Field::UserAgent, "request.headers.User-Agent", None),
    (Field::UserAgent, "request_User-Agent", None),
    (Field::UserAgent, "userAgent", None),
    (Field::UserAgent, "agent", None),
    (Field::Referer, "http_referer", None),
    (Field::Referer, "referer", None),
    (Field::Referer, "request.headers.Referer", None),
    (Field::Referer, "request_Referer", None),
    (Field::Referer, "referrer", None),
    (Field::Vhost, "host", None),
    (Field::Vhost, "server_name", None),
    (Field::Vhost, "request.host", None),
    (Field::Vhost, "RequestHost", None),
    (Field::Vhost, "vhost", None),
    // The server that logged the line (Filebeat's `host.name`, journald's `_HOSTNAME`); a
    // bare `host` is the virtual host of web servers' JSON logs.
    (Field::Host, "hostname", None),
    (Field::Host, "host.name", None),
    (Field::Host, "host.hostname", None),
    (Field::Host, "_HOSTNAME", None),
    (Field::RemoteUser, "remote_user", None),
    (Field::RemoteUser, "user", None),
    (Field::CacheStatus, "upstream_cache_status", None),
    (Field::CacheStatus, "cache_status", None),
    (Field::CacheStatus, "cache", None),
    (Field::Mime, "sent_http_content_type", None),
    (Field::Mime, "content_type", None),
    (Field::Tls, "ssl_protocol", None),
    (Field::Tls, "tls_version", None),
];

/// A JSON-lines parser with its key mapping.
#[derive(Debug, Clone)]
pub struct Json {
    keys: Vec<(Field, String, Option<TimeUnit>)>,
}

impl Default for Json {
    fn default() -> Self {
        Json {
            keys: DEFAULT_KEYS
                .iter()
                .map(|(f, k, u)| (*f, (*k).to_owned(), *u))
                .collect(),
        }
    }
}

impl Json {
    /// A parser with the well-known keys plus the user's overrides (`field`, `key[:unit]`).
    pub fn with_overrides(overrides: &[(String, String)]) -> Result<Self, FormatError> {
        let mut keys = Vec::new();
        for (field, spec) in overrides {
            let f = FIELD_NAMES
                .iter()
                .find(|(n, _)| n == field)
                .map(|(_, f)| *f)
                .ok_or_else(|| FormatError::JsonField(format!("unknown field {field:?}")))?;
            let (key, unit) = match spec.rsplit_once(':') {
                Some((k, u)) if f == Field::ResponseTime => {
                    let unit = TimeUnit::from_suffix(u)
                        .ok_or_else(|| FormatError::JsonField(format!("unknown unit {u:?}")))?;
                    (k.to_owned(), Some(unit))
                }
                _ if f == Field::ResponseTime => (spec.clone(), Some(TimeUnit::Millis)),
                _ => (spec.clone(), None),
            };
            keys.push((f, key, unit));
        }
        keys.extend(Json::default().keys);
        Ok(Json { keys })
    }

    fn find<'m>(
        &self,
        map: &'m Map<String, Value>,
        field: Field,
    ) -> Option<(&'m Value, Option<TimeUnit>)> {
        self.keys
            .iter()
            .filter(|(f, _, _)| *f == field)
            .find_map(|(_, key, unit)| lookup(map, key).map(|v| (v, *unit)))
    }

    fn text(&self, map: &Map<String, Value>, field: Field) -> Cow<'static, str> {
        match self.find(map, field).map(|(v, _)| v) {
            Some(Value::String(s)) if s != "-" => Cow::Owned(s.clone()),
            Some(Value::Number(n)) => Cow::Owned(n.to_string()),
            _ => Cow::Borrowed(""),
        }
    }

    /// Parses one line.
    pub fn parse(&self, line: &[u8]) -> Result<Request<'static>, LineError> {
        let map: Map<String, Value> =
            serde_json::from_slice(line).map_err(|_| LineError::NotJson)?;
        let mut req = Request {
            ts_ms: self
                .find(&map, Field::Time)
                .and_then(|(v, _)| time_of(v))
                .ok_or(LineError::Field("time"))?,
            status: self
                .find(&map, Field::Status)
                .and_then(|(v, _)| number(v))
                .and_then(|n| {
                    u16::try_from(n as u64)
                        .ok()
                        .filter(|s| (100..600).contains(s))
                })
                .ok_or(LineError::Field("status"))?,
            bytes: self
                .find(&map, Field::Bytes)
                .and_then(|(v, _)| number(v))
                .map_or(0, |n| n as u64),
            response_ms: self
                .find(&map, Field::ResponseTime)
                .and_then(|(v, unit)| Some(unit.unwrap_or(TimeUnit::Millis).to_ms(number(v)?))),
            client: self.text(&map, Field::Client),
            user_agent: self.text(&map, Field::UserAgent),
            referer: self.text(&map, Field::Referer),
            vhost: self.text(&map, Field::Vhost),
            host: match self.text(&map, Field::Host) {
                Cow::Borrowed(_) => Cow::Borrowed(""),
                Cow::Owned(h) => Cow::Owned(super::envelope::clean_host(&h)),
            },
            method: self.text(&map, Field::Method),
            path: self.text(&map, Field::Path),
            protocol: self.text(&map, Field::Protocol),
            remote_user: self.text(&map, Field::RemoteUser),
            cache_status: self.text(&map, Field::CacheStatus),
            mime: self.text(&map, Field::Mime),
            tls: self.text(&map, Field::Tls),
        };
        if req.path.is_empty() {
            let line = self.text(&map, Field::RequestLine);
            let (m, p, proto) = split_request_line(&line);
            let (m, p, proto) = (m.into_owned(), p.into_owned(), proto.into_owned());
            if p.is_empty() {
                return Err(LineError::Field("path"));
            }
            req.path = Cow::Owned(p);
            if req.method.is_empty() {
                req.method = Cow::Owned(m);
            }
            if req.protocol.is_empty() {
                req.protocol = Cow::Owned(proto);
            }
        }
        Ok(req)
    }
}

/// Finds `key` in `map`: the literal key first, then as a dotted path into nested objects.
fn lookup<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    if let Some(v) = map.get(key) {
        return Some(first(v));
    }
    let mut parts = key.split('.');
    let mut cur = map.get(parts.next()?)?;
    for part in parts {
        cur = first(cur).as_object()?.get(part)?;
    }
    Some(first(cur)).filter(|v| !v.is_null())
}

/// The first element of an array (Caddy logs headers as lists), or the value itself.
fn first(v: &Value) -> &Value {
    match v {
        Value::Array(a) => a.first().unwrap_or(v),
        _ => v,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite() && *n >= 0.0)
}

fn time_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => crate::time::from_epoch_number(n.as_f64()?),
        Value::String(s) => crate::time::parse_iso(s)
            .or_else(|| crate::time::parse_clf(s.as_bytes()))
            .or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .and_then(crate::time::from_epoch_number)
            }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_escape_json() {
        let line = br#"{"time_iso8601":"2024-03-01T12:00:00+09:00","remote_addr":"10.0.0.1","request":"GET /api/users/7?x=1 HTTP/2.0","status":"200","body_bytes_sent":"512","request_time":"0.042","http_referer":"","http_user_agent":"curl/8.5 \"q\""}"#;
        let r = Json::default().parse(line).unwrap();
        assert_eq!(
            r.ts_ms,
            crate::time::parse_iso("2024-03-01T03:00:00Z").unwrap()
        );
        assert_eq!(
            (r.method.as_ref(), r.path.as_ref(), r.protocol.as_ref()),
            ("GET", "/api/users/7?x=1", "HTTP/2.0")
        );
        assert_eq!((r.status, r.bytes), (200, 512));
        assert_eq!(r.response_ms, Some(42.0));
        assert_eq!(r.user_agent, "curl/8.5 \"q\"");
    }

    #[test]
    fn caddy() {
        let line = br#"{"level":"info","ts":1709294400.25,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"127.0.0.1","client_ip":"203.0.113.5","proto":"HTTP/2.0","method":"POST","host":"example.com","uri":"/login","headers":{"User-Agent":["Mozilla/5.0"],"Referer":["https://example.com/"]}},"bytes_read":0,"duration":0.0123,"size":1024,"status":302}"#;
        let r = Json::default().parse(line).unwrap();
        assert_eq!(r.ts_ms, 1_709_294_400_250);
        assert_eq!((r.method.as_ref(), r.path.as_ref()), ("POST", "/login"));
        assert_eq!(r.client, "203.0.113.5");
        assert_eq!(r.vhost, "example.com");
        assert_eq!(r.user_agent, "Mozilla/5.0");
        assert_eq!(r.referer, "https://example.com/");
        assert_eq!((r.status, r.bytes), (302, 1024));
        assert!((r.response_ms.unwrap() - 12.3).abs() < 1e-9);
    }

    #[test]
    fn traefik_json() {
        let line = br#"{"ClientHost":"192.0.2.1","DownstreamContentSize":99,"DownstreamStatus":404,"Duration":2500000,"RequestHost":"api.local","RequestMethod":"GET","RequestPath":"/nope","RequestProtocol":"HTTP/1.1","StartUTC":"2024-03-01T12:00:00.5Z","request_User-Agent":"bot"}"#;
        let r = Json::default().parse(line).unwrap();
        assert_eq!((r.status, r.response_ms), (404, Some(2.5)));
        assert_eq!(r.vhost, "api.local");
        assert_eq!(r.user_agent, "bot");
    }

    #[test]
    fn overrides() {
        let p = Json::with_overrides(&[
            ("path".into(), "req.target".into()),
            ("response_time".into(), "lat:us".into()),
            ("time".into(), "when".into()),
        ])
        .unwrap();
        let r = p
            .parse(
                br#"{"when":"2024-03-01T12:00:00Z","req":{"target":"/x"},"status":500,"lat":2000}"#,
            )
            .unwrap();
        assert_eq!((r.path.as_ref(), r.response_ms), ("/x", Some(2.0)));
        assert!(Json::with_overrides(&[("nope".into(), "x".into())]).is_err());
        assert!(Json::with_overrides(&[("response_time".into(), "x:hours".into())]).is_err());
    }

    #[test]
    fn rejects() {
        let p = Json::default();
        assert_eq!(p.parse(b"not json"), Err(LineError::NotJson));
        assert_eq!(p.parse(b"[1,2]"), Err(LineError::NotJson));
        assert_eq!(
            p.parse(br#"{"status":200,"uri":"/"}"#),
            Err(LineError::Field("time"))
        );
        assert_eq!(
            p.parse(br#"{"time":"2024-03-01T12:00:00Z","status":99,"uri":"/"}"#),
            Err(LineError::Field("status"))
        );
        assert_eq!(
            p.parse(br#"{"time":"2024-03-01T12:00:00Z","status":200}"#),
            Err(LineError::Field("path"))
        );
    }
}
