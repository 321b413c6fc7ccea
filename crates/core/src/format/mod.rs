//! Log formats: one module each, the same interface, and detection from the first lines.
//!
//! Every parser turns one line (bytes, without its newline) into a [`Request`] or a
//! [`LineError`]; `Ok(None)` is a line that holds no request (blank, comment, header).

pub mod clf;
pub mod custom;
pub mod detect;
pub mod envelope;
pub mod json;
pub mod timing;
pub mod w3c;

use crate::request::{Line, Request};
use serde::Serialize;

pub use detect::detect;
pub use timing::TimeUnit;

/// Why a line could not be read as a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// A field the format requires is missing or unreadable.
    #[error("missing or malformed {0}")]
    Field(&'static str),
    /// The line is not a JSON object.
    #[error("not a JSON object")]
    NotJson,
    /// A JSON object where a line of a text format was expected, with no log line in it.
    #[error("a JSON object with no log line in it (log, MESSAGE or message)")]
    NoLogLine,
    /// A line that starts like a host tag (byte 0x1E) but is not one.
    #[error("a malformed host tag (byte 0x1E)")]
    Tag,
}

/// The log formats tailpulse reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FormatKind {
    /// nginx/Apache combined (common is read by the same parser), optional timing fields.
    Combined,
    /// Apache `vhost_combined`: `host:port` before the combined fields.
    VhostCombined,
    /// Traefik's common log format (combined + request count, router, backend, duration).
    Traefik,
    /// JSON lines: nginx `escape=json`, Caddy, Traefik JSON, or a mapping given by flags.
    Json,
    /// W3C extended (IIS), fields named by the `#Fields:` header.
    W3c,
    /// A GoAccess-style format string given with `--log-format`.
    Custom,
}

impl crate::choice::Choice for FormatKind {
    const CHOICES: &'static [(&'static str, &'static str, Self)] = &[
        (
            "combined",
            "nginx/Apache combined (common is read by the same parser), optional timing fields",
            FormatKind::Combined,
        ),
        (
            "vhost-combined",
            "Apache `vhost_combined`: `host:port` before the combined fields",
            FormatKind::VhostCombined,
        ),
        (
            "traefik",
            "Traefik's common log format (combined + request count, router, backend, duration)",
            FormatKind::Traefik,
        ),
        (
            "json",
            "JSON lines: nginx `escape=json`, Caddy, Traefik JSON, or a mapping given by flags",
            FormatKind::Json,
        ),
        (
            "w3c",
            "W3C extended (IIS), fields named by the `#Fields:` header",
            FormatKind::W3c,
        ),
        (
            "custom",
            "A GoAccess-style format string given with `--log-format`",
            FormatKind::Custom,
        ),
    ];
}

impl FormatKind {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Combined => "combined",
            FormatKind::VhostCombined => "vhost-combined",
            FormatKind::Traefik => "traefik",
            FormatKind::Json => "json",
            FormatKind::W3c => "w3c",
            FormatKind::Custom => "custom",
        }
    }
}

/// What the user told about the format; everything left `None` is detected.
#[derive(Debug, Clone, Default)]
pub struct FormatOptions {
    /// Force a format instead of detecting it.
    pub kind: Option<FormatKind>,
    /// A GoAccess format string (or a GoAccess preset name such as `COMBINED`).
    pub log_format: Option<String>,
    /// strftime date format for `%d` in `log_format` (GoAccess `--date-format`).
    pub date_format: Option<String>,
    /// strftime time format for `%t` in `log_format` (GoAccess `--time-format`).
    pub time_format: Option<String>,
    /// Unit of integer response times in text formats (Apache `%D` is µs, `%T` is s).
    pub time_unit: Option<TimeUnit>,
    /// JSON field mapping overrides: `(field, key[:unit])`, e.g. `("response_time", "lat:ms")`.
    pub json_fields: Vec<(String, String)>,
}

/// A ready parser for one input, holding whatever state its format needs.
#[derive(Debug, Clone)]
pub enum Parser {
    /// combined, common, vhost-combined and Traefik CLF.
    Clf(clf::Clf),
    /// JSON lines.
    Json(json::Json),
    /// W3C extended.
    W3c(w3c::W3c),
    /// GoAccess-style format string.
    Custom(custom::Custom),
}

