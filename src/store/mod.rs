//! History that survives restarts: per-minute rollups, per-route hourly rollups, report and
//! insight history, and the saved live state with the read positions, behind one [`Store`]
//! interface. [`sqlite`] is the embedded backend; [`writer`] commits off the hot path.

pub mod clickhouse;
pub mod sqlite;
pub mod writer;

use crate::aggregate::rollup::{Rollup, Rollups};
use crate::aggregate::stats::RouteStats;
use crate::aggregate::{Aggregate, Limits};
use crate::follow::Checkpoints;
use serde::{Deserialize, Serialize};

/// What a restart needs: everything counted so far and where each file was read up to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    /// Everything counted so far.
    pub aggregate: Aggregate,
    /// Where each followed file was read up to — exactly the lines in `aggregate`.
    pub checkpoints: Checkpoints,
    /// Anomaly detection's baselines, open minutes and incidents, for the same lines.
    #[serde(default)]
    pub detection: Option<crate::detect::DetectionState>,
}

/// A report kept in history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredReport {
    /// Time of the newest request it covers (UTC ms).
    pub t_ms: i64,
    /// Requests it covers.
    pub requests: u64,
    /// The text report.
    pub text: String,
    /// The JSON report.
    pub json: String,
}

/// A finding kept in history; one row per incident, however long it lasts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InsightRecord {
    /// Kind (`error_burst`, `slowest_route`, …).
    pub kind: String,
    /// Route or client concerned (empty: the whole site).
    pub subject: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// The finding.
    pub message: String,
    /// First seen (UTC ms of the newest request then).
    pub first_ms: i64,
    /// Last seen.
    pub last_ms: i64,
}

/// A delivered (or failed) alert kept in history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRecord {
    /// When it was sent (UTC ms, wall clock).
    pub t_ms: i64,
    /// The rule that fired.
    pub rule: String,
    /// `firing` or `resolved`.
    pub state: String,
    /// Where it went (`webhook`, `email`).
    pub channel: String,
    /// Whether delivery succeeded.
    pub delivered: bool,
    /// The message.
    pub message: String,
}

/// One unit of work for the store, applied all or nothing: the rollups counted since the
/// last commit together with the state that includes them.
#[derive(Debug, Default)]
pub struct Commit {
    /// New rollups, added to what is stored.
    pub rollups: Rollups,
    /// The state after them.
    pub saved: Option<Box<Saved>>,
    /// A report to keep.
    pub report: Option<StoredReport>,
    /// Current findings (time = newest request).
    pub insights: Vec<InsightRecord>,
    /// Alerts sent since the last commit.
    pub alerts: Vec<AlertRecord>,
    /// With a shared store: the number of the last rows the state includes, which must be
    /// in its disk queue before the state is saved.
    pub rows_through: u64,
}

/// How long history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Rows older than this before the newest stored minute are deleted.
    pub keep_ms: i64,
    /// Minutes older than this are merged into hours.
    pub minutes_ms: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_ms: 30 * 86_400_000,
            minutes_ms: 7 * 86_400_000,
        }
    }
}

/// What a retention pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retained {
    /// Minute rows merged into hour rows.
    pub downsampled: u64,
    /// Rows deleted.
    pub deleted: u64,
}

