//! The numbers of an analysis, computed from an aggregate, as a stable serializable document:
//! the first part of what `analyze --output json` prints and the dashboard API serves (see
//! docs/api.md, "JSON schema"); the analysis adds the findings.

use crate::aggregate::capped::OTHER;
use crate::aggregate::counts::{Buckets, CLASSES, Counts};
use crate::aggregate::latency::Latency;
use crate::aggregate::panels::Served;
use crate::aggregate::sample::{RejectedLine, SampleRequest};
use crate::aggregate::stats::RouteStats;
use crate::aggregate::{Aggregate, LineStats};
use crate::time::format_rfc3339;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

pub mod audience;

/// Version of the JSON document; bumped when a key changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// What the route table left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RouteCap {
    /// Routes shown by name.
    pub shown: usize,
    /// Distinct routes counted but folded into `(other)` (`--max-routes`).
    pub dropped: usize,
    /// True when more distinct routes came than tailpulse counts by name (eight times
    /// `--max-routes`): later ones went to `(other)` uncounted by name.
    pub overflowed: bool,
    /// Requests in `(other)`.
    pub other_requests: u64,
}

/// The numbers of an aggregate: counts, rates, percentiles, tables and samples.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// Line counts over all inputs.
    pub lines: LineStats,
    /// Per-input line counts, detected format and first rejected lines.
    pub sources: Vec<SourceRow>,
    /// Requests counted.
    pub requests: u64,
    /// First and last request time.
    pub period: Option<Period>,
    /// Status code → requests.
    pub status: BTreeMap<String, u64>,
    /// `1xx` … `5xx` → requests.
    pub status_class: BTreeMap<String, u64>,
    /// Share of requests with status < 400 (0–1).
    pub success_rate: Option<f64>,
    /// Share of 4xx responses (0–1).
    pub error_rate_4xx: Option<f64>,
    /// Share of 5xx responses (0–1).
    pub error_rate_5xx: Option<f64>,
    /// Distinct (client, user agent) pairs, estimated (HyperLogLog, ~1 % error).
    pub unique_visitors: u64,
    /// Response bytes.
    pub bytes: u64,
    /// Response-time statistics; `null` when the format has no timing.
    pub response_time_ms: Option<Percentiles>,
    /// The 24 hours of the day (UTC).
    pub by_hour: Vec<HourRow>,
    /// Hour of day with the most requests.
    pub peak_hour: Option<PeakHour>,
    /// Hour of day with the highest mean response time.
    pub slowest_hour: Option<SlowHour>,
    /// Requests over time.
    pub timeline: Timeline,
    /// Requests, visitors and bytes per UTC day, oldest first.
    pub visitors_by_day: Vec<DayRow>,
    /// Per-route table, most requested first; `(other)`, when there is one, last.
    pub routes: Vec<RouteRow>,
    /// How many routes the table shows and how many it folded into `(other)`.
    pub route_cap: RouteCap,
    /// Heaviest clients.
    pub clients: Vec<ClientRow>,
    /// Requests per virtual host.
    pub vhosts: Vec<NameCount>,
    /// Numbers per server that logged the requests, most requests first; `(other)`, when
    /// there is one, last.
    pub hosts: Vec<HostRow>,
    /// The paths most often answered with 404 (without their query strings).
    pub not_found: Vec<NotFoundRow>,
    /// Static files (by extension: see the README), with the most requested.
    #[serde(rename = "static")]
    pub statics: StaticPanel,
    /// Everything else: the dynamic requests.
    pub dynamic: Served,
    /// Browsers, operating systems, devices, crawlers, referrers, methods and protocols.
    #[serde(flatten)]
    pub audience: audience::Audience,
    /// Requests from bots, crawlers and scripts.
    pub bots: Share,
    /// Slowest requests, slowest first.
    pub slowest: Vec<SampleRow>,
    /// Most recent requests, newest first.
    pub recent: Vec<SampleRow>,
    /// Most recent failed requests (status ≥ 400), newest first.
    pub recent_errors: Vec<SampleRow>,
}

/// One UTC day.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DayRow {
    /// `2024-03-01`.
    pub day: String,
    /// Requests.
    pub requests: u64,
    /// Distinct (client, user agent) pairs, estimated.
    pub visitors: u64,
    /// Response bytes.
    pub bytes: u64,
}

