//! Per-input line counts, per-route numbers, and the automated-traffic check.

use super::capped::Merge;
use super::latency::Latency;
use super::sample::RejectedLine;
use super::topn::TopN;
use crate::format::FormatKind;
use std::cmp::Reverse;
use std::sync::LazyLock;

/// Line counts of one input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineStats {
    /// Lines read.
    pub read: u64,
    /// Lines that gave a request.
    pub parsed: u64,
    /// Lines that could not be parsed.
    pub rejected: u64,
    /// Blank lines, comments and headers.
    pub skipped: u64,
    /// Of the rejected lines, those dated further ahead of the clock than the allowed skew
    /// (`future_timestamp`).
    #[serde(default)]
    pub future: u64,
    /// Lines that gave a request left out by the run's exclusions (`--exclude-ip`,
    /// `--ignore-crawlers`, `--ignore-static`); not among the parsed.
    #[serde(default)]
    pub excluded: u64,
}

impl LineStats {
    pub(super) fn merge(&mut self, o: &LineStats) {
        self.read += o.read;
        self.parsed += o.parsed;
        self.rejected += o.rejected;
        self.skipped += o.skipped;
        self.future += o.future;
        self.excluded += o.excluded;
    }
}

/// What happened to the lines of one input.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SourceStats {
    /// The format it was read as.
    pub format: Option<FormatKind>,
    /// Its line counts.
    pub lines: LineStats,
    pub(super) rejected: TopN<Reverse<u64>, RejectedLine>,
    /// Why reading it stopped before its end, when it did (the lines before are counted).
    #[serde(default)]
    pub error: Option<String>,
}

impl SourceStats {
    /// The first rejected lines, in line order.
    pub fn rejected_samples(&self) -> Vec<&RejectedLine> {
        self.rejected.sorted().into_iter().map(|(_, r)| r).collect()
    }
}

/// Per-route numbers.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RouteStats {
    /// Requests.
    pub requests: u64,
    /// Responses 400–499.
    pub errors_4xx: u64,
    /// Responses 500–599.
    pub errors_5xx: u64,
    /// Response bytes.
    pub bytes: u64,
    /// Response times.
    pub latency: Latency,
    /// The route's current minute for anomaly detection (`analyze` only): its start and
    /// numbers, handed to the frames when the next minute begins. Neither saved nor merged.
    #[serde(skip)]
    pub minute: Option<(i64, super::frame::RouteMinute)>,
}

impl super::capped::Weight for RouteStats {
    fn weight(&self) -> u64 {
        self.requests
    }
}

impl RouteStats {
    /// Counts one response: its status, size and, when timed, response time in µs.
    #[inline]
    pub fn add(&mut self, status: u16, bytes: u64, us: Option<u64>) {
        self.add_counts(status, bytes);
        if let Some(us) = us {
            self.latency.record_us(us);
        }
    }

    /// Counts one response's status and size, not its response time.
    #[inline]
    pub fn add_counts(&mut self, status: u16, bytes: u64) {
        self.requests += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        match status {
            400..=499 => self.errors_4xx += 1,
            500..=599 => self.errors_5xx += 1,
            _ => {}
        }
    }
}

impl Merge for RouteStats {
    fn merge(&mut self, o: &Self) {
        self.requests += o.requests;
        self.errors_4xx += o.errors_4xx;
        self.errors_5xx += o.errors_5xx;
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.latency.merge(&o.latency);
    }
}

static BOT_PATTERNS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "bot",
            "crawl",
            "spider",
            "slurp",
            "curl/",
            "wget",
            "python-",
            "go-http-client",
            "headlesschrome",
            "scan",
            "httpclient",
            "java/",
            "okhttp",
            "libwww",
            "nikto",
            "sqlmap",
            "zgrab",
            "masscan",
            "nmap",
        ])
        .expect("static patterns compile")
});

/// True when a user agent looks like a bot, crawler, script or scanner: no agent, a known
/// word (`bot`, `crawl`, `curl/`, …), or a contact address or URL, which browsers never
/// carry and crawlers do (`Ezooms/1.0; help@moz.com`, `+http://…`).
pub fn is_bot(user_agent: &str) -> bool {
    user_agent.is_empty() || BOT_PATTERNS.is_match(user_agent) || has_contact(user_agent)
}

/// Whether `user_agent` carries a URL or an e-mail address.
fn has_contact(user_agent: &str) -> bool {
    user_agent.contains("://")
        || user_agent.split([' ', ';', '(', ')']).any(|t| {
            t.split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
        })
}
