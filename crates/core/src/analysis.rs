//! The analysis: the numbers of an aggregate ([`Stats`]) and what is said of them — detected
//! incidents, insights with advice, prompts for an LLM and, when one is asked, its answer.

use crate::aggregate::Aggregate;
use crate::answer::LlmStatus;
use crate::insights::{Insight, InsightKind};
use crate::lang::Lang;
use crate::prompts::Prompt;
use crate::stats::Stats;
use serde::Serialize;
use std::collections::BTreeMap;

/// A complete analysis, as `analyze --output json` prints it and the dashboard shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The numbers.
    #[serde(flatten)]
    pub stats: Stats,
    /// Findings with advice, detected incidents first.
    pub insights: Vec<Insight>,
    /// Detected incidents, the same ones that lead `insights`, as a list of their own.
    pub incidents: Vec<IncidentRow>,
    /// Prompts ready to paste into an LLM.
    pub prompts: Vec<Prompt>,
    /// The machine-written analysis, when an LLM endpoint is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmStatus>,
}

/// What a run knows beyond the aggregate.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Detected incidents as insights, most important first.
    pub incidents: Vec<Insight>,
    /// The LLM loop's state.
    pub llm: Option<LlmStatus>,
}

/// The complete analysis of `agg` in `lang`, with nothing detected.
pub fn analyze(agg: &Aggregate, lang: Lang) -> Analysis {
    analyze_with(agg, lang, &Extras::default())
}

/// The analysis of `agg` in `lang` with what a run adds: detected incidents lead the
/// insights and feed the prompts.
pub fn analyze_with(agg: &Aggregate, lang: Lang, extras: &Extras) -> Analysis {
    Analysis::of(Stats::of(agg), agg, lang, extras)
}

impl Analysis {
    /// The analysis of `stats` (the numbers of `agg`) in `lang`: computed once, the numbers
    /// can be said in either language.
    pub fn of(stats: Stats, agg: &Aggregate, lang: Lang, extras: &Extras) -> Analysis {
        // A scanner found as an incident (with its window) is not listed again as a finding
        // over the whole log.
        let scanned = |i: &Insight| {
            i.kind == InsightKind::Scanner
                && extras
                    .incidents
                    .iter()
                    .any(|x| x.kind == InsightKind::ScannerActivity && x.subject == i.subject)
        };
        let mut insights = extras.incidents.clone();
        insights.extend(
            crate::insights::insights(agg, &stats, lang)
                .into_iter()
                .filter(|i| !scanned(i)),
        );
        let incidents = insights.iter().filter_map(IncidentRow::of).collect();
        let prompts = crate::prompts::prompts(&stats, lang);
        Analysis {
            stats,
            insights,
            incidents,
            prompts,
            llm: extras.llm.clone(),
        }
    }
}

/// One detected incident.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentRow {
    /// What kind (`error_spike`, `site_quiet`, …).
    pub kind: crate::insights::InsightKind,
    /// The route or client concerned; none for the whole site.
    pub subject: Option<String>,
    /// How much it matters.
    pub severity: crate::insights::Severity,
    /// Start of the first minute that showed it (RFC 3339, UTC).
    pub start: String,
    /// End of the last minute that showed it, once over.
    pub end: Option<String>,
    /// When it was first detected.
    pub detected: String,
    /// What happened, in the report's language.
    pub message: String,
    /// The numbers behind it.
    pub evidence: BTreeMap<String, f64>,
}

impl IncidentRow {
    /// The row of an incident's insight (none for insights that are not incidents).
    pub fn of(i: &Insight) -> Option<IncidentRow> {
        let w = i.window?;
        let t = crate::time::format_rfc3339;
        Some(IncidentRow {
            kind: i.kind,
            subject: i.subject.clone(),
            severity: i.severity,
            start: t(w.start_ms),
            end: w.end_ms.map(t),
            detected: t(w.detected_ms),
            message: i.message.clone(),
            evidence: i.evidence.clone(),
        })
    }
}