/// Static files served.
#[derive(Debug, Clone, Serialize)]
pub struct StaticPanel {
    /// Requests for static files.
    pub requests: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The most requested static paths (without query strings).
    pub top: Vec<StaticRow>,
}

impl StaticPanel {
    /// The static files of `agg`: every path counted (the rows kept and their `(other)`).
    fn of(agg: &Aggregate) -> StaticPanel {
        let top = agg.static_paths.top();
        let mut all = top.other.unwrap_or_default();
        for (_, s) in &top.rows {
            crate::aggregate::capped::Merge::merge(&mut all, *s);
        }
        let rows = top.rows.iter().take(crate::aggregate::PATHS_SHOWN);
        StaticPanel {
            requests: all.requests,
            bytes: all.bytes,
            top: rows
                .map(|(path, s)| StaticRow {
                    path: (*path).to_owned(),
                    requests: s.requests,
                    bytes: s.bytes,
                })
                .collect(),
        }
    }
}

/// One static path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StaticRow {
    /// The path.
    pub path: String,
    /// Requests.
    pub requests: u64,
    /// Response bytes.
    pub bytes: u64,
}

/// A path answered with 404.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NotFoundRow {
    /// The path, without its query string.
    pub path: String,
    /// 404 responses.
    pub requests: u64,
    /// Distinct clients that asked for it, estimated.
    pub clients: u64,
}

/// One input.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRow {
    /// File name, or `-` for standard input.
    pub name: String,
    /// Format it was read as.
    pub format: Option<&'static str>,
    /// Line counts.
    pub lines: LineStats,
    /// First rejected lines.
    pub rejected_samples: Vec<RejectedLine>,
    /// Why reading it stopped before its end, when it did (the lines before are counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A time span.
#[derive(Debug, Clone, Serialize)]
pub struct Period {
    /// First request (RFC 3339, UTC).
    pub first: String,
    /// Last request (RFC 3339, UTC).
    pub last: String,
    /// First request, UTC milliseconds.
    pub first_ms: i64,
    /// Last request, UTC milliseconds.
    pub last_ms: i64,
}

/// Response-time statistics in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Percentiles {
    /// Timed requests.
    pub count: u64,
    /// Mean.
    pub avg: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// Statistics of `l`; `None` when nothing was timed.
    pub fn of(l: &Latency) -> Option<Self> {
        let q = |p| round3(l.quantile(p).unwrap_or(0.0));
        Some(Percentiles {
            count: l.count(),
            avg: round3(l.avg_ms()?),
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            max: round3(l.max_ms()?),
        })
    }
}

/// One hour of the day.
#[derive(Debug, Clone, Serialize)]
pub struct HourRow {
    /// 0–23 (UTC).
    pub hour: u8,
    /// Requests.
    pub requests: u64,
    /// Requests per status class.
    pub status_class: BTreeMap<&'static str, u64>,
    /// Response bytes.
    pub bytes: u64,
    /// Mean response time.
    pub avg_ms: Option<f64>,
}

/// The busiest hour of the day.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PeakHour {
    /// 0–23 (UTC).
    pub hour: u8,
    /// Requests in that hour.
    pub requests: u64,
}

/// The hour of the day with the slowest responses.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SlowHour {
    /// 0–23 (UTC).
    pub hour: u8,
    /// Mean response time in that hour.
    pub avg_ms: f64,
}

/// Requests over time, by hour and by minute.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    /// One row per hour that had requests.
    pub hourly: Vec<TimeRow>,
    /// One row per minute that had requests (the newest day).
    pub minutely: Vec<TimeRow>,
}

/// Counts of one time bucket.
#[derive(Debug, Clone, Serialize)]
pub struct TimeRow {
    /// Bucket start (RFC 3339, UTC).
    pub t: String,
    /// Bucket start, UTC milliseconds.
    pub t_ms: i64,
    /// Requests.
    pub requests: u64,
    /// Requests per status class.
    pub status_class: BTreeMap<&'static str, u64>,
    /// Response bytes.
    pub bytes: u64,
    /// Mean response time.
    pub avg_ms: Option<f64>,
    /// Median response time (null where the per-minute sketches do not cover the bucket).
    pub p50_ms: Option<f64>,
    /// 95th percentile response time.
    pub p95_ms: Option<f64>,
    /// 99th percentile response time.
    pub p99_ms: Option<f64>,
}

