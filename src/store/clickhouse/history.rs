//! The report, finding and alert history in ClickHouse: the rows of a [`Commit`] as side
//! inserts, and the stored findings read back.

use super::sink::SideInsert;
use super::{ClickHouseError, Client};
use crate::store::{Commit, InsightRecord};
use serde_json::json;

/// The history rows of `c`, written by `instance`.
pub fn side_inserts(c: &Commit, instance: &str) -> Vec<SideInsert> {
    let secs = |ms: i64| ms.div_euclid(1000).clamp(0, i64::from(u32::MAX));
    let lines = |rows: Vec<serde_json::Value>| {
        rows.iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut out = Vec::new();
    if let Some(r) = &c.report {
        out.push(SideInsert {
            table: "reports",
            json_rows: lines(vec![json!({
                "t": secs(r.t_ms), "t_ms": r.t_ms, "instance": instance,
                "requests": r.requests, "text": r.text, "json": r.json,
            })]),
        });
    }
    if !c.insights.is_empty() {
        let rows = (c.insights.iter())
            .map(|i| {
                json!({
                    "first": secs(i.first_ms), "first_ms": i.first_ms, "last_ms": i.last_ms,
                    "instance": instance, "kind": i.kind, "subject": i.subject,
                    "severity": i.severity, "message": i.message,
                })
            })
            .collect();
        out.push(SideInsert {
            table: "insights",
            json_rows: lines(rows),
        });
    }
    if !c.alerts.is_empty() {
        let rows = (c.alerts.iter())
            .map(|a| {
                json!({
                    "t": secs(a.t_ms), "t_ms": a.t_ms, "instance": instance, "rule": a.rule,
                    "state": a.state, "channel": a.channel, "delivered": u8::from(a.delivered),
                    "message": a.message,
                })
            })
            .collect();
        out.push(SideInsert {
            table: "alerts",
            json_rows: lines(rows),
        });
    }
    out
}

/// The findings of every instance first seen in `[from_ms, to_ms)`, oldest first, each once
/// (its latest version).
pub fn insights(
    client: &Client,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<InsightRecord>, ClickHouseError> {
    let sql = format!(
        "SELECT kind, subject, argMax(severity, last_ms), argMax(message, last_ms), first_ms, max(last_ms)
         FROM {}.insights WHERE first_ms >= {from_ms} AND first_ms < {to_ms}
         GROUP BY instance, kind, subject, first_ms ORDER BY first_ms FORMAT JSONCompact",
        client.db()
    );
    let text = client.query_text(&sql)?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ClickHouseError::Answer {
            url: client.options().url.clone(),
            message: e.to_string(),
        })?;
    let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_owned();
    let n = |x: &serde_json::Value| {
        x.as_i64()
            .or_else(|| x.as_str().and_then(|t| t.parse().ok()))
            .unwrap_or(0)
    };
    Ok(v["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| InsightRecord {
            kind: s(&r[0]),
            subject: s(&r[1]),
            severity: s(&r[2]),
            message: s(&r[3]),
            first_ms: n(&r[4]),
            last_ms: n(&r[5]),
        })
        .collect())
}

/// How many requests each instance has stored, for the status of a fleet.
pub fn instances(client: &Client) -> Result<Vec<(String, u64)>, ClickHouseError> {
    let text = client.query_text(&format!(
        "SELECT instance, count() FROM {}.requests GROUP BY instance ORDER BY instance FORMAT TabSeparated",
        client.db()
    ))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let (a, b) = l.rsplit_once('\t')?;
            Some((unescape(a), b.parse().ok()?))
        })
        .collect())
}

/// A TabSeparated field as text.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('0') => out.push('\0'),
            Some(o) => out.push(o),
            None => {}
        }
    }
    out
}
