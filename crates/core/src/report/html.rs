//! A self-contained HTML report: inline CSS and SVG charts, no script, no network.
//! Every string that comes from a log line is escaped.

use super::esc;
use crate::aggregate::capped::OTHER;
use crate::analysis::Analysis;
use crate::lang::{Lang, bytes, ms, pct};
use crate::messages::{Msg, Text};
use crate::stats::{SampleRow, Stats};
use crate::time::format_utc;
use std::fmt::Write;

/// Rows of the longest tables; the rest are summed up in one line.
const TABLE_ROWS: usize = 25;

const CLASS_COLORS: [&str; 5] = ["#8e8e8e", "#2e9d57", "#3b7dd8", "#e0a030", "#d64545"];
const CLASS_NAMES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans','Noto Sans KR','Noto Sans CJK KR','Apple SD Gothic Neo','Malgun Gothic',sans-serif;margin:0;background:#f5f6f8;color:#1d232b}\
main{max-width:1200px;margin:auto;padding:16px;overflow-wrap:anywhere}h1{font-size:22px}h2{font-size:17px;margin-top:28px}\
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px}\
.card{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 2px #0002}\
.card b{display:block;font-size:22px;margin-top:4px}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(420px,100%),1fr));gap:14px}\
section.box{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 2px #0002;overflow-x:auto}\
table{border-collapse:collapse;width:100%;font-size:13px}td,th{padding:4px 6px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}pre{white-space:pre-wrap;background:#f0f2f5;padding:10px;border-radius:6px;font-size:12px}\
.sev-warning{color:#b36b00}.sev-critical{color:#c62828;font-weight:bold}.legend span{display:inline-block;margin-right:10px;font-size:12px}\
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}code{word-break:break-all}\
@media (prefers-color-scheme:dark){body{background:#15181d;color:#e3e6ea}.card,section.box{background:#1f242b}pre{background:#272d35}td,th{border-color:#333a43}}";

/// Renders the whole report as one HTML document.
pub fn render(a: &Analysis, lang: Lang) -> String {
    let s = &a.stats;
    let mut o = String::with_capacity(64 * 1024);
    let title = Text::ReportTitle.get(lang);
    let _ = write!(
        o,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>{title}</title><style>{STYLE}</style></head><body><main><h1>{title}</h1>",
        Text::HtmlLang.get(lang)
    );
    if let Some(p) = &s.period {
        let _ = write!(
            o,
            "<p>{} – {} UTC</p>",
            format_utc(p.first_ms),
            format_utc(p.last_ms)
        );
    }
    cards(&mut o, s, lang);
    let _ = write!(o, "<div class=\"grid\">");
    let hours: Vec<(String, [u64; 5])> = s
        .by_hour
        .iter()
        .map(|h| {
            (
                h.hour.to_string(),
                CLASS_NAMES.map(|c| h.status_class.get(c).copied().unwrap_or(0)),
            )
        })
        .collect();
    boxed(
        &mut o,
        Text::RequestsByHour.get(lang),
        &stacked_bars(&hours),
    );
    let timeline: Vec<(String, [u64; 5])> = s
        .timeline
        .hourly
        .iter()
        .map(|r| {
            (
                r.t.get(5..13).unwrap_or(&r.t).replace('T', " "),
                CLASS_NAMES.map(|c| r.status_class.get(c).copied().unwrap_or(0)),
            )
        })
        .collect();
    boxed(
        &mut o,
        Text::RequestsOverTime.get(lang),
        &stacked_bars(&timeline),
    );
    let classes: Vec<(String, u64)> = s
        .status_class
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    boxed(
        &mut o,
        Text::StatusClasses.get(lang),
        &hbars(&classes, true),
    );
    let routes: Vec<(String, u64)> = s
        .routes
        .iter()
        .take(12)
        .map(|r| (r.route.clone(), r.requests))
        .collect();
    boxed(
        &mut o,
        Text::RequestsPerEndpoint.get(lang),
        &hbars(&routes, false),
    );
    let _ = write!(o, "</div>");
    insights(&mut o, a, lang);
    routes_table(&mut o, s, lang);
    super::html_panels::panels(&mut o, s, lang);
    samples(&mut o, Text::SlowestRequests.get(lang), &s.slowest, lang);
    samples(&mut o, Text::MostRecentRequests.get(lang), &s.recent, lang);
    clients(&mut o, s, lang);
    servers(&mut o, s, lang);
    sources(&mut o, s, lang);
    let _ = write!(o, "<h2>{}</h2>", Text::LlmPrompts.get(lang));
    for p in &a.prompts {
        let _ = write!(o, "<h3>{}</h3><pre>{}</pre>", esc(&p.title), esc(&p.text));
    }
    let _ = writeln!(o, "</main></body></html>");
    o
}