/// One route.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RouteRow {
    /// Normalized path (`/users/{id}`), or `(other)` for routes past the cap.
    pub route: String,
    /// Requests.
    pub requests: u64,
    /// 4xx responses.
    pub errors_4xx: u64,
    /// 5xx responses.
    pub errors_5xx: u64,
    /// Mean response time.
    pub avg_ms: Option<f64>,
    /// 90th percentile response time.
    pub p90_ms: Option<f64>,
    /// 99th percentile response time.
    pub p99_ms: Option<f64>,
    /// Response bytes.
    pub bytes: u64,
}

/// One server (host) of the fleet.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostRow {
    /// Its name: from a syslog header, an ingest envelope, or the input's label.
    pub host: String,
    /// Requests.
    pub requests: u64,
    /// 4xx responses.
    pub errors_4xx: u64,
    /// 5xx responses.
    pub errors_5xx: u64,
    /// Share of 5xx responses (0–1).
    pub error_rate_5xx: Option<f64>,
    /// Mean response time.
    pub avg_ms: Option<f64>,
    /// 90th percentile response time.
    pub p90_ms: Option<f64>,
    /// 99th percentile response time.
    pub p99_ms: Option<f64>,
    /// Response bytes.
    pub bytes: u64,
}

impl HostRow {
    fn of(host: &str, r: &RouteStats) -> Self {
        HostRow {
            host: host.to_owned(),
            requests: r.requests,
            errors_4xx: r.errors_4xx,
            errors_5xx: r.errors_5xx,
            error_rate_5xx: ratio(r.errors_5xx, r.requests),
            avg_ms: r.latency.avg_ms().map(round3),
            p90_ms: r.latency.quantile(0.9).map(round3),
            p99_ms: r.latency.quantile(0.99).map(round3),
            bytes: r.bytes,
        }
    }
}

/// One client.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientRow {
    /// Address.
    pub client: String,
    /// Requests.
    pub requests: u64,
    /// 404 responses.
    pub not_found: u64,
    /// 4xx and 5xx responses.
    pub errors: u64,
    /// 4xx responses.
    pub errors_4xx: u64,
    /// 5xx responses.
    pub errors_5xx: u64,
    /// Response bytes.
    pub bytes: u64,
    /// Its first request since it was tracked (RFC 3339, UTC).
    pub first: Option<String>,
    /// Its last request (RFC 3339, UTC).
    pub last: Option<String>,
}

/// A name and a count.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NameCount {
    /// Name.
    pub name: String,
    /// Requests.
    pub requests: u64,
}

/// A count and its share of all requests.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Share {
    /// Requests.
    pub requests: u64,
    /// Share of all requests (0–1).
    pub share: f64,
}

/// One request in a table.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRow {
    /// RFC 3339, UTC.
    pub time: String,
    /// UTC milliseconds.
    pub ts_ms: i64,
    /// Method.
    pub method: String,
    /// Path as logged.
    pub path: String,
    /// Status.
    pub status: u16,
    /// Bytes.
    pub bytes: u64,
    /// Response time.
    pub response_ms: Option<f64>,
    /// Client address.
    pub client: String,
    /// User agent.
    pub user_agent: String,
    /// Virtual host.
    pub vhost: String,
    /// The server that logged it.
    pub host: String,
    /// The raw log line.
    pub line: String,
}

impl From<&SampleRequest> for SampleRow {
    fn from(s: &SampleRequest) -> Self {
        SampleRow {
            time: format_rfc3339(s.ts_ms),
            ts_ms: s.ts_ms,
            method: s.method.clone(),
            path: s.path.clone(),
            status: s.status,
            bytes: s.bytes,
            response_ms: s.response_ms(),
            client: s.client.clone(),
            user_agent: s.user_agent.clone(),
            vhost: s.vhost.clone(),
            host: s.host.clone(),
            line: s.line.clone(),
        }
    }
}

/// Rounds to 3 decimals (µs for milliseconds).
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1e6).round() / 1e6)
}

fn classes(c: &Counts) -> BTreeMap<&'static str, u64> {
    CLASSES.iter().copied().zip(c.class).collect()
}

/// The response times in `[from_ms, to_ms)` from per-minute sketches; `None` when the
/// sketches kept do not reach back to `from_ms`.
pub fn latency_between(
    minutes: &Buckets<Arc<Latency>>,
    from_ms: i64,
    to_ms: i64,
) -> Option<Cow<'_, Latency>> {
    if minutes.first_ms().is_none_or(|first| first > from_ms) {
        return None;
    }
    let mut range = minutes.range(from_ms, to_ms);
    let Some((_, first)) = range.next() else {
        return Some(Cow::Owned(Latency::default()));
    };
    let mut all = Cow::Borrowed(first.as_ref());
    for (_, l) in range {
        all.to_mut().merge(l);
    }
    Some(all)
}

