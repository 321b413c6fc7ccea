//! The embedded store: one SQLite file in WAL mode, with versioned migrations.

mod format;
mod recovery;
mod schema;
#[cfg(test)]
mod tests;
mod write;

use crate::aggregate::rollup::HourPanels;
use format::decode_body;
pub use recovery::{integrity_check, is_unreadable, move_aside};
use recovery::{read_marker, unix_secs, with_suffix};
use schema::MIGRATIONS;
use write::{apply, upsert_rollup, upsert_route};

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

fn is_code(e: &rusqlite::Error, code: ErrorCode) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == code)
}

impl SqliteStore {
    /// The bodies of the hourly rows of `table` (`visitors` or `panel_rollup`) of the hours
    /// that overlap `[from_ms, to_ms)`.
    fn hour_rows(&self, table: &str, from_ms: i64, to_ms: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        let sql = format!("SELECT body FROM {table} WHERE t_ms >= ?1 AND t_ms < ?2");
        let mut st = self.conn.prepare_cached(&sql).map_err(|e| self.sql(e))?;
        // Saturating: a range from the beginning of time (i64::MIN) overflowed here.
        let from = from_ms.saturating_sub(from_ms.rem_euclid(HOUR_MS));
        st.query_map(params![from, to_ms], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))
    }

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
        c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
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
            .map(|(t, route, body)| {
                Ok((
                    t,
                    route,
                    decode_body(&self.path, "route rollup", &body, format::ROWS)?,
                ))
            })
            .collect()
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        classify(&self.path, source)
    }

    /// A JSON blob (`what`) of any version, with the error a store reports.
    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        text: &str,
        legacy: impl FnOnce(&str) -> serde_json::Result<T>,
    ) -> Result<(u32, T), StoreError> {
        format::from_json(text, legacy).map_err(|e| StoreError::Decode {
            path: self.path.clone(),
            what,
            source: Box::new(e),
        })
    }
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
        let (_, aggregate): (_, Aggregate) = self.decode("state", &agg, format::legacy_state)?;
        // Detection state that cannot be read is relearned, not fatal, and said.
        let detection = detection.and_then(|d| {
            match self.decode("detection state", &d, |t| serde_json::from_str(t)) {
                Ok((version, mut state)) => {
                    if version == 1 {
                        crate::detect::DetectionState::rekey_clients(
                            &mut state,
                            aggregate.clients.names(),
                        );
                    }
                    Some(state)
                }
                Err(e) => {
                    tracing::warn!(target: "storage", path = %self.path, error = %e, "the saved detection state cannot be read: baselines are learnt again");
                    None
                }
            }
        });
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
            let (_, pos): (_, Vec<FilePos>) =
                self.decode("checkpoint", &pos, |t| serde_json::from_str(t))?;
            if path == crate::follow::checkpoint::FINISHED_KEY {
                checkpoints.finished = pos;
            } else {
                checkpoints.files.insert(path, pos);
            }
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
                    rollup: decode_body(&self.path, "rollup", &body, format::ROWS)?,
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
            let s: RouteStats = decode_body(&self.path, "route rollup", &body, format::ROWS)?;
            merged.entry(route).or_default().merge(&s);
        }
        let mut out: Vec<_> = merged.into_iter().collect();
        out.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    fn visitors(&self, from_ms: i64, to_ms: i64) -> Result<Visitors, StoreError> {
        let rows = self.hour_rows("visitors", from_ms, to_ms)?;
        let mut all = Visitors::default();
        for b in rows {
            all.merge(&decode_body(&self.path, "visitors", &b, format::VISITORS)?);
        }
        Ok(all)
    }

    fn panels(&self, from_ms: i64, to_ms: i64) -> Result<HourPanels, StoreError> {
        let rows = self.hour_rows("panel_rollup", from_ms, to_ms)?;
        let mut all = HourPanels::default();
        for b in rows {
            all.merge(&format::decode_panels(&b).map_err(|e| StoreError::Decode {
                path: self.path.clone(),
                what: "panel rollup",
                source: Box::new(e),
            })?);
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
                "DELETE FROM panel_rollup WHERE t_ms < ?1",
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
