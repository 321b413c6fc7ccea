//! The streaming aggregate: everything the report and the dashboard show, in bounded memory,
//! mergeable so that chunks aggregated on different cores combine into the same result.

pub mod agents;
pub mod capped;
pub mod clients;
pub mod counts;
pub mod filter;
pub mod frame;
pub mod latency;
pub mod logstats;
pub mod origins;
pub mod panels;
pub mod places;
pub mod recent;
pub mod rollup;
pub mod sample;
pub mod stats;
pub mod topn;

pub use stats::{LineStats, RouteStats, SourceStats, is_bot};

use crate::format::FormatKind;
use crate::request::Request;
use capped::{Capped, Merge};
use cardinality_estimator::CardinalityEstimator;
use clients::Clients;
use counts::{Buckets, Counts};
use latency::Latency;
use sample::{RejectedLine, SampleRequest};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use topn::TopN;

/// Bounds on what the aggregate keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Distinct routes kept; the rest fold into `(other)`.
    pub max_routes: usize,
    /// Clients tracked individually.
    pub max_clients: usize,
    /// Distinct virtual hosts kept.
    pub max_vhosts: usize,
    /// Length of the slowest and most recent request lists.
    pub samples: usize,
    /// Per-minute buckets kept (the newest).
    pub minutes: usize,
    /// Per-hour buckets kept (the newest).
    pub hours: usize,
    /// Rejected lines kept per source.
    pub rejected_samples: usize,
    /// Distinct servers (hosts) kept; the rest fold into `(other)`.
    #[serde(default = "default_max_hosts")]
    pub max_hosts: usize,
}

fn default_max_hosts() -> usize {
    Limits::default().max_hosts
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_routes: 1000,
            max_clients: 10_000,
            max_vhosts: 100,
            samples: 20,
            minutes: 24 * 60,
            hours: 24 * 400,
            rejected_samples: 5,
            max_hosts: 1000,
        }
    }
}

/// 404 and static paths shown.
pub const PATHS_SHOWN: usize = 50;
/// 404 and static paths kept apart (eight times as many are counted by name, so the rows
/// shown do not depend on how the input was split between threads while the distinct paths
/// fit).
const PATHS_KEPT: usize = 1000;

/// The host of lines that name none until the reader names it.
fn unnamed_host() -> std::sync::Arc<str> {
    std::sync::Arc::from("(unnamed)")
}

fn host_table() -> Capped<RouteStats> {
    Capped::new(Limits::default().max_hosts)
}

fn not_found_paths() -> Capped<panels::Missing> {
    Capped::new(PATHS_KEPT)
}

fn static_paths() -> Capped<panels::Served> {
    Capped::new(PATHS_KEPT)
}

/// Unique visitors: HyperLogLog over (client, user agent), as GoAccess counts them.
pub type Visitors = CardinalityEstimator<str, wyhash::WyHash, 14, 6>;