/// A time bucket's row; `latency` gives its percentiles when known.
pub fn time_row(t_ms: i64, c: &Counts, latency: Option<&Latency>) -> TimeRow {
    let q = |p| latency.and_then(|l| l.quantile(p)).map(round3);
    TimeRow {
        t: format_rfc3339(t_ms),
        t_ms,
        requests: c.requests,
        status_class: classes(c),
        bytes: c.bytes,
        avg_ms: c.avg_ms().map(round3),
        p50_ms: q(0.5),
        p95_ms: q(0.95),
        p99_ms: q(0.99),
    }
}

/// One row per bucket of `buckets`, with percentiles from the per-minute sketches.
fn timeline_rows(agg: &Aggregate, buckets: &Buckets) -> Vec<TimeRow> {
    let width = buckets.width_ms;
    buckets
        .iter()
        .map(|(t, c)| {
            time_row(
                t,
                c,
                latency_between(&agg.minute_latency, t, t + width).as_deref(),
            )
        })
        .collect()
}

impl Stats {
    /// The numbers of `agg`.
    pub fn of(agg: &Aggregate) -> Stats {
        let t = &agg.totals;
        let by_hour: Vec<HourRow> = agg
            .hour_of_day
            .iter()
            .enumerate()
            .map(|(h, c)| HourRow {
                hour: h as u8,
                requests: c.requests,
                status_class: classes(c),
                bytes: c.bytes,
                avg_ms: c.avg_ms().map(round3),
            })
            .collect();
        let peak_hour = by_hour
            .iter()
            .filter(|h| h.requests > 0)
            .max_by_key(|h| (h.requests, std::cmp::Reverse(h.hour)))
            .map(|h| PeakHour {
                hour: h.hour,
                requests: h.requests,
            });
        let slowest_hour = by_hour
            .iter()
            .filter_map(|h| Some((h.hour, h.avg_ms?)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(hour, avg_ms)| SlowHour { hour, avg_ms });
        let top = agg.routes.top();
        let route_row = |route: &str, r: &RouteStats| RouteRow {
            route: route.to_owned(),
            requests: r.requests,
            errors_4xx: r.errors_4xx,
            errors_5xx: r.errors_5xx,
            avg_ms: r.latency.avg_ms().map(round3),
            p90_ms: r.latency.quantile(0.9).map(round3),
            p99_ms: r.latency.quantile(0.99).map(round3),
            bytes: r.bytes,
        };
        let mut routes: Vec<RouteRow> = top.rows.iter().map(|(k, r)| route_row(k, r)).collect();
        routes.extend(top.other.as_ref().map(|r| route_row(OTHER, r)));
        let route_cap = RouteCap {
            shown: top.rows.len(),
            dropped: top.dropped,
            overflowed: top.overflowed,
            other_requests: top.other.as_ref().map_or(0, |r| r.requests),
        };
        let mut vhosts: Vec<NameCount> = agg
            .vhosts
            .iter()
            .map(|(name, n)| NameCount {
                name: name.to_owned(),
                requests: *n,
            })
            .collect();
        vhosts.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then_with(|| a.name.cmp(&b.name))
        });
        let statics = StaticPanel::of(agg);
        let hosts: Vec<HostRow> = agg
            .host_rows()
            .iter()
            .map(|(k, r)| HostRow::of(k, r))
            .collect();
        Stats {
            schema: SCHEMA_VERSION,
            lines: agg.lines,
            sources: agg
                .sources()
                .iter()
                .map(|(name, s)| SourceRow {
                    name: name.clone(),
                    format: s.format.map(|f| f.name()),
                    lines: s.lines,
                    rejected_samples: s.rejected_samples().into_iter().cloned().collect(),
                    error: s.error.clone(),
                })
                .collect(),
            requests: t.requests,
            period: agg.period().map(|(a, b)| Period {
                first: format_rfc3339(a),
                last: format_rfc3339(b),
                first_ms: a,
                last_ms: b,
            }),
            status: agg
                .status_counts()
                .map(|(s, c)| (s.to_string(), c))
                .collect(),
            status_class: CLASSES.iter().map(|c| c.to_string()).zip(t.class).collect(),
            success_rate: ratio(t.class[0] + t.class[1] + t.class[2], t.requests),
            error_rate_4xx: ratio(t.class[3], t.requests),
            error_rate_5xx: ratio(t.class[4], t.requests),
            unique_visitors: agg.unique_visitors(),
            bytes: t.bytes,
            response_time_ms: Percentiles::of(&agg.latency()),
            by_hour,
            peak_hour,
            slowest_hour,
            timeline: Timeline {
                hourly: timeline_rows(agg, &agg.hours),
                minutely: timeline_rows(agg, &agg.minutes),
            },
            routes,
            route_cap,
            clients: with_other_client(
                agg,
                agg.clients
                    .top(10)
                    .into_iter()
                    .map(|(c, s)| ClientRow {
                        client: c.to_owned(),
                        requests: s.requests,
                        not_found: s.not_found,
                        errors: s.errors,
                        errors_4xx: s.errors - s.errors_5xx.min(s.errors),
                        errors_5xx: s.errors_5xx,
                        bytes: s.bytes,
                        first: s.seen.map(|(a, _)| format_rfc3339(a)),
                        last: s.seen.map(|(_, b)| format_rfc3339(b)),
                    })
                    .collect(),
            ),
            vhosts,
            hosts,
            visitors_by_day: agg
                .days
                .iter()
                .map(|(t, d)| DayRow {
                    day: crate::time::format_rfc3339(t)[..10].to_owned(),
                    requests: d.requests,
                    visitors: d.visitors.estimate() as u64,
                    bytes: d.bytes,
                })
                .collect(),
            dynamic: Served {
                requests: t.requests.saturating_sub(statics.requests),
                bytes: t.bytes.saturating_sub(statics.bytes),
            },
            statics,
            audience: audience::Audience::of(agg),
            not_found: not_found_rows(agg),
            bots: Share {
                requests: agg.bots,
                share: ratio(agg.bots, t.requests).unwrap_or(0.0),
            },
            slowest: agg.slowest().into_iter().map(SampleRow::from).collect(),
            recent: agg.recent().into_iter().map(SampleRow::from).collect(),
            recent_errors: agg
                .recent_errors()
                .into_iter()
                .map(SampleRow::from)
                .collect(),
        }
    }
}

