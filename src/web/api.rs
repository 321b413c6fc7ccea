//! JSON endpoints. Every list endpoint takes filters: `route` (substring of the route or
//! path), `status` (`2xx` … `5xx` or a code), `vhost`, `host`, and `limit`; `timeseries` takes a
//! time `range` and a `step`.

use super::AppState;
pub use super::error::{ApiError, Params};
use crate::aggregate::counts::Buckets;
use crate::aggregate::latency::Latency;
use crate::aggregate::recent::{Filter as ViewFilter, StatusFilter};
use crate::analysis::Analysis;
use crate::live::Snapshot;
use crate::live::{Query as ViewQuery, View};
use crate::stats::{RouteRow, SampleRow, Stats, TimeRow, latency_between};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::WatchStream;

fn latest(st: &AppState) -> Arc<Snapshot> {
    st.snapshots.borrow().clone()
}

/// Unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not found")
}

/// `GET /healthz`: open to all, so that probes need no credential; with `[auth]`, only
/// callers that may read the figures get the parts and counts, the others the status alone.
pub async fn healthz(State(st): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let s = latest(&st);
    let (ok, mut body) = match &st.health {
        Some(h) => h.report(),
        None => (true, serde_json::json!({ "status": "ok" })),
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if st
        .auth
        .as_ref()
        .is_some_and(|a| !super::auth::may_read(a, &headers))
    {
        let status = body["status"].clone();
        return (code, Json(serde_json::json!({ "status": status }))).into_response();
    }
    body["generation"] = s.generation.into();
    body["requests"] = s.analysis.stats.requests.into();
    (code, Json(body)).into_response()
}

/// The longest time range or step the API accepts (the hourly history kept in memory).
pub use crate::params::MAX_SPAN_MS;

/// Live figures added to the summary.
#[derive(Serialize)]
struct LiveInfo {
    generation: u64,
    lines_per_sec: f64,
    #[serde(flatten)]
    progress: crate::live::Progress,
}

/// The summary as the dashboard receives it: the `analyze --output json` document plus `live`.
#[derive(Serialize)]
struct SummaryBody<'a> {
    #[serde(flatten)]
    summary: &'a Analysis,
    live: LiveInfo,
    /// The language of the insights and prompts.
    lang: crate::lang::Lang,
}

/// The JSON text of a snapshot with `summary` (its own, or the one in the other language)
/// in `lang`: what `/api/summary` and each pushed event carry.
pub fn summary_json(s: &Snapshot, summary: &Analysis, lang: crate::lang::Lang) -> String {
    let body = SummaryBody {
        summary,
        live: LiveInfo {
            generation: s.generation,
            lines_per_sec: s.lines_per_sec,
            progress: s.progress,
        },
        lang,
    };
    serde_json::to_string(&body).expect("summary serializes")
}

