//! Stored history on the dashboard server: any time range, answered from the SQLite rollups
//! (`/api/history/…`), and percentiles for buckets older than the live per-minute window.

use super::AppState;
use super::error::{ApiError, Params};
use crate::aggregate::latency::Latency;
use crate::insights::Insight;
use crate::stats::Stats;
use crate::store::{AlertRecord, InsightRecord, Store, StoreError, StoredReport};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A read-only handle on the history database.
#[derive(Clone)]
pub struct History(Arc<Mutex<crate::store::sqlite::SqliteStore>>);

impl History {
    /// Opens the database at `path` for reading.
    pub fn open(path: &std::path::Path) -> Result<Self, StoreError> {
        let store = crate::store::sqlite::SqliteStore::open_read_only(path)?;
        Ok(History(Arc::new(Mutex::new(store))))
    }

    /// Runs `f` on the store off the async threads.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let s = store.lock().unwrap_or_else(|e| e.into_inner());
            f(&*s)
        })
        .await
        .map_err(|e| ApiError::internal("history query failed", &e))?
        .map_err(|e| ApiError::internal("history query failed", &format!("{e:#}")))
    }
}

fn history_of(st: &AppState) -> Result<&History, ApiError> {
    st.history.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no history database (run without --no-db)",
        )
    })
}

/// A time range: `since` and `until` are RFC 3339 times, dates, or durations back from the
/// newest stored minute (`7d`).
#[derive(Debug, Default, Deserialize)]
pub struct Span {
    /// Start (default: 30 days before the newest stored minute).
    pub since: Option<String>,
    /// End, exclusive (default: after the newest stored minute).
    pub until: Option<String>,
    /// Most rows for the lists (default 100).
    pub limit: Option<usize>,
}

/// The range `p` asks for, given the newest stored minute.
fn bounds(p: &Span, newest: i64) -> Result<(i64, i64), ApiError> {
    let default_from = newest - crate::store::Retention::default().keep_ms;
    Ok(crate::params::range(
        p.since.as_deref(),
        p.until.as_deref(),
        newest,
        default_from,
    )?)
}

/// The range `p` asks for.
async fn range_of(h: &History, p: &Span) -> Result<(i64, i64), ApiError> {
    let newest = h.with(|s| Ok(s.span()?.map_or(0, |(_, b)| b))).await?;
    bounds(p, newest)
}

/// The numbers of `[since, until)` from history, with the incidents detected in it.
pub async fn summary_between(
    h: &History,
    since: i64,
    until: i64,
    limits: crate::aggregate::Limits,
) -> Result<(Stats, Vec<Insight>), ApiError> {
    h.with(move |s| {
        let agg = crate::store::history(s, since, until, limits)?;
        Ok((
            Stats::of(&agg),
            crate::store::stored_incidents(s, since, until)?,
        ))
    })
    .await
}

/// A stored range: its numbers and its incidents.
#[derive(Serialize)]
struct HistoryBody {
    #[serde(flatten)]
    stats: Stats,
    /// The incidents detected in the range.
    insights: Vec<Insight>,
    since_ms: i64,
    /// `null` when the range is open-ended (everything stored).
    until_ms: Option<i64>,
}

/// `GET /api/history/summary`: the numbers of a stored time range.
pub async fn summary(
    State(st): State<AppState>,
    Params(p): Params<Span>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let h = history_of(&st)?;
    let (since_ms, until_ms) = range_of(h, &p).await?;
    let limits = crate::aggregate::Limits::default();
    let (stats, insights) = summary_between(h, since_ms, until_ms, limits).await?;
    let body = HistoryBody {
        stats,
        insights,
        since_ms,
        until_ms: (until_ms != i64::MAX).then_some(until_ms),
    };
    Ok(Json(
        serde_json::to_value(body).expect("summary serializes"),
    ))
}

/// `GET /api/history/insights`: findings seen in a time range, one per incident.
pub async fn insights(
    State(st): State<AppState>,
    Params(p): Params<Span>,
) -> Result<Json<Vec<InsightRecord>>, ApiError> {
    let h = history_of(&st)?;
    let (a, b) = range_of(h, &p).await?;
    let rows = h.with(move |s| s.insights(a, b)).await?;
    Ok(Json(rows))
}

/// `GET /api/history/reports`: the kept reports, newest first.
pub async fn reports(
    State(st): State<AppState>,
    Params(p): Params<Span>,
) -> Result<Json<Vec<StoredReport>>, ApiError> {
    let limit = p.limit.unwrap_or(24).min(1000);
    Ok(Json(
        history_of(&st)?.with(move |s| s.reports(limit)).await?,
    ))
}

/// `GET /api/history/alerts`: alerts sent, newest first.
pub async fn alerts(
    State(st): State<AppState>,
    Params(p): Params<Span>,
) -> Result<Json<Vec<AlertRecord>>, ApiError> {
    let limit = p.limit.unwrap_or(100).min(1000);
    Ok(Json(history_of(&st)?.with(move |s| s.alerts(limit)).await?))
}

/// Response times of the stored buckets in `[from, to)`, merged into buckets `step` wide.
pub async fn latency_by_step(
    h: &History,
    from: i64,
    to: i64,
    step: i64,
) -> Result<BTreeMap<i64, Latency>, ApiError> {
    h.with(move |s| {
        let mut out: BTreeMap<i64, Latency> = BTreeMap::new();
        for r in s.rollups(from, to)? {
            let k = r.t_ms - r.t_ms.rem_euclid(step);
            out.entry(k).or_default().merge(&r.rollup.latency);
        }
        Ok(out)
    })
    .await
}