fn cards(o: &mut String, s: &Stats, lang: Lang) {
    let rt = s.response_time_ms;
    let items = [
        (Text::TotalRequests.get(lang), s.requests.to_string()),
        (
            Text::SuccessRate.get(lang),
            s.success_rate.map_or("–".into(), pct),
        ),
        (
            Text::Rate4xx.get(lang),
            s.error_rate_4xx.map_or("–".into(), pct),
        ),
        (
            Text::Rate5xx.get(lang),
            s.error_rate_5xx.map_or("–".into(), pct),
        ),
        (
            Text::AvgResponse.get(lang),
            rt.map_or("–".into(), |r| ms(lang, r.avg)),
        ),
        (
            Text::P95Response.get(lang),
            rt.map_or("–".into(), |r| ms(lang, r.p95)),
        ),
        (
            Text::UniqueVisitors.get(lang),
            s.unique_visitors.to_string(),
        ),
        (Text::Bandwidth.get(lang), bytes(s.bytes)),
    ];
    let _ = write!(o, "<div class=\"cards\">");
    for (k, v) in items {
        let _ = write!(o, "<div class=\"card\">{k}<b>{}</b></div>", esc(&v));
    }
    let _ = write!(o, "</div>");
}

fn boxed(o: &mut String, title: &str, body: &str) {
    let _ = write!(o, "<section class=\"box\"><h2>{title}</h2>{body}</section>");
}

fn legend() -> String {
    let mut o = String::from("<div class=\"legend\">");
    for (c, n) in CLASS_COLORS.iter().zip(CLASS_NAMES) {
        let _ = write!(o, "<span><i style=\"background:{c}\"></i>{n}</span>");
    }
    o + "</div>"
}

/// Vertical bars stacked by status class.
fn stacked_bars(rows: &[(String, [u64; 5])]) -> String {
    let (w, h, pad) = (560.0, 200.0, 24.0);
    let max = rows
        .iter()
        .map(|(_, c)| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = rows.len().max(1) as f64;
    let bw = (w - pad) / n;
    let mut o = format!(
        "<svg viewBox=\"0 0 {w} {}\" width=\"100%\" role=\"img\">",
        h + 20.0
    );
    let label_every = (rows.len() / 12).max(1);
    for (i, (label, counts)) in rows.iter().enumerate() {
        let x = pad + i as f64 * bw;
        let mut y = h;
        for (k, c) in counts.iter().enumerate() {
            let bh = *c as f64 / max * (h - 10.0);
            if bh > 0.0 {
                y -= bh;
                let _ = write!(
                    o,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} {}: {c}</title></rect>",
                    (bw - 1.0).max(0.5),
                    CLASS_COLORS[k],
                    esc(label),
                    CLASS_NAMES[k]
                );
            }
        }
        if i % label_every == 0 {
            let _ = write!(
                o,
                "<text x=\"{x:.1}\" y=\"{}\" font-size=\"9\" fill=\"currentColor\">{}</text>",
                h + 14.0,
                esc(label)
            );
        }
    }
    let _ = write!(
        o,
        "<text x=\"0\" y=\"10\" font-size=\"9\" fill=\"currentColor\">{max}</text></svg>"
    );
    o + &legend()
}

/// Horizontal bars with labels.
fn hbars(rows: &[(String, u64)], class_colors: bool) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    // Label 0–225, bar 230–470, the value after the bar: room for a 12-digit count.
    let bar_max = 240.0;
    let row_h = 22.0;
    let h = row_h * rows.len().max(1) as f64;
    let mut o = format!("<svg viewBox=\"0 0 560 {h}\" width=\"100%\" role=\"img\">");
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = i as f64 * row_h;
        let bw = *v as f64 / max * bar_max;
        let color = if class_colors {
            CLASS_COLORS[i % 5]
        } else {
            "#3b7dd8"
        };
        let short: String = label.chars().take(34).collect();
        let _ = write!(
            o,
            "<text x=\"0\" y=\"{:.1}\" font-size=\"11\" fill=\"currentColor\">{}</text><rect x=\"230\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"14\" fill=\"{color}\"><title>{}: {v}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"currentColor\">{v}</text>",
            y + 14.0,
            esc(&short),
            y + 3.0,
            esc(label),
            236.0 + bw,
            y + 14.0
        );
    }
    o + "</svg>"
}

