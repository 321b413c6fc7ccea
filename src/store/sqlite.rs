//! The embedded store: one SQLite file in WAL mode, with versioned migrations.

use super::{
    AlertRecord, Commit, InsightRecord, Retained, Retention, Saved, Store, StoreError,
    StoredReport, StoredRollup,
};
use crate::aggregate::capped::Merge;
use crate::aggregate::rollup::{HOUR_MS, MINUTE_MS, Rollup};
use crate::aggregate::stats::RouteStats;
use crate::aggregate::{Aggregate, Visitors};
use crate::follow::{Checkpoints, FilePos};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, params};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The schema, one step per version; a database is brought up to the last step on open.
const MIGRATIONS: &[&str] = &[
    // 1: rollups, route rollups, state, checkpoints, reports, insights, alerts.
    "CREATE TABLE rollup (
         t_ms INTEGER NOT NULL,
         width_ms INTEGER NOT NULL,
         requests INTEGER NOT NULL,
         body BLOB NOT NULL,
         PRIMARY KEY (t_ms, width_ms)
     ) WITHOUT ROWID;
     CREATE TABLE route_rollup (
         t_ms INTEGER NOT NULL,
         width_ms INTEGER NOT NULL,
         route TEXT NOT NULL,
         requests INTEGER NOT NULL,
         body BLOB NOT NULL,
         PRIMARY KEY (t_ms, width_ms, route)
     ) WITHOUT ROWID;
     CREATE TABLE state (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         aggregate TEXT NOT NULL
     );
     CREATE TABLE checkpoint (
         path TEXT PRIMARY KEY,
         positions TEXT NOT NULL
     );
     CREATE TABLE report (
         t_ms INTEGER PRIMARY KEY,
         requests INTEGER NOT NULL,
         text TEXT NOT NULL,
         json TEXT NOT NULL
     );
     CREATE TABLE insight (
         id INTEGER PRIMARY KEY,
         kind TEXT NOT NULL,
         subject TEXT NOT NULL,
         severity TEXT NOT NULL,
         message TEXT NOT NULL,
         first_ms INTEGER NOT NULL,
         last_ms INTEGER NOT NULL
     );
     CREATE INDEX insight_open ON insight (kind, subject, last_ms);
     CREATE INDEX insight_time ON insight (last_ms);
     CREATE TABLE alert (
         id INTEGER PRIMARY KEY,
         t_ms INTEGER NOT NULL,
         rule TEXT NOT NULL,
         state TEXT NOT NULL,
         channel TEXT NOT NULL,
         delivered INTEGER NOT NULL,
         message TEXT NOT NULL
     );",
    // 2: anomaly detection's state, saved with the aggregate.
    "ALTER TABLE state ADD COLUMN detection TEXT;",
    // 3: distinct clients per hour.
    "CREATE TABLE visitors (
         t_ms INTEGER PRIMARY KEY,
         body BLOB NOT NULL
     );",
    // 4: a count of commits (to notice lost ones) and rows that could not be read, kept aside.
    "CREATE TABLE meta (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         commits INTEGER NOT NULL,
         newest_ms INTEGER NOT NULL
     );
     INSERT INTO meta (id, commits, newest_ms) VALUES (1, 0, 0);
     CREATE TABLE quarantine (
         id INTEGER PRIMARY KEY,
         tbl TEXT NOT NULL,
         key TEXT NOT NULL,
         body BLOB NOT NULL,
         error TEXT NOT NULL
     );",
];

/// Route rollups older than the per-minute history are merged into days.
const DAY_MS: i64 = 86_400_000;

/// A finding seen again within this time continues the same incident.
const INCIDENT_GAP_MS: i64 = 15 * 60_000;

/// A tailpulse database file.
pub struct SqliteStore {
    conn: Connection,
    path: String,
    /// What was found lost when the file was opened (commits missing, an emptied file),
    /// for the operator.
    pub recovery: Option<String>,
}

/// `path` with `suffix` appended to its name.
fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    std::path::PathBuf::from(s)
}

