//! Snapshots of the rendered report (English and Korean) and the JSON document's keys.

mod common;

use tailpulse::lang::Lang;

fn summary(lang: Lang) -> tailpulse::analysis::Analysis {
    let data = std::fs::read(common::FIXTURE).unwrap();
    let agg = common::aggregate_bytes("combined.log", &data, 2, 64 << 10);
    tailpulse::analysis::analyze(&agg, lang)
}

#[test]
fn text_report_en() {
    insta::assert_snapshot!(tailpulse::report::text::render(
        &summary(Lang::En),
        Lang::En
    ));
}

#[test]
fn text_report_ko() {
    insta::assert_snapshot!(tailpulse::report::text::render(
        &summary(Lang::Ko),
        Lang::Ko
    ));
}

#[test]
fn json_has_the_documented_keys() {
    let v = serde_json::to_value(summary(Lang::En)).unwrap();
    for key in [
        "lines",
        "requests",
        "status",
        "status_class",
        "unique_visitors",
        "bytes",
        "response_time_ms",
        "by_hour",
        "peak_hour",
        "routes",
        "insights",
        "prompts",
        "success_rate",
        "error_rate_4xx",
        "error_rate_5xx",
        "hosts",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["lines"]["read"], 3000);
    assert_eq!(v["lines"]["parsed"], 3000);
    assert_eq!(v["lines"]["rejected"], 0);
    for p in ["avg", "p50", "p90", "p95", "p99", "max"] {
        assert!(v["response_time_ms"][p].as_f64().unwrap() > 0.0, "{p}");
    }
    assert_eq!(v["by_hour"].as_array().unwrap().len(), 24);
    let hours: u64 = v["by_hour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(hours, 3000);
    let classes: u64 = v["status_class"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(classes, 3000);
    let route = &v["routes"][0];
    for k in [
        "route",
        "requests",
        "errors_4xx",
        "errors_5xx",
        "avg_ms",
        "p90_ms",
        "p99_ms",
        "bytes",
    ] {
        assert!(route.get(k).is_some(), "routes[].{k}");
    }
    assert_eq!(v["prompts"].as_array().unwrap().len(), 3);
}

#[test]
fn prompts_carry_real_numbers_and_lines() {
    let s = summary(Lang::En);
    let summary_prompt = &s.prompts[0].text;
    assert!(summary_prompt.contains(&format!("Total requests: {}", s.stats.requests)));
    let anomaly = &s.prompts[1].text;
    let last = &s.stats.recent[0].line;
    assert!(
        anomaly.contains(last.as_str()),
        "the newest real line is in the anomaly prompt"
    );
}

#[test]
fn insights_name_the_slow_admin_route() {
    let s = summary(Lang::En);
    let slow = s
        .insights
        .iter()
        .find(|i| i.kind == tailpulse::insights::InsightKind::SlowestRoute)
        .unwrap();
    let slowest = s
        .stats
        .routes
        .iter()
        .filter(|r| r.requests >= 5 && r.route != "(other)")
        .max_by(|a, b| a.avg_ms.partial_cmp(&b.avg_ms).unwrap())
        .unwrap();
    assert_eq!(slow.subject.as_deref(), Some(slowest.route.as_str()));
}

/// `--width` fits the text report in that many terminal columns, in English and in Korean
/// (whose letters take two): the tables cut long names with `…`, the insights break at
/// spaces; without it (a pipe) nothing is cut to a width.
#[test]
fn the_text_report_fits_the_width_asked_for() {
    use unicode_width::UnicodeWidthStr;
    let log = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/real/blog_combined.log"
    );
    let text = |args: &[&str]| {
        let mut all = vec!["analyze", log];
        all.extend_from_slice(args);
        let out = common::tailpulse_in(None, &all, None);
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let wide = text(&[]);
    let widest = wide.lines().map(UnicodeWidthStr::width).max().unwrap();
    assert!(widest > 100, "this log has long lines to fit: {widest}");
    for lang in ["en", "ko"] {
        for width in [60usize, 80] {
            let w = width.to_string();
            let fitted = text(&["--width", &w, "--lang", lang]);
            for line in fitted.lines() {
                assert!(line.width() <= width, "{lang} {width}: {line:?}");
            }
            assert!(fitted.contains('…'), "long names are cut, and say so");
            // The words of the insights are all there, only broken into lines.
            let words = |t: &str| -> Vec<String> {
                let at = t.find("\n- ").unwrap();
                t[at..].split_whitespace().map(str::to_owned).collect()
            };
            assert_eq!(words(&fitted), words(&text(&["--lang", lang])), "{lang}");
        }
    }
}
