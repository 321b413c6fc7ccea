//! `GET /metrics`: the live analysis and tailpulse's own state in the OpenMetrics text format,
//! for Prometheus. Every value is read from the newest snapshot when the page is scraped, so
//! the counting path carries no instrumentation; counters are totals since the data began
//! (restored across restarts with the rest of the state).

use super::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Routes with a series of their own; the rest are summed under `(other)`.
pub const ROUTE_SERIES: usize = 50;

/// The content type Prometheus asks for first.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /metrics`.
pub async fn metrics(State(st): State<AppState>) -> Response {
    let snap = st.snapshots.borrow().clone();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SnapshotMetrics(snap)));
    if let Some(h) = &st.health {
        registry.register_collector(Box::new(HealthMetrics(h.counters())));
    }
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        return super::error::ApiError::internal("metrics could not be written", &"fmt error")
            .into_response();
    }
    ([(header::CONTENT_TYPE, OPENMETRICS)], out).into_response()
}

#[derive(Debug)]
struct SnapshotMetrics(Arc<crate::live::Snapshot>);

/// One metric family: its name, help, and the labelled values.
fn family<L: prometheus_client::encoding::EncodeLabelSet, M: EncodeMetric>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (L, M)>,
    kind: prometheus_client::metrics::MetricType,
) -> std::fmt::Result {
    let mut family = e.encode_descriptor(name, help, None, kind)?;
    for (labels, metric) in series {
        metric.encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counters<L: prometheus_client::encoding::EncodeLabelSet>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (L, u64)>,
) -> std::fmt::Result {
    let series = series.into_iter().map(|(l, v)| (l, ConstCounter::new(v)));
    family(
        e,
        name,
        help,
        series,
        prometheus_client::metrics::MetricType::Counter,
    )
}

fn gauges<L: prometheus_client::encoding::EncodeLabelSet>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (L, f64)>,
) -> std::fmt::Result {
    let series = series.into_iter().map(|(l, v)| (l, ConstGauge::new(v)));
    family(
        e,
        name,
        help,
        series,
        prometheus_client::metrics::MetricType::Gauge,
    )
}

type Labels = Vec<(&'static str, String)>;

fn label(k: &'static str, v: impl Into<String>) -> Labels {
    vec![(k, v.into())]
}

impl Collector for SnapshotMetrics {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let snap = &self.0;
        let s = &snap.analysis.stats;
        counters(
            &mut e,
            "tailpulse_http_requests",
            "Requests counted, by status class.",
            s.status_class.iter().map(|(c, n)| (label("class", c), *n)),
        )?;
        counters(
            &mut e,
            "tailpulse_http_response_bytes",
            "Response bytes.",
            [(Labels::new(), s.bytes)],
        )?;
        let (named, rest) = s.routes.split_at(s.routes.len().min(ROUTE_SERIES));
        let other = rest.iter().fold((0, 0, 0), |(r, e4, e5), x| {
            (r + x.requests, e4 + x.errors_4xx, e5 + x.errors_5xx)
        });
        let routes = named
            .iter()
            .map(|r| (r.route.as_str(), (r.requests, r.errors_4xx, r.errors_5xx)))
            .chain((!rest.is_empty()).then_some(("(other)", other)));
        let routes: Vec<_> = routes.collect();
        counters(
            &mut e,
            "tailpulse_http_route_requests",
            "Requests per route (the heaviest routes; the rest as (other)).",
            routes.iter().map(|(r, (n, _, _))| (label("route", *r), *n)),
        )?;
        counters(
            &mut e,
            "tailpulse_http_route_errors",
            "4xx and 5xx responses per route.",
            routes.iter().flat_map(|(r, (_, e4, e5))| {
                [
                    (vec![("route", r.to_string()), ("class", "4xx".into())], *e4),
                    (vec![("route", r.to_string()), ("class", "5xx".into())], *e5),
                ]
            }),
        )?;
        counters(
            &mut e,
            "tailpulse_http_host_requests",
            "Requests per virtual host.",
            s.vhosts
                .iter()
                .map(|v| (label("host", &v.name), v.requests)),
        )?;
        if let Some(p) = &s.response_time_ms {
            let q = [
                ("0.5", p.p50),
                ("0.9", p.p90),
                ("0.95", p.p95),
                ("0.99", p.p99),
            ];
            gauges(
                &mut e,
                "tailpulse_http_response_time_seconds",
                "Response-time quantiles of every timed request (from the latency sketch).",
                q.map(|(k, v)| (label("quantile", k), v / 1000.0)),
            )?;
            counters(
                &mut e,
                "tailpulse_http_timed_requests",
                "Requests whose log line carries a response time.",
                [(Labels::new(), p.count)],
            )?;
        }
        gauges(
            &mut e,
            "tailpulse_unique_visitors",
            "Distinct (client, user agent) pairs, estimated.",
            [(Labels::new(), s.unique_visitors as f64)],
        )?;
        let mut open: std::collections::BTreeMap<(String, String), f64> = Default::default();
        for i in snap.analysis.incidents.iter().filter(|i| i.end.is_none()) {
            let key = (kind_name(&i.kind), kind_name(&i.severity));
            *open.entry(key).or_default() += 1.0;
        }
        gauges(
            &mut e,
            "tailpulse_incidents_open",
            "Incidents open now, by kind and severity.",
            open.into_iter()
                .map(|((k, sev), n)| (vec![("kind", k), ("severity", sev)], n)),
        )?;
        self.own(&mut e)
    }
}

