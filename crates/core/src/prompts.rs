//! The three LLM prompts of the original report — natural-language summary, anomaly detection
//! over real log lines, dashboard explanation — filled with live numbers.

use crate::lang::{Lang, bytes, hour, ms, pct};
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
            lang.pick("Period", "기간"),
            format_utc(p.first_ms),
            format_utc(p.last_ms)
        ));
    }
    out.push(lang.pick(
        format!(
            "Total requests: {} (lines read {}, rejected {})",
            s.requests, s.lines.read, s.lines.rejected
        ),
        format!(
            "총 요청 수: {}건 (읽은 줄 {}, 파싱 실패 {})",
            s.requests, s.lines.read, s.lines.rejected
        ),
    ));
    if let (Some(ok), Some(e4), Some(e5)) = (s.success_rate, s.error_rate_4xx, s.error_rate_5xx) {
        out.push(lang.pick(
            format!(
                "Success rate: {} | 4xx: {} | 5xx: {}",
                pct(ok),
                pct(e4),
                pct(e5)
            ),
            format!("성공률: {} | 4xx: {} | 5xx: {}", pct(ok), pct(e4), pct(e5)),
        ));
    }
    if let Some(r) = &s.response_time_ms {
        let m = |v| ms(lang, v);
        out.push(lang.pick(
            format!(
                "Response time: avg {}, p50 {}, p90 {}, p95 {}, p99 {}, max {}",
                m(r.avg),
                m(r.p50),
                m(r.p90),
                m(r.p95),
                m(r.p99),
                m(r.max)
            ),
            format!(
                "응답시간: 평균 {}, p50 {}, p90 {}, p95 {}, p99 {}, 최대 {}",
                m(r.avg),
                m(r.p50),
                m(r.p90),
                m(r.p95),
                m(r.p99),
                m(r.max)
            ),
        ));
    }
    out.push(lang.pick(
        format!(
            "Unique visitors: {} | Bandwidth: {} | Bots: {}",
            s.unique_visitors,
            bytes(s.bytes),
            pct(s.bots.share)
        ),
        format!(
            "순 방문자: {} | 전송량: {} | 봇: {}",
            s.unique_visitors,
            bytes(s.bytes),
            pct(s.bots.share)
        ),
    ));
    if let Some(p) = s.peak_hour {
        let slow = s
            .slowest_hour
            .map(|h| {
                format!(
                    " | {}: {} ({})",
                    lang.pick("Slowest hour", "가장 느린 시간대"),
                    hour(lang, h.hour),
                    ms(lang, h.avg_ms)
                )
            })
            .unwrap_or_default();
        out.push(format!(
            "{}: {} ({}){slow}",
            lang.pick("Peak hour (UTC)", "피크 시간대(UTC)"),
            hour(lang, p.hour),
            p.requests
        ));
    }
    let codes: Vec<String> = s.status.iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.push(format!(
        "{}: {}",
        lang.pick("Status codes", "상태 코드"),
        codes.join(", ")
    ));
    if !s.routes.is_empty() {
        out.push(lang.pick("Top endpoints:", "주요 엔드포인트:").to_owned());
        for r in s.routes.iter().take(SUMMARY_ROUTES) {
            let timing = match (r.avg_ms, r.p90_ms) {
                (Some(a), Some(p)) => lang.pick(
                    format!(", avg {}, p90 {}", ms(lang, a), ms(lang, p)),
                    format!(", 평균 {}, p90 {}", ms(lang, a), ms(lang, p)),
                ),
                _ => String::new(),
            };
            out.push(lang.pick(
                format!(
                    "- {}: {} requests, 4xx {}, 5xx {}{timing}",
                    r.route, r.requests, r.errors_4xx, r.errors_5xx
                ),
                format!(
                    "- {}: {}건, 4xx {}, 5xx {}{timing}",
                    r.route, r.requests, r.errors_4xx, r.errors_5xx
                ),
            ));
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
    let stats = stats_summary(s, lang);
    let lines = sample_lines(s).join("\n");
    vec![
        Prompt {
            id: "summary",
            title: lang.pick("Report summary prompt", "리포트 자연어 요약 프롬프트").into(),
            text: lang.pick(
                format!("The following is a summary of server log analysis results.\n---\n{stats}\n---\nBased on the data above, write a natural-language report for the administrators covering the main problems, anomalies, improvement suggestions and traffic characteristics."),
                format!("다음은 서버 로그 분석 결과 요약입니다.\n---\n{stats}\n---\n위 데이터를 바탕으로, 주요 문제점, 이상 징후, 개선 제안, 트래픽 특징을 관리자에게 보고하는 자연어 리포트를 작성해줘."),
            ),
        },
        Prompt {
            id: "anomaly",
            title: lang.pick("Anomaly detection prompt", "이상 패턴 탐지 프롬프트").into(),
            text: lang.pick(
                format!("Below is a sample of recent server log lines.\n---\n{lines}\n---\nFind and summarize anything unusual in these logs: deviations from normal behaviour, signs of trouble, clusters of errors, response-time spikes and other notable events."),
                format!("아래는 최근 서버 로그 일부입니다.\n---\n{lines}\n---\n이 로그에서 평소와 다른 점, 이상 징후, 에러 집중 구간, 응답시간 급증 등 특이사항을 찾아서 요약해줘."),
            ),
        },
        Prompt {
            id: "dashboard",
            title: lang.pick("Dashboard explanation prompt", "대시보드 자연어 설명 프롬프트").into(),
            text: lang.pick(
                format!("Below are the main statistics of the dashboard.\n---\n{stats}\n---\nBased on this data, explain in plain language the characteristics of the traffic, errors and response times so they can be understood at a glance."),
                format!("아래는 대시보드 주요 통계입니다.\n---\n{stats}\n---\n이 데이터를 바탕으로, 트래픽/에러/응답시간의 특징을 한눈에 알 수 있게 자연어로 설명해줘."),
            ),
        },
    ]
}

/// `text` with client addresses replaced by stable pseudonyms (`client-1`, …) and query
/// strings dropped from paths, for prompts that leave the machine.
pub fn redact(text: &str) -> String {
    use regex::Regex;
    use std::collections::HashMap;
    use std::sync::LazyLock;
    static ADDR: LazyLock<Regex> = LazyLock::new(|| {
        // No `(?i)`: case-insensitive classes need regex's unicode-case tables, which the
        // release build does not carry (it panicked there on first use).
        Regex::new(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}\b")
            .expect("static pattern")
    });
    static QUERY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"(/[^\s"?]*)\?[^\s"]*"#).expect("static pattern"));
    let mut names: HashMap<String, String> = HashMap::new();
    let no_query = QUERY.replace_all(text, "$1");
    ADDR.replace_all(&no_query, |c: &regex::Captures<'_>| {
        let a = &c[0];
        // Times (12:00:01) look like short IPv6 addresses; an address has a `::` or 7 colons.
        if a.contains(':') && !a.contains("::") && a.matches(':').count() < 7 {
            return a.to_owned();
        }
        let n = names.len() + 1;
        names
            .entry(a.to_owned())
            .or_insert_with(|| format!("client-{n}"))
            .clone()
    })
    .into_owned()
}

#[cfg(test)]
mod redact_tests {
    use super::redact;

    #[test]
    fn addresses_and_queries_are_hidden_times_are_not() {
        let line = r#"10.1.2.3 - - [01/Mar/2024:12:00:01 +0000] "GET /api/users?token=secret HTTP/1.1" 200 5 "-" "x" 2001:db8::1 10.1.2.3"#;
        let r = redact(line);
        assert!(
            !r.contains("10.1.2.3") && !r.contains("2001:db8::1") && !r.contains("secret"),
            "{r}"
        );
        assert!(
            r.starts_with("client-1 ") && r.ends_with("client-2 client-1"),
            "{r}"
        );
        assert!(
            r.contains("12:00:01") && r.contains("GET /api/users HTTP/1.1"),
            "{r}"
        );
    }
}
