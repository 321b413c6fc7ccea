//! The analysis: the numbers of an aggregate ([`Stats`]) and what is said of them — detected
//! incidents, insights with advice, prompts for an LLM and, when one is asked, its answer.

use crate::aggregate::Aggregate;
use crate::answer::LlmStatus;
use crate::insights::{Insight, InsightKind};
use crate::lang::Lang;
use crate::report::prompts::Prompt;
use crate::stats::{IncidentRow, Stats};
use serde::Serialize;

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
    /// Replace client addresses and drop query strings in the prompts.
    pub redact: bool,
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
        let incidents = extras
            .incidents
            .iter()
            .filter_map(IncidentRow::of)
            .collect();
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
        let mut prompts = crate::report::prompts::prompts(&stats, lang);
        if extras.redact {
            for p in &mut prompts {
                p.text = crate::report::prompts::redact(&p.text);
            }
        }
        Analysis {
            stats,
            insights,
            incidents,
            prompts,
            llm: extras.llm.clone(),
        }
    }
}
