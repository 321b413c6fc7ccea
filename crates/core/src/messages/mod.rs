//! Every sentence and label tailpulse writes for people, apart from the logic that decides
//! what to say: the logic names a message ([`Text`] for fixed words, [`Msg`] for sentences
//! with numbers in them) and the catalogue of the language asked writes it — only that
//! language is built. Each language is one file ([`en`], [`ko`]) with one `match` per kind,
//! so the compiler refuses a message that a language lacks.

mod en;
mod ko;

use crate::lang::Lang;

/// A rate per minute as written in every language: a whole number.
fn per_min(v: f64) -> String {
    format!("{v:.0}")
}

/// Fixed words: headings, table labels, advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Text {
    ReportTitle,
    HtmlLang,
    Period,
    RequestsByHour,
    RequestsOverTime,
    StatusClasses,
    RequestsPerEndpoint,
    SlowestRequests,
    MostRecentRequests,
    LlmPrompts,
    TotalRequests,
    SuccessRate,
    Rate4xx,
    Rate5xx,
    AvgResponse,
    P95Response,
    UniqueVisitors,
    Bandwidth,
    InsightsAndSuggestions,
    Endpoints,
    Route,
    Requests,
    Bytes,
    TimeUtc,
    Method,
    Path,
    Status,
    ResponseTime,
    Client,
    TopClients,
    Servers,
    Server,
    Errors,
    Inputs,
    LinesReadParsedRejected,
    SectionInsights,
    NoRequestsYet,
    SectionPrompts,
    SectionLlm,
    WrittenBy,
    NoAnswerYet,
    LastCallFailed,
    SlowestHour,
    PeakHourUtc,
    StatusCodes,
    TopEndpoints,
    PromptSummaryTitle,
    PromptAnomalyTitle,
    PromptDashboardTitle,
    TheWholeSite,
    Resolved,
    AdviceSlowestRoute,
    AdviceRejected,
    AdviceMissingFile,
    AdviceRefused,
    AdviceServerErrorsRoute,
    AdviceTailLatency,
    AdviceServerErrors,
    AdviceServerOutlier,
    AdviceBandwidth,
    AdviceScanner,
    AdviceErrorSpike,
    AdviceLatencyRegression,
    AdviceTrafficSurge,
    AdviceTrafficDrop,
    AdviceSiteQuiet,
    AdviceNewRouteFailing,
    AdviceScannerIncident,
    AdviceBotSurge,
    Overview,
    VisitorsPerDay,
    NotFound,
    Day,
    Clients,
    StaticFiles,
    AllStatic,
    AllDynamic,
    OperatingSystems,
    Browsers,
    Devices,
    Crawlers,
    ReferringSites,
    Referrers,
    Methods,
    Protocols,
    Name,
    Site,
    Visitors,
    Page,
    FirstSeen,
    LastSeen,
    Countries,
    Networks,
    RemoteUsers,
    CacheStatus,
    MimeTypes,
    Tls,
}

impl Text {
    /// The words in `lang`.
    pub fn get(self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => en::text(self),
            Lang::Ko => ko::text(self),
        }
    }
}

/// A sentence with numbers and names in it. Rates are shares (0–1), times milliseconds,
/// `since` a formatted UTC time, `route: None` the whole site.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Msg<'a> {
    SlowestEndpoint {
        route: &'a str,
        avg_ms: f64,
        p90_ms: f64,
    },
    PeakHour {
        hour: u8,
        requests: u64,
    },
    SlowestHour {
        hour: u8,
        avg_ms: f64,
    },
    Bots {
        share: f64,
        requests: u64,
    },
    Rejected {
        lines: u64,
        share: f64,
    },
    ErrorHotspots {
        list: &'a str,
        min_errors: u64,
        min_rate: f64,
    },
    TailLatency {
        route: &'a str,
        p99_ms: f64,
        p50_ms: f64,
        ratio: f64,
    },
    ServerErrors {
        rate: f64,
        total: u64,
        route: &'a str,
        share: f64,
    },
    ServerOutlier {
        host: &'a str,
        rate: f64,
        others: f64,
        errors: u64,
    },
    BandwidthHog {
        route: &'a str,
        share: f64,
        bytes: u64,
    },
    ScannerClient {
        client: &'a str,
        requests: u64,
        not_found: u64,
        share: f64,
    },
    ErrorSpike {
        route: Option<&'a str>,
        since: &'a str,
        errors: f64,
        requests: f64,
        rate: f64,
        usual: f64,
        window_min: f64,
    },
    LatencyRegression {
        route: Option<&'a str>,
        since: &'a str,
        typical_ms: f64,
        usual_ms: f64,
        ratio: f64,
        avg_ms: f64,
        usual_avg_ms: f64,
        window_min: f64,
    },
    TrafficSurge {
        since: &'a str,
        per_min: f64,
        usual: f64,
        ratio: f64,
    },
    TrafficDrop {
        since: &'a str,
        per_min: f64,
        usual: f64,
    },
    SiteQuiet {
        since: &'a str,
        minutes: f64,
        usual: f64,
        missing: f64,
    },
    NewRouteFailing {
        route: &'a str,
        since: &'a str,
        rate: f64,
        requests: f64,
    },
    ScannerIncident {
        client: &'a str,
        since: &'a str,
        per_min: f64,
        paths: f64,
    },
    BotSurge {
        since: &'a str,
        share: f64,
        usual: f64,
    },
    MoreIncidents {
        n: usize,
        kinds: &'a str,
    },
    RouteCap {
        shown: usize,
        more: &'a str,
        requests: u64,
        share: f64,
    },
    MoreRoutes {
        routes: &'a str,
        requests: u64,
    },
    RequestsLine {
        requests: u64,
        read: u64,
        rejected: u64,
    },
    ReadStopped {
        source: &'a str,
        error: &'a str,
    },
    TotalRequestsLine {
        requests: u64,
        read: u64,
        rejected: u64,
    },
    RatesLine {
        ok: f64,
        e4: f64,
        e5: f64,
    },
    ResponseTimesLine {
        avg: f64,
        p50: f64,
        p90: f64,
        p95: f64,
        p99: f64,
        max: f64,
    },
    VisitorsLine {
        visitors: u64,
        bytes: u64,
        bots: f64,
    },
    HourAvg {
        hour: u8,
        avg_ms: f64,
    },
    RouteTiming {
        avg_ms: f64,
        p90_ms: f64,
    },
    RouteLine {
        route: &'a str,
        requests: u64,
        e4: u64,
        e5: u64,
        timing: &'a str,
    },
    PromptSummary {
        stats: &'a str,
    },
    PromptAnomaly {
        lines: &'a str,
    },
    PromptDashboard {
        stats: &'a str,
    },
}

impl Msg<'_> {
    /// The sentence in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::En => en::msg(self),
            Lang::Ko => ko::msg(self),
        }
    }
}
