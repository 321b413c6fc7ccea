//! English.

use super::{Msg, Text, per_min};
use crate::lang::{Lang, bytes, pct};

fn ms(v: f64) -> String {
    crate::lang::ms(Lang::En, v)
}

fn hour(h: u8) -> String {
    crate::lang::hour(Lang::En, h)
}

fn over(window_min: f64) -> String {
    if window_min > 0.0 {
        format!(" over {window_min:.0} min")
    } else {
        String::new()
    }
}

pub(super) fn text(t: Text) -> &'static str {
    match t {
        Text::ReportTitle => "tailpulse analysis report",
        Text::HtmlLang => "en",
        Text::Period => "Period",
        Text::RequestsByHour => "Requests by hour of day (UTC)",
        Text::RequestsOverTime => "Requests over time (hourly)",
        Text::StatusClasses => "Status classes",
        Text::RequestsPerEndpoint => "Requests per endpoint",
        Text::SlowestRequests => "Slowest requests",
        Text::MostRecentRequests => "Most recent requests",
        Text::LlmPrompts => "LLM prompts",
        Text::TotalRequests => "Total requests",
        Text::SuccessRate => "Success rate",
        Text::Rate4xx => "4xx rate",
        Text::Rate5xx => "5xx rate",
        Text::AvgResponse => "Avg response",
        Text::P95Response => "p95 response",
        Text::UniqueVisitors => "Unique visitors",
        Text::Bandwidth => "Bandwidth",
        Text::InsightsAndSuggestions => "Insights and suggestions",
        Text::Endpoints => "Endpoints",
        Text::Route => "Route",
        Text::Requests => "Requests",
        Text::Bytes => "Bytes",
        Text::TimeUtc => "Time (UTC)",
        Text::Method => "Method",
        Text::Path => "Path",
        Text::Status => "Status",
        Text::ResponseTime => "Time",
        Text::Client => "Client",
        Text::TopClients => "Top clients",
        Text::Servers => "Servers",
        Text::Server => "Server",
        Text::Errors => "Errors",
        Text::Inputs => "Inputs",
        Text::LinesReadParsedRejected => "lines read / parsed / rejected",
        Text::SectionInsights => "[Improvement suggestions and insights]",
        Text::NoRequestsYet => "No requests to analyze yet.",
        Text::SectionPrompts => "[LLM prompts: natural-language summary / anomaly detection]",
        Text::SectionLlm => "[Machine-written analysis (LLM)]",
        Text::WrittenBy => "Written by",
        Text::NoAnswerYet => "No answer yet.",
        Text::LastCallFailed => "last call failed",
        Text::SlowestHour => "Slowest hour",
        Text::PeakHourUtc => "Peak hour (UTC)",
        Text::StatusCodes => "Status codes",
        Text::TopEndpoints => "Top endpoints:",
        Text::PromptSummaryTitle => "Report summary prompt",
        Text::PromptAnomalyTitle => "Anomaly detection prompt",
        Text::PromptDashboardTitle => "Dashboard explanation prompt",
        Text::TheWholeSite => "the whole site",
        Text::Resolved => " — resolved",
        Text::AdviceSlowestRoute => {
            "Consider adding DB indexes, caching, query optimization or moving work to async jobs."
        }
        Text::AdviceRejected => {
            "Check the log format (--format, --log-format) or look for corrupted writes."
        }
        Text::AdviceMissingFile => {
            "A file that is asked for but not served: broken links or a missing deploy artifact. Restore the file, or fix (or redirect) the links that point to it."
        }
        Text::AdviceRefused => {
            "Requests this route refuses (4xx): check what clients send it (a changed API, missing authentication, bad input) and the messages it answers with."
        }
        Text::AdviceServerErrorsRoute => {
            "Server errors (5xx): check this route's exception handling and the services it depends on."
        }
        Text::AdviceTailLatency => {
            "Look for lock contention, slow dependencies, GC pauses or cold caches behind the outliers."
        }
        Text::AdviceServerErrors => {
            "Check that route's exception handling and the health of the services it depends on."
        }
        Text::AdviceServerOutlier => {
            "Look at that server first: its deployment, disk, memory and upstreams; take it out of the load balancer if it keeps failing."
        }
        Text::AdviceBandwidth => {
            "Serve large responses through a CDN, enable compression and caching headers."
        }
        Text::AdviceScanner => "Consider rate limiting or blocking it (fail2ban, WAF rules).",
        Text::AdviceErrorSpike => {
            "Look first at this route's recent 5xx lines and at what changed when it began (a deploy, a config change, a dependency such as the database or an upstream API); roll back or fail over if it continues."
        }
        Text::AdviceLatencyRegression => {
            "Look first at what this route waits on (slow queries, lock contention, a saturated upstream) and at changes made when it began; scale out if load explains it."
        }
        Text::AdviceTrafficSurge => {
            "Look first at the top clients and routes of these minutes: a campaign, a retry storm or abuse; make sure capacity and rate limits hold."
        }
        Text::AdviceTrafficDrop => {
            "Look first at DNS, the load balancer, TLS certificates and upstream health: users may not be reaching the service."
        }
        Text::AdviceSiteQuiet => {
            "Look first at whether the service and the log pipeline were up: process, disk, log rotation, network."
        }
        Text::AdviceNewRouteFailing => {
            "A new release or a client calling an unfinished endpoint: look first at the deploy and the route's handler."
        }
        Text::AdviceScannerIncident => {
            "Block or rate-limit the address (firewall, WAF, fail2ban) and make sure none of the probed paths exist."
        }
        Text::Overview => "Overview",
        Text::VisitorsPerDay => "Visitors per day (UTC)",
        Text::NotFound => "Not found (404)",
        Text::Day => "Day",
        Text::Clients => "Clients",
        Text::StaticFiles => "Static files",
        Text::AllStatic => "(all static files)",
        Text::AllDynamic => "(dynamic requests)",
        Text::OperatingSystems => "Operating systems",
        Text::Browsers => "Browsers",
        Text::Devices => "Devices",
        Text::Crawlers => "Crawlers and scripts",
        Text::ReferringSites => "Referring sites",
        Text::Referrers => "Referring pages",
        Text::Methods => "Methods",
        Text::Protocols => "Protocols",
        Text::Name => "Name",
        Text::Site => "Site",
        Text::Visitors => "Visitors",
        Text::Page => "Page",
        Text::FirstSeen => "First",
        Text::LastSeen => "Last",
        Text::Countries => "Countries",
        Text::Networks => "Networks (AS)",
        Text::RemoteUsers => "Authenticated users",
        Text::CacheStatus => "Cache",
        Text::MimeTypes => "Content types",
        Text::Tls => "TLS",
        Text::AdviceBotSurge => {
            "Look first at which crawlers they are; check robots.txt, crawl budgets and rate limits for automated clients."
        }
    }
}