impl Parser {
    /// Parses one line (without its newline).
    #[inline]
    pub fn parse<'a>(
        &mut self,
        line: impl Into<Line<'a>>,
    ) -> Result<Option<Request<'a>>, LineError> {
        let mut req = Request::default();
        Ok(self.parse_into(line, &mut req)?.then_some(req))
    }

    /// [`Parser::parse`] into `req`, filled in place: true when the line was a request, false
    /// when it was skipped (blank, or a header line).
    ///
    /// A line in an envelope (a host tag, a CRI prefix, or a container's or shipper's JSON,
    /// see [`envelope`]) is read as the line inside, and takes the envelope's host.
    #[inline]
    pub fn parse_into<'a>(
        &mut self,
        line: impl Into<Line<'a>>,
        req: &mut Request<'a>,
    ) -> Result<bool, LineError> {
        let line = line.into().trim();
        let b = line.bytes();
        if b.first() != Some(&envelope::TAG) {
            return self.parse_unwrapped(line, req);
        }
        let (end, start) = envelope::split_tag(b).ok_or(LineError::Tag)?;
        let inner = line.from_byte(start).trim();
        if inner.bytes().first() == Some(&envelope::TAG) {
            return Err(LineError::Tag);
        }
        // What a sender sent may itself be wrapped (a CRI or Docker line posted as text).
        let ok = self.parse_unwrapped(inner, req)?;
        if ok && req.host.is_empty() {
            req.host = line.text(&b[1..end]);
        }
        Ok(ok)
    }

    /// [`Parser::parse_into`] for a line with no host tag: bare, or in a CRI or JSON
    /// envelope.
    #[inline]
    fn parse_unwrapped<'a>(
        &mut self,
        line: Line<'a>,
        req: &mut Request<'a>,
    ) -> Result<bool, LineError> {
        let b = line.bytes();
        let json = matches!(self, Parser::Json(_));
        if !json
            && b.first() == Some(&b'{')
            && let Some(opened) = envelope::open(b)
        {
            return self.parse_opened(opened, req);
        }
        // The bare line first: the other envelopes are looked for only in lines that are no
        // request as they are, so the usual line pays nothing for them.
        match self.parse_bare(line, req) {
            Err(e) => {
                if let Some(start) = envelope::cri_start(b) {
                    return self.parse_bare(line.from_byte(start).trim(), req);
                }
                if !json && b.first() == Some(&b'{') {
                    return Err(LineError::NoLogLine);
                }
                // A JSON line that is no request may be an envelope around one.
                match json.then(|| envelope::open(b)).flatten() {
                    Some(opened) => self.parse_opened(opened, req).map_err(|_| e),
                    None => Err(e),
                }
            }
            r => r,
        }
    }

    /// Parses a line that is in no envelope.
    #[inline]
    fn parse_bare<'a>(&mut self, line: Line<'a>, req: &mut Request<'a>) -> Result<bool, LineError> {
        if line.bytes().is_empty() {
            return Ok(false);
        }
        match self {
            Parser::Clf(p) => p.parse_into(line, req)?,
            Parser::Json(p) => *req = p.parse(line.bytes())?,
            Parser::W3c(p) => match p.parse(line)? {
                Some(r) => *req = r,
                None => return Ok(false),
            },
            Parser::Custom(p) => *req = p.parse(line)?,
        }
        Ok(true)
    }

    /// Parses the line taken out of a JSON envelope.
    fn parse_opened(
        &mut self,
        opened: envelope::Opened,
        req: &mut Request<'_>,
    ) -> Result<bool, LineError> {
        let mut inner = Request::default();
        // Fluent Bit's tail input without its CRI parser sends CRI lines under `log`.
        let line = Line::from_text(&opened.line);
        let start = envelope::cri_start(line.bytes()).unwrap_or(0);
        let ok = self.parse_bare(line.from_byte(start).trim(), &mut inner)?;
        if ok {
            if inner.host.is_empty()
                && let Some(host) = opened.host
            {
                inner.host = std::borrow::Cow::Owned(host);
            }
            *req = inner.into_owned();
        }
        Ok(ok)
    }

    /// Which format this parser reads.
    pub fn kind(&self) -> FormatKind {
        match self {
            Parser::Clf(p) => p.kind(),
            Parser::Json(_) => FormatKind::Json,
            Parser::W3c(_) => FormatKind::W3c,
            Parser::Custom(_) => FormatKind::Custom,
        }
    }
}

/// The error for a format option that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// A `--log-format` string that cannot be compiled.
    #[error("invalid --log-format: {0}")]
    LogFormat(String),
    /// A `--json-field` mapping that names an unknown field or unit.
    #[error("invalid --json-field: {0}")]
    JsonField(String),
}
