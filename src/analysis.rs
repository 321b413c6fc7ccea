//! From an aggregate to the full analysis: numbers, insights and prompts.

use crate::aggregate::Aggregate;
use crate::lang::Lang;
use crate::summary::Summary;

/// The complete analysis of `agg` in `lang`.
pub fn analyze(agg: &Aggregate, lang: Lang) -> Summary {
    let mut s = Summary::numbers(agg);
    s.insights = crate::insights::insights(agg, &s, lang);
    s.prompts = crate::report::prompts::prompts(&s, lang);
    s
}