/// Everything counted over a set of log lines.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Aggregate {
    limits: Limits,
    /// Line counts over all inputs.
    pub lines: LineStats,
    sources: BTreeMap<String, SourceStats>,
    /// Totals over all requests.
    pub totals: Counts,
    status: Vec<u64>,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    /// Per-minute buckets (newest window).
    pub minutes: Buckets,
    /// Per-hour buckets.
    pub hours: Buckets,
    /// Response times per minute (newest window), for percentiles over time.
    pub minute_latency: Buckets<std::sync::Arc<Latency>>,
    /// Counts by hour of day (UTC).
    pub hour_of_day: [Counts; 24],
    /// Per-route numbers.
    pub routes: Capped<RouteStats>,
    /// Requests per virtual host.
    pub vhosts: Capped<u64>,
    /// Numbers per server named by the lines themselves (absent from states saved before
    /// it existed).
    #[serde(default = "host_table")]
    pub hosts: Capped<RouteStats>,
    /// Numbers of the requests whose line names no server: the input's own host (see
    /// [`Aggregate::with_host`]). Response times only with [`Aggregate::with_host_latency`].
    #[serde(default)]
    own_host: RouteStats,
    /// The heaviest clients.
    pub clients: Clients,
    visitors: Visitors,
    /// Traffic per UTC day (absent from states saved before it existed).
    #[serde(default)]
    pub days: panels::Days,
    /// Static files served, per path (absent from states saved before it existed).
    #[serde(default = "static_paths")]
    pub static_paths: Capped<panels::Served>,
    /// Paths that answered 404 (absent from states saved before it existed).
    #[serde(default = "not_found_paths")]
    pub not_found: Capped<panels::Missing>,
    /// Requests whose user agent looks automated.
    pub bots: u64,
    /// Requests and visitors per kind of user agent (absent from states saved before it
    /// existed).
    #[serde(default)]
    pub agents: agents::Agents,
    /// Referring pages and sites (absent from states saved before it existed).
    #[serde(default)]
    pub referrers: origins::Referrers,
    /// Requests per method (absent from states saved before it existed).
    #[serde(default)]
    pub methods: origins::Few,
    /// Requests per protocol (absent from states saved before it existed).
    #[serde(default)]
    pub protocols: origins::Few,
    /// Remote users, cache verdicts, content types and TLS sessions, from formats that log
    /// them (absent from states saved before it existed).
    #[serde(default)]
    pub extras: origins::Extras,
    /// Requests per country and network, with `--geoip-db` (absent from states saved
    /// before it existed).
    #[serde(default)]
    pub places: places::Places,
    slowest: TopN<(Option<u64>, i64, u64), SampleRequest>,
    recent: TopN<(i64, u64), SampleRequest>,
    recent_errors: TopN<(i64, u64), SampleRequest>,
    /// Requests dated after this (UTC ms) are rejected as `future_timestamp`; set by the
    /// reader from the clock, not saved.
    #[serde(skip, default = "no_time_limit")]
    not_after_ms: i64,
    /// How paths become routes; set by the reader, not saved.
    #[serde(skip)]
    routing: std::sync::Arc<crate::route::RouteOptions>,
    /// The host of requests whose line names none; set by the reader, not saved.
    #[serde(skip, default = "unnamed_host")]
    host: std::sync::Arc<str>,
    /// With `--redact`: the key of the run's pseudonyms; requests are redacted as they are
    /// read (see [`crate::redact`]). Set by the reader, not saved.
    #[serde(skip)]
    redact: Option<crate::redact::Key>,
    /// Whether the own host's response times are kept apart (see
    /// [`Aggregate::with_host_latency`]); set by the reader, not saved.
    #[serde(skip)]
    own_latency: bool,
    /// Per-minute frames for anomaly detection over a whole input (`analyze`); a live run
    /// builds its frames apart, as lines arrive.
    #[serde(skip)]
    frames: Option<Box<frame::FrameBuilder>>,
    #[serde(skip)]
    scratch: String,
    /// The visitor last counted: a visitor's requests often come one after another, and
    /// the sketch is left alone then (not saved).
    #[serde(skip)]
    last_visitor: Option<u64>,
}

impl Default for Aggregate {
    fn default() -> Self {
        Aggregate::new(Limits::default())
    }
}

/// What counting a request found out, so that a caller keeping a compact copy of it does not
/// work it out again.
#[derive(Debug, Clone)]
pub struct Counted<'s> {
    /// Its route.
    pub route: &'s str,
    /// Its user agent looked automated.
    pub bot: bool,
    /// Its client's country code, with `--geoip-db`.
    pub country: Option<compact_str::CompactString>,
}

/// The keys that rank a request in the sample lists, so a caller holding many requests can
/// pick the few worth sampling (with [`topn::TopN`]) before building any sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SampleKeys {
    /// Rank among the slowest: (response µs, time, position).
    pub slow: (Option<u64>, i64, u64),
    /// Rank among the most recent: (time, position).
    pub recent: (i64, u64),
    /// True when it belongs in the recent failures too.
    pub error: bool,
}

