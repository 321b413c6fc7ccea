//! The three LLM prompts of the original report — natural-language summary, anomaly detection
//! over real log lines, dashboard explanation — filled with live numbers.

use crate::lang::Lang;
use crate::messages::{Msg, Text};
use crate::stats::{SampleRow, Stats};
use crate::time::format_utc;
use serde::Serialize;

/// How many routes the stats summary lists.
const SUMMARY_ROUTES: usize = 8;
/// How many log lines the anomaly prompt carries at most.
const SAMPLE_LINES: usize = 30;

/// One prompt ready to paste into an LLM.
#[derive(Debug, Clone, Serialize)]
pub struct Prompt {
    /// `summary`, `anomaly` or `dashboard`.
    pub id: &'static str,
    /// Heading shown above it.
    pub title: String,
    /// The prompt.
    pub text: String,
}

/// The statistics block the prompts embed (the original's `{stats_summary}`).
pub fn stats_summary(s: &Stats, lang: Lang) -> String {
    let mut out = Vec::new();
    if let Some(p) = &s.period {
        out.push(format!(
            "{}: {} – {} UTC",
            Text::Period.get(lang),
            format_utc(p.first_ms),
            format_utc(p.last_ms)
        ));
    }
    out.push(
        Msg::TotalRequestsLine {
            requests: s.requests,
            read: s.lines.read,
            rejected: s.lines.rejected,
        }
        .text(lang),
    );
    if let (Some(ok), Some(e4), Some(e5)) = (s.success_rate, s.error_rate_4xx, s.error_rate_5xx) {
        out.push(Msg::RatesLine { ok, e4, e5 }.text(lang));
    }
    if let Some(r) = &s.response_time_ms {
        out.push(
            Msg::ResponseTimesLine {
                avg: r.avg,
                p50: r.p50,
                p90: r.p90,
                p95: r.p95,
                p99: r.p99,
                max: r.max,
            }
            .text(lang),
        );
    }
    out.push(
        Msg::VisitorsLine {
            visitors: s.unique_visitors,
            bytes: s.bytes,
            bots: s.bots.share,
        }
        .text(lang),
    );
    if let Some(p) = s.peak_hour {
        let slow = s
            .slowest_hour
            .map(|h| {
                let at = Msg::HourAvg {
                    hour: h.hour,
                    avg_ms: h.avg_ms,
                };
                format!(" | {}: {}", Text::SlowestHour.get(lang), at.text(lang))
            })
            .unwrap_or_default();
        out.push(format!(
            "{}: {} ({}){slow}",
            Text::PeakHourUtc.get(lang),
            crate::lang::hour(lang, p.hour),
            p.requests
        ));
    }
    let codes: Vec<String> = s.status.iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.push(format!(
        "{}: {}",
        Text::StatusCodes.get(lang),
        codes.join(", ")
    ));
    if !s.routes.is_empty() {
        out.push(Text::TopEndpoints.get(lang).to_owned());
        for r in s.routes.iter().take(SUMMARY_ROUTES) {
            let timing = match (r.avg_ms, r.p90_ms) {
                (Some(avg_ms), Some(p90_ms)) => Msg::RouteTiming { avg_ms, p90_ms }.text(lang),
                _ => String::new(),
            };
            let line = Msg::RouteLine {
                route: &r.route,
                requests: r.requests,
                e4: r.errors_4xx,
                e5: r.errors_5xx,
                timing: &timing,
            };
            out.push(line.text(lang));
        }
    }
    out.join("\n")
}

/// Real log lines for the anomaly prompt: the most recent ones and the most recent failures,
/// oldest first, without repeats.
pub fn sample_lines(s: &Stats) -> Vec<&str> {
    let mut rows: Vec<&SampleRow> = s.recent.iter().chain(s.recent_errors.iter()).collect();
    rows.sort_by(|a, b| a.ts_ms.cmp(&b.ts_ms).then_with(|| a.line.cmp(&b.line)));
    rows.dedup_by(|a, b| a.ts_ms == b.ts_ms && a.line == b.line);
    let skip = rows.len().saturating_sub(SAMPLE_LINES);
    rows.into_iter()
        .skip(skip)
        .map(|r| r.line.as_str())
        .collect()
}

/// The three prompts for `s`.
pub fn prompts(s: &Stats, lang: Lang) -> Vec<Prompt> {
    let stats = &stats_summary(s, lang);
    let lines = &sample_lines(s).join("\n");
    let prompt = |id, title: Text, text: Msg| Prompt {
        id,
        title: title.get(lang).into(),
        text: text.text(lang),
    };
    vec![
        prompt(
            "summary",
            Text::PromptSummaryTitle,
            Msg::PromptSummary { stats },
        ),
        prompt(
            "anomaly",
            Text::PromptAnomalyTitle,
            Msg::PromptAnomaly { lines },
        ),
        prompt(
            "dashboard",
            Text::PromptDashboardTitle,
            Msg::PromptDashboard { stats },
        ),
    ]
}
