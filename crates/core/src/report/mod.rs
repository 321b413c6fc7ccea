//! Rendering the analysis: the text report, the self-contained HTML page and CSV tables.

pub mod csv;
pub mod html;
pub mod html_panels;
pub mod tables;
pub mod text;

use crate::analysis::Analysis;
use crate::insights::Insight;
use crate::lang::Lang;
use crate::messages::Msg;

/// `s` as HTML text: escaped, its control characters replaced.
pub(crate) fn esc(s: &str) -> String {
    html_escape::encode_text(&crate::text::printable(s)).into_owned()
}

/// Incidents listed one by one in the text and HTML reports; the JSON lists them all.
pub const LISTED_INCIDENTS: usize = 10;

/// The insights a report lists: every finding, and the first [`LISTED_INCIDENTS`] incidents
/// (most important first); with a line that counts the rest by kind.
pub fn listed(a: &Analysis, lang: Lang) -> (Vec<&Insight>, Option<String>) {
    let mut shown = Vec::new();
    let mut rest: std::collections::BTreeMap<String, usize> = Default::default();
    let mut incidents = 0;
    for i in &a.insights {
        if i.kind.is_incident() {
            incidents += 1;
            if incidents > LISTED_INCIDENTS {
                *rest.entry(crate::insights::kind_name(i.kind)).or_default() += 1;
                continue;
            }
        }
        shown.push(i);
    }
    let more = (!rest.is_empty()).then(|| {
        let n: usize = rest.values().sum();
        let kinds: Vec<String> = rest.iter().map(|(k, n)| format!("{k} {n}")).collect();
        Msg::MoreIncidents {
            n,
            kinds: &kinds.join(", "),
        }
        .text(lang)
    });
    (shown, more)
}
