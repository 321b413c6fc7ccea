//! From an aggregate to the full analysis: numbers, insights and prompts.

use crate::aggregate::Aggregate;
use crate::lang::Lang;
use crate::summary::Summary;

/// The complete analysis of `agg` in `lang`.
pub fn analyze(agg: &Aggregate, lang: Lang) -> Summary {
    analyze_live(agg, lang, &LiveExtras::default())
}

/// What a live run adds to the analysis.
#[derive(Debug, Clone, Default)]
pub struct LiveExtras {
    /// Detected incidents as insights, most important first.
    pub incidents: Vec<crate::insights::Insight>,
    /// Replace client addresses and drop query strings in the prompts.
    pub redact: bool,
    /// The LLM loop's state.
    pub llm: Option<crate::answer::LlmStatus>,
}

/// The analysis of a live run: detected incidents lead the insights and feed the prompts.
pub fn analyze_live(agg: &Aggregate, lang: Lang, extras: &LiveExtras) -> Summary {
    let mut s = Summary::numbers(agg);
    annotate(&mut s, agg, lang, extras);
    s
}

/// Writes the insights and prompts of `s` (the numbers of `agg`) in `lang`: what the same
/// analysis says in another language.
pub fn annotate(s: &mut Summary, agg: &Aggregate, lang: Lang, extras: &LiveExtras) {
    s.incidents = extras
        .incidents
        .iter()
        .filter_map(crate::summary::IncidentRow::of)
        .collect();
    let mut insights = extras.incidents.clone();
    // A scanner found as an incident (with its window) is not listed again as a finding
    // over the whole log.
    let scanned = |i: &crate::insights::Insight| {
        i.kind == crate::insights::InsightKind::Scanner
            && extras.incidents.iter().any(|x| {
                x.kind == crate::insights::InsightKind::ScannerActivity && x.subject == i.subject
            })
    };
    insights.extend(
        crate::insights::insights(agg, s, lang)
            .into_iter()
            .filter(|i| !scanned(i)),
    );
    s.insights = insights;
    s.prompts = crate::report::prompts::prompts(s, lang);
    if extras.redact {
        for p in &mut s.prompts {
            p.text = crate::report::prompts::redact(&p.text);
        }
    }
    s.llm = extras.llm.clone();
}
