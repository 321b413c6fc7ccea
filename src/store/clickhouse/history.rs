//! The report, finding and alert history in ClickHouse: the rows of a [`Commit`] as side
//! inserts.

use super::sink::SideInsert;
use crate::store::Commit;
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
