//! The plain-text report (`analysis_report.txt`, `analyze --output text`).

use crate::analysis::Analysis;
use crate::insights::Severity;
use crate::lang::Lang;
use crate::stats::Stats;
use crate::time::format_utc;
use std::fmt::Write;

/// The line that says how much of the route table went to `(other)`, when any did.
pub fn route_cap_line(s: &Stats, lang: Lang) -> Option<String> {
    let c = &s.route_cap;
    if c.other_requests == 0 {
        return None;
    }
    let share = crate::lang::pct(c.other_requests as f64 / s.requests.max(1) as f64);
    let more = if c.overflowed {
        format!("{}+", c.dropped)
    } else {
        c.dropped.to_string()
    };
    Some(lang.pick(
        format!(
            "Routes: {} shown, {more} more counted as (other): {} requests ({share}); raise --max-routes to list them",
            c.shown, c.other_requests
        ),
        format!(
            "라우트: {}개 표시, 나머지 {more}개는 (other)로 집계: {}건 ({share}); --max-routes를 늘리면 모두 볼 수 있습니다",
            c.shown, c.other_requests
        ),
    ))
}

/// Renders the report: a short header, the insights with advice, then the LLM prompts.
pub fn render(a: &Analysis, lang: Lang) -> String {
    let s = &a.stats;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}",
        lang.pick("tailpulse analysis report", "tailpulse 로그 분석 리포트")
    );
    if let Some(p) = &s.period {
        let _ = writeln!(
            o,
            "{}: {} – {} UTC",
            lang.pick("Period", "기간"),
            format_utc(p.first_ms),
            format_utc(p.last_ms)
        );
    }
    let _ = writeln!(
        o,
        "{}",
        lang.pick(
            format!(
                "Requests: {} | lines read: {} | rejected: {}",
                s.requests, s.lines.read, s.lines.rejected
            ),
            format!(
                "요청: {}건 | 읽은 줄: {} | 파싱 실패: {}",
                s.requests, s.lines.read, s.lines.rejected
            ),
        )
    );
    if let Some(line) = route_cap_line(s, lang) {
        let _ = writeln!(o, "{line}");
    }
    section(
        &mut o,
        lang.pick(
            "[Improvement suggestions and insights]",
            "[개선 제안 및 인사이트]",
        ),
    );
    if a.insights.is_empty() {
        let _ = writeln!(
            o,
            "- {}",
            lang.pick(
                "No requests to analyze yet.",
                "아직 분석할 요청이 없습니다."
            )
        );
    }
    let (shown, more) = super::listed(a, lang);
    for i in shown {
        let mark = match i.severity {
            Severity::Critical => "[!!] ",
            Severity::Warning => "[!] ",
            Severity::Info => "",
        };
        let _ = writeln!(o, "- {mark}{}", i.message);
        if let Some(a) = &i.advice {
            let _ = writeln!(o, "  → {a}");
        }
    }
    if let Some(more) = more {
        let _ = writeln!(o, "- {more}");
    }
    if let Some(l) = &a.llm {
        llm_section(&mut o, l, lang);
    }
    section(
        &mut o,
        lang.pick(
            "[LLM prompts: natural-language summary / anomaly detection]",
            "[LLM 활용 자연어 요약/이상탐지 프롬프트 샘플]",
        ),
    );
    for (n, p) in a.prompts.iter().enumerate() {
        let _ = writeln!(o, "{}. {}:", n + 1, p.title);
        let _ = writeln!(o, "{}", p.text);
        let _ = writeln!(o);
    }
    o
}

/// The machine-written analysis, marked as such.
fn llm_section(o: &mut String, l: &crate::answer::LlmStatus, lang: Lang) {
    section(
        o,
        lang.pick("[Machine-written analysis (LLM)]", "[기계 작성 분석 (LLM)]"),
    );
    match (&l.answer, l.answered_ms) {
        (Some(a), Some(t)) => {
            let _ = writeln!(
                o,
                "{} {} {}:\n{}",
                lang.pick("Written by", "작성:"),
                l.model,
                crate::time::format_rfc3339(t),
                a.trim()
            );
        }
        _ => {
            let _ = writeln!(
                o,
                "{}",
                lang.pick("No answer yet.", "아직 답변이 없습니다.")
            );
        }
    }
    if let Some(e) = &l.last_error {
        let _ = writeln!(
            o,
            "({}: {e})",
            lang.pick("last call failed", "마지막 호출 실패")
        );
    }
}

/// A blank line, the section title and its rule.
fn section(o: &mut String, title: &str) {
    let _ = writeln!(o, "\n{title}\n---");
}

/// `prompt_log.md`: the current prompts as Markdown.
pub fn prompt_log(a: &Analysis, lang: Lang) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", lang.pick("LLM prompts", "LLM 프롬프트"));
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
