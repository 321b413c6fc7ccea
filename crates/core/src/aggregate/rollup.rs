//! Rollups: the numbers of each minute, of each route in each hour, and the panels of each
//! hour (agents, referring sites, not found, static files), kept as history.
//! They are mergeable like every aggregate, and an [`Aggregate`] can be rebuilt from them
//! (numbers only), so stored history answers the same questions as a live run.

use super::counts::Counts;
use super::latency::Latency;
use super::recent::RecordBatch;
use super::stats::RouteStats;
use super::{Aggregate, Visitors};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Route tables, looked up once per request: a fast hash.
type HashMap<K, V> = hashbrown::HashMap<K, V>;

/// One minute in history.
pub const MINUTE_MS: i64 = 60_000;
/// One hour in history.
pub const HOUR_MS: i64 = 3_600_000;

/// The numbers of one time bucket.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Rollup {
    /// Requests, status classes, bytes and mean response time.
    pub counts: Counts,
    /// Requests by status code.
    pub status: BTreeMap<u16, u64>,
    /// Requests whose user agent looked automated.
    pub bots: u64,
    /// Response times.
    pub latency: Latency,
}

impl Rollup {
    /// Adds everything counted in `o`.
    pub fn merge(&mut self, o: &Rollup) {
        self.counts.merge(&o.counts);
        for (code, n) in &o.status {
            *self.status.entry(*code).or_insert(0) += n;
        }
        self.bots += o.bots;
        self.latency.merge(&o.latency);
    }
}

/// Rollups not yet stored: per minute, and per route per hour.
#[derive(Debug, Clone, Default)]
pub struct Rollups {
    /// Minute start (UTC ms) → its numbers.
    pub minutes: BTreeMap<i64, Rollup>,
    /// Hour start (UTC ms) → route → its numbers.
    pub route_hours: BTreeMap<i64, HashMap<String, RouteStats>>,
    /// Hour start (UTC ms) → distinct clients (HyperLogLog over address hashes).
    pub visitors: BTreeMap<i64, Visitors>,
    /// Hour start (UTC ms) → its panels.
    pub panels: BTreeMap<i64, HourPanels>,
    /// What each user agent seen is, so that a batch's agents are parsed once, not per
    /// batch (bounded: starts over past [`KINDS_CACHED`]).
    kinds: HashMap<String, super::agents::Kind>,
    /// Distinct routes kept per hour; the rest fold into `(other)`.
    pub max_routes: usize,
}

fn floor(t: i64, width: i64) -> i64 {
    t - t.rem_euclid(width)
}

impl Rollups {
    /// Empty rollups keeping at most `max_routes` routes per hour.
    pub fn new(max_routes: usize) -> Self {
        Rollups {
            max_routes: max_routes.max(1),
            ..Rollups::default()
        }
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty()
            && self.route_hours.is_empty()
            && self.visitors.is_empty()
            && self.panels.is_empty()
    }

    /// Counts every request of a reader's batch. Routes, hosts, agents and paths are counted
    /// by their ids in the batch first, so each name is looked up once per batch, not per
    /// request.
    pub fn add_batch(&mut self, batch: &RecordBatch) {
        let mut by = ByIds::default();
        for (r, _) in batch.iter() {
            let us = (r.us != u32::MAX).then_some(u64::from(r.us));
            let m = self.minutes.entry(floor(r.ts_ms, MINUTE_MS)).or_default();
            m.counts.add(r.status, r.bytes, us);
            *m.status.entry(r.status).or_insert(0) += 1;
            m.bots += u64::from(r.bot);
            if let Some(us) = us {
                m.latency.record_us(us);
            }
            let hour = floor(r.ts_ms, HOUR_MS);
            by.routes
                .entry((hour, r.route))
                .or_default()
                .add(r.status, r.bytes, us);
            if r.host != 0 {
                by.hosts
                    .entry((hour, r.host))
                    .or_default()
                    .add(r.status, r.bytes, us);
            }
            if r.vhost != 0 {
                *by.vhosts.entry((hour, r.vhost)).or_default() += 1;
            }
            *by.agents.entry((hour, r.agent)).or_default() += 1;
            self.visitors.entry(hour).or_default().insert_hash(r.client);
        }
        self.add_paths(batch);
        self.add_by_ids(batch, by);
    }