/// The 404 paths shown, heaviest first, then an `(other)` row with the rest of the 404s.
fn not_found_rows(agg: &Aggregate) -> Vec<NotFoundRow> {
    use crate::aggregate::capped::Merge;
    let top = agg.not_found.top();
    let mut other = top.other;
    let mut rows = Vec::new();
    for (i, (path, m)) in top.rows.into_iter().enumerate() {
        if i < crate::aggregate::PATHS_SHOWN {
            rows.push(NotFoundRow {
                path: path.to_owned(),
                requests: m.requests,
                clients: m.clients.estimate(),
            });
        } else {
            other.get_or_insert_with(Default::default).merge(m);
        }
    }
    if let Some(o) = other.filter(|o| o.requests > 0) {
        rows.push(NotFoundRow {
            path: crate::aggregate::capped::OTHER.to_owned(),
            requests: o.requests,
            clients: o.clients.estimate(),
        });
    }
    rows
}

/// The top clients, then an `(other)` row with everyone else's requests, bytes and errors
/// (from the totals), so the table adds up to the whole.
fn with_other_client(agg: &Aggregate, mut rows: Vec<ClientRow>) -> Vec<ClientRow> {
    let t = &agg.totals;
    let sum = |f: fn(&ClientRow) -> u64| rows.iter().map(f).sum::<u64>();
    let requests = t.requests.saturating_sub(sum(|r| r.requests));
    if requests == 0 {
        return rows;
    }
    let errors_4xx = t.class[3].saturating_sub(sum(|r| r.errors_4xx));
    let errors_5xx = t.class[4].saturating_sub(sum(|r| r.errors_5xx));
    let row = ClientRow {
        client: crate::aggregate::capped::OTHER.to_owned(),
        requests,
        not_found: (agg.status_counts().find(|(c, _)| *c == 404))
            .map_or(0, |(_, n)| n)
            .saturating_sub(sum(|r| r.not_found)),
        errors: errors_4xx + errors_5xx,
        errors_4xx,
        errors_5xx,
        bytes: t.bytes.saturating_sub(sum(|r| r.bytes)),
        first: None,
        last: None,
    };
    rows.push(row);
    rows
}
