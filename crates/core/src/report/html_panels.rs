//! The GoAccess panels of the HTML report: visitors per day, not found, static files,
//! operating systems, browsers, devices, crawlers, referring sites and pages, methods and
//! protocols, each a small table in a grid.

use super::esc;
use crate::lang::{Lang, bytes, pct};
use crate::messages::Text;
use crate::stats::Stats;
use crate::stats::audience::AgentRow;
use std::fmt::Write;

/// Rows per panel.
const ROWS: usize = 12;

/// Writes every panel of `s` that has rows.
pub fn panels(o: &mut String, s: &Stats, lang: Lang) {
    let _ = write!(o, "<div class=\"grid\">");
    let req = Text::Requests.get(lang);
    let days: Vec<Vec<String>> = (s.visitors_by_day.iter().rev().take(31))
        .map(|d| {
            vec![
                d.day.clone(),
                d.requests.to_string(),
                d.visitors.to_string(),
                bytes(d.bytes),
            ]
        })
        .collect();
    let head = [Text::Day, Text::Requests, Text::UniqueVisitors, Text::Bytes].map(|t| t.get(lang));
    table(o, Text::VisitorsPerDay.get(lang), &head, days);
    let missing = (s.not_found.iter())
        .map(|r| {
            vec![
                r.path.clone(),
                r.requests.to_string(),
                r.clients.to_string(),
            ]
        })
        .collect();
    let head = [Text::Path, Text::Requests, Text::Clients].map(|t| t.get(lang));
    table(o, Text::NotFound.get(lang), &head, missing);
    let statics = (s.statics.top.iter())
        .map(|r| vec![r.path.clone(), r.requests.to_string(), bytes(r.bytes)])
        .collect();
    let head = [Text::Path, Text::Requests, Text::Bytes].map(|t| t.get(lang));
    table(o, Text::StaticFiles.get(lang), &head, statics);
    let a = &s.audience;
    for (title, rows) in [
        (Text::OperatingSystems, &a.os),
        (Text::Browsers, &a.browsers),
        (Text::Devices, &a.devices),
        (Text::Crawlers, &a.crawlers),
    ] {
        let head = [Text::Name.get(lang), req, "%", Text::Visitors.get(lang)];
        table(o, title.get(lang), &head, agent_rows(rows, s.requests));
    }
    let share = |n: u64| pct(n as f64 / s.requests.max(1) as f64);
    let countries = (a.countries.iter())
        .map(|c| {
            let name = format!("{} {}", c.code, c.name);
            vec![
                name,
                c.requests.to_string(),
                share(c.requests),
                c.visitors.to_string(),
            ]
        })
        .collect();
    let head = [Text::Name.get(lang), req, "%", Text::Visitors.get(lang)];
    table(o, Text::Countries.get(lang), &head, countries);
    let asns = (a.asns.iter())
        .map(|n| {
            vec![
                format!("AS{} {}", n.asn, n.org),
                n.requests.to_string(),
                share(n.requests),
            ]
        })
        .collect();
    table(
        o,
        Text::Networks.get(lang),
        &[Text::Name.get(lang), req, "%"],
        asns,
    );
    let sites = (a.referring_sites.iter())
        .map(|r| vec![r.site.clone(), r.requests.to_string(), share(r.requests)])
        .collect();
    table(
        o,
        Text::ReferringSites.get(lang),
        &[Text::Site.get(lang), req, "%"],
        sites,
    );
    let pages = (a.referrers.iter())
        .map(|r| vec![r.url.clone(), r.requests.to_string(), share(r.requests)])
        .collect();
    table(
        o,
        Text::Referrers.get(lang),
        &[Text::Page.get(lang), req, "%"],
        pages,
    );
    for (title, rows) in a.counted() {
        let rows = (rows.iter())
            .map(|r| vec![r.name.clone(), r.requests.to_string(), share(r.requests)])
            .collect();
        table(o, title.get(lang), &[Text::Name.get(lang), req, "%"], rows);
    }
    let _ = write!(o, "</div>");
}

fn agent_rows(rows: &[AgentRow], total: u64) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.requests.to_string(),
                pct(r.requests as f64 / total.max(1) as f64),
                r.visitors.map_or("–".into(), |v| v.to_string()),
            ]
        })
        .collect()
}

/// A boxed table: every cell is text from the log, escaped; the first column left, the
/// rest right-aligned. Nothing is written for a panel without rows.
fn table(o: &mut String, title: &str, head: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<section class=\"box\"><h2>{}</h2><table><tr>",
        esc(title)
    );
    for (i, h) in head.iter().enumerate() {
        let class = if i == 0 { "" } else { " class=n" };
        let _ = write!(o, "<th{class}>{}</th>", esc(h));
    }
    let _ = write!(o, "</tr>");
    for r in rows.iter().take(ROWS) {
        let _ = write!(o, "<tr>");
        for (i, c) in r.iter().enumerate() {
            let class = if i == 0 { "" } else { " class=n" };
            let _ = write!(o, "<td{class}>{}</td>", esc(c));
        }
        let _ = write!(o, "</tr>");
    }
    let _ = write!(o, "</table></section>");
}
