//! The panels of a report as CSV tables, one per panel, for spreadsheets and scripts.

use crate::stats::Stats;
use crate::stats::audience::CountRow;
use serde::Serialize;

/// Every panel's name (its key in the JSON document), in the text report's order.
pub const PANELS: &[&str] = &[
    "visitors_by_day",
    "routes",
    "not_found",
    "static",
    "clients",
    "hosts",
    "vhosts",
    "os",
    "browsers",
    "devices",
    "crawlers",
    "referring_sites",
    "referrers",
    "status",
    "methods",
    "protocols",
    "remote_users",
    "cache_status",
    "mime_types",
    "tls",
    "countries",
    "asns",
];

/// One panel of `s` as CSV with a header line; `None` for a name not in [`PANELS`].
pub fn panel(s: &Stats, name: &str) -> Option<String> {
    let a = &s.audience;
    let status: Vec<CountRow> = s
        .status
        .iter()
        .map(|(k, v)| CountRow {
            name: k.clone(),
            requests: *v,
        })
        .collect();
    Some(match name {
        "visitors_by_day" => table(&s.visitors_by_day),
        "routes" => table(&s.routes),
        "not_found" => table(&s.not_found),
        "static" => table(&s.statics.top),
        "clients" => table(&s.clients),
        "hosts" => table(&s.hosts),
        "vhosts" => table(&s.vhosts),
        "os" => table(&a.os),
        "browsers" => table(&a.browsers),
        "devices" => table(&a.devices),
        "crawlers" => table(&a.crawlers),
        "referring_sites" => table(&a.referring_sites),
        "referrers" => table(&a.referrers),
        "status" => table(&status),
        "methods" => table(&a.methods),
        "protocols" => table(&a.protocols),
        "remote_users" => table(&a.remote_users),
        "cache_status" => table(&a.cache_status),
        "mime_types" => table(&a.mime_types),
        "tls" => table(&a.tls),
        "countries" => table(&a.countries),
        "asns" => table(&a.asns),
        _ => return None,
    })
}

/// Every panel of `s`, each after a `# name` line and separated by a blank line.
pub fn all(s: &Stats) -> String {
    let mut out = String::new();
    for name in PANELS {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("# ");
        out.push_str(name);
        out.push('\n');
        out.push_str(&panel(s, name).unwrap_or_default());
    }
    out
}

/// `rows` with a header of their field names (an empty table still has its header, so a
/// script reading it finds its columns), every cell defused (see [`defuse`]).
fn table<T: Serialize + Default>(rows: &[T]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Rows are flat structs of numbers and text: serializing them cannot fail. The header of
    // a row type is written with its first row, so an empty table writes a default row and
    // keeps only the header.
    if rows.is_empty() {
        let _ = w.serialize(T::default());
    }
    for r in rows {
        let _ = w.serialize(r);
    }
    let raw = w.into_inner().unwrap_or_default();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(raw.as_slice());
    let keep = if rows.is_empty() { 1 } else { usize::MAX };
    for rec in records.records().flatten().take(keep) {
        let _ = out.write_record(rec.iter().map(|c| defuse(c).into_owned()));
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first: paths and user
/// agents are the client's to choose) gets a `'` in front, so it is shown as text.
fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Aggregate;
    use crate::request::Request;
    use std::borrow::Cow;

    fn stats() -> Stats {
        let mut a = Aggregate::default();
        for (i, (path, ua, referer)) in [
            (
                "/a",
                "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36",
                "https://x.example/p,\"q\"",
            ),
            ("=HYPERLINK(\"http://evil\")", "curl/8.0", ""),
        ]
        .into_iter()
        .enumerate()
        {
            a.push(
                &Request {
                    ts_ms: 1_700_000_000_000 + i as i64,
                    method: Cow::Borrowed("GET"),
                    path: Cow::Borrowed(path),
                    status: 200,
                    client: Cow::Borrowed("192.0.2.1"),
                    user_agent: Cow::Borrowed(ua),
                    referer: Cow::Borrowed(referer),
                    ..Default::default()
                },
                b"",
                i as u64,
            );
        }
        Stats::of(&a)
    }

    #[test]
    fn every_panel_has_a_header_and_quotes_what_needs_it() {
        let s = stats();
        let refs = panel(&s, "referrers").unwrap();
        assert_eq!(refs, "url,requests\n\"https://x.example/p,\"\"q\"\"\",1\n");
        assert_eq!(
            panel(&s, "hosts").unwrap().lines().next(),
            Some("host,requests,errors_4xx,errors_5xx,error_rate_5xx,avg_ms,p90_ms,p99_ms,bytes")
        );
        assert_eq!(
            panel(&s, "vhosts").unwrap(),
            "name,requests\n",
            "empty: header only"
        );
        assert!(panel(&s, "nonsense").is_none());
        let routes = panel(&s, "routes").unwrap();
        assert!(
            routes.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "a formula is shown as text: {routes}"
        );
        let all = all(&s);
        for name in PANELS {
            assert!(all.contains(&format!("# {name}\n")), "{name}");
        }
    }
}
