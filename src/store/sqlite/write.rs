//! How a commit is applied: rows merged with what is stored, the state, findings, alerts.

use super::INCIDENT_GAP_MS;
use super::format::{self, encode, to_json};
use crate::aggregate::Visitors;
use crate::aggregate::capped::Merge;
use crate::aggregate::rollup::{HOUR_MS, HourPanels, MINUTE_MS, Rollup};
use crate::aggregate::stats::RouteStats;
use crate::store::{Commit, InsightRecord, Saved};
use rusqlite::{OptionalExtension, Transaction, params};

/// The stored body that `select` (with `p`) finds, decoded, or an empty value when there is
/// none: what a row merge starts from. A body that cannot be decoded is copied to the
/// `quarantine` table (table `tbl`, row `key`) with an error in the log, never silently
/// overwritten.
fn stored<T: Default>(
    tx: &Transaction,
    decode: impl Fn(&[u8]) -> Result<T, format::FormatError>,
    select: &str,
    p: impl rusqlite::Params,
    tbl: &str,
    key: &str,
) -> rusqlite::Result<T> {
    let old: Option<Vec<u8>> = tx
        .prepare_cached(select)?
        .query_row(p, |row| row.get(0))
        .optional()?;
    let Some(body) = old else {
        return Ok(T::default());
    };
    match decode(&body) {
        Ok(v) => Ok(v),
        Err(e) => {
            tracing::error!(target: "analysis", table = tbl, row = key, error = %e, "a stored row cannot be read; it is kept in the quarantine table and its numbers start again");
            tx.prepare_cached(
                "INSERT INTO quarantine (tbl, key, body, error) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![tbl, key, body, e.to_string()])?;
            Ok(T::default())
        }
    }
}

/// Adds `r` to the bucket at (`t_ms`, `width_ms`).
pub(super) fn upsert_rollup(
    tx: &Transaction,
    t_ms: i64,
    width_ms: i64,
    r: &Rollup,
) -> rusqlite::Result<()> {
    let select = "SELECT body FROM rollup WHERE t_ms = ?1 AND width_ms = ?2";
    let key = format!("{t_ms}/{width_ms}");
    let mut merged: Rollup = stored(
        tx,
        |b| format::decode_row(b, format::ROWS).map(|(_, v)| v),
        select,
        params![t_ms, width_ms],
        "rollup",
        &key,
    )?;
    merged.merge(r);
    tx.prepare_cached(
        "INSERT OR REPLACE INTO rollup (t_ms, width_ms, requests, body) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        t_ms,
        width_ms,
        merged.counts.requests as i64,
        encode(format::ROWS, &merged)
    ])?;
    Ok(())
}

pub(super) fn upsert_route(
    tx: &Transaction,
    t_ms: i64,
    width_ms: i64,
    route: &str,
    s: &RouteStats,
) -> rusqlite::Result<()> {
    let select = "SELECT body FROM route_rollup WHERE t_ms = ?1 AND width_ms = ?2 AND route = ?3";
    let key = format!("{t_ms}/{width_ms}/{route}");
    let mut merged: RouteStats = stored(
        tx,
        |b| format::decode_row(b, format::ROWS).map(|(_, v)| v),
        select,
        params![t_ms, width_ms, route],
        "route_rollup",
        &key,
    )?;
    merged.merge(s);
    tx.prepare_cached(
        "INSERT OR REPLACE INTO route_rollup (t_ms, width_ms, route, requests, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        t_ms,
        width_ms,
        route,
        merged.requests as i64,
        encode(format::ROWS, &merged)
    ])?;
    Ok(())
}

fn upsert_visitors(tx: &Transaction, t_ms: i64, v: &Visitors) -> rusqlite::Result<()> {
    let select = "SELECT body FROM visitors WHERE t_ms = ?1";
    let mut merged: Visitors = stored(
        tx,
        |b| format::decode_row(b, format::VISITORS).map(|(_, v)| v),
        select,
        [t_ms],
        "visitors",
        &t_ms.to_string(),
    )?;
    merged.merge(v);
    tx.prepare_cached("INSERT OR REPLACE INTO visitors (t_ms, body) VALUES (?1, ?2)")?
        .execute(params![t_ms, encode(format::VISITORS, &merged)])?;
    Ok(())
}

