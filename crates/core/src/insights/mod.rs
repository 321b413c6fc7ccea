//! Findings read off the numbers, each with evidence and advice (the report's first section),
//! and the incidents anomaly detection found ([`anomaly`]).

pub mod anomaly;

use crate::aggregate::Aggregate;
use crate::aggregate::capped::OTHER;
use crate::lang::{Lang, bytes, hour, ms, pct};
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
                lang.pick(
                    format!("Slowest endpoint: {} (avg {}, p90 {})", r.route, ms(lang, avg), ms(lang, p90)),
                    format!("가장 느린 엔드포인트: {} (평균 {}, p90 {})", r.route, ms(lang, avg), ms(lang, p90)),
                ),
                Some(lang.pick(
                    "Consider adding DB indexes, caching, query optimization or moving work to async jobs.".into(),
                    "DB 인덱스 추가, 캐싱, 쿼리 최적화, 비동기화 등을 고려하세요.".into(),
                )),
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
                lang.pick(
                    format!(
                        "Traffic peak hour: {} UTC ({} requests)",
                        hour(lang, p.hour),
                        p.requests
                    ),
                    format!(
                        "트래픽 피크 시간대: {} UTC ({}건)",
                        hour(lang, p.hour),
                        p.requests
                    ),
                ),
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
                lang.pick(
                    format!(
                        "Hour with the highest average response time: {} UTC, avg {}",
                        hour(lang, h.hour),
                        ms(lang, h.avg_ms)
                    ),
                    format!(
                        "평균 응답시간이 가장 높은 시간대: {} UTC, 평균 {}",
                        hour(lang, h.hour),
                        ms(lang, h.avg_ms)
                    ),
                ),
                None,
            )
            .with("hour", f64::from(h.hour))
            .with("avg_ms", h.avg_ms),
        );
    }
    tail_latency(&mut out, agg, lang);
    server_errors(&mut out, s, lang);
    bandwidth(&mut out, s, lang);
    scanners(&mut out, agg, lang);
    if s.requests > 0 && s.bots.share >= 0.1 {
        out.push(
            insight(
                InsightKind::Bots,
                Severity::Info,
                None,
                lang.pick(
                    format!(
                        "Bots, crawlers and scripts: {} of requests ({})",
                        pct(s.bots.share),
                        s.bots.requests
                    ),
                    format!(
                        "봇/크롤러/스크립트 트래픽: 전체 요청의 {} ({}건)",
                        pct(s.bots.share),
                        s.bots.requests
                    ),
                ),
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
                lang.pick(
                    format!("{} lines ({}) could not be parsed; samples are listed per source", s.lines.rejected, pct(share)),
                    format!("파싱하지 못한 줄: {}줄 ({}) — 소스별 샘플을 확인하세요", s.lines.rejected, pct(share)),
                ),
                Some(lang.pick(
                    "Check the log format (--format, --log-format) or look for corrupted writes.".into(),
                    "로그 형식(--format, --log-format)을 확인하거나 손상된 기록이 있는지 점검하세요.".into(),
                )),
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
            lang.pick(
                format!(
                    "Endpoints where 4xx/5xx errors concentrate: {} (a warning from {} failing requests and {} of a route's requests)",
                    list.join(", "),
                    HOTSPOT_ERRORS,
                    pct(HOTSPOT_RATE)
                ),
                format!(
                    "4xx/5xx 에러 집중 엔드포인트: {} (실패 {}건 이상이면서 요청의 {} 이상이면 경고)",
                    list.join(", "),
                    HOTSPOT_ERRORS,
                    pct(HOTSPOT_RATE)
                ),
            ),
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
        (true, true) => lang.pick(
            "A file that is asked for but not served: broken links or a missing deploy artifact. Restore the file, or fix (or redirect) the links that point to it.".into(),
            "요청되지만 제공되지 않는 파일입니다: 깨진 링크이거나 배포에서 빠진 파일입니다. 파일을 복구하거나 링크를 고치세요(또는 리다이렉트).".into(),
        ),
        (true, false) => lang.pick(
            "Requests this route refuses (4xx): check what clients send it (a changed API, missing authentication, bad input) and the messages it answers with.".into(),
            "이 엔드포인트가 거절하는 요청(4xx)입니다: 클라이언트가 보내는 내용(바뀐 API, 누락된 인증, 잘못된 입력)과 응답 메시지를 확인하세요.".into(),
        ),
        (false, _) => lang.pick(
            "Server errors (5xx): check this route's exception handling and the services it depends on.".into(),
            "서버 에러(5xx)입니다: 이 엔드포인트의 예외 처리와 의존 서비스 상태를 점검하세요.".into(),
        ),
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
            lang.pick(
                format!("Tail latency: {route} p99 is {} — {ratio:.0}× its median ({})", ms(lang, p99), ms(lang, p50)),
                format!("꼬리 지연: {route}의 p99가 {}로 중앙값({})의 {ratio:.0}배입니다", ms(lang, p99), ms(lang, p50)),
            ),
            Some(lang.pick(
                "Look for lock contention, slow dependencies, GC pauses or cold caches behind the outliers.".into(),
                "락 경합, 느린 외부 의존성, GC 일시정지, 콜드 캐시 등을 확인하세요.".into(),
            )),
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
            lang.pick(
                format!("5xx responses are {} of all requests ({total_5xx}); {} accounts for {} of them (a warning from 1% and 10 responses, critical from 5%)", pct(rate), top.route, pct(share)),
                format!("5xx 응답이 전체 요청의 {} ({total_5xx}건)이며, 그중 {}가 {}에서 발생했습니다 (1% 및 10건 이상이면 경고, 5% 이상이면 심각)", pct(rate), pct(share), top.route),
            ),
            Some(lang.pick(
                "Check that route's exception handling and the health of the services it depends on.".into(),
                "해당 엔드포인트의 예외 처리와 의존 서비스 상태를 점검하세요.".into(),
            )),
        )
        .with("rate", rate)
        .with("route_share", share),
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
            lang.pick(
                format!(
                    "Bandwidth: {} uses {} of all bytes ({})",
                    top.route,
                    pct(share),
                    bytes(top.bytes)
                ),
                format!(
                    "대역폭: {}가 전체 전송량의 {} ({})를 차지합니다",
                    top.route,
                    pct(share),
                    bytes(top.bytes)
                ),
            ),
            Some(
                lang.pick(
                    "Serve large responses through a CDN, enable compression and caching headers."
                        .into(),
                    "CDN, 압축, 캐시 헤더 적용을 고려하세요.".into(),
                ),
            ),
        )
        .with("share", share)
        .with("bytes", top.bytes as f64),
    );
}

fn scanners(out: &mut Vec<Insight>, agg: &Aggregate, lang: Lang) {
    let suspects = agg
        .clients
        .top_by(3, |c| c.not_found)
        .into_iter()
        .filter(|(_, c)| c.not_found >= 20 && c.not_found * 2 >= c.requests);
    for (client, c) in suspects {
        let share = c.not_found as f64 / c.requests as f64;
        out.push(
            insight(
                InsightKind::Scanner,
                Severity::Warning,
                Some(client),
                lang.pick(
                    format!(
                        "Scanner-like client: {client} made {} requests, {} of them 404 ({})",
                        c.requests,
                        c.not_found,
                        pct(share)
                    ),
                    format!(
                        "스캐너로 의심되는 클라이언트: {client} — 요청 {}건 중 404가 {}건 ({})",
                        c.requests,
                        c.not_found,
                        pct(share)
                    ),
                ),
                Some(lang.pick(
                    "Consider rate limiting or blocking it (fail2ban, WAF rules).".into(),
                    "요청 속도 제한 또는 차단(fail2ban, WAF 규칙)을 고려하세요.".into(),
                )),
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