impl SnapshotMetrics {
    /// tailpulse's own state: what it read, how far behind it is, the LLM loop.
    fn own(&self, e: &mut DescriptorEncoder) -> std::fmt::Result {
        let snap = &self.0;
        let s = &snap.analysis.stats;
        counters(
            e,
            "tailpulse_lines_read",
            "Log lines read, per source.",
            s.sources
                .iter()
                .map(|x| (label("source", &x.name), x.lines.read)),
        )?;
        counters(
            e,
            "tailpulse_lines_rejected",
            "Log lines that could not be read as a request, per source.",
            s.sources
                .iter()
                .map(|x| (label("source", &x.name), x.lines.rejected)),
        )?;
        gauges(
            e,
            "tailpulse_lines_per_second",
            "Lines read per second over the last seconds.",
            [(Labels::new(), snap.lines_per_sec)],
        )?;
        if let Some(lag) = snap.progress.lag_s {
            gauges(
                e,
                "tailpulse_data_lag_seconds",
                "How far the newest request is behind the clock.",
                [(Labels::new(), lag as f64)],
            )?;
        }
        counters(
            e,
            "tailpulse_snapshots",
            "Analyses published since the start.",
            [(Labels::new(), snap.generation)],
        )?;
        if let Some(l) = &snap.analysis.llm {
            gauges(
                e,
                "tailpulse_llm_calls_last_hour",
                "Calls made to the LLM endpoint in the last hour.",
                [(Labels::new(), f64::from(l.calls_last_hour))],
            )?;
        }
        Ok(())
    }
}

/// The live run's parts: the store, alert deliveries, the readers' backlog per file.
#[derive(Debug)]
struct HealthMetrics(crate::health::Counters);

impl Collector for HealthMetrics {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let c = &self.0;
        counters(
            &mut e,
            "tailpulse_store_commits",
            "History commits tried.",
            [(Labels::new(), c.store_commits)],
        )?;
        counters(
            &mut e,
            "tailpulse_store_commit_failures",
            "History commits that failed (retried with the next).",
            [(Labels::new(), c.store_failures)],
        )?;
        let seconds = ConstCounter::new(c.store_commit_seconds);
        family(
            &mut e,
            "tailpulse_store_commit_seconds",
            "Time spent in history commits.",
            [(Labels::new(), seconds)],
            prometheus_client::metrics::MetricType::Counter,
        )?;
        counters(
            &mut e,
            "tailpulse_alert_deliveries",
            "Alert notifications delivered or given up on, per channel.",
            c.alerts.iter().map(|(channel, delivered, n)| {
                let mut l = label("channel", channel.as_str());
                l.push((
                    "outcome",
                    if *delivered { "delivered" } else { "failed" }.into(),
                ));
                (l, *n)
            }),
        )?;
        gauges(
            &mut e,
            "tailpulse_source_bytes_behind",
            "Bytes of each followed file not read yet.",
            c.files_behind
                .iter()
                .map(|(name, b)| (label("source", name.as_ref()), *b as f64)),
        )?;
        if let Some(age) = c.snapshot_age_seconds {
            gauges(
                &mut e,
                "tailpulse_snapshot_age_seconds",
                "Seconds since the newest analysis was published.",
                [(Labels::new(), age)],
            )?;
        }
        Ok(())
    }
}

/// The name a kind or severity has in the JSON documents (`error_spike`, `critical`).
fn kind_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