pub(super) fn msg(m: &Msg) -> String {
    let site = |r: &Option<&str>| r.unwrap_or("the whole site").to_owned();
    match *m {
        Msg::SlowestEndpoint {
            route,
            avg_ms,
            p90_ms,
        } => {
            format!(
                "Slowest endpoint: {route} (avg {}, p90 {})",
                ms(avg_ms),
                ms(p90_ms)
            )
        }
        Msg::PeakHour { hour: h, requests } => {
            format!("Traffic peak hour: {} UTC ({requests} requests)", hour(h))
        }
        Msg::SlowestHour { hour: h, avg_ms } => format!(
            "Hour with the highest average response time: {} UTC, avg {}",
            hour(h),
            ms(avg_ms)
        ),
        Msg::Bots { share, requests } => format!(
            "Bots, crawlers and scripts: {} of requests ({requests})",
            pct(share)
        ),
        Msg::Rejected { lines, share } => format!(
            "{lines} lines ({}) could not be parsed; samples are listed per source",
            pct(share)
        ),
        Msg::ErrorHotspots {
            list,
            min_errors,
            min_rate,
        } => format!(
            "Endpoints where 4xx/5xx errors concentrate: {list} (a warning from {min_errors} failing requests and {} of a route's requests)",
            pct(min_rate)
        ),
        Msg::TailLatency {
            route,
            p99_ms,
            p50_ms,
            ratio,
        } => format!(
            "Tail latency: {route} p99 is {} — {ratio:.0}× its median ({})",
            ms(p99_ms),
            ms(p50_ms)
        ),
        Msg::ServerOutlier {
            host,
            rate,
            others,
            errors,
        } => format!(
            "Server {host} answers {} of its requests with 5xx ({errors}), the other servers {}",
            pct(rate),
            pct(others)
        ),
        Msg::ServerErrors {
            rate,
            total,
            route,
            share,
        } => format!(
            "5xx responses are {} of all requests ({total}); {route} accounts for {} of them (a warning from 1% and 10 responses, critical from 5%)",
            pct(rate),
            pct(share)
        ),
        Msg::BandwidthHog {
            route,
            share,
            bytes: b,
        } => {
            format!(
                "Bandwidth: {route} uses {} of all bytes ({})",
                pct(share),
                bytes(b)
            )
        }
        Msg::ScannerClient {
            client,
            requests,
            not_found,
            share,
        } => format!(
            "Scanner-like client: {client} made {requests} requests, {not_found} of them 404 ({})",
            pct(share)
        ),
        Msg::ErrorSpike {
            ref route,
            since,
            errors,
            requests,
            rate,
            usual,
            window_min,
        } => format!(
            "5xx spike on {} since {since} UTC: {errors:.0} of {requests:.0} requests failed ({}){} where {} is usual",
            site(route),
            pct(rate),
            over(window_min),
            pct(usual)
        ),
        Msg::LatencyRegression {
            ref route,
            since,
            typical_ms,
            usual_ms,
            ratio,
            avg_ms,
            usual_avg_ms,
            window_min,
        } => format!(
            "{} slowed down since {since} UTC: typical response {} where {} is usual (×{ratio:.1}), average {} (usually {}){}",
            site(route),
            ms(typical_ms),
            ms(usual_ms),
            ms(avg_ms),
            ms(usual_avg_ms),
            over(window_min)
        ),
        Msg::TrafficSurge {
            since,
            per_min: n,
            usual,
            ratio,
        } => format!(
            "Traffic surge since {since} UTC: {} requests/min where {} is usual (×{ratio:.1})",
            per_min(n),
            per_min(usual)
        ),
        Msg::TrafficDrop {
            since,
            per_min: n,
            usual,
        } => format!(
            "Traffic dropped since {since} UTC: {} requests/min where {} is usual",
            per_min(n),
            per_min(usual)
        ),
        Msg::SiteQuiet {
            since,
            minutes,
            usual,
            missing,
        } => format!(
            "No requests for {minutes:.0} minutes from {since} UTC, where about {} a minute are usual (some {missing:.0} requests missing)",
            per_min(usual)
        ),
        Msg::NewRouteFailing {
            route,
            since,
            rate,
            requests,
        } => format!(
            "New route {route} is failing since {since} UTC: {} of {requests:.0} requests are 5xx",
            pct(rate)
        ),
        Msg::ScannerIncident {
            client,
            since,
            per_min: n,
            paths,
        } => format!(
            "Scanner at {client} since {since} UTC: {n:.0} 404s a minute over {paths:.0} distinct paths"
        ),
        Msg::BotSurge {
            since,
            share,
            usual,
        } => format!(
            "Automated traffic jumped to {} of requests since {since} UTC ({} is usual)",
            pct(share),
            pct(usual)
        ),
        Msg::MoreIncidents { n, kinds } => {
            format!("… and {n} more incidents ({kinds}); the JSON report lists them all")
        }
        Msg::RouteCap {
            shown,
            more,
            requests,
            share,
        } => format!(
            "Routes: {shown} shown, {more} more counted as (other): {requests} requests ({}); raise --max-routes to list them",
            pct(share)
        ),
        Msg::MoreRoutes { routes, requests } => format!(
            "… {routes} more routes: {requests} requests (the JSON report lists the first --max-routes)"
        ),
        Msg::RequestsLine {
            requests,
            read,
            rejected,
        } => {
            format!("Requests: {requests} | lines read: {read} | rejected: {rejected}")
        }
        Msg::ReadStopped { source, error } => {
            format!("Reading {source} stopped early ({error}); the lines before are counted")
        }
        Msg::TotalRequestsLine {
            requests,
            read,
            rejected,
        } => {
            format!("Total requests: {requests} (lines read {read}, rejected {rejected})")
        }
        Msg::RatesLine { ok, e4, e5 } => {
            format!(
                "Success rate: {} | 4xx: {} | 5xx: {}",
                pct(ok),
                pct(e4),
                pct(e5)
            )
        }
        Msg::ResponseTimesLine {
            avg,
            p50,
            p90,
            p95,
            p99,
            max,
        } => format!(
            "Response time: avg {}, p50 {}, p90 {}, p95 {}, p99 {}, max {}",
            ms(avg),
            ms(p50),
            ms(p90),
            ms(p95),
            ms(p99),
            ms(max)
        ),
        Msg::VisitorsLine {
            visitors,
            bytes: b,
            bots,
        } => format!(
            "Unique visitors: {visitors} | Bandwidth: {} | Bots: {}",
            bytes(b),
            pct(bots)
        ),
        Msg::HourAvg { hour: h, avg_ms } => format!("{} ({})", hour(h), ms(avg_ms)),
        Msg::RouteTiming { avg_ms, p90_ms } => {
            format!(", avg {}, p90 {}", ms(avg_ms), ms(p90_ms))
        }
        Msg::RouteLine {
            route,
            requests,
            e4,
            e5,
            timing,
        } => {
            format!("- {route}: {requests} requests, 4xx {e4}, 5xx {e5}{timing}")
        }
        Msg::PromptSummary { stats } => format!(
            "The following is a summary of server log analysis results.\n---\n{stats}\n---\nBased on the data above, write a natural-language report for the administrators covering the main problems, anomalies, improvement suggestions and traffic characteristics."
        ),
        Msg::PromptAnomaly { lines } => format!(
            "Below is a sample of recent server log lines.\n---\n{lines}\n---\nFind and summarize anything unusual in these logs: deviations from normal behaviour, signs of trouble, clusters of errors, response-time spikes and other notable events."
        ),
        Msg::PromptDashboard { stats } => format!(
            "Below are the main statistics of the dashboard.\n---\n{stats}\n---\nBased on this data, explain in plain language the characteristics of the traffic, errors and response times so they can be understood at a glance."
        ),
    }
}
