//! Long ranges answered from the `minutes` rollups instead of the rows: the numbers per
//! minute (requests, status codes, bytes, automated requests, response times in 2 % buckets)
//! and per route, and the distinct clients, for ranges that filter by nothing but host and
//! route. The panels that need each request (browsers, referrers, …) are left empty.

use super::{ClickHouseError, Client, literal};
use crate::aggregate::Aggregate;
use crate::aggregate::counts::{Counts, class_index};
use crate::aggregate::filter::Filter;
use crate::aggregate::latency::Latency;
use crate::aggregate::rollup::Rollup;
use crate::aggregate::stats::RouteStats;
use serde_json::Value;

/// Whether the rollups can answer `f`: they know the time, the host and the route only.
pub fn can_answer(f: &Filter) -> bool {
    Filter {
        host: None,
        route: None,
        since_ms: None,
        ..f.clone()
    }
    .is_empty()
}

fn condition(f: &Filter, from_ms: Option<i64>, to_ms: Option<i64>) -> String {
    let mut c = vec!["1".to_owned()];
    if let Some(from) = from_ms.or(f.since_ms) {
        c.push(format!(
            "minute >= toDateTime({})",
            from.div_euclid(60_000).max(0) * 60
        ));
    }
    if let Some(to) = to_ms {
        c.push(format!(
            "minute < toDateTime({})",
            to.div_euclid(1000).max(0)
        ));
    }
    if let Some(h) = &f.host {
        c.push(format!("host = {}", literal(h)));
    }
    if let Some(r) = &f.route {
        c.push(format!("position(route, {}) > 0", literal(r)));
    }
    c.join(" AND ")
}

/// Requests the rollups hold for `f` in the range.
pub fn requests(
    client: &Client,
    f: &Filter,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<u64, ClickHouseError> {
    let text = client.query_text(&format!(
        "SELECT countMerge(requests) FROM {}.minutes WHERE {} FORMAT TabSeparated",
        client.db(),
        condition(f, from_ms, to_ms)
    ))?;
    Ok(text.trim().parse().unwrap_or(0))
}

/// Adds the rollups of the range that pass `f` to `agg`; returns the distinct clients.
pub fn count_into(
    client: &Client,
    agg: &mut Aggregate,
    f: &Filter,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<u64, ClickHouseError> {
    let (db, cond) = (client.db(), condition(f, from_ms, to_ms));
    let minutes = rows(
        client,
        &format!(
        "SELECT toUInt64(minute) * 1000, countMerge(requests), sumMapMerge(status), sumMerge(bytes),
                sumMerge(bots), sumMerge(timed), sumMerge(time_us), sumMapMerge(latency)
         FROM {db}.minutes WHERE {cond} GROUP BY minute ORDER BY minute FORMAT JSONCompact"
    ),
    )?;
    for r in &minutes {
        let status = pairs(&r[2]);
        let mut counts = Counts {
            requests: num(&r[1]),
            bytes: num(&r[3]),
            timed: num(&r[5]),
            time_us: num(&r[6]),
            ..Counts::default()
        };
        for (code, n) in &status {
            counts.class[class_index(*code as u16)] += n;
        }
        let rollup = Rollup {
            counts,
            status: status.iter().map(|(c, n)| (*c as u16, *n)).collect(),
            bots: num(&r[4]),
            latency: latency(&r[7], num(&r[6])),
        };
        agg.add_rollup(num(&r[0]) as i64, 60_000, &rollup);
    }
    let routes = rows(
        client,
        &format!(
            "SELECT route, countMerge(requests), sumMapMerge(status), sumMerge(bytes),
                sumMerge(time_us), sumMapMerge(latency)
         FROM {db}.minutes WHERE {cond} GROUP BY route FORMAT JSONCompact"
        ),
    )?;
    for r in &routes {
        let status = pairs(&r[2]);
        let errors = |class: u64| -> u64 {
            (status.iter())
                .filter(|(c, _)| c / 100 == class)
                .map(|(_, n)| n)
                .sum()
        };
        let stats = RouteStats {
            requests: num(&r[1]),
            errors_4xx: errors(4),
            errors_5xx: errors(5),
            bytes: num(&r[3]),
            latency: latency(&r[5], num(&r[4])),
            minute: None,
        };
        agg.add_route_stats(r[0].as_str().unwrap_or_default(), &stats);
    }
    let text = client.query_text(&format!(
        "SELECT uniqMerge(visitors) FROM {db}.minutes WHERE {cond} FORMAT TabSeparated"
    ))?;
    Ok(text.trim().parse().unwrap_or(0))
}

/// The response times of a `latency` histogram: bucket `b` > 0 holds times whose
/// `floor(ln(µs + 1) / ln 1.02)` is `b - 1`, counted at the bucket's middle.
fn latency(histogram: &Value, sum_us: u64) -> Latency {
    let entries = pairs(histogram)
        .into_iter()
        .filter(|(b, _)| *b > 0)
        .map(|(b, n)| {
            let us = 1.02f64.powf(b as f64 - 0.5) - 1.0;
            (us.max(0.0) / 1000.0, n)
        });
    Latency::from_histogram(entries, sum_us)
}

fn rows(client: &Client, sql: &str) -> Result<Vec<Vec<Value>>, ClickHouseError> {
    let text = client.query_text(sql)?;
    let v: Value = serde_json::from_str(&text).map_err(|e| ClickHouseError::Answer {
        url: client.options().url.clone(),
        message: e.to_string(),
    })?;
    Ok(serde_json::from_value(v["data"].clone()).unwrap_or_default())
}

/// A number of a JSON answer (64-bit integers come quoted).
fn num(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .or_else(|| v.as_f64().map(|f| f.max(0.0) as u64))
        .unwrap_or(0)
}

/// The (key, value) pairs of a `sumMap` result: two arrays.
fn pairs(v: &Value) -> Vec<(u64, u64)> {
    let keys = v[0].as_array().cloned().unwrap_or_default();
    let values = v[1].as_array().cloned().unwrap_or_default();
    keys.iter()
        .zip(&values)
        .map(|(k, n)| (num(k), num(n)))
        .collect()
}