fn json_text(text: axum::body::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// `GET /api/summary`.
pub async fn summary(
    State(st): State<AppState>,
    Params(p): Params<ViewParams>,
) -> Result<Response, ApiError> {
    crate::health::fault_point("web");
    let snap = latest(&st);
    let fleet = fleet_scope(&st, &p.scope)?;
    if st.clickhouse.is_some() && (fleet || nonempty(&p.range).is_some_and(|r| r == "all")) {
        // All of time, and the fleet's view of any range, are answered by ClickHouse.
        let f = p.filter(super::fleet::anchor_ms(&st, &snap, fleet).await?, true)?;
        let since = f.since_ms.unwrap_or(0);
        let (view, source) = super::fleet::from_clickhouse(&st, f, since).await?;
        return Ok(filtered_body(&snap, &p, &view.stats, since, source));
    }
    let Some(view) = view_of(&st, &p, true).await? else {
        return Ok(json_text(st.summary_json(&snap, p.lang)));
    };
    if let Some(body) = older_than_window(&st, &p, &view).await? {
        return Ok(body);
    }
    let body = FilteredBody {
        summary: &view.stats,
        live: LiveInfo {
            generation: snap.generation,
            lines_per_sec: snap.lines_per_sec,
            progress: snap.progress,
        },
        filter: FilterInfo {
            route: nonempty(&p.route),
            status: nonempty(&p.status),
            vhost: nonempty(&p.vhost),
            host: nonempty(&p.host),
            range: nonempty(&p.range),
            window: view.window,
            window_from_ms: view.window_from_ms,
            source: "window",
        },
    };
    Ok(Json(body).into_response())
}

/// A time range reaching back past the live window, with no other filter, is answered from
/// the stored history.
async fn older_than_window(
    st: &AppState,
    p: &ViewParams,
    view: &View,
) -> Result<Option<Response>, ApiError> {
    let snap = latest(st);
    let f = p.filter(last_ms(&snap), true)?;
    // ClickHouse holds every request of the fleet: a range past the window is answered
    // there, with every filter.
    if st.clickhouse.is_some()
        && let Some(since) = f
            .since_ms
            .filter(|s| view.window_from_ms.is_none_or(|w| w > *s))
    {
        let (view, source) = super::fleet::from_clickhouse(st, f, since).await?;
        return Ok(Some(filtered_body(&snap, p, &view.stats, since, source)));
    }
    let (Some(h), Some(since)) = (&st.history, f.since_ms) else {
        return Ok(None);
    };
    let covered = view.window_from_ms.is_some_and(|w| w <= since);
    // History answers a range only: any other filter is the window's to answer.
    let only_range = ViewFilter {
        since_ms: None,
        ..f.clone()
    }
    .is_empty();
    if covered || !only_range {
        return Ok(None);
    }
    let limits = crate::aggregate::Limits::default();
    let until = last_ms(&snap) + 1;
    let (stats, _) = super::history::summary_between(h, since, until, limits).await?;
    Ok(Some(filtered_body(&snap, p, &stats, since, "history")))
}

/// The answer for a range past the window, from `source`.
fn filtered_body(
    snap: &Snapshot,
    p: &ViewParams,
    stats: &crate::stats::Stats,
    since: i64,
    source: &'static str,
) -> Response {
    let body = FilteredBody {
        summary: stats,
        live: LiveInfo {
            generation: snap.generation,
            lines_per_sec: snap.lines_per_sec,
            progress: snap.progress,
        },
        filter: FilterInfo {
            route: nonempty(&p.route),
            status: nonempty(&p.status),
            vhost: nonempty(&p.vhost),
            host: nonempty(&p.host),
            range: nonempty(&p.range),
            window: 0,
            window_from_ms: Some(since),
            source,
        },
    };
    Json(body).into_response()
}

/// Filters for the views, combined with AND: `route` (substring), `status` (`5xx` or `404`),
/// `vhost`, `host`, `browser`, `os`, `device`, `client` (address or CIDR), `ua` (substring),
/// `referer` (site), `path` (prefix), `min_ms`, and `range` (how far back from the newest
/// request, e.g. `15m`).
#[derive(Debug, Default, Deserialize)]
pub struct ViewParams {
    /// Substring of the route.
    pub route: Option<String>,
    /// Status class or code.
    pub status: Option<String>,
    /// Virtual host.
    pub vhost: Option<String>,
    /// Host (the server that logged the requests).
    pub host: Option<String>,
    /// Time range (`15m`, `1h`, …, `all`).
    pub range: Option<String>,
    /// Browser family, as the Browsers panel names it.
    pub browser: Option<String>,
    /// Operating system, as the panel names it.
    pub os: Option<String>,
    /// Device class: desktop, mobile, tablet, bot, other.
    pub device: Option<String>,
    /// Client address or network (CIDR), or a client logged as a name.
    pub client: Option<String>,
    /// Substring of the user agent (case ignored).
    pub ua: Option<String>,
    /// Referring site.
    pub referer: Option<String>,
    /// Country code of the client (with `--geoip-db`).
    pub country: Option<String>,
    /// Path prefix.
    pub path: Option<String>,
    /// Only requests that took at least this many milliseconds.
    pub min_ms: Option<String>,
    /// Language of the insights and prompts (`en`, `ko`).
    pub lang: Option<crate::lang::Lang>,
    /// `fleet`: every instance's requests, from ClickHouse, whatever the range (all of time
    /// without one); `local` or none: this run's own, unless the range reaches past them.
    pub scope: Option<String>,
}

/// Whether `scope` asks for the fleet's view; `Err` for a scope that is neither `fleet` nor
/// `local`, or for the fleet's view without ClickHouse.
pub(super) fn fleet_scope(st: &AppState, scope: &Option<String>) -> Result<bool, ApiError> {
    let fleet = match nonempty(scope).as_deref() {
        None | Some("local") => false,
        Some("fleet") => true,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "scope cannot be {:?}: fleet or local",
                    crate::text::clip(other, 20)
                ),
            ));
        }
    };
    if fleet && st.clickhouse.is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "scope=fleet needs a run that writes to ClickHouse (--clickhouse URL)",
        ));
    }
    Ok(fleet)
}