impl SampleKeys {
    /// The keys of `req` at input position `seq`.
    pub fn of(req: &Request<'_>, seq: u64) -> Self {
        let us = req.response_ms.map(latency::ms_to_us);
        SampleKeys {
            slow: (us, req.ts_ms, seq),
            recent: (req.ts_ms, seq),
            error: req.status >= 400,
        }
    }
}

impl Aggregate {
    /// An empty aggregate with the given bounds.
    pub fn new(limits: Limits) -> Self {
        Aggregate {
            limits,
            lines: LineStats::default(),
            sources: BTreeMap::new(),
            totals: Counts::default(),
            status: vec![0; 600],
            first_ts: None,
            last_ts: None,
            minutes: Buckets::new(60_000, limits.minutes),
            hours: Buckets::new(3_600_000, limits.hours),
            minute_latency: Buckets::new(60_000, limits.minutes),
            hour_of_day: [Counts::default(); 24],
            routes: Capped::new(limits.max_routes),
            vhosts: Capped::new(limits.max_vhosts),
            hosts: Capped::new(limits.max_hosts),
            own_host: RouteStats::default(),
            days: panels::Days::default(),
            not_found: not_found_paths(),
            static_paths: static_paths(),
            clients: Clients::new(limits.max_clients),
            visitors: Visitors::new(),
            bots: 0,
            agents: agents::Agents::default(),
            referrers: origins::Referrers::default(),
            methods: origins::Few::default(),
            protocols: origins::Few::default(),
            places: places::Places::default(),
            extras: origins::Extras::default(),
            slowest: TopN::new(limits.samples),
            recent: TopN::new(limits.samples),
            recent_errors: TopN::new(limits.samples),
            not_after_ms: no_time_limit(),
            routing: Default::default(),
            host: unnamed_host(),
            own_latency: false,
            redact: None,
            frames: None,
            scratch: String::new(),
            last_visitor: None,
        }
    }

    /// This aggregate, rejecting requests dated after `ms` (UTC) as `future_timestamp`.
    pub fn not_after(mut self, ms: i64) -> Self {
        self.not_after_ms = ms;
        self
    }

    /// This aggregate, turning paths into routes as `routing` says.
    pub fn with_routes(mut self, routing: std::sync::Arc<crate::route::RouteOptions>) -> Self {
        self.routing = routing;
        self
    }

    /// The geolocation databases requests are placed with (none without `--geoip-db`).
    pub fn geo(&self) -> crate::geo::GeoHandle {
        self.routing.geo.clone()
    }

    /// This aggregate, counting requests whose line names no host under `host`.
    pub fn with_host(mut self, host: &str) -> Self {
        self.host = std::sync::Arc::from(crate::format::envelope::clean_host(host));
        self
    }

    /// This aggregate, redacting requests as they are read with the pseudonyms of `key` (see
    /// [`crate::redact`]).
    pub fn with_redaction(mut self, key: Option<crate::redact::Key>) -> Self {
        self.redact = key;
        self
    }

    /// True when client addresses lose their last part as they are read (`--anonymize-ip`).
    pub fn anonymizes(&self) -> bool {
        self.routing.sift.anonymize
    }

    /// The key requests are redacted with, when they are.
    pub fn redaction(&self) -> Option<crate::redact::Key> {
        self.redact
    }

    /// This aggregate, also keeping the response times of its own host's requests apart.
    /// Without it (batch runs, where one host is the usual case) the own host's response
    /// times are those of all requests when no line names another host, and unknown when
    /// some do.
    pub fn with_host_latency(mut self) -> Self {
        self.own_latency = true;
        self
    }

