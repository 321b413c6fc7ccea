//! The tables that open the text report, in GoAccess's order: overview, visitors per day,
//! requests per route, not found, static files, clients, servers, operating systems,
//! browsers, devices, crawlers, referring sites and pages, status codes, methods and
//! protocols.

use super::text::{section, wrapped};
use crate::lang::{Lang, bytes, ms, pct};
use crate::messages::Text;
use crate::stats::Stats;
use std::fmt::Write;
use unicode_width::UnicodeWidthStr;

/// Rows per table (visitors per day shows the newest days).
const ROWS: usize = 10;
/// Days shown.
const DAYS: usize = 31;
/// Longest path or route shown, in characters; longer ones are cut with `…`.
const WIDE: usize = 60;

/// Writes every table of `s`.
pub fn tables(o: &mut String, s: &Stats, lang: Lang, width: Option<usize>) {
    overview(o, s, lang, width);
    if !s.visitors_by_day.is_empty() {
        section(o, &format!("[{}]", Text::VisitorsPerDay.get(lang)));
        let skip = s.visitors_by_day.len().saturating_sub(DAYS);
        let rows = s.visitors_by_day[skip..].iter().map(|d| {
            vec![
                d.day.clone(),
                d.requests.to_string(),
                d.visitors.to_string(),
                bytes(d.bytes),
            ]
        });
        let head = [Text::Day, Text::Requests, Text::UniqueVisitors, Text::Bytes];
        table(o, width, &head.map(|t| t.get(lang)), rows.collect());
    }
    if !s.routes.is_empty() {
        section(o, &format!("[{}]", Text::Endpoints.get(lang)));
        let rows = s.routes.iter().take(ROWS).map(|r| {
            let avg = r.avg_ms.map_or("–".into(), |v| ms(lang, v));
            vec![
                cut(&r.route),
                r.requests.to_string(),
                r.errors_4xx.to_string(),
                r.errors_5xx.to_string(),
                avg,
            ]
        });
        let head = [
            Text::Route.get(lang),
            Text::Requests.get(lang),
            "4xx",
            "5xx",
            Text::AvgResponse.get(lang),
        ];
        table(o, width, &head, rows.collect());
    }
    if !s.not_found.is_empty() {
        section(o, &format!("[{}]", Text::NotFound.get(lang)));
        let rows = s
            .not_found
            .iter()
            .take(ROWS)
            .map(|r| vec![cut(&r.path), r.requests.to_string(), r.clients.to_string()]);
        let head = [Text::Path, Text::Requests, Text::Clients];
        table(o, width, &head.map(|t| t.get(lang)), rows.collect());
    }
    if s.statics.requests > 0 {
        section(o, &format!("[{}]", Text::StaticFiles.get(lang)));
        let rows = s
            .statics
            .top
            .iter()
            .take(ROWS)
            .map(|r| vec![cut(&r.path), r.requests.to_string(), bytes(r.bytes)]);
        let all = [
            (Text::AllStatic, &s.statics.requests, s.statics.bytes),
            (Text::AllDynamic, &s.dynamic.requests, s.dynamic.bytes),
        ];
        let totals = all.map(|(t, n, b)| vec![t.get(lang).to_owned(), n.to_string(), bytes(b)]);
        let head = [Text::Path, Text::Requests, Text::Bytes];
        table(
            o,
            width,
            &head.map(|t| t.get(lang)),
            rows.chain(totals).collect(),
        );
    }
    if !s.clients.is_empty() {
        section(o, &format!("[{}]", Text::TopClients.get(lang)));
        let rows = s.clients.iter().take(ROWS).map(|c| {
            vec![
                c.client.clone(),
                c.requests.to_string(),
                c.errors.to_string(),
                bytes(c.bytes),
            ]
        });
        let head = [Text::Client, Text::Requests, Text::Errors, Text::Bytes];
        table(o, width, &head.map(|t| t.get(lang)), rows.collect());
    }
    if s.hosts.len() > 1 {
        section(o, &format!("[{}]", Text::Servers.get(lang)));
        let rows = s.hosts.iter().take(ROWS * 2).map(|h| {
            vec![
                cut(&h.host),
                h.requests.to_string(),
                h.errors_4xx.to_string(),
                h.errors_5xx.to_string(),
                h.p90_ms.map_or("–".into(), |v| ms(lang, v)),
            ]
        });
        let head = [
            Text::Server.get(lang),
            Text::Requests.get(lang),
            "4xx",
            "5xx",
            "p90",
        ];
        table(o, width, &head, rows.collect());
    }
    audience(o, s, lang, width);
    if !s.status.is_empty() {
        section(o, &format!("[{}]", Text::StatusCodes.get(lang)));
        let codes: Vec<String> = s.status.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        wrapped(o, width, &codes.join(" | "), "");
    }
    let a = &s.audience;
    for (title, rows) in a.counted() {
        if !rows.is_empty() {
            section(o, &format!("[{}]", title.get(lang)));
            let items: Vec<String> = rows
                .iter()
                .map(|r| format!("{}: {}", cut(&r.name), r.requests))
                .collect();
            wrapped(o, width, &items.join(" | "), "");
        }
    }
}