/// The filters' names.
pub const FILTER_KEYS: [&str; 14] = [
    "route", "status", "vhost", "host", "browser", "os", "device", "client", "ua", "referer",
    "country", "path", "min_ms", "range",
];

pub(super) fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl ViewParams {
    /// The parameters `pairs` (`host`, `status`, `client`, …) give, as the API reads them.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<ViewParams, String> {
        if let Some((k, _)) = pairs
            .iter()
            .find(|(k, _)| !FILTER_KEYS.contains(&k.as_str()))
        {
            return Err(format!(
                "no filter is named {k:?}; filters: {}",
                FILTER_KEYS.join(", ")
            ));
        }
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| e.to_string())
    }

    /// The filter these parameters ask for, without `range`.
    pub fn filter_only(&self) -> Result<ViewFilter, String> {
        self.filter(0, false).map_err(|e| e.message().to_owned())
    }

    /// The filter these parameters ask for (`range` only when `use_range`).
    pub(super) fn filter(&self, last_ms: i64, use_range: bool) -> Result<ViewFilter, ApiError> {
        let status = status_param(&self.status)?;
        let since_ms = match nonempty(&self.range).filter(|r| use_range && r != "all") {
            Some(r) => Some(last_ms - duration_ms(&r)? + 1),
            None => None,
        };
        let bad = |what: &str, v: &str| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("{what} cannot be {:?}", crate::text::clip(v, 40)),
            )
        };
        let device = match nonempty(&self.device) {
            Some(d) => Some(device_named(&d).ok_or_else(|| bad("device", &d))?),
            None => None,
        };
        let path = match nonempty(&self.path) {
            Some(p) => Some(
                crate::aggregate::filter::PathFilter::parse(&p)
                    .map_err(|why| ApiError::new(StatusCode::BAD_REQUEST, why))?,
            ),
            None => None,
        };
        let min_ms = match nonempty(&self.min_ms) {
            Some(m) => Some(
                m.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| bad("min_ms", &m))?,
            ),
            None => None,
        };
        Ok(ViewFilter {
            route: nonempty(&self.route),
            status,
            vhost: nonempty(&self.vhost),
            host: nonempty(&self.host),
            since_ms,
            browser: nonempty(&self.browser),
            os: nonempty(&self.os),
            device,
            client: nonempty(&self.client)
                .map(|c| crate::aggregate::filter::ClientFilter::parse(&c)),
            ua: nonempty(&self.ua),
            referer: nonempty(&self.referer),
            country: nonempty(&self.country).map(|c| c.to_ascii_uppercase()),
            path,
            min_ms,
        })
    }
}

/// The device class named `name` (`desktop`, `mobile`, …).
fn device_named(name: &str) -> Option<crate::aggregate::agents::Device> {
    use crate::aggregate::agents::Device;
    [
        Device::Desktop,
        Device::Mobile,
        Device::Tablet,
        Device::Bot,
        Device::Other,
    ]
    .into_iter()
    .find(|d| d.name().eq_ignore_ascii_case(name))
}

