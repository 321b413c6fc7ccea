//! The plain-text report (`analysis_report.txt`, `analyze --output text`).

use crate::analysis::Analysis;
use crate::insights::Severity;
use crate::lang::Lang;
use crate::messages::{Msg, Text};
use crate::stats::Stats;
use crate::time::format_utc;
use std::fmt::Write;

/// The line that says how much of the route table went to `(other)`, when any did.
pub fn route_cap_line(s: &Stats, lang: Lang) -> Option<String> {
    let c = &s.route_cap;
    if c.other_requests == 0 {
        return None;
    }
    let share = c.other_requests as f64 / s.requests.max(1) as f64;
    let more = if c.overflowed {
        format!("{}+", c.dropped)
    } else {
        c.dropped.to_string()
    };
    let line = Msg::RouteCap {
        shown: c.shown,
        more: &more,
        requests: c.other_requests,
        share,
    };
    Some(line.text(lang))
}

/// Renders the whole report: the tables, the insights with advice, then the LLM prompts.
pub fn render(a: &Analysis, lang: Lang) -> String {
    render_with(a, lang, true)
}

/// How a text report is laid out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Layout {
    /// End with the three LLM prompts.
    pub prompts: bool,
    /// Fit the tables in this many terminal columns (`None`: no limit).
    pub width: Option<usize>,
}

/// Renders the report, with the LLM prompts at its end when `prompts`; no control character
/// from the log reaches it (a terminal would act on them).
pub fn render_with(a: &Analysis, lang: Lang, prompts: bool) -> String {
    render_laid_out(
        a,
        lang,
        Layout {
            prompts,
            width: None,
        },
    )
}

/// Renders the report laid out as `layout` says; no control character from the log
/// reaches it.
pub fn render_laid_out(a: &Analysis, lang: Lang, layout: Layout) -> String {
    crate::text::printable_lines(render_raw(a, lang, layout))
}

fn render_raw(a: &Analysis, lang: Lang, layout: Layout) -> String {
    let s = &a.stats;
    let mut o = String::new();
    let _ = writeln!(o, "{}", Text::ReportTitle.get(lang));
    if let Some(p) = &s.period {
        let _ = writeln!(
            o,
            "{}: {} – {} UTC",
            Text::Period.get(lang),
            format_utc(p.first_ms),
            format_utc(p.last_ms)
        );
    }
    let _ = writeln!(
        o,
        "{}",
        Msg::RequestsLine {
            requests: s.requests,
            read: s.lines.read,
            rejected: s.lines.rejected,
        }
        .text(lang)
    );
    for src in &s.sources {
        if let Some(error) = &src.error {
            let line = Msg::ReadStopped {
                source: &src.name,
                error,
            };
            let _ = writeln!(o, "{}", line.text(lang));
        }
    }
    if let Some(line) = route_cap_line(s, lang) {
        wrapped(&mut o, layout.width, &line, "  ");
    }
    super::tables::tables(&mut o, s, lang, layout.width);
    section(&mut o, Text::SectionInsights.get(lang));
    if a.insights.is_empty() {
        let _ = writeln!(o, "- {}", Text::NoRequestsYet.get(lang));
    }
    let (shown, more) = super::listed(a, lang);
    for i in shown {
        let mark = match i.severity {
            Severity::Critical => "[!!] ",
            Severity::Warning => "[!] ",
            Severity::Info => "",
        };
        wrapped(
            &mut o,
            layout.width,
            &format!("- {mark}{}", i.message),
            "  ",
        );
        if let Some(a) = &i.advice {
            wrapped(&mut o, layout.width, &format!("  → {a}"), "    ");
        }
    }
    if let Some(more) = more {
        wrapped(&mut o, layout.width, &format!("- {more}"), "  ");
    }
    if let Some(l) = &a.llm {
        llm_section(&mut o, l, lang);
    }
    if !layout.prompts {
        return o;
    }
    section(&mut o, Text::SectionPrompts.get(lang));
    for (n, p) in a.prompts.iter().enumerate() {
        let _ = writeln!(o, "{}. {}:", n + 1, p.title);
        let _ = writeln!(o, "{}", p.text);
        let _ = writeln!(o);
    }
    o
}

/// Writes `line`, broken at spaces to fit `width` (when given), its later lines indented by
/// `indent`.
pub(super) fn wrapped(o: &mut String, width: Option<usize>, line: &str, indent: &str) {
    match width {
        Some(w) => {
            // Paths and names are broken only when longer than a line, not at their hyphens.
            let opts = textwrap::Options::new(w.max(20))
                .subsequent_indent(indent)
                .word_splitter(textwrap::WordSplitter::NoHyphenation);
            for l in textwrap::wrap(line, opts) {
                let _ = writeln!(o, "{l}");
            }
        }
        None => {
            let _ = writeln!(o, "{line}");
        }
    }
}

/// The machine-written analysis, marked as such.
fn llm_section(o: &mut String, l: &crate::answer::LlmStatus, lang: Lang) {
    section(o, Text::SectionLlm.get(lang));
    match (&l.answer, l.answered_ms) {
        (Some(a), Some(t)) => {
            let _ = writeln!(
                o,
                "{} {} {}:\n{}",
                Text::WrittenBy.get(lang),
                l.model,
                crate::time::format_rfc3339(t),
                a.trim()
            );
        }
        _ => {
            let _ = writeln!(o, "{}", Text::NoAnswerYet.get(lang));
        }
    }
    if let Some(e) = &l.last_error {
        let _ = writeln!(o, "({}: {e})", Text::LastCallFailed.get(lang));
    }
}

/// A blank line, the section title and its rule.
/// A heading and its rule.
pub(super) fn section(o: &mut String, title: &str) {
    let _ = writeln!(o, "\n{title}\n---");
}

/// `prompt_log.md`: the current prompts as Markdown.
pub fn prompt_log(a: &Analysis, lang: Lang) -> String {
    crate::text::printable_lines(prompt_log_raw(a, lang))
}

fn prompt_log_raw(a: &Analysis, lang: Lang) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", Text::LlmPrompts.get(lang));
    for p in &a.prompts {
        let _ = writeln!(
            o,
            "## {}\n\n```text\n{}\n```\n",
            p.title,
            p.text.replace("```", "'''")
        );
    }
    o
}
