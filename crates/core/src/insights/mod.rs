//! Findings read off the numbers, each with evidence and advice (the report's first section),
//! and the incidents anomaly detection found ([`anomaly`]).

pub mod anomaly;

use crate::aggregate::Aggregate;
use crate::aggregate::capped::OTHER;
use crate::lang::Lang;
use crate::messages::{Msg, Text};
use crate::stats::Stats;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsightKind {
    /// The route with the highest mean response time.
    SlowestRoute,
    /// Routes where 4xx/5xx responses concentrate.
    ErrorHotspot,
    /// The busiest hour of the day.
    PeakHour,
    /// The hour of the day with the slowest responses.
    SlowestHour,
    /// A route whose p99 is far above its median.
    TailLatency,
    /// Share of 5xx responses and where they come from.
    ServerErrors,
    /// A route that takes most of the bandwidth.
    Bandwidth,
    /// One server of a fleet failing far more often than the others.
    ServerOutlier,
    /// A client that requests many missing paths.
    Scanner,
    /// Share of automated traffic.
    Bots,
    /// Lines that could not be parsed.
    RejectedLines,
    /// Detected: a 5xx rate far above its baseline.
    ErrorSpike,
    /// Detected: p95 far above its baseline.
    LatencyRegression,
    /// Detected: far more requests than expected.
    TrafficSurge,
    /// Detected: far fewer requests than expected.
    TrafficDrop,
    /// Detected: no requests where many were expected.
    SiteQuiet,
    /// Detected: a new route that mostly fails.
    NewRouteFailing,
    /// Detected: one client probing many missing paths right now.
    ScannerActivity,
    /// Detected: the share of automated traffic jumped.
    BotSurge,
}

pub use crate::severity::Severity;

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Insight {
    /// What it is about.
    pub kind: InsightKind,
    /// How much it matters.
    pub severity: Severity,
    /// The route or client concerned.
    pub subject: Option<String>,
    /// The finding, in the report's language.
    pub message: String,
    /// What to do about it, in the report's language.
    pub advice: Option<String>,
    /// The numbers behind it.
    pub evidence: BTreeMap<String, f64>,
    /// When it happened (detected incidents only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
}

/// The time an incident covers (UTC ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    /// Start of the first minute that showed it.
    pub start_ms: i64,
    /// When it was detected.
    pub detected_ms: i64,
    /// End of the last minute that showed it.
    pub last_ms: i64,
    /// Set once it is over.
    pub end_ms: Option<i64>,
}

fn insight(
    kind: InsightKind,
    severity: Severity,
    subject: Option<&str>,
    message: String,
    advice: Option<String>,
) -> Insight {
    Insight {
        kind,
        severity,
        subject: subject.map(str::to_owned),
        message,
        advice,
        evidence: BTreeMap::new(),
        window: None,
    }
}

impl InsightKind {
    /// True for incidents found by anomaly detection (as opposed to facts read off totals).
    pub fn is_incident(self) -> bool {
        matches!(
            self,
            InsightKind::ErrorSpike
                | InsightKind::LatencyRegression
                | InsightKind::TrafficSurge
                | InsightKind::TrafficDrop
                | InsightKind::SiteQuiet
                | InsightKind::NewRouteFailing
                | InsightKind::ScannerActivity
                | InsightKind::BotSurge
        )
    }
}

impl Insight {
    fn with(mut self, key: &'static str, v: f64) -> Self {
        self.evidence.insert(key.to_owned(), v);
        self
    }
}

/// Fewest requests a route needs before its latency is judged.
const MIN_ROUTE_REQUESTS: u64 = 5;