/// The filtered view for `p`, or `None` when nothing is filtered (the snapshot is the view).
async fn view_of(st: &AppState, p: &ViewParams, use_range: bool) -> Result<Option<View>, ApiError> {
    let last = last_ms(&latest(st));
    let filter = p.filter(last, use_range)?;
    if filter.is_empty() {
        return Ok(None);
    }
    let Some(q) = &st.queries else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "filters need a live run",
        ));
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let gone = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the analysis is stopping");
    q.send(ViewQuery { filter, reply })
        .await
        .map_err(|_| gone())?;
    answer.await.map(Some).map_err(|_| gone())
}

/// A filtered summary: the numbers, the live figures, and what was filtered.
#[derive(Serialize)]
struct FilteredBody<'a> {
    #[serde(flatten)]
    summary: &'a Stats,
    live: LiveInfo,
    filter: FilterInfo,
}

#[derive(Serialize)]
struct FilterInfo {
    route: Option<String>,
    status: Option<String>,
    vhost: Option<String>,
    host: Option<String>,
    range: Option<String>,
    window: usize,
    window_from_ms: Option<i64>,
    /// `window` (the newest requests in memory) or `history` (the stored rollups).
    source: &'static str,
}

/// The language a page reads the analysis in.
#[derive(Debug, Default, Deserialize)]
pub struct LangParam {
    /// `en` or `ko` (default: the run's `--lang`).
    pub lang: Option<crate::lang::Lang>,
}

/// `GET /api/stream`: a `snapshot` event with the summary each time a new one is published.
pub async fn stream(
    State(st): State<AppState>,
    Params(l): Params<LangParam>,
    headers: axum::http::HeaderMap,
) -> Response {
    // A stream holds a slot while open: past the limit, new ones are refused, not buffered.
    let Some(slot) = st.streams.open(st.limits.max_streams) else {
        tracing::warn!(target: "web", open = st.streams.open_now(), "too many event streams; one refused");
        let mut res = (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many open event streams; try later\n",
        )
            .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        return res;
    };
    let cache = st.clone();
    // A stream opened with a session ends once the session does (logout or expiry).
    let session = st.auth.clone().zip(super::auth::session_of(&headers));
    let live = move || {
        session
            .as_ref()
            .is_none_or(|(auth, id)| auth.session(id).is_some())
    };
    let events = WatchStream::new(st.snapshots.clone())
        .take_while(move |_| live())
        .map(move |s| {
            let _open = &slot;
            let json = crate::health::as_part("web", || cache.summary_json(&s, l.lang));
            Ok::<_, Infallible>(
                Event::default()
                    .event("snapshot")
                    .id(s.generation.to_string())
                    .data(String::from_utf8_lossy(&json)),
            )
        });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Filters shared by the list endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    /// Substring of the route (or path, for requests).
    pub route: Option<String>,
    /// `2xx`-style class or an exact code.
    pub status: Option<String>,
    /// Exact virtual host.
    pub vhost: Option<String>,
    /// Exact host (the server that logged the requests).
    pub host: Option<String>,
    /// Most rows returned.
    pub limit: Option<usize>,
    /// Sort key (routes: requests, errors, errors_4xx, errors_5xx, avg, p90, p99, bytes, route).
    pub sort: Option<String>,
    /// `asc` or `desc` (default).
    pub order: Option<String>,
    /// Time range back from the newest request (`15m`, `1h`, …, `all`).
    pub range: Option<String>,
    /// `fleet` or `local` (see [`ViewParams::scope`]).
    pub scope: Option<String>,
}

/// Reads a `status` parameter (`5xx` or `404`); empty means none.
pub(super) fn status_param(want: &Option<String>) -> Result<Option<StatusFilter>, ApiError> {
    Ok(nonempty(want)
        .map(|w| crate::params::status(&w))
        .transpose()?)
}

