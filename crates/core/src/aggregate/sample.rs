//! Copies of single requests kept for tables and prompts (slowest, most recent, rejected).

use crate::request::Request;
use serde::{Deserialize, Serialize};

/// Longest path kept in a sample.
const MAX_PATH: usize = 512;
/// Longest user agent kept in a sample.
const MAX_AGENT: usize = 256;
/// Longest raw line kept in a sample.
const MAX_LINE: usize = 1024;

/// One request as shown in the slow/recent tables, with its raw log line.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SampleRequest {
    /// UTC milliseconds.
    pub ts_ms: i64,
    /// HTTP method.
    pub method: String,
    /// Path as logged (query included), cut to 512 bytes.
    pub path: String,
    /// Status code.
    pub status: u16,
    /// Response bytes.
    pub bytes: u64,
    /// Response time in microseconds, if logged.
    pub response_us: Option<u64>,
    /// Client address.
    pub client: String,
    /// User agent, cut to 256 bytes.
    pub user_agent: String,
    /// Virtual host.
    pub vhost: String,
    /// The server that logged it (absent from states saved before it existed).
    #[serde(default)]
    pub host: String,
    /// The raw line (lossy UTF-8), cut to 1024 bytes.
    pub line: String,
}

/// Replaces `dst` with `src` cut to at most `max` bytes on a character boundary.
pub fn set_truncated(dst: &mut String, src: &str, max: usize) {
    dst.clear();
    let mut end = src.len().min(max);
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    dst.push_str(&src[..end]);
}

impl SampleRequest {
    /// Fills this sample from a request and its line, reusing the buffers it has.
    pub fn fill(mut self, req: &Request<'_>, raw: &[u8]) -> Self {
        self.ts_ms = req.ts_ms;
        set_truncated(&mut self.method, &req.method, 32);
        set_truncated(&mut self.path, &req.path, MAX_PATH);
        self.status = req.status;
        self.bytes = req.bytes;
        self.response_us = req.response_ms.map(super::latency::ms_to_us);
        set_truncated(&mut self.client, &req.client, 64);
        set_truncated(&mut self.user_agent, &req.user_agent, MAX_AGENT);
        set_truncated(&mut self.vhost, &req.vhost, 128);
        set_truncated(&mut self.host, &req.host, 128);
        let raw = &raw[..raw.len().min(MAX_LINE)];
        set_truncated(
            &mut self.line,
            String::from_utf8_lossy(raw).trim_end(),
            MAX_LINE * 3,
        );
        self
    }

    /// Response time in milliseconds, if logged.
    pub fn response_ms(&self) -> Option<f64> {
        self.response_us.map(|us| us as f64 / 1000.0)
    }
}

/// A line that could not be parsed, kept as evidence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RejectedLine {
    /// 1-based line number in its source.
    pub line: u64,
    /// Why it was rejected.
    pub error: String,
    /// The line (lossy UTF-8), cut to 1024 bytes.
    pub text: String,
}

impl RejectedLine {
    /// Keeps `raw` (cut) with its line number and error.
    pub fn new(line: u64, raw: &[u8], error: String) -> Self {
        let mut text = String::new();
        let raw = &raw[..raw.len().min(MAX_LINE)];
        set_truncated(
            &mut text,
            String::from_utf8_lossy(raw).trim_end(),
            MAX_LINE * 3,
        );
        RejectedLine { line, error, text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_chars() {
        let mut s = String::new();
        set_truncated(&mut s, "ééé", 3);
        assert_eq!(s, "é");
        let r = RejectedLine::new(1, &[0xff, b'a'], "x".into());
        assert_eq!(r.text, "\u{fffd}a");
    }
}