    /// Counts the batch's referring sites, 404 paths and static files into their hours.
    fn add_paths(&mut self, batch: &RecordBatch) {
        // Whether each path of the batch is a static file, found once per path.
        let mut statics: HashMap<u32, bool> = HashMap::default();
        for (r, _) in batch.iter() {
            let hour = self.panels.entry(floor(r.ts_ms, HOUR_MS)).or_default();
            if r.site != 0 {
                *hour.sites.entry(batch.site(r.site)) += 1;
            }
            let page = batch.page(r.page);
            if r.status == 404 {
                let m = hour.not_found.entry(page);
                m.requests += 1;
                m.clients.insert(r.client);
            }
            let is_static = *statics
                .entry(r.page)
                .or_insert_with(|| batch.routing().statics.matches_bare(page));
            if is_static {
                hour.static_paths.entry(page).add(r.bytes);
            }
        }
    }

    /// Adds what a batch counted by id, under the names the ids stand for.
    fn add_by_ids(&mut self, batch: &RecordBatch, by: ByIds) {
        use super::capped::Merge;
        for ((hour, id), stats) in &by.routes {
            self.route_in(*hour, batch.name(*id)).merge(stats);
        }
        for ((hour, id), stats) in &by.hosts {
            let p = self.panels.entry(*hour).or_default();
            p.servers.hosts.entry(batch.name(*id)).merge(stats);
        }
        for ((hour, id), n) in by.vhosts {
            *self
                .panels
                .entry(hour)
                .or_default()
                .servers
                .vhosts
                .entry(batch.name(id)) += n;
        }
        if self.kinds.len() > KINDS_CACHED {
            self.kinds.clear();
        }
        for ((hour, id), n) in by.agents {
            let ua = batch.agent(id);
            let kind = match self.kinds.get(ua) {
                Some(k) => k,
                None => self
                    .kinds
                    .entry(ua.to_owned())
                    .or_insert_with(|| super::agents::classify(ua, super::is_bot(ua))),
            };
            let agents = &mut self.panels.entry(hour).or_default().agents;
            // The kind is cloned only for an hour's first request of it.
            match agents.get_mut(kind) {
                Some(k) => *k += n,
                None => {
                    agents.insert(kind.clone(), n);
                }
            }
        }
    }

    /// Adds `stats` to `route` in the hour starting at `hour_ms`.
    pub fn add_route(&mut self, hour_ms: i64, route: &str, stats: &RouteStats) {
        use super::capped::Merge;
        self.route_in(hour_ms, route).merge(stats);
    }

    /// The numbers of `route` in the hour starting at `hour_ms` (those of `(other)` once the
    /// hour holds as many routes as are kept).
    fn route_in(&mut self, hour_ms: i64, route: &str) -> &mut RouteStats {
        let max = self.max_routes;
        let hour = self.route_hours.entry(hour_ms).or_default();
        let name = if hour.contains_key(route) || hour.len() < max {
            route
        } else {
            super::capped::OTHER
        };
        if !hour.contains_key(name) {
            hour.insert(name.to_owned(), RouteStats::default());
        }
        hour.get_mut(name).expect("inserted above")
    }

    /// Adds everything in `o`.
    pub fn merge(&mut self, o: Rollups) {
        for (t, r) in o.minutes {
            self.minutes.entry(t).or_default().merge(&r);
        }
        for (t, routes) in o.route_hours {
            for (name, s) in routes {
                self.add_route(t, &name, &s);
            }
        }
        for (t, v) in o.visitors {
            self.visitors.entry(t).or_default().merge(&v);
        }
        for (t, p) in o.panels {
            self.panels.entry(t).or_default().merge(&p);
        }
    }
}