/// The kept requests that pass `f` (route, status, vhost, host, and `range` back from `last_ms`).
fn sample_rows(rows: &[SampleRow], f: &Filter, last_ms: i64) -> Result<Vec<SampleRow>, ApiError> {
    let status = status_param(&f.status)?;
    let since = match nonempty(&f.range).filter(|r| r != "all") {
        Some(r) => last_ms - duration_ms(&r)? + 1,
        None => i64::MIN,
    };
    let route = nonempty(&f.route);
    let vhost = nonempty(&f.vhost);
    let host = nonempty(&f.host);
    let mut out: Vec<SampleRow> =
        rows.iter()
            .filter(|r| {
                route.as_deref().is_none_or(|q| {
                    r.path.contains(q) || crate::route::normalize(&r.path).contains(q)
                }) && vhost.as_deref().is_none_or(|v| r.vhost == v)
                    && host.as_deref().is_none_or(|h| r.host == h)
                    && status.is_none_or(|s| s.matches(r.status))
                    && r.ts_ms >= since
            })
            .cloned()
            .collect();
    out.truncate(f.limit.unwrap_or(usize::MAX));
    Ok(out)
}

pub(super) fn last_ms(s: &Snapshot) -> i64 {
    s.analysis.stats.period.as_ref().map_or(0, |p| p.last_ms)
}

/// `GET /api/slow`.
pub async fn slow(
    State(st): State<AppState>,
    Params(f): Params<Filter>,
) -> Result<Json<Vec<SampleRow>>, ApiError> {
    let s = latest(&st);
    Ok(Json(sample_rows(
        &s.analysis.stats.slowest,
        &f,
        last_ms(&s),
    )?))
}

/// `GET /api/recent`: the newest requests (and, with a 4xx/5xx filter, the newest failures).
pub async fn recent(
    State(st): State<AppState>,
    Params(f): Params<Filter>,
) -> Result<Json<Vec<SampleRow>>, ApiError> {
    let s = latest(&st);
    let fleet = fleet_scope(&st, &f.scope)?;
    if let Some(client) = &st.clickhouse {
        let wanted = [&f.route, &f.status, &f.vhost, &f.host, &f.range];
        if fleet || wanted.iter().any(|v| nonempty(v).is_some()) {
            // Any filter is answered from every stored request, not the few kept here.
            return Ok(Json(
                super::fleet::stored_requests(client.clone(), &f, last_ms(&s)).await?,
            ));
        }
    }
    let failures = f
        .status
        .as_deref()
        .is_some_and(|w| w.starts_with('4') || w.starts_with('5'));
    let rows = if failures {
        &s.analysis.stats.recent_errors
    } else {
        &s.analysis.stats.recent
    };
    Ok(Json(sample_rows(rows, &f, last_ms(&s))?))
}

fn sort_key(r: &RouteRow, key: &str) -> Result<f64, ApiError> {
    let opt = |v: Option<f64>| v.unwrap_or(-1.0);
    Ok(match key {
        "requests" => r.requests as f64,
        "errors" => (r.errors_4xx + r.errors_5xx) as f64,
        "errors_4xx" => r.errors_4xx as f64,
        "errors_5xx" => r.errors_5xx as f64,
        "avg" => opt(r.avg_ms),
        "p90" => opt(r.p90_ms),
        "p99" => opt(r.p99_ms),
        "bytes" => r.bytes as f64,
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("unknown sort key {key:?}"),
            ));
        }
    })
}

/// `GET /api/routes`.
pub async fn routes(
    State(st): State<AppState>,
    Params(f): Params<Filter>,
) -> Result<Json<Vec<RouteRow>>, ApiError> {
    let s = latest(&st);
    let scoped = ViewParams {
        vhost: f.vhost.clone(),
        host: f.host.clone(),
        range: f.range.clone(),
        scope: f.scope.clone(),
        ..ViewParams::default()
    };
    let local = view_of(&st, &scoped, true).await?;
    let unranged = ViewParams {
        range: None,
        ..scoped
    };
    let view =
        match super::fleet::fleet_range(&st, &s, f.range.as_deref(), &unranged, local.as_ref())
            .await?
        {
            Some((v, _)) => Some(v),
            None => local,
        };
    let summary = view.as_ref().map_or(&s.analysis.stats, |v| &v.stats);
    let mut rows: Vec<RouteRow> = summary
        .routes
        .iter()
        .filter(|r| f.route.as_deref().is_none_or(|q| r.route.contains(q)))
        .filter(|r| match f.status.as_deref() {
            Some("4xx") => r.errors_4xx > 0,
            Some("5xx") => r.errors_5xx > 0,
            _ => true,
        })
        .cloned()
        .collect();
    let key = f.sort.as_deref().unwrap_or("requests");
    let asc = match f.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(o) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("order is asc or desc, not {:?}", crate::text::clip(o, 40)),
            ));
        }
    };
    if key == "route" {
        rows.sort_by(|a, b| a.route.cmp(&b.route));
    } else {
        let mut keyed = rows
            .into_iter()
            .map(|r| Ok((sort_key(&r, key)?, r)))
            .collect::<Result<Vec<_>, ApiError>>()?;
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.route.cmp(&b.1.route)));
        rows = keyed.into_iter().map(|(_, r)| r).collect();
    }
    if asc {
        rows.reverse();
    }
    rows.truncate(f.limit.unwrap_or(usize::MAX));
    Ok(Json(rows))
}