fn insights(o: &mut String, a: &Analysis, lang: Lang) {
    let _ = write!(
        o,
        "<h2>{}</h2><section class=\"box\"><ul>",
        Text::InsightsAndSuggestions.get(lang)
    );
    let (shown, more) = super::listed(a, lang);
    for i in shown {
        let sev = serde_json::to_value(i.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = write!(o, "<li class=\"sev-{sev}\">{}", esc(&i.message));
        if let Some(a) = &i.advice {
            let _ = write!(o, "<br>→ {}", esc(a));
        }
        let _ = write!(o, "</li>");
    }
    if let Some(more) = more {
        let _ = write!(o, "<li>{}</li>", esc(&more));
    }
    let _ = write!(o, "</ul></section>");
}

fn routes_table(o: &mut String, s: &Stats, lang: Lang) {
    let _ = write!(
        o,
        "<h2>{}</h2><section class=\"box\"><table><tr><th>{}</th><th class=n>{}</th><th class=n>4xx</th><th class=n>5xx</th><th class=n>avg</th><th class=n>p90</th><th class=n>p99</th><th class=n>{}</th></tr>",
        Text::Endpoints.get(lang),
        Text::Route.get(lang),
        Text::Requests.get(lang),
        Text::Bytes.get(lang),
    );
    let opt = |v: Option<f64>| v.map_or("–".into(), |v| ms(lang, v));
    let shown: Vec<_> = s
        .routes
        .iter()
        .filter(|r| r.route != OTHER)
        .take(TABLE_ROWS)
        .collect();
    for r in &shown {
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&r.route),
            r.requests,
            r.errors_4xx,
            r.errors_5xx,
            opt(r.avg_ms),
            opt(r.p90_ms),
            opt(r.p99_ms),
            bytes(r.bytes)
        );
    }
    let rest: Vec<_> = s.routes.iter().skip(shown.len()).collect();
    if !rest.is_empty() {
        let requests: u64 = rest.iter().map(|r| r.requests).sum();
        let named = rest.iter().filter(|r| r.route != OTHER).count();
        let plus = if s.route_cap.overflowed { "+" } else { "" };
        let routes = format!("{}{plus}", named + s.route_cap.dropped);
        let _ = write!(
            o,
            "<tr><td colspan=8>{}</td></tr>",
            esc(&Msg::MoreRoutes {
                routes: &routes,
                requests
            }
            .text(lang))
        );
    }
    let _ = write!(o, "</table></section>");
}

fn samples(o: &mut String, title: &str, rows: &[SampleRow], lang: Lang) {
    let _ = write!(
        o,
        "<h2>{title}</h2><section class=\"box\"><table><tr><th>{}</th><th>{}</th><th>{}</th><th class=n>{}</th><th class=n>{}</th><th>{}</th></tr>",
        Text::TimeUtc.get(lang),
        Text::Method.get(lang),
        Text::Path.get(lang),
        Text::Status.get(lang),
        Text::ResponseTime.get(lang),
        Text::Client.get(lang),
    );
    for r in rows {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>",
            format_utc(r.ts_ms),
            esc(&r.method),
            esc(&r.path),
            r.status,
            r.response_ms.map_or("–".into(), |v| ms(lang, v)),
            esc(&r.client)
        );
    }
    let _ = write!(o, "</table></section>");
}

fn clients(o: &mut String, s: &Stats, lang: Lang) {
    let _ = write!(
        o,
        "<h2>{}</h2><section class=\"box\"><table><tr><th>{}</th><th class=n>{}</th><th class=n>404</th><th class=n>{}</th><th class=n>{}</th></tr>",
        Text::TopClients.get(lang),
        Text::Client.get(lang),
        Text::Requests.get(lang),
        Text::Errors.get(lang),
        Text::Bytes.get(lang),
    );
    for c in &s.clients {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&c.client),
            c.requests,
            c.not_found,
            c.errors,
            bytes(c.bytes)
        );
    }
    let _ = write!(o, "</table></section>");
}

/// The servers of a fleet, when the requests came from more than one.
fn servers(o: &mut String, s: &Stats, lang: Lang) {
    if s.hosts.len() < 2 {
        return;
    }
    let _ = write!(
        o,
        "<h2>{}</h2><section class=\"box\"><table><tr><th>{}</th><th class=n>{}</th><th class=n>4xx</th><th class=n>5xx</th><th class=n>p90</th><th class=n>{}</th></tr>",
        Text::Servers.get(lang),
        Text::Server.get(lang),
        Text::Requests.get(lang),
        Text::Bytes.get(lang),
    );
    for h in &s.hosts {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&h.host),
            h.requests,
            h.errors_4xx,
            h.errors_5xx,
            h.p90_ms.map_or("–".into(), |v| ms(lang, v)),
            bytes(h.bytes)
        );
    }
    let _ = write!(o, "</table></section>");
}

fn sources(o: &mut String, s: &Stats, lang: Lang) {
    let _ = write!(
        o,
        "<h2>{}</h2><section class=\"box\"><table>",
        Text::Inputs.get(lang)
    );
    for src in &s.sources {
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td class=n>{} / {} / {}</td></tr>",
            esc(&src.name),
            src.format.unwrap_or("?"),
            src.lines.read,
            src.lines.parsed,
            src.lines.rejected
        );
        for r in &src.rejected_samples {
            let _ = write!(
                o,
                "<tr><td></td><td>{}: {}</td><td><code>{}</code></td></tr>",
                r.line,
                esc(&r.error),
                esc(&r.text)
            );
        }
    }
    let _ = write!(
        o,
        "</table><p>{}</p></section>",
        Text::LinesReadParsedRejected.get(lang)
    );
}