/// All findings for `s` (numbers from `agg`), in report order.
pub fn insights(agg: &Aggregate, s: &Stats, lang: Lang) -> Vec<Insight> {
    let mut out = Vec::new();
    let routes = s.routes.iter().filter(|r| r.route != OTHER);
    if let Some(r) = routes
        .clone()
        .filter(|r| r.requests >= MIN_ROUTE_REQUESTS)
        .filter_map(|r| Some((r, r.avg_ms?, r.p90_ms?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
    {
        let (r, avg, p90) = r;
        let sev = if p90 >= 1000.0 {
            Severity::Warning
        } else {
            Severity::Info
        };
        out.push(
            insight(
                InsightKind::SlowestRoute,
                sev,
                Some(&r.route),
                Msg::SlowestEndpoint {
                    route: &r.route,
                    avg_ms: avg,
                    p90_ms: p90,
                }
                .text(lang),
                Some(Text::AdviceSlowestRoute.get(lang).into()),
            )
            .with("avg_ms", avg)
            .with("p90_ms", p90)
            .with("requests", r.requests as f64),
        );
    }
    error_hotspots(&mut out, s, lang);
    if let Some(p) = s.peak_hour {
        out.push(
            insight(
                InsightKind::PeakHour,
                Severity::Info,
                None,
                Msg::PeakHour {
                    hour: p.hour,
                    requests: p.requests,
                }
                .text(lang),
                None,
            )
            .with("hour", f64::from(p.hour))
            .with("requests", p.requests as f64),
        );
    }
    if let Some(h) = s.slowest_hour {
        out.push(
            insight(
                InsightKind::SlowestHour,
                Severity::Info,
                None,
                Msg::SlowestHour {
                    hour: h.hour,
                    avg_ms: h.avg_ms,
                }
                .text(lang),
                None,
            )
            .with("hour", f64::from(h.hour))
            .with("avg_ms", h.avg_ms),
        );
    }
    tail_latency(&mut out, agg, lang);
    server_errors(&mut out, s, lang);
    server_outlier(&mut out, s, lang);
    bandwidth(&mut out, s, lang);
    scanners(&mut out, agg, lang);
    if s.requests > 0 && s.bots.share >= 0.1 {
        out.push(
            insight(
                InsightKind::Bots,
                Severity::Info,
                None,
                Msg::Bots {
                    share: s.bots.share,
                    requests: s.bots.requests,
                }
                .text(lang),
                None,
            )
            .with("share", s.bots.share)
            .with("requests", s.bots.requests as f64),
        );
    }
    if s.lines.rejected > 0 {
        let share = s.lines.rejected as f64 / s.lines.read.max(1) as f64;
        let sev = if share > 0.05 {
            Severity::Warning
        } else {
            Severity::Info
        };
        out.push(
            insight(
                InsightKind::RejectedLines,
                sev,
                None,
                Msg::Rejected {
                    lines: s.lines.rejected,
                    share,
                }
                .text(lang),
                Some(Text::AdviceRejected.get(lang).into()),
            )
            .with("rejected", s.lines.rejected as f64)
            .with("share", share),
        );
    }
    out
}

fn error_hotspots(out: &mut Vec<Insight>, s: &Stats, lang: Lang) {
    let mut hot: Vec<_> = s
        .routes
        .iter()
        .filter(|r| r.route != OTHER && r.errors_4xx + r.errors_5xx > 0)
        .collect();
    hot.sort_by(|a, b| {
        (b.errors_4xx + b.errors_5xx)
            .cmp(&(a.errors_4xx + a.errors_5xx))
            .then(a.route.cmp(&b.route))
    });
    hot.truncate(3);
    let Some(first) = hot.first() else { return };
    let list: Vec<String> = hot
        .iter()
        .map(|r| format!("{} (4xx {}, 5xx {})", r.route, r.errors_4xx, r.errors_5xx))
        .collect();
    let worst_rate = hot
        .iter()
        .map(|r| (r.errors_4xx + r.errors_5xx) as f64 / r.requests.max(1) as f64)
        .fold(0.0, f64::max);
    let errors = first.errors_4xx + first.errors_5xx;
    let sev = if worst_rate >= HOTSPOT_RATE && errors >= HOTSPOT_ERRORS {
        Severity::Warning
    } else {
        Severity::Info
    };
    out.push(
        insight(
            InsightKind::ErrorHotspot,
            sev,
            Some(&first.route),
            Msg::ErrorHotspots {
                list: &list.join(", "),
                min_errors: HOTSPOT_ERRORS,
                min_rate: HOTSPOT_RATE,
            }
            .text(lang),
            Some(hotspot_advice(first, lang)),
        )
        .with("errors", (first.errors_4xx + first.errors_5xx) as f64)
        .with("worst_error_rate", worst_rate),
    );
}

/// A route is a warning-level hotspot from this many failing requests …
const HOTSPOT_ERRORS: u64 = 20;
/// … that are at least this share of its requests.
const HOTSPOT_RATE: f64 = 0.2;

/// File extensions of things served as files: a 4xx on one is a missing file.
const FILE_EXTENSIONS: &[&str] = &[
    "css", "js", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "woff", "woff2", "ttf", "pdf",
    "zip", "gz", "tgz", "jar", "war", "tar", "deb", "rpm", "exe", "dmg", "mp4", "mp3", "txt",
    "xml", "json", "map", "html", "htm",
];

/// What to look at for the route with the most errors, from what its errors are.
fn hotspot_advice(r: &crate::stats::RouteRow, lang: Lang) -> String {
    let file = r
        .route
        .rsplit('/')
        .next()
        .and_then(|last| last.rsplit_once('.'))
        .is_some_and(|(_, ext)| FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()));
    let mostly_4xx = r.errors_4xx >= r.errors_5xx;
    match (mostly_4xx, file) {
        (true, true) => Text::AdviceMissingFile.get(lang).into(),
        (true, false) => Text::AdviceRefused.get(lang).into(),
        (false, _) => Text::AdviceServerErrorsRoute.get(lang).into(),
    }
}

fn tail_latency(out: &mut Vec<Insight>, agg: &Aggregate, lang: Lang) {
    let worst = agg
        .routes
        .iter()
        .filter(|(name, r)| *name != OTHER && r.latency.count() >= 50)
        .filter_map(|(name, r)| {
            let (p50, p99) = (r.latency.quantile(0.5)?, r.latency.quantile(0.99)?);
            (p50 > 0.0 && p99 >= 500.0 && p99 >= 5.0 * p50).then_some((name, p50, p99))
        })
        .max_by(|a, b| (a.2 / a.1).total_cmp(&(b.2 / b.1)).then(b.0.cmp(a.0)));
    let Some((route, p50, p99)) = worst else {
        return;
    };
    let ratio = p99 / p50;
    out.push(
        insight(
            InsightKind::TailLatency,
            Severity::Warning,
            Some(route),
            Msg::TailLatency {
                route,
                p99_ms: p99,
                p50_ms: p50,
                ratio,
            }
            .text(lang),
            Some(Text::AdviceTailLatency.get(lang).into()),
        )
        .with("p50_ms", p50)
        .with("p99_ms", p99),
    );
}

fn server_errors(out: &mut Vec<Insight>, s: &Stats, lang: Lang) {
    let total_5xx = s.status_class.get("5xx").copied().unwrap_or(0);
    let Some(rate) = s.error_rate_5xx.filter(|_| total_5xx > 0) else {
        return;
    };
    let Some(top) = s
        .routes
        .iter()
        .filter(|r| r.route != OTHER)
        .max_by(|a, b| a.errors_5xx.cmp(&b.errors_5xx).then(b.route.cmp(&a.route)))
    else {
        return;
    };
    let share = top.errors_5xx as f64 / total_5xx as f64;
    // A few 5xx in a large log are worth knowing, not a warning.
    let sev = if rate >= 0.05 && total_5xx >= 10 {
        Severity::Critical
    } else if rate >= 0.01 && total_5xx >= 10 {
        Severity::Warning
    } else {
        Severity::Info
    };
    out.push(
        insight(
            InsightKind::ServerErrors,
            sev,
            Some(&top.route),
            Msg::ServerErrors {
                rate,
                total: total_5xx,
                route: &top.route,
                share,
            }
            .text(lang),
            Some(Text::AdviceServerErrors.get(lang).into()),
        )
        .with("rate", rate)
        .with("route_share", share),
    );
}

/// Servers with fewer requests than this are not compared.
const MIN_SERVER_REQUESTS: u64 = 100;

/// One server of several answering with 5xx far more often than the rest: at least 1 % of its
/// requests and 10 of them, and three times the others' rate.
fn server_outlier(out: &mut Vec<Insight>, s: &Stats, lang: Lang) {
    let hosts: Vec<_> = s
        .hosts
        .iter()
        .filter(|h| h.host != OTHER && h.requests >= MIN_SERVER_REQUESTS)
        .collect();
    if hosts.len() < 2 {
        return;
    }
    let rate = |e: u64, n: u64| e as f64 / n.max(1) as f64;
    let Some(worst) = hosts
        .iter()
        .max_by(|a, b| rate(a.errors_5xx, a.requests).total_cmp(&rate(b.errors_5xx, b.requests)))
    else {
        return;
    };
    let (others_5xx, others_n) = hosts
        .iter()
        .filter(|h| h.host != worst.host)
        .fold((0, 0), |(e, n), h| (e + h.errors_5xx, n + h.requests));
    let (mine, others) = (
        rate(worst.errors_5xx, worst.requests),
        rate(others_5xx, others_n),
    );
    if worst.errors_5xx < 10 || mine < 0.01 || mine < 3.0 * others {
        return;
    }
    out.push(
        insight(
            InsightKind::ServerOutlier,
            Severity::Warning,
            Some(&worst.host),
            Msg::ServerOutlier {
                host: &worst.host,
                rate: mine,
                others,
                errors: worst.errors_5xx,
            }
            .text(lang),
            Some(Text::AdviceServerOutlier.get(lang).into()),
        )
        .with("rate", mine)
        .with("others_rate", others)
        .with("errors_5xx", worst.errors_5xx as f64),
    );
}

fn bandwidth(out: &mut Vec<Insight>, s: &Stats, lang: Lang) {
    if s.bytes == 0 || s.routes.len() < 2 {
        return;
    }
    let Some(top) = s
        .routes
        .iter()
        .filter(|r| r.route != OTHER)
        .max_by(|a, b| a.bytes.cmp(&b.bytes).then(b.route.cmp(&a.route)))
    else {
        return;
    };
    let share = top.bytes as f64 / s.bytes as f64;
    if share < 0.3 {
        return;
    }
    out.push(
        insight(
            InsightKind::Bandwidth,
            Severity::Info,
            Some(&top.route),
            Msg::BandwidthHog {
                route: &top.route,
                share,
                bytes: top.bytes,
            }
            .text(lang),
            Some(Text::AdviceBandwidth.get(lang).into()),
        )
        .with("share", share)
        .with("bytes", top.bytes as f64),
    );
}

/// A client whose 404s hit fewer than three distinct paths is fetching something missing (a
/// dead link, a client on a timer), not scanning; a scanner probes at least a handful
/// (`/.env`, `/.git/config`, `/wp-login.php`, …). The estimate of three paths is 3.07.
const SCANNER_MIN_PATHS: f64 = 2.5;

fn scanners(out: &mut Vec<Insight>, agg: &Aggregate, lang: Lang) {
    let suspects = agg
        .clients
        .top_by(3, |c| c.not_found)
        .into_iter()
        .filter(|(_, c)| c.not_found >= 20 && c.not_found * 2 >= c.requests)
        .filter(|(_, c)| c.not_found_paths() >= SCANNER_MIN_PATHS);
    for (client, c) in suspects {
        let share = c.not_found as f64 / c.requests as f64;
        out.push(
            insight(
                InsightKind::Scanner,
                Severity::Warning,
                Some(client),
                Msg::ScannerClient {
                    client,
                    requests: c.requests,
                    not_found: c.not_found,
                    share,
                }
                .text(lang),
                Some(Text::AdviceScanner.get(lang).into()),
            )
            .with("requests", c.requests as f64)
            .with("not_found", c.not_found as f64),
        );
    }
}

/// The name of `kind` as it appears in the JSON output (`slowest_route`, …).
pub fn kind_name(kind: InsightKind) -> String {
    enum_name(&kind)
}

/// The name of `severity` as it appears in the JSON output (`info`, …).
pub fn severity_name(severity: Severity) -> String {
    enum_name(&severity)
}

fn enum_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(agg: &mut Aggregate, client: &str, path: &str, status: u16, n: usize) {
        for i in 0..n {
            let req = crate::request::Request {
                ts_ms: 1_431_857_103_000 + i as i64 * 1000,
                client: client.into(),
                path: path.into(),
                status,
                ..Default::default()
            };
            agg.count(&req);
        }
    }

    fn from_host(agg: &mut Aggregate, host: &str, ok: usize, failed: usize) {
        for (status, n) in [(200, ok), (503, failed)] {
            for i in 0..n {
                agg.count(&crate::request::Request {
                    ts_ms: 1_431_857_103_000 + i as i64 * 1000,
                    client: "10.0.0.1".into(),
                    path: "/".into(),
                    host: host.into(),
                    status,
                    ..Default::default()
                });
            }
        }
    }

    fn outliers(agg: &Aggregate) -> Vec<Option<String>> {
        let s = Stats::of(agg);
        insights(agg, &s, Lang::En)
            .into_iter()
            .filter(|i| i.kind == InsightKind::ServerOutlier)
            .map(|i| i.subject)
            .collect()
    }

    #[test]
    fn a_server_failing_far_more_than_the_others_is_named() {
        let mut agg = Aggregate::default();
        from_host(&mut agg, "web-1", 500, 1);
        from_host(&mut agg, "web-2", 500, 2);
        from_host(&mut agg, "web-3", 440, 60);
        assert_eq!(outliers(&agg), vec![Some("web-3".to_owned())]);
        // The same failures spread evenly: no server stands out.
        let mut even = Aggregate::default();
        for h in ["web-1", "web-2", "web-3"] {
            from_host(&mut even, h, 480, 20);
        }
        assert!(outliers(&even).is_empty());
        // One server alone is no fleet.
        let mut one = Aggregate::default();
        from_host(&mut one, "web-1", 400, 100);
        assert!(outliers(&one).is_empty());
    }

    /// Regression (the 2015 Apache log): a configuration client fetching one missing jar
    /// every hour, 60 404s in all, was called a scanner and its address offered for blocking.
    /// Scanning is many distinct paths.
    #[test]
    fn one_missing_file_fetched_often_is_no_scanner() {
        let mut agg = Aggregate::default();
        count(
            &mut agg,
            "208.91.156.11",
            "/files/logstash-1.3.2-monolithic.jar",
            404,
            60,
        );
        for i in 0..40 {
            count(
                &mut agg,
                "184.82.67.240",
                &format!("/wp-{i}.php?x={i}"),
                404,
                1,
            );
        }
        count(&mut agg, "10.0.0.1", "/", 200, 100);
        let s = Stats::of(&agg);
        let found: Vec<_> = insights(&agg, &s, Lang::En)
            .into_iter()
            .filter(|i| i.kind == InsightKind::Scanner)
            .map(|i| i.subject.unwrap())
            .collect();
        assert_eq!(found, ["184.82.67.240"]);
    }
}