/// A batch's requests counted per (hour, id of a name in the batch).
#[derive(Default)]
struct ByIds {
    routes: HashMap<(i64, u32), RouteStats>,
    hosts: HashMap<(i64, u32), RouteStats>,
    vhosts: HashMap<(i64, u32), u64>,
    agents: HashMap<(i64, u32), u64>,
}

/// User agents whose kind a [`Rollups`] keeps.
const KINDS_CACHED: usize = 1 << 14;

/// The panels of one hour of history: requests per kind of agent (no visitors: history
/// keeps no user agents), per referring site, per 404 path and per static path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HourPanels {
    /// Requests per kind of agent.
    #[serde(with = "kinds_as_list")]
    pub agents: HashMap<super::agents::Kind, u64>,
    /// Requests per referring site.
    pub sites: super::capped::Capped<u64>,
    /// 404s per path.
    pub not_found: super::capped::Capped<super::panels::Missing>,
    /// Static files per path.
    pub static_paths: super::capped::Capped<super::panels::Served>,
    /// The servers and virtual hosts (stored after the rest, see [`ServerPanels`]).
    #[serde(skip)]
    pub servers: ServerPanels,
}

/// The numbers of one hour per server (host) and per virtual host. Kept apart from the
/// other panels because they were added later: a store writes them after the rest, so an
/// hour stored before them still reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerPanels {
    /// Requests, errors, bytes and response times per host.
    pub hosts: super::capped::Capped<RouteStats>,
    /// Requests per virtual host.
    pub vhosts: super::capped::Capped<u64>,
}

impl Default for ServerPanels {
    fn default() -> Self {
        let limits = super::Limits::default();
        ServerPanels {
            hosts: super::capped::Capped::new(limits.max_hosts),
            vhosts: super::capped::Capped::new(limits.max_vhosts),
        }
    }
}

impl Default for HourPanels {
    fn default() -> Self {
        HourPanels {
            agents: HashMap::default(),
            sites: super::capped::Capped::new(super::PATHS_KEPT),
            not_found: super::capped::Capped::new(super::PATHS_KEPT),
            static_paths: super::capped::Capped::new(super::PATHS_KEPT),
            servers: ServerPanels::default(),
        }
    }
}

impl HourPanels {
    /// Adds everything in `o`.
    pub fn merge(&mut self, o: &HourPanels) {
        for (k, n) in &o.agents {
            *self.agents.entry(k.clone()).or_insert(0) += n;
        }
        self.sites.merge(&o.sites);
        self.not_found.merge(&o.not_found);
        self.static_paths.merge(&o.static_paths);
        self.servers.hosts.merge(&o.servers.hosts);
        self.servers.vhosts.merge(&o.servers.vhosts);
    }
}

/// A map keyed by agent kinds, stored as a list of pairs (postcard and JSON keys are text).
mod kinds_as_list {
    use super::HashMap;
    use crate::aggregate::agents::Kind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &HashMap<Kind, u64>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HashMap<Kind, u64>, D::Error> {
        Ok(Vec::<(Kind, u64)>::deserialize(d)?.into_iter().collect())
    }
}