/// `GET /api/status`.
pub async fn status(
    State(st): State<AppState>,
    Params(p): Params<ViewParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let s = latest(&st);
    let view = view_of(&st, &p, true).await?;
    let summary = view.as_ref().map_or(&s.analysis.stats, |v| &v.stats);
    Ok(Json(
        serde_json::json!({ "status": summary.status, "status_class": summary.status_class }),
    ))
}

/// Query of `/api/timeseries` (its filters are the views' [`ViewParams`]).
#[derive(Debug, Deserialize)]
pub struct Range {
    /// `15m`, `1h`, `6h`, `24h` or `all` (default `1h`).
    pub range: Option<String>,
    /// Bucket width (`1m`, `5m`, `1h`, …); default: 1 minute up to 6 h, 1 hour beyond.
    pub step: Option<String>,
}

/// A `range` or `step`: a duration of at least a second and at most [`MAX_SPAN_MS`].
pub(super) fn duration_ms(s: &str) -> Result<i64, ApiError> {
    Ok(crate::params::span_ms(s)?)
}

/// Rows of `rows` (oldest first) in `[from, ∞)`, re-bucketed to `step` ms; percentiles come
/// from merging the per-minute sketches of each new bucket.
fn rebucket(
    rows: &[TimeRow],
    minutes: &Buckets<Arc<Latency>>,
    from: i64,
    step: i64,
) -> Vec<TimeRow> {
    let mut out: BTreeMap<i64, TimeRow> = BTreeMap::new();
    let mut timed: BTreeMap<i64, (f64, u64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.t_ms >= from) {
        let k = r.t_ms - r.t_ms.rem_euclid(step);
        let e = out.entry(k).or_insert_with(|| TimeRow {
            t: crate::time::format_rfc3339(k),
            t_ms: k,
            requests: 0,
            status_class: BTreeMap::new(),
            bytes: 0,
            avg_ms: None,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
        });
        e.requests += r.requests;
        e.bytes += r.bytes;
        for (c, n) in &r.status_class {
            *e.status_class.entry(c).or_insert(0) += n;
        }
        if let Some(avg) = r.avg_ms {
            let t = timed.entry(k).or_default();
            t.0 += avg * r.requests as f64;
            t.1 += r.requests;
        }
    }
    for (k, (sum, n)) in timed {
        if let Some(e) = out.get_mut(&k) {
            e.avg_ms = (n > 0).then(|| crate::stats::round3(sum / n as f64));
        }
    }
    for (k, e) in out.iter_mut() {
        if let Some(l) = latency_between(minutes, *k, k + step) {
            let q = |p| l.quantile(p).map(crate::stats::round3);
            (e.p50_ms, e.p95_ms, e.p99_ms) = (q(0.5), q(0.95), q(0.99));
        }
    }
    out.into_values().collect()
}