    /// Per-host numbers, most requests first: the hosts lines named, and the input's own
    /// host; `(other)`, when some were folded, last.
    pub fn host_rows(&self) -> Vec<(String, RouteStats)> {
        let top = self.hosts.top();
        let mut rows: Vec<(String, RouteStats)> = top
            .rows
            .iter()
            .map(|(k, r)| ((*k).to_owned(), (*r).clone()))
            .collect();
        if self.own_host.requests > 0 {
            let mut own = self.own_host.clone();
            if own.latency.count() == 0 && top.rows.is_empty() && top.other.is_none() {
                own.latency = self.latency();
            }
            match rows.iter_mut().find(|(k, _)| **k == *self.host) {
                Some((_, r)) => r.merge(&own),
                None => rows.push((self.host.to_string(), own)),
            }
        }
        rows.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then_with(|| a.0.cmp(&b.0)));
        rows.extend(top.other.map(|o| (capped::OTHER.to_owned(), o)));
        rows
    }

    /// The host of requests whose line names none (see [`Aggregate::with_host`]).
    pub fn host_label(&self) -> std::sync::Arc<str> {
        self.host.clone()
    }

    /// This aggregate, also keeping per-minute frames for anomaly detection.
    pub fn with_detection(mut self) -> Self {
        self.frames = Some(Box::default());
        self
    }

    /// The per-minute frames kept (see [`Aggregate::with_detection`]), taken out; their
    /// [`frame::FrameBuilder::finish`] adds up those of merged aggregates.
    pub fn take_frames(&mut self) -> Option<frame::FrameBuilder> {
        self.flush_route_minutes();
        self.frames.take().map(|f| *f)
    }

    /// Hands every route's minute being filled to the frames.
    fn flush_route_minutes(&mut self) {
        if let Some(frames) = &mut self.frames {
            for (route, r) in self.routes.iter_mut() {
                frames.flush_route(&mut r.minute, route);
            }
        }
    }

    /// The latest request time this aggregate accepts.
    pub fn not_after_ms(&self) -> i64 {
        self.not_after_ms
    }

    /// The bounds this aggregate was made with.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Counts one request and offers it to the sample lists. `raw` is its log line, `seq` its
    /// position in the input (orders requests logged in the same millisecond).
    pub fn push(&mut self, req: &Request<'_>, raw: &[u8], seq: u64) {
        self.count(req);
        self.sample(req, raw, seq);
    }

    /// Counts one request without offering it to the sample lists (see [`SampleKeys`]);
    /// says what it found out on the way.
    pub fn count<'s>(&'s mut self, req: &'s Request<'_>) -> Counted<'s> {
        let (status, bytes) = (req.status, req.bytes);
        let us = req.response_ms.map(latency::ms_to_us);
        self.totals.add(status, bytes, us);
        self.status[usize::from(status).min(599)] += 1;
        self.first_ts = Some(self.first_ts.map_or(req.ts_ms, |t| t.min(req.ts_ms)));
        self.last_ts = Some(self.last_ts.map_or(req.ts_ms, |t| t.max(req.ts_ms)));
        self.minutes.add(req.ts_ms, status, bytes, us);
        self.hours.add(req.ts_ms, status, bytes, us);
        if let Some(us) = us
            && let Some(l) = self.minute_latency.at(req.ts_ms)
        {
            std::sync::Arc::make_mut(l).record_us(us);
        }
        self.hour_of_day[usize::from(crate::time::hour_of_day(req.ts_ms))].add(status, bytes, us);

        let agent = crate::hash::stable(crate::hash::Purpose::Agent, req.user_agent.as_bytes());
        let visitor = crate::hash::visitor(req.client.as_bytes(), agent);
        if self.last_visitor != Some(visitor) {
            self.visitors.insert_hash(visitor);
            self.last_visitor = Some(visitor);
        }
        self.days.add(req.ts_ms, bytes, visitor);
        let bare = crate::route::without_query(&req.path);
        if self.routing.statics.matches_bare(bare) {
            self.static_paths.entry(bare).add(bytes);
        }
        if status == 404 {
            let m = self.not_found.entry(bare);
            m.requests += 1;
            let client = crate::hash::stable(crate::hash::Purpose::Client, req.client.as_bytes());
            m.clients.insert(client);
        }
        let kind = self.agents.add(&req.user_agent, agent, visitor);
        let bot = kind.device == agents::Device::Bot;
        self.bots += u64::from(bot);
        self.referrers.add(&req.referer, &self.routing.sift);
        self.methods.add(&req.method, 1);
        self.protocols.add(&req.protocol, 1);
        self.extras.add(req);
        let country = match &self.routing.geo.0 {
            Some(geo) => Some(self.places.add(geo, &req.client, visitor)),
            None => None,
        };
        let route = self.routing.route_of(&req.path, &mut self.scratch);
        let r = self.routes.entry(route);
        if let Some(frames) = &mut self.frames {
            if (400..500).contains(&status) {
                frames.add_client(req);
            }
            frames.add_route(&mut r.minute, route, (req.ts_ms, status, us, bot));
        }
        r.add(status, bytes, us);
        // Lines that name no other host (the usual file) cost two counters, not a lookup.
        let own = req.host.is_empty()
            || std::ptr::eq(req.host.as_ptr(), self.host.as_ptr())
            || *req.host == *self.host;
        if own {
            self.own_host.add_counts(status, bytes);
            if self.own_latency
                && let Some(us) = us
            {
                self.own_host.latency.record_us(us);
            }
        } else {
            self.hosts.entry(&req.host).add(status, bytes, us);
        }
        if !req.vhost.is_empty() {
            *self.vhosts.entry(&req.vhost) += 1;
        }
        self.clients
            .add(&req.client, status, bytes, &req.path, req.ts_ms);
        Counted {
            route,
            bot,
            country,
        }
    }

    /// Whether `req` is counted at all: false when the run's exclusions (see
    /// [`crate::sift`]) leave it out; with `--anonymize-ip` its client loses its last part.
    pub fn keeps(&mut self, req: &mut Request<'_>) -> bool {
        let routing = std::sync::Arc::clone(&self.routing);
        let sift = &routing.sift;
        if sift.is_noop() {
            return true;
        }
        if sift.excludes_client(&req.client)
            || (sift.ignore_static
                && routing
                    .statics
                    .matches(crate::route::without_query(&req.path)))
        {
            return false;
        }
        if sift.ignore_crawlers {
            let agent = crate::hash::stable(crate::hash::Purpose::Agent, req.user_agent.as_bytes());
            if self.agents.is_bot(&req.user_agent, agent) {
                return false;
            }
        }
        if sift.anonymize
            && let Some(a) = crate::sift::anonymize(&req.client)
        {
            req.client = std::borrow::Cow::Owned(a);
        }
        true
    }

    /// Offers one request to the slowest / most recent / recent failures lists.
    pub fn sample(&mut self, req: &Request<'_>, raw: &[u8], seq: u64) {
        let k = SampleKeys::of(req, seq);
        let fill = |old: Option<SampleRequest>| old.unwrap_or_default().fill(req, raw);
        self.slowest.offer_with(k.slow, fill);
        self.recent.offer_with(k.recent, fill);
        if k.error {
            self.recent_errors.offer_with(k.recent, fill);
        }
    }

    /// Adds the line counts of a batch read from `source` in `format`.
    pub fn record_lines(&mut self, source: &str, format: Option<FormatKind>, lines: LineStats) {
        self.lines.merge(&lines);
        let s = self.source_mut(source);
        s.lines.merge(&lines);
        if s.format.is_none() {
            s.format = format;
        }
    }

    /// Keeps a rejected line as a sample (counting is done by [`Aggregate::record_lines`]).
    pub fn reject_sample(&mut self, source: &str, line_no: u64, raw: &[u8], error: &str) {
        let raw = if self.redact.is_some() || self.anonymizes() {
            crate::redact::WITHHELD
        } else {
            crate::format::envelope::strip_tag(raw)
        };
        let s = self.source_mut(source);
        let key = Reverse(line_no);
        if s.rejected.admits(&key) {
            s.rejected
                .offer(key, RejectedLine::new(line_no, raw, error.to_owned()));
        }
    }

    /// Counts line `line_no` of `source`, skipped for being longer than a reader takes
    /// (`tailpulse::input::MAX_LINE`), as read and rejected.
    pub fn record_overlong(&mut self, source: &str, line_no: u64) {
        let lines = LineStats {
            read: 1,
            rejected: 1,
            ..LineStats::default()
        };
        self.record_lines(source, None, lines);
        self.reject_sample(
            source,
            line_no,
            b"(line longer than 16 MiB, skipped)",
            "line too long",
        );
    }

    fn source_mut(&mut self, source: &str) -> &mut SourceStats {
        let cap = self.limits.rejected_samples;
        self.sources
            .entry(source.to_owned())
            .or_insert_with(|| SourceStats {
                format: None,
                lines: LineStats::default(),
                rejected: TopN::new(cap),
                error: None,
            })
    }

    /// Notes that reading `source` stopped early, for `why`.
    pub fn record_read_error(&mut self, source: &str, why: String) {
        self.source_mut(source).error = Some(why);
    }

    /// Adds everything counted in `o` (its detection frames only by [`Aggregate::merge_owned`]).
    pub fn merge(&mut self, o: &Aggregate) {
        self.lines.merge(&o.lines);
        for (name, s) in &o.sources {
            let mine = self.source_mut(name);
            mine.lines.merge(&s.lines);
            mine.format = mine.format.or(s.format);
            mine.rejected.merge(&s.rejected);
            if mine.error.is_none() {
                mine.error.clone_from(&s.error);
            }
        }
        self.totals.merge(&o.totals);
        for (a, b) in self.status.iter_mut().zip(&o.status) {
            *a += b;
        }
        self.first_ts = min_opt(self.first_ts, o.first_ts, i64::min);
        self.last_ts = min_opt(self.last_ts, o.last_ts, i64::max);
        self.minutes.merge(&o.minutes);
        self.hours.merge(&o.hours);
        self.minute_latency.merge(&o.minute_latency);
        for (a, b) in self.hour_of_day.iter_mut().zip(&o.hour_of_day) {
            a.merge(b);
        }
        self.routes.merge(&o.routes);
        self.vhosts.merge(&o.vhosts);
        self.hosts.merge(&o.hosts);
        if *o.host == *self.host {
            self.own_host.merge(&o.own_host);
        } else if o.own_host.requests > 0 {
            self.hosts.entry(&o.host).merge(&o.own_host);
        }
        self.days.merge(&o.days);
        self.not_found.merge(&o.not_found);
        self.static_paths.merge(&o.static_paths);
        self.clients.merge(&o.clients);
        self.visitors.merge(&o.visitors);
        self.bots += o.bots;
        self.agents.merge(&o.agents);
        self.referrers.merge(&o.referrers);
        self.methods.merge(&o.methods);
        self.protocols.merge(&o.protocols);
        self.places.merge(&o.places);
        self.extras.merge(&o.extras);
        self.slowest.merge(&o.slowest);
        self.recent.merge(&o.recent);
        self.recent_errors.merge(&o.recent_errors);
    }

    /// [`Aggregate::merge`] of an aggregate no longer needed: its detection frames are moved,
    /// not copied.
    pub fn merge_owned(&mut self, mut o: Aggregate) {
        o.flush_route_minutes();
        let theirs = o.frames.take();
        self.merge(&o);
        if let (Some(mine), Some(theirs)) = (&mut self.frames, theirs) {
            mine.merge(*theirs);
        }
    }

    /// Inputs by name.
    pub fn sources(&self) -> &BTreeMap<String, SourceStats> {
        &self.sources
    }

    /// `(status, count)` for every status seen, ascending.
    pub fn status_counts(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(s, c)| (s as u16, *c))
    }

    /// Response times of all timed requests: every request lands in exactly one route entry
    /// (capped ones in `(other)`), so the routes' distributions merged are the whole.
    pub fn latency(&self) -> Latency {
        let mut all = Latency::default();
        for (_, r) in self.routes.iter() {
            all.merge(&r.latency);
        }
        all
    }

    /// Estimated number of distinct (client, user agent) pairs.
    pub fn unique_visitors(&self) -> u64 {
        self.visitors.estimate() as u64
    }

    /// Time of the first and last request.
    pub fn period(&self) -> Option<(i64, i64)> {
        self.first_ts.zip(self.last_ts)
    }

    /// The slowest timed requests, slowest first.
    pub fn slowest(&self) -> Vec<&SampleRequest> {
        self.slowest
            .sorted()
            .into_iter()
            .filter(|(k, _)| k.0.is_some())
            .map(|(_, s)| s)
            .collect()
    }

    /// The most recent requests, newest first.
    pub fn recent(&self) -> Vec<&SampleRequest> {
        self.recent.sorted().into_iter().map(|(_, s)| s).collect()
    }

    /// The most recent requests that failed (status ≥ 400), newest first.
    pub fn recent_errors(&self) -> Vec<&SampleRequest> {
        self.recent_errors
            .sorted()
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    }
}