/// The commit count and newest minute written beside the database after every commit, so
/// that a lost write-ahead log or an emptied file can be noticed and named.
fn read_marker(path: &Path) -> Option<(i64, i64)> {
    let text = std::fs::read_to_string(with_suffix(path, ".commits")).ok()?;
    let mut it = text.split_whitespace().map(|w| w.parse::<i64>().ok());
    Some((it.next()??, it.next()??))
}

fn is_code(e: &rusqlite::Error, code: ErrorCode) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == code)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` for reading and writing, and brings
    /// its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let p = path.display().to_string();
        let emptied = std::fs::metadata(path).is_ok_and(|m| m.len() == 0);
        // A write-ahead log left by an unclean stop is copied first: if it turns out to be
        // damaged, SQLite drops it, and the copy is what is left to look at.
        let wal = with_suffix(path, "-wal");
        let wal_copy = with_suffix(path, "-wal.recovering");
        let copied = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0)
            && std::fs::copy(&wal, &wal_copy).is_ok();
        let conn = Connection::open(path).map_err(|e| classify(&p, e))?;
        let mut store = SqliteStore {
            conn,
            path: p,
            recovery: None,
        };
        store.init(false)?;
        store.recovery = store.lost_commits(path, emptied)?;
        if copied {
            if store.recovery.is_some() {
                let kept = with_suffix(path, &format!("-wal.damaged-{}", unix_secs()));
                let _ = std::fs::rename(&wal_copy, &kept);
                if let Some(r) = &mut store.recovery {
                    r.push_str(&format!(
                        "; the log it came from is kept as {}",
                        kept.display()
                    ));
                }
            } else {
                let _ = std::fs::remove_file(&wal_copy);
            }
        }
        Ok(store)
    }

    /// Compares the commits stored with the marker written after the last one.
    fn lost_commits(&self, path: &Path, emptied: bool) -> Result<Option<String>, StoreError> {
        let Some((expected, newest_ms)) = read_marker(path) else {
            return Ok(None);
        };
        let (have, have_newest): (i64, i64) = self
            .conn
            .query_row(
                "SELECT commits, newest_ms FROM meta WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.sql(e))?;
        if have >= expected {
            return Ok(None);
        }
        let since = match have_newest.min(newest_ms) {
            0 => "its start (all of it)".to_owned(),
            t => crate::time::format_rfc3339(t),
        };
        let what = if emptied {
            "the database file was empty"
        } else {
            "its write-ahead log was lost or damaged"
        };
        Ok(Some(format!(
            "{} lost {} of its last commits ({what}): history since {since} is gone; the logs are read again from the positions it still holds",
            self.path,
            expected - have
        )))
    }

    /// Opens an existing database for reading only.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let p = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(&p, e))?;
        let mut store = SqliteStore {
            conn,
            path: p,
            recovery: None,
        };
        store.init(true)?;
        Ok(store)
    }

    fn init(&mut self, read_only: bool) -> Result<(), StoreError> {
        let p = self.path.clone();
        let c = &self.conn;
        c.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| classify(&p, e))?;
        let version: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| classify(&p, e))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                path: p,
                found: version,
                known,
            });
        }
        if read_only {
            return Ok(());
        }
        c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| classify(&p, e))?;
        let tx = self.conn.transaction().map_err(|e| classify(&p, e))?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(m).map_err(|e| classify(&p, e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(|e| classify(&p, e))?;
        }
        // An empty write proves the file can be written before any data depends on it.
        tx.execute("DELETE FROM state WHERE id = 0", [])
            .map_err(|e| classify(&p, e))?;
        tx.commit().map_err(|e| classify(&p, e))
    }

    /// Route rows `width_ms` wide starting before `before`.
    fn route_rows(
        &self,
        width_ms: i64,
        before: i64,
    ) -> Result<Vec<(i64, String, RouteStats)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT t_ms, route, body FROM route_rollup WHERE width_ms = ?1 AND t_ms < ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows: Vec<(i64, String, Vec<u8>)> = st
            .query_map(params![width_ms, before], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))?;
        rows.into_iter()
            .map(|(t, route, body)| Ok((t, route, decode_body(&self.path, "route rollup", &body)?)))
            .collect()
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        classify(&self.path, source)
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        text: &str,
    ) -> Result<T, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Decode {
            path: self.path.clone(),
            what,
            source: Box::new(e),
        })
    }
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `PRAGMA integrity_check` of the database at `path`: `Ok` with SQLite's findings (`["ok"]`
/// when sound).
pub fn integrity_check(path: &Path) -> Result<Vec<String>, StoreError> {
    let store = SqliteStore::open_read_only(path)?;
    let mut st = store
        .conn
        .prepare("PRAGMA integrity_check")
        .map_err(|e| store.sql(e))?;
    st.query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| classify(&store.path, e))
}

/// Moves the database at `path` and its `-wal` and `-shm` files aside, to
/// `<path>.unreadable-<unix seconds>`, so that a new one can start; returns the new name.
pub fn move_aside(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let aside = with_suffix(path, &format!(".unreadable-{}", unix_secs()));
    std::fs::rename(path, &aside)?;
    for side in ["-wal", "-shm", ".commits"] {
        let from = with_suffix(path, side);
        if from.exists() {
            let mut to = aside.as_os_str().to_owned();
            to.push(side);
            std::fs::rename(&from, to)?;
        }
    }
    Ok(aside)
}

/// True when the store cannot read what the file holds (damaged, not a database, or written
/// by a newer tailpulse), as opposed to a failure of the disk or the file system.
pub fn is_unreadable(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Decode { .. } | StoreError::NotADatabase { .. } | StoreError::TooNew { .. }
    )
}

/// Tells a damaged or read-only file from other failures.
fn classify(path: &str, source: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    if is_code(&source, ErrorCode::NotADatabase) || is_code(&source, ErrorCode::DatabaseCorrupt) {
        StoreError::NotADatabase { path, source }
    } else if is_code(&source, ErrorCode::ReadOnly) || is_code(&source, ErrorCode::CannotOpen) {
        StoreError::ReadOnly { path, source }
    } else {
        StoreError::Sql { path, source }
    }
}

/// Reads a saved aggregate. States written before empty response-time sketches had a JSON
/// form hold `"min": null` for them; those are repaired (the sketch was empty) and read.
fn decode_state(text: &str) -> Result<Aggregate, serde_json::Error> {
    serde_json::from_str(text).or_else(|first| {
        let mut v: serde_json::Value = serde_json::from_str(text)?;
        if repair_empty_sketches(&mut v) {
            serde_json::from_value(v)
        } else {
            Err(first)
        }
    })
}

/// Gives every sketch object with a `null` minimum or maximum (an empty one, as older
/// versions wrote it) a number there; true when anything changed.
fn repair_empty_sketches(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            let mut changed = false;
            if o.contains_key("zero_count") {
                for k in ["min", "max"] {
                    if o.get(k).is_some_and(Value::is_null) {
                        o.insert(k.to_owned(), Value::from(0.0));
                        changed = true;
                    }
                }
            }
            o.values_mut()
                .fold(changed, |c, x| repair_empty_sketches(x) | c)
        }
        Value::Array(a) => a
            .iter_mut()
            .fold(false, |c, x| repair_empty_sketches(x) | c),
        _ => false,
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("stored values serialize")
}

/// Rollups are stored in a compact binary form: they are read by the thousand.
fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    postcard::to_stdvec(v).expect("rollups serialize")
}

fn decode_body<T: serde::de::DeserializeOwned>(
    path: &str,
    what: &'static str,
    b: &[u8],
) -> Result<T, StoreError> {
    postcard::from_bytes(b).map_err(|e| StoreError::Decode {
        path: path.to_owned(),
        what,
        source: Box::new(e),
    })
}

/// The stored body that `select` (with `p`) finds, decoded, or an empty value when there is
/// none: what a row merge starts from. A body that cannot be decoded is copied to the
/// `quarantine` table (table `tbl`, row `key`) with an error in the log, never silently
/// overwritten.
fn stored<T: serde::de::DeserializeOwned + Default>(
    tx: &Transaction,
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
    match postcard::from_bytes::<T>(&body) {
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
fn upsert_rollup(tx: &Transaction, t_ms: i64, width_ms: i64, r: &Rollup) -> rusqlite::Result<()> {
    let select = "SELECT body FROM rollup WHERE t_ms = ?1 AND width_ms = ?2";
    let key = format!("{t_ms}/{width_ms}");
    let mut merged: Rollup = stored(tx, select, params![t_ms, width_ms], "rollup", &key)?;
    merged.merge(r);
    tx.prepare_cached(
        "INSERT OR REPLACE INTO rollup (t_ms, width_ms, requests, body) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        t_ms,
        width_ms,
        merged.counts.requests as i64,
        encode(&merged)
    ])?;
    Ok(())
}

fn upsert_route(
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
        encode(&merged)
    ])?;
    Ok(())
}

fn upsert_visitors(tx: &Transaction, t_ms: i64, v: &Visitors) -> rusqlite::Result<()> {
    let select = "SELECT body FROM visitors WHERE t_ms = ?1";
    let mut merged: Visitors = stored(tx, select, [t_ms], "visitors", &t_ms.to_string())?;
    merged.merge(v);
    tx.prepare_cached("INSERT OR REPLACE INTO visitors (t_ms, body) VALUES (?1, ?2)")?
        .execute(params![t_ms, encode(&merged)])?;
    Ok(())
}

fn save_state(tx: &Transaction, s: &Saved) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO state (id, aggregate, detection) VALUES (1, ?1, ?2)",
        params![json(&s.aggregate), s.detection.as_ref().map(json)],
    )?;
    tx.execute("DELETE FROM checkpoint", [])?;
    let mut ins = tx.prepare_cached("INSERT INTO checkpoint (path, positions) VALUES (?1, ?2)")?;
    for (path, pos) in &s.checkpoints.files {
        ins.execute(params![path, json(pos)])?;
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

fn apply(tx: &Transaction, c: &Commit) -> rusqlite::Result<()> {
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

impl Store for SqliteStore {
    fn load(&mut self) -> Result<Option<Saved>, StoreError> {
        let row: Option<(String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT aggregate, detection FROM state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some((agg, detection)) = row else {
            return Ok(None);
        };
        let aggregate = decode_state(&agg).map_err(|e| StoreError::Decode {
            path: self.path.clone(),
            what: "state",
            source: Box::new(e),
        })?;
        // Detection state that cannot be read (an older layout) is relearned, not fatal.
        let detection = detection.and_then(|d| serde_json::from_str(&d).ok());
        let mut checkpoints = Checkpoints::default();
        let rows: Vec<(String, String)> = {
            let mut st = self
                .conn
                .prepare("SELECT path, positions FROM checkpoint")
                .map_err(|e| self.sql(e))?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(|e| self.sql(e))?
        };
        for (path, pos) in rows {
            let pos: Vec<FilePos> = self.decode("checkpoint", &pos)?;
            checkpoints.files.insert(path, pos);
        }
        Ok(Some(Saved {
            aggregate,
            checkpoints,
            detection,
        }))
    }

    fn commit(&mut self, c: &Commit) -> Result<(), StoreError> {
        let p = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| classify(&p, e))?;
        apply(&tx, c).map_err(|e| classify(&p, e))?;
        let newest = c.rollups.minutes.keys().next_back().copied().unwrap_or(0);
        let marker: (i64, i64) = tx
            .query_row(
                "UPDATE meta SET commits = commits + 1, newest_ms = MAX(newest_ms, ?1)
                 WHERE id = 1 RETURNING commits, newest_ms",
                [newest],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| classify(&p, e))?;
        tx.commit().map_err(|e| classify(&p, e))?;
        let text = format!("{} {}\n", marker.0, marker.1);
        if let Err(e) =
            crate::fsutil::atomic_write(&with_suffix(Path::new(&p), ".commits"), text.as_bytes())
        {
            tracing::warn!(target: "analysis", path = %p, error = %e, "cannot write the commit marker beside the database");
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| self.sql(e))
    }

    fn rollups(&self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredRollup>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT t_ms, width_ms, body FROM rollup WHERE t_ms >= ?1 AND t_ms < ?2
                 ORDER BY t_ms, width_ms",
            )
            .map_err(|e| self.sql(e))?;
        let rows: Vec<(i64, i64, Vec<u8>)> = st
            .query_map(params![from_ms, to_ms], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))?;
        rows.into_iter()
            .map(|(t_ms, width_ms, body)| {
                Ok(StoredRollup {
                    t_ms,
                    width_ms,
                    rollup: decode_body(&self.path, "rollup", &body)?,
                })
            })
            .collect()
    }

    fn route_stats(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(String, RouteStats)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT route, body FROM route_rollup
                 WHERE t_ms >= ?1 - ?3 AND t_ms < ?2 AND t_ms + width_ms > ?1",
            )
            .map_err(|e| self.sql(e))?;
        let rows: Vec<(String, Vec<u8>)> = st
            .query_map(params![from_ms, to_ms, DAY_MS], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))?;
        let mut merged: HashMap<String, RouteStats> = HashMap::new();
        for (route, body) in rows {
            let s: RouteStats = decode_body(&self.path, "route rollup", &body)?;
            merged.entry(route).or_default().merge(&s);
        }
        let mut out: Vec<_> = merged.into_iter().collect();
        out.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    fn visitors(&self, from_ms: i64, to_ms: i64) -> Result<Visitors, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT body FROM visitors WHERE t_ms >= ?1 AND t_ms < ?2")
            .map_err(|e| self.sql(e))?;
        let from = from_ms - from_ms.rem_euclid(HOUR_MS);
        let rows: Vec<Vec<u8>> = st
            .query_map(params![from, to_ms], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))?;
        let mut all = Visitors::default();
        for b in rows {
            all.merge(&decode_body::<Visitors>(&self.path, "visitors", &b)?);
        }
        Ok(all)
    }

    fn reports(&self, limit: usize) -> Result<Vec<StoredReport>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT t_ms, requests, text, json FROM report ORDER BY t_ms DESC LIMIT ?1",
            )
            .map_err(|e| self.sql(e))?;
        st.query_map([limit as i64], |r| {
            Ok(StoredReport {
                t_ms: r.get(0)?,
                requests: r.get::<_, i64>(1)? as u64,
                text: r.get(2)?,
                json: r.get(3)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.sql(e))
    }

    fn insights(&self, from_ms: i64, to_ms: i64) -> Result<Vec<InsightRecord>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT kind, subject, severity, message, first_ms, last_ms FROM insight
                 WHERE last_ms >= ?1 AND first_ms < ?2 ORDER BY first_ms, id",
            )
            .map_err(|e| self.sql(e))?;
        st.query_map(params![from_ms, to_ms], |r| {
            Ok(InsightRecord {
                kind: r.get(0)?,
                subject: r.get(1)?,
                severity: r.get(2)?,
                message: r.get(3)?,
                first_ms: r.get(4)?,
                last_ms: r.get(5)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.sql(e))
    }

    fn alerts(&self, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT t_ms, rule, state, channel, delivered, message FROM alert
                 ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.sql(e))?;
        st.query_map([limit as i64], |r| {
            Ok(AlertRecord {
                t_ms: r.get(0)?,
                rule: r.get(1)?,
                state: r.get(2)?,
                channel: r.get(3)?,
                delivered: r.get(4)?,
                message: r.get(5)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.sql(e))
    }

    fn span(&self) -> Result<Option<(i64, i64)>, StoreError> {
        self.conn
            .query_row("SELECT MIN(t_ms), MAX(t_ms) FROM rollup", [], |r| {
                Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?))
            })
            .map_err(|e| self.sql(e))
    }

    fn retain(&mut self, r: &Retention, now_ms: i64) -> Result<Retained, StoreError> {
        let Some((_, newest)) = self.span()? else {
            return Ok(Retained::default());
        };
        let newest = newest.min(now_ms);
        let minutes_before = newest - r.minutes_ms;
        let keep_from = newest - r.keep_ms;
        let old = self.rollups(i64::MIN, minutes_before)?;
        let mut hours: BTreeMap<i64, Rollup> = BTreeMap::new();
        let mut downsampled = 0;
        for row in old.iter().filter(|r| r.width_ms == MINUTE_MS) {
            let h = row.t_ms - row.t_ms.rem_euclid(HOUR_MS);
            hours.entry(h).or_default().merge(&row.rollup);
            downsampled += 1;
        }
        let mut days: BTreeMap<(i64, String), RouteStats> = BTreeMap::new();
        for (t, route, s) in self.route_rows(HOUR_MS, minutes_before)? {
            let d = t - t.rem_euclid(DAY_MS);
            days.entry((d, route)).or_default().merge(&s);
        }
        let p = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| classify(&p, e))?;
        let run = |tx: &Transaction| -> rusqlite::Result<u64> {
            for (h, roll) in &hours {
                upsert_rollup(tx, *h, HOUR_MS, roll)?;
            }
            tx.execute(
                "DELETE FROM route_rollup WHERE width_ms = ?1 AND t_ms < ?2",
                params![HOUR_MS, minutes_before],
            )?;
            for ((d, route), s) in &days {
                upsert_route(tx, *d, DAY_MS, route, s)?;
            }
            tx.execute(
                "DELETE FROM rollup WHERE width_ms = ?1 AND t_ms < ?2",
                params![MINUTE_MS, minutes_before],
            )?;
            let mut deleted = 0;
            for sql in [
                "DELETE FROM rollup WHERE t_ms < ?1",
                "DELETE FROM route_rollup WHERE t_ms < ?1",
                "DELETE FROM visitors WHERE t_ms < ?1",
                "DELETE FROM report WHERE t_ms < ?1",
                "DELETE FROM insight WHERE last_ms < ?1",
            ] {
                deleted += tx.execute(sql, [keep_from])? as u64;
            }
            Ok(deleted)
        };
        let deleted = run(&tx).map_err(|e| classify(&p, e))?;
        tx.commit().map_err(|e| classify(&p, e))?;
        Ok(Retained {
            downsampled,
            deleted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a run on a log without response times saved its empty sketches with
    /// `"min": null` and the next start failed ("invalid type: null, expected f64").
    #[test]
    fn a_state_saved_with_null_sketch_bounds_is_read() {
        let mut agg = Aggregate::default();
        let req = crate::request::Request {
            ts_ms: 1_431_857_103_000,
            path: "/a".into(),
            status: 200,
            ..Default::default()
        };
        agg.count(&req);
        let mut v = serde_json::to_value(&agg).unwrap();
        // The old form: every empty sketch written out with null bounds.
        fn old_form(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(o) => {
                    if let Some(serde_json::Value::Null) = o.get("sketch") {
                        let empty = crate::aggregate::latency::empty_sketch_as_written_before();
                        o.insert("sketch".into(), empty);
                    }
                    o.values_mut().for_each(old_form);
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(old_form),
                _ => {}
            }
        }
        old_form(&mut v);
        let text = v.to_string();
        assert!(text.contains("\"min\":null"));
        assert!(serde_json::from_str::<Aggregate>(&text).is_err());
        let back = decode_state(&text).expect("repaired");
        assert_eq!(back.totals.requests, 1);
    }

    #[test]
    fn an_older_schema_is_migrated_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            c.execute(
                "INSERT INTO state (id, aggregate) VALUES (1, ?1)",
                [json(&Aggregate::default())],
            )
            .unwrap();
        }
        let mut s = SqliteStore::open(&path).unwrap();
        let saved = s.load().unwrap().expect("the old state is kept");
        assert!(saved.detection.is_none());
        let v: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        drop(s);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = SqliteStore::open(&path).err().expect("refused");
        assert!(
            matches!(err, StoreError::TooNew { found: 99, .. }),
            "{err:?}"
        );
    }
}