/// `GET /api/timeseries`: requests over time by status class, with mean response time.
pub async fn timeseries(
    State(st): State<AppState>,
    Params(q): Params<Range>,
    Params(filters): Params<ViewParams>,
) -> Result<Response, ApiError> {
    let s = latest(&st);
    let scoped = ViewParams {
        range: None,
        lang: None,
        ..filters
    };
    let local = view_of(&st, &scoped, false).await?;
    // The range counts back from the fleet's newest minute when the fleet answers.
    let (view, last) =
        match super::fleet::fleet_range(&st, &s, q.range.as_deref(), &scoped, local.as_ref())
            .await?
        {
            Some((v, at)) => (Some(v), at),
            None => (local, last_ms(&s)),
        };
    let (timeline, minutes) = match &view {
        Some(v) => (&v.stats.timeline, &v.minute_latency),
        None => (&s.analysis.stats.timeline, &s.minute_latency),
    };
    let range = q.range.as_deref().unwrap_or("1h");
    let span = if range == "all" {
        None
    } else {
        Some(duration_ms(range)?)
    };
    let from = span.map_or(i64::MIN, |d| last - d + 1);
    let use_minutes = span.is_some_and(|d| d <= 24 * 3_600_000);
    let default_step = if span.is_some_and(|d| d <= 6 * 3_600_000) {
        60_000
    } else {
        3_600_000
    };
    // Buckets are built from minutes up to a day back and from hours beyond: a finer step
    // than those is raised to them, and the step used is said in `x-tailpulse-step-ms`.
    let finest = if use_minutes { 60_000 } else { 3_600_000 };
    let step = match q.step.as_deref() {
        Some(st) => duration_ms(st)?.max(finest),
        None => default_step,
    };
    let rows = if use_minutes {
        &timeline.minutely
    } else {
        &timeline.hourly
    };
    let mut out = rebucket(rows, minutes, from, step);
    if view.is_none()
        && let Some(h) = &st.history
    {
        fill_from_history(h, &mut out, step).await?;
    }
    Ok(([("x-tailpulse-step-ms", step.to_string())], Json(out)).into_response())
}

/// Percentiles for the buckets older than the live per-minute window, from the stored
/// per-minute sketches.
async fn fill_from_history(
    h: &super::history::History,
    rows: &mut [TimeRow],
    step: i64,
) -> Result<(), ApiError> {
    let missing = || {
        rows.iter()
            .filter(|r| r.avg_ms.is_some() && r.p50_ms.is_none())
    };
    let (Some(first), Some(last)) = (
        missing().map(|r| r.t_ms).min(),
        missing().map(|r| r.t_ms).max(),
    ) else {
        return Ok(());
    };
    let stored = super::history::latency_by_step(h, first, last + step, step).await?;
    for r in rows.iter_mut().filter(|r| r.p50_ms.is_none()) {
        if let Some(l) = stored.get(&r.t_ms).filter(|l| l.count() > 0) {
            let q = |p| l.quantile(p).map(crate::stats::round3);
            (r.p50_ms, r.p95_ms, r.p99_ms) = (q(0.5), q(0.95), q(0.99));
        }
    }
    Ok(())
}

/// Query of `/api/report`.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    /// `text` (default) or `json`.
    pub format: Option<String>,
}

/// `GET /api/report`: the current report as text, or its insights and prompts as JSON.
pub async fn report(
    State(st): State<AppState>,
    Params(q): Params<ReportQuery>,
) -> Result<Response, ApiError> {
    let s = latest(&st);
    let lang = s.lang;
    Ok(match q.format.as_deref() {
        Some("json") => Json(serde_json::json!({
            "text": crate::report::text::render(&s.analysis, lang),
            "insights": s.analysis.insights,
            "prompts": s.analysis.prompts,
        }))
        .into_response(),
        None | Some("" | "text") => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            crate::report::text::render(&s.analysis, lang),
        )
            .into_response(),
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "format must be text or json, not {:?}",
                    crate::text::clip(other, 40)
                ),
            ));
        }
    })
}

/// `GET /api/prompts`.
pub async fn prompts(State(st): State<AppState>) -> Response {
    Json(latest(&st).analysis.prompts.clone()).into_response()
}

/// `GET /api/insights`.
pub async fn insights(State(st): State<AppState>) -> Response {
    Json(latest(&st).analysis.insights.clone()).into_response()
}