impl Aggregate {
    /// Adds a stored bucket `width_ms` wide starting at `t_ms` (numbers only: history keeps
    /// no clients, samples or user agents).
    pub fn add_rollup(&mut self, t_ms: i64, width_ms: i64, r: &Rollup) {
        let n = r.counts.requests;
        if n == 0 {
            return;
        }
        self.totals.merge(&r.counts);
        for (code, k) in &r.status {
            self.status[usize::from(*code).min(599)] += k;
        }
        let last = t_ms + width_ms - 1;
        self.first_ts = Some(self.first_ts.map_or(t_ms, |t| t.min(t_ms)));
        self.last_ts = Some(self.last_ts.map_or(last, |t| t.max(last)));
        if width_ms <= MINUTE_MS {
            if let Some(c) = self.minutes.at(t_ms) {
                c.merge(&r.counts);
            }
            if let Some(l) = self.minute_latency.at(t_ms) {
                std::sync::Arc::make_mut(l).merge(&r.latency);
            }
        }
        if let Some(c) = self.hours.at(t_ms) {
            c.merge(&r.counts);
        }
        self.hour_of_day[usize::from(crate::time::hour_of_day(t_ms))].merge(&r.counts);
        self.bots += r.bots;
        self.lines.read += n;
        self.lines.parsed += n;
    }

    /// Adds a stored hour's panels.
    pub fn add_panels(&mut self, p: &HourPanels) {
        for (k, n) in &p.agents {
            self.agents.add_requests(k.clone(), *n);
        }
        self.referrers.sites.merge(&p.sites);
        self.not_found.merge(&p.not_found);
        self.static_paths.merge(&p.static_paths);
        self.hosts.merge(&p.servers.hosts);
        self.vhosts.merge(&p.servers.vhosts);
    }

    /// Adds stored unique visitors (distinct clients).
    pub fn add_visitors(&mut self, v: &Visitors) {
        self.visitors.merge(v);
    }

    /// Adds a stored route's numbers.
    pub fn add_route_stats(&mut self, route: &str, s: &RouteStats) {
        use super::capped::Merge;
        self.routes.entry(route).merge(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Request;
    use std::borrow::Cow;

    fn req(ts_ms: i64, path: &'static str, status: u16, ms: Option<f64>) -> Request<'static> {
        Request {
            ts_ms,
            path: Cow::Borrowed(path),
            status,
            bytes: 100,
            response_ms: ms,
            client: Cow::Borrowed("10.0.0.1"),
            user_agent: Cow::Borrowed("Mozilla/5.0"),
            ..Request::default()
        }
    }

    #[test]
    fn rollups_rebuild_the_numbers_of_the_requests() {
        let reqs = [
            req(0, "/a/1", 200, Some(10.0)),
            req(59_999, "/a/2", 500, Some(30.0)),
            req(60_000, "/b", 404, None),
            req(3_600_000, "/a/3", 200, Some(20.0)),
        ];
        let (mut live, mut batch) = (Aggregate::default(), RecordBatch::default());
        for r in &reqs {
            live.count(r);
            batch.push(r);
        }
        let mut ro = Rollups::new(10);
        ro.add_batch(&batch);
        assert_eq!(ro.minutes.len(), 3);
        assert_eq!(ro.route_hours[&0]["/a/{id}"].requests, 2);
        assert_eq!(ro.route_hours[&0]["/a/{id}"].errors_5xx, 1);
        let mut back = Aggregate::default();
        for (t, r) in &ro.minutes {
            back.add_rollup(*t, MINUTE_MS, r);
        }
        for routes in ro.route_hours.values() {
            for (name, s) in routes {
                back.add_route_stats(name, s);
            }
        }
        assert_eq!(back.totals, live.totals);
        assert_eq!(
            back.status_counts().collect::<Vec<_>>(),
            live.status_counts().collect::<Vec<_>>()
        );
        assert_eq!(back.latency().quantile(0.5), live.latency().quantile(0.5));
        assert_eq!(back.routes.len(), live.routes.len());
    }

    #[test]
    fn routes_beyond_the_cap_fold_into_other() {
        let mut ro = Rollups::new(2);
        for p in ["/a", "/b", "/c", "/d"] {
            ro.add_route(
                0,
                p,
                &RouteStats {
                    requests: 1,
                    ..RouteStats::default()
                },
            );
        }
        let hour = &ro.route_hours[&0];
        assert_eq!(hour.len(), 3);
        assert_eq!(hour[super::super::capped::OTHER].requests, 2);
    }
}