/// Operating systems, browsers, devices, crawlers, referring sites and pages.
fn audience(o: &mut String, s: &Stats, lang: Lang, width: Option<usize>) {
    let a = &s.audience;
    let head = [Text::Name, Text::Requests, Text::Visitors].map(|t| t.get(lang));
    for (title, rows) in [
        (Text::OperatingSystems, &a.os),
        (Text::Browsers, &a.browsers),
        (Text::Devices, &a.devices),
        (Text::Crawlers, &a.crawlers),
    ] {
        if rows.is_empty() {
            continue;
        }
        section(o, &format!("[{}]", title.get(lang)));
        let rows = rows.iter().take(ROWS).map(|r| {
            let share = pct(r.requests as f64 / s.requests.max(1) as f64);
            vec![
                cut(&r.name),
                format!("{} ({share})", r.requests),
                r.visitors.map_or("–".into(), |v| v.to_string()),
            ]
        });
        table(o, width, &head, rows.collect());
    }
    if !a.countries.is_empty() {
        section(o, &format!("[{}]", Text::Countries.get(lang)));
        let rows = a.countries.iter().take(ROWS).map(|c| {
            let share = pct(c.requests as f64 / s.requests.max(1) as f64);
            vec![
                format!("{} {}", c.code, cut(&c.name)),
                format!("{} ({share})", c.requests),
                c.visitors.to_string(),
            ]
        });
        table(o, width, &head, rows.collect());
    }
    if !a.asns.is_empty() {
        section(o, &format!("[{}]", Text::Networks.get(lang)));
        let rows = (a.asns.iter().take(ROWS)).map(|n| {
            vec![
                format!("AS{} {}", n.asn, cut(&n.org)),
                n.requests.to_string(),
            ]
        });
        table(
            o,
            width,
            &[Text::Name.get(lang), Text::Requests.get(lang)],
            rows.collect(),
        );
    }
    let sites: Vec<(&str, u64)> = a
        .referring_sites
        .iter()
        .map(|r| (&*r.site, r.requests))
        .collect();
    let pages: Vec<(&str, u64)> = a.referrers.iter().map(|r| (&*r.url, r.requests)).collect();
    for (title, col, rows) in [
        (Text::ReferringSites, Text::Site, sites),
        (Text::Referrers, Text::Page, pages),
    ] {
        if rows.is_empty() {
            continue;
        }
        section(o, &format!("[{}]", title.get(lang)));
        let rows = rows
            .into_iter()
            .take(ROWS)
            .map(|(k, n)| vec![cut(k), n.to_string()]);
        let head = [col.get(lang), Text::Requests.get(lang)];
        table(o, width, &head, rows.collect());
    }
}

fn overview(o: &mut String, s: &Stats, lang: Lang, width: Option<usize>) {
    let rt = s.response_time_ms.as_ref();
    let rate = |v: Option<f64>| v.map_or("–".into(), pct);
    let items = [
        (Text::TotalRequests, s.requests.to_string()),
        (Text::UniqueVisitors, s.unique_visitors.to_string()),
        (Text::Bandwidth, bytes(s.bytes)),
        (Text::SuccessRate, rate(s.success_rate)),
        (Text::Rate4xx, rate(s.error_rate_4xx)),
        (Text::Rate5xx, rate(s.error_rate_5xx)),
        (
            Text::AvgResponse,
            rt.map_or("–".into(), |r| ms(lang, r.avg)),
        ),
        (
            Text::P95Response,
            rt.map_or("–".into(), |r| ms(lang, r.p95)),
        ),
    ];
    section(o, &format!("[{}]", Text::Overview.get(lang)));
    let mut rows: Vec<Vec<String>> = items
        .into_iter()
        .map(|(k, v)| vec![k.get(lang).to_owned(), v])
        .collect();
    // One server: named here (several get a table of their own).
    if let [only] = s.hosts.as_slice() {
        rows.insert(0, vec![Text::Server.get(lang).to_owned(), cut(&only.host)]);
    }
    table(o, width, &[], rows);
}

/// `s` cut to [`WIDE`] characters, its control characters replaced.
fn cut(s: &str) -> String {
    let s = &crate::text::printable(s);
    match s.char_indices().nth(WIDE) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The narrowest the first column of a table is cut to, to fit a width.
const NARROWEST: usize = 16;

/// `s` cut to `cols` terminal columns, ending in `…` when it was cut.
fn fit(s: &str, cols: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if s.width() <= cols {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > cols {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Columns padded to their widest cell (in terminal columns: a Hangul syllable takes two);
/// the first left-aligned, the rest right-aligned. With a `width`, the first column (the
/// names) is cut so that the table fits in it, down to [`NARROWEST`] columns.
fn table(o: &mut String, width: Option<usize>, head: &[&str], mut rows: Vec<Vec<String>>) {
    let cols = rows.first().map_or(head.len(), Vec::len);
    if let Some(max) = width
        && cols > 0
    {
        let widest = |c: usize| {
            (rows.iter().map(|r| r[c].width()))
                .chain(head.get(c).map(|h| h.width()))
                .max()
                .unwrap_or(0)
        };
        let rest: usize = (1..cols).map(|c| widest(c) + 2).sum();
        let room = max.saturating_sub(rest).max(NARROWEST);
        if widest(0) > room {
            for r in &mut rows {
                r[0] = fit(&r[0], room);
            }
        }
    }
    let width = |c: usize| {
        let cells = rows.iter().map(|r| r[c].width());
        cells
            .chain(head.get(c).map(|h| h.width()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..cols).map(width).collect();
    let line = |o: &mut String, cells: &[&str]| {
        let mut out = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.width());
            if c == 0 {
                let _ = write!(out, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "  {}{cell}", " ".repeat(pad));
            }
        }
        let _ = writeln!(o, "{}", out.trim_end());
    };
    if !head.is_empty() {
        line(o, head);
    }
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        line(o, &cells);
    }
}