fn no_time_limit() -> i64 {
    i64::MAX
}

fn min_opt(a: Option<i64>, b: Option<i64>, pick: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(pick(x, y)),
        (x, y) => x.or(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn req(ts: i64, path: &'static str, status: u16, ms: Option<f64>) -> Request<'static> {
        Request {
            ts_ms: ts,
            path: Cow::Borrowed(path),
            status,
            bytes: 10,
            response_ms: ms,
            client: Cow::Borrowed("10.0.0.1"),
            ..Default::default()
        }
    }

    #[test]
    fn counts_routes_and_samples() {
        let mut a = Aggregate::default();
        a.push(&req(1000, "/users/1", 200, Some(10.0)), b"l1", 0);
        a.push(&req(2000, "/users/2", 500, Some(30.0)), b"l2", 1);
        a.push(&req(3000, "/health", 404, None), b"l3", 2);
        assert_eq!(a.totals.requests, 3);
        assert_eq!(a.totals.class, [0, 1, 0, 1, 1]);
        let users = a
            .routes
            .iter()
            .find(|(k, _)| *k == "/users/{id}")
            .unwrap()
            .1;
        assert_eq!((users.requests, users.errors_5xx), (2, 1));
        assert_eq!(a.slowest()[0].path, "/users/2");
        assert_eq!(a.slowest().len(), 2, "untimed requests are not 'slow'");
        assert_eq!(a.recent()[0].line, "l3");
        assert_eq!(a.recent_errors().len(), 2);
        assert_eq!(a.period(), Some((1000, 3000)));
        assert_eq!(a.unique_visitors(), 1);
        assert_eq!(a.bots, 3, "no user agent counts as automated");
    }

    #[test]
    fn hosts_named_by_lines_and_the_inputs_own() {
        let timed = |host: &'static str, ms: f64| Request {
            host: Cow::Borrowed(host),
            ..req(1000, "/a", 200, Some(ms))
        };
        // One input of one host: its response times are those of all requests.
        let mut a = Aggregate::default().with_host("edge-1");
        a.count(&timed("", 10.0));
        a.count(&timed("edge-1", 30.0));
        let rows = a.host_rows();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].0.as_str(), rows[0].1.requests), ("edge-1", 2));
        assert_eq!(rows[0].1.latency.count(), 2);
        // Lines naming other hosts: those are timed on their own; the own host is only
        // when kept apart.
        a.count(&timed("web-2", 50.0));
        let rows = a.host_rows();
        let own = rows.iter().find(|r| r.0 == "edge-1").unwrap();
        assert_eq!(own.1.latency.count(), 0, "unknown, not wrong");
        let mut live = Aggregate::default().with_host("edge-1").with_host_latency();
        live.count(&timed("", 10.0));
        live.count(&timed("web-2", 50.0));
        let own = live
            .host_rows()
            .into_iter()
            .find(|r| r.0 == "edge-1")
            .unwrap();
        assert_eq!(own.1.latency.count(), 1);
        // Merged into an aggregate of another label, the own host keeps its name.
        let mut total = Aggregate::default();
        total.merge(&live);
        let names: Vec<(String, u64)> = total
            .host_rows()
            .into_iter()
            .map(|(h, r)| (h, r.requests))
            .collect();
        assert_eq!(names, [("edge-1".to_owned(), 1), ("web-2".to_owned(), 1)]);
    }

    #[test]
    fn bots() {
        assert!(is_bot("Googlebot/2.1"));
        assert!(is_bot("curl/8.0"));
        assert!(!is_bot("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"));
    }
}
