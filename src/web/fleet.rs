//! Answers for the fleet from ClickHouse: ranges past what the live run holds (from the rows,
//! or from the per-minute rollups for long ones), request lists with filters, and the
//! sink's state.

use super::AppState;
use super::api::{Filter, ViewParams, duration_ms, last_ms, nonempty, status_param};
use super::error::ApiError;
use crate::aggregate::recent::Filter as ViewFilter;
use crate::live::{Snapshot, View};
use crate::stats::SampleRow;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The view of the stored requests since `since` that pass `f`, from ClickHouse, and which
/// of its tables answered: the rows, or the per-minute rollups when the range holds more
/// requests than the server's `scan_max` and `f` filters by host and route at most.
pub(super) async fn from_clickhouse(
    st: &AppState,
    f: ViewFilter,
    since: i64,
) -> Result<(View, &'static str), ApiError> {
    use crate::store::clickhouse::{read, rollups};
    let client = st.clickhouse.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no ClickHouse (run --clickhouse URL)",
        )
    })?;
    let routes = st.routes.clone();
    if let Some(why) = read::unsupported(&f, &routes.geo) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, why));
    }
    query(move || {
        // Counted as the run counts: its routes, static files and places.
        let mut agg = crate::aggregate::Aggregate::new(crate::aggregate::Limits::default())
            .with_routes(routes);
        let many = rollups::can_answer(&f)
            && rollups::requests(&client, &f, Some(since), None)? > client.options().scan_max;
        let (n, visitors, source) = if many {
            let visitors = rollups::count_into(&client, &mut agg, &f, Some(since), None)?;
            (agg.totals.requests, Some(visitors), "clickhouse-rollups")
        } else {
            let n = read::count_into(&client, &mut agg, &f, Some(since), None)?;
            (n, None, "clickhouse")
        };
        let mut stats = crate::stats::Stats::of(&agg);
        if let Some(v) = visitors {
            stats.unique_visitors = v;
        }
        let view = View {
            stats,
            minute_latency: agg.minute_latency.clone(),
            window: n as usize,
            window_from_ms: agg.period().map(|(a, _)| a),
        };
        Ok((view, source))
    })
    .await
}

/// Runs the ClickHouse queries of `f` off the async threads; a failure is the answer that
/// history is unavailable (and is logged).
async fn query<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::clickhouse::ClickHouseError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the query failed"))?
        .map_err(|e| {
            tracing::warn!(target: "web", error = %e, "ClickHouse query failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "history is unavailable: ClickHouse cannot be reached",
            )
        })
}

/// The time ranges are counted back from: the fleet's newest stored minute for the fleet's
/// view (another instance may hold newer requests than this run), else this run's newest
/// request.
pub(super) async fn anchor_ms(
    st: &AppState,
    snap: &Snapshot,
    fleet: bool,
) -> Result<i64, ApiError> {
    let local = last_ms(snap);
    let Some(client) = st.clickhouse.clone().filter(|_| fleet) else {
        return Ok(local);
    };
    let newest =
        query(move || crate::store::clickhouse::read::newest_minute_end_ms(&client)).await?;
    Ok(newest.unwrap_or(local))
}

/// With ClickHouse, the view of all of time (`all`), of a range reaching past what the
/// live run holds (`local`, or the snapshot when unfiltered), or of any range with
/// `scope=fleet`: the fleet's stored requests that pass `p`'s filters, and the time the
/// range was counted back from (see [`anchor_ms`]).
pub(super) async fn fleet_range(
    st: &AppState,
    snap: &Snapshot,
    range: Option<&str>,
    p: &ViewParams,
    local: Option<&View>,
) -> Result<Option<(View, i64)>, ApiError> {
    let fleet = super::api::fleet_scope(st, &p.scope)?;
    let range = match (range, fleet) {
        (Some(r), _) => r,
        (None, true) => "all",
        (None, false) => return Ok(None),
    };
    if st.clickhouse.is_none() {
        return Ok(None);
    }
    let last = anchor_ms(st, snap, fleet).await?;
    let since = match range {
        "all" => 0,
        r => last - duration_ms(r)? + 1,
    };
    let f = p.filter(last, false)?;
    // What the live run holds: its window when filtered, else everything it counted.
    let held_from = match local {
        Some(v) => v.window_from_ms,
        None => snap.analysis.stats.period.as_ref().map(|p| p.first_ms),
    };
    if !fleet && range != "all" && held_from.is_some_and(|h| h <= since) {
        return Ok(None);
    }
    Ok(Some((from_clickhouse(st, f, since).await?.0, last)))
}

/// The newest stored requests that pass `f`, from ClickHouse.
pub(super) async fn stored_requests(
    client: crate::store::clickhouse::Client,
    f: &Filter,
    last_ms: i64,
) -> Result<Vec<SampleRow>, ApiError> {
    let since_ms = match nonempty(&f.range).filter(|r| r != "all") {
        Some(r) => Some(last_ms - duration_ms(&r)? + 1),
        None => None,
    };
    let vf = ViewFilter {
        route: nonempty(&f.route),
        status: status_param(&f.status)?,
        vhost: nonempty(&f.vhost),
        host: nonempty(&f.host),
        since_ms,
        ..ViewFilter::default()
    };
    let limit = f.limit.unwrap_or(RECENT_ROWS).min(MAX_STORED_ROWS);
    let rows = query(move || crate::store::clickhouse::read::newest(&client, &vf, limit)).await?;
    Ok(rows
        .iter()
        .map(|r| SampleRow {
            time: crate::time::format_rfc3339(r.ts_ms),
            ts_ms: r.ts_ms,
            method: r.method.to_string(),
            path: r.path.to_string(),
            status: r.status,
            bytes: r.bytes,
            response_ms: r.response_ms,
            client: r.client.to_string(),
            user_agent: r.user_agent.to_string(),
            vhost: r.vhost.to_string(),
            host: r.host.to_string(),
            line: crate::store::clickhouse::read::combined_line(r),
        })
        .collect())
}

/// Requests listed by default, and at most, from ClickHouse.
const RECENT_ROWS: usize = 20;
const MAX_STORED_ROWS: usize = 1000;

/// `GET /api/store`: the state of the ClickHouse sink (`null` without one).
pub async fn store(State(st): State<AppState>) -> Response {
    let status = st.sink.as_ref().map(|s| s.status());
    Json(serde_json::json!({ "clickhouse": status })).into_response()
}