fn upsert_panels(tx: &Transaction, t_ms: i64, p: &HourPanels) -> rusqlite::Result<()> {
    let select = "SELECT body FROM panel_rollup WHERE t_ms = ?1";
    let mut merged: HourPanels = stored(
        tx,
        format::decode_panels,
        select,
        [t_ms],
        "panel_rollup",
        &t_ms.to_string(),
    )?;
    merged.merge(p);
    tx.prepare_cached("INSERT OR REPLACE INTO panel_rollup (t_ms, body) VALUES (?1, ?2)")?
        .execute(params![t_ms, format::encode_panels(&merged)])?;
    Ok(())
}

fn save_state(tx: &Transaction, s: &Saved) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO state (id, aggregate, detection) VALUES (1, ?1, ?2)",
        params![to_json(&s.aggregate), s.detection.as_ref().map(to_json)],
    )?;
    tx.execute("DELETE FROM checkpoint", [])?;
    let mut ins = tx.prepare_cached("INSERT INTO checkpoint (path, positions) VALUES (?1, ?2)")?;
    for (path, pos) in &s.checkpoints.files {
        ins.execute(params![path, to_json(pos)])?;
    }
    if !s.checkpoints.finished.is_empty() {
        ins.execute(params![
            crate::follow::checkpoint::FINISHED_KEY,
            to_json(&s.checkpoints.finished)
        ])?;
    }
    Ok(())
}

fn note_insight(tx: &Transaction, i: &InsightRecord) -> rusqlite::Result<()> {
    let open: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM insight WHERE kind = ?1 AND subject = ?2 AND last_ms >= ?3
             ORDER BY last_ms DESC LIMIT 1",
        )?
        .query_row(
            params![i.kind, i.subject, i.first_ms - INCIDENT_GAP_MS],
            |r| r.get(0),
        )
        .optional()?;
    match open {
        Some(id) => tx
            .prepare_cached(
                "UPDATE insight SET last_ms = MAX(last_ms, ?2), severity = ?3, message = ?4
                 WHERE id = ?1",
            )?
            .execute(params![id, i.last_ms, i.severity, i.message])?,
        None => tx
            .prepare_cached(
                "INSERT INTO insight (kind, subject, severity, message, first_ms, last_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                i.kind, i.subject, i.severity, i.message, i.first_ms, i.last_ms
            ])?,
    };
    Ok(())
}

pub(super) fn apply(tx: &Transaction, c: &Commit) -> rusqlite::Result<()> {
    for (t, r) in &c.rollups.minutes {
        upsert_rollup(tx, *t, MINUTE_MS, r)?;
    }
    for (t, routes) in &c.rollups.route_hours {
        for (name, s) in routes {
            upsert_route(tx, *t, HOUR_MS, name, s)?;
        }
    }
    for (t, v) in &c.rollups.visitors {
        upsert_visitors(tx, *t, v)?;
    }
    for (t, p) in &c.rollups.panels {
        upsert_panels(tx, *t, p)?;
    }
    if let Some(s) = &c.saved {
        save_state(tx, s)?;
    }
    if let Some(r) = &c.report {
        tx.execute(
            "INSERT OR REPLACE INTO report (t_ms, requests, text, json) VALUES (?1, ?2, ?3, ?4)",
            params![r.t_ms, r.requests as i64, r.text, r.json],
        )?;
    }
    for i in &c.insights {
        note_insight(tx, i)?;
    }
    for a in &c.alerts {
        tx.execute(
            "INSERT INTO alert (t_ms, rule, state, channel, delivered, message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![a.t_ms, a.rule, a.state, a.channel, a.delivered, a.message],
        )?;
    }
    Ok(())
}