/// A stored bucket.
#[derive(Debug, Clone)]
pub struct StoredRollup {
    /// Start (UTC ms).
    pub t_ms: i64,
    /// Width: a minute, or an hour once downsampled.
    pub width_ms: i64,
    /// Its numbers.
    pub rollup: Rollup,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is not a database, or is damaged.
    #[error(
        "{path} is not a tailpulse database or is damaged; move it aside (or pass another --db) and the logs are read again"
    )]
    NotADatabase {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The file or its directory cannot be written.
    #[error("{path} is read-only; tailpulse needs to write its history there (pass another --db)")]
    ReadOnly {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// Written by a newer tailpulse.
    #[error("{path} has schema version {found}; this tailpulse knows up to {known}")]
    TooNew {
        /// The file.
        path: String,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
    /// Any other database failure.
    #[error("database {path}")]
    Sql {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// An unreadable database could not be moved aside.
    #[error("{path} cannot be read and cannot be moved aside")]
    Moved {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A stored value cannot be read back.
    #[error("database {path}: a stored {what} is unreadable")]
    Decode {
        /// The file.
        path: String,
        /// Which value.
        what: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Storage of history and state. Every method is synchronous: callers run it off the async
/// threads (see [`writer`]).
pub trait Store: Send {
    /// The saved state, if any.
    fn load(&mut self) -> Result<Option<Saved>, StoreError>;
    /// Applies `c` atomically.
    fn commit(&mut self, c: &Commit) -> Result<(), StoreError>;
    /// Buckets starting in `[from_ms, to_ms)`, oldest first.
    fn rollups(&self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredRollup>, StoreError>;
    /// Per-route numbers of the buckets (hours, or days once downsampled) that overlap
    /// `[from_ms, to_ms)`, merged.
    fn route_stats(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(String, RouteStats)>, StoreError>;
    /// Distinct clients of the hours that overlap `[from_ms, to_ms)`, merged.
    fn visitors(&self, from_ms: i64, to_ms: i64) -> Result<crate::aggregate::Visitors, StoreError>;
    /// The panels of the hours that overlap `[from_ms, to_ms)`, merged.
    fn panels(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<crate::aggregate::rollup::HourPanels, StoreError>;
    /// The newest `limit` reports, newest first.
    fn reports(&self, limit: usize) -> Result<Vec<StoredReport>, StoreError>;
    /// Findings seen in `[from_ms, to_ms)`, oldest first.
    fn insights(&self, from_ms: i64, to_ms: i64) -> Result<Vec<InsightRecord>, StoreError>;
    /// The newest `limit` alerts, newest first.
    fn alerts(&self, limit: usize) -> Result<Vec<AlertRecord>, StoreError>;
    /// Start of the oldest and newest stored buckets.
    fn span(&self) -> Result<Option<(i64, i64)>, StoreError>;
    /// Makes the stored file complete on its own (a clean stop): nothing left in side files.
    fn close(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Downsamples and deletes by `r`, counted back from the newest stored minute or from
    /// `now_ms` (the clock), whichever is earlier: a replay of old logs keeps its history,
    /// and a line dated in the future cannot push the old history out.
    fn retain(&mut self, r: &Retention, now_ms: i64) -> Result<Retained, StoreError>;
}

/// Rebuilds the numbers of `[from_ms, to_ms)` from stored history. Routes are stored per
/// hour (per day once downsampled), so the route table covers the whole buckets the range
/// touches.
pub fn history(
    store: &dyn Store,
    from_ms: i64,
    to_ms: i64,
    limits: Limits,
) -> Result<Aggregate, StoreError> {
    let mut agg = Aggregate::new(limits);
    for r in store.rollups(from_ms, to_ms)? {
        agg.add_rollup(r.t_ms, r.width_ms, &r.rollup);
    }
    for (route, s) in store.route_stats(from_ms, to_ms)? {
        agg.add_route_stats(&route, &s);
    }
    agg.add_visitors(&store.visitors(from_ms, to_ms)?);
    agg.add_panels(&store.panels(from_ms, to_ms)?);
    Ok(agg)
}

/// The incidents detected in `[from_ms, to_ms)`, as insights (as written when they were
/// found, in the language of that run), oldest first.
pub fn stored_incidents(
    store: &dyn Store,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<crate::insights::Insight>, StoreError> {
    use crate::insights::{Insight, InsightKind, Severity, Window};
    let parse = |v: &str| serde_json::Value::String(v.to_owned());
    Ok(store
        .insights(from_ms, to_ms)?
        .into_iter()
        .filter_map(|r| {
            let kind: InsightKind = serde_json::from_value(parse(&r.kind)).ok()?;
            let severity: Severity = serde_json::from_value(parse(&r.severity)).ok()?;
            kind.is_incident().then(|| Insight {
                kind,
                severity,
                subject: (!r.subject.is_empty()).then(|| r.subject.clone()),
                message: r.message,
                advice: None,
                evidence: Default::default(),
                window: Some(Window {
                    start_ms: r.first_ms,
                    detected_ms: r.first_ms,
                    last_ms: r.last_ms,
                    end_ms: Some(r.last_ms),
                }),
            })
        })
        .collect())
}
