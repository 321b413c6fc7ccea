//! Per-minute frames: what anomaly detection and alert rules look at. Built from the compact
//! records readers send, closed once the minute is over.

use super::logstats::LogStats;
use crate::aggregate::latency::Latency;
use crate::aggregate::recent::RecordBatch;
use std::collections::BTreeMap;

/// Maps of a frame: keys come from log lines, so the hash is seeded per run.
type Map<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

/// One minute, in milliseconds.
pub const MINUTE_MS: i64 = 60_000;
/// Distinct routes kept per frame; the rest are counted under `(other)`.
const MAX_ROUTES: usize = 2_000;
/// Distinct failing clients kept per frame.
const MAX_CLIENTS: usize = 1_024;
/// Distinct routes remembered per failing client.
const MAX_CLIENT_ROUTES: usize = 64;
/// Empty minutes filled in when the data has a gap; a longer gap starts afresh.
pub const MAX_GAP_MINUTES: i64 = 60;

/// One route in one minute.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RouteMinute {
    /// Requests.
    pub requests: u64,
    /// 4xx responses.
    pub errors_4xx: u64,
    /// 5xx responses.
    pub errors_5xx: u64,
    /// Requests whose user agent looked automated.
    #[serde(default)]
    pub bots: u64,
    /// Response times of the requests that were not automated, as detection tests them:
    /// a crawler's burst on cached pages would otherwise set the usual time, and the users'
    /// own would read as a regression once it ends.
    #[serde(default)]
    pub stats: LogStats,
    /// Response times as a sketch, for alert rules on percentiles (kept only when
    /// [`Frames::sketches`] is on).
    #[serde(default)]
    pub latency: Option<Box<Latency>>,
}

impl RouteMinute {
    /// Adds one request with `status` and response time `us` (µs), automated when `bot`.
    pub fn add(&mut self, status: u16, us: Option<u64>, bot: bool, sketches: bool) {
        self.requests += 1;
        self.bots += u64::from(bot);
        if let Some(us) = us {
            if !bot {
                self.stats.record_us(us);
            }
            if sketches {
                self.latency.get_or_insert_default().record_us(us);
            }
        }
        match status {
            400..=499 => self.errors_4xx += 1,
            500..=599 => self.errors_5xx += 1,
            _ => {}
        }
    }

    /// Adds `o`.
    pub fn merge(&mut self, o: &RouteMinute) {
        self.requests += o.requests;
        self.errors_4xx += o.errors_4xx;
        self.errors_5xx += o.errors_5xx;
        self.bots += o.bots;
        self.stats.merge(&o.stats);
        merge_sketch(&mut self.latency, &o.latency);
    }
}

/// Adds the sketch `o` to `mine`.
fn merge_sketch(mine: &mut Option<Box<Latency>>, o: &Option<Box<Latency>>) {
    if let Some(o) = o {
        mine.get_or_insert_default().merge(o);
    }
}

/// One client with 4xx responses in one minute.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ClientMinute {
    /// Its requests with a 4xx response.
    pub errors_4xx: u64,
    /// Of which 404.
    pub not_found: u64,
    /// Distinct paths among them (hashes, up to 64).
    pub routes: Vec<u32>,
}

impl ClientMinute {
    fn add_route(&mut self, id: u32) {
        if self.routes.len() < MAX_CLIENT_ROUTES && !self.routes.contains(&id) {
            self.routes.push(id);
        }
    }

    /// Adds `o`.
    pub fn merge(&mut self, o: &ClientMinute) {
        self.errors_4xx += o.errors_4xx;
        self.not_found += o.not_found;
        for r in &o.routes {
            self.add_route(*r);
        }
    }
}

/// Everything detection needs about one minute.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Frame {
    /// Start of the minute (UTC ms).
    pub t_ms: i64,
    /// Requests.
    pub requests: u64,
    /// 4xx responses.
    pub errors_4xx: u64,
    /// 5xx responses.
    pub errors_5xx: u64,
    /// Requests whose user agent looked automated.
    pub bots: u64,
    /// Response times of all requests, as detection tests them.
    #[serde(default)]
    pub stats: LogStats,
    /// Response times of all requests as a sketch (kept only when [`Frames::sketches`] is
    /// on).
    #[serde(default)]
    pub latency: Option<Box<Latency>>,
    /// Per route.
    pub routes: Map<String, RouteMinute>,
    /// Clients with 4xx responses, by address hash.
    pub clients: Map<u64, ClientMinute>,
}

impl Frame {
    /// An empty frame for the minute starting at `t_ms`.
    pub fn empty(t_ms: i64) -> Self {
        Frame {
            t_ms,
            ..Frame::default()
        }
    }

    /// Adds the numbers of `o` (another frame, usually of a neighbouring minute).
    pub fn merge(&mut self, o: &Frame) {
        self.requests += o.requests;
        self.errors_4xx += o.errors_4xx;
        self.errors_5xx += o.errors_5xx;
        self.bots += o.bots;
        self.stats.merge(&o.stats);
        merge_sketch(&mut self.latency, &o.latency);
        for (name, r) in &o.routes {
            self.routes.entry_ref(name.as_str()).or_default().merge(r);
        }
        for (c, m) in &o.clients {
            self.clients.entry(*c).or_default().merge(m);
        }
    }

    /// Adds one request (see [`Frames::add`]).
    fn add(&mut self, s: &Seen<'_>, sketches: bool, who: impl FnOnce() -> (u64, u32)) {
        let mut one = RouteMinute::default();
        one.add(s.status, s.us, s.bot, sketches);
        self.absorb(s.route, &one);
        if (400..500).contains(&s.status) {
            self.add_client(s.status, who);
        }
    }

    /// Adds the numbers of `route` in this minute, to the route's and to the site's.
    fn absorb(&mut self, route: &str, rm: &RouteMinute) {
        self.requests += rm.requests;
        self.errors_4xx += rm.errors_4xx;
        self.errors_5xx += rm.errors_5xx;
        self.bots += rm.bots;
        self.stats.merge(&rm.stats);
        merge_sketch(&mut self.latency, &rm.latency);
        self.route_mut(route).merge(rm);
    }

    /// Counts a 4xx response (`status`) for the client and path `who` gives.
    fn add_client(&mut self, status: u16, who: impl FnOnce() -> (u64, u32)) {
        let (client, path) = who();
        if self.clients.len() < MAX_CLIENTS || self.clients.contains_key(&client) {
            let c = self.clients.entry(client).or_default();
            c.errors_4xx += 1;
            c.not_found += u64::from(status == 404);
            c.add_route(path);
        }
    }

    /// The numbers of `route` in this minute (of `(other)` once the frame holds
    /// [`MAX_ROUTES`]).
    fn route_mut(&mut self, route: &str) -> &mut RouteMinute {
        let name = if self.routes.len() < MAX_ROUTES || self.routes.contains_key(route) {
            route
        } else {
            crate::aggregate::capped::OTHER
        };
        self.routes.entry_ref(name).or_default()
    }

    /// Requests from `client`'s failing requests subtracted: traffic without one scanner.
    pub fn requests_without(&self, clients: &[u64]) -> u64 {
        let scanned: u64 = clients
            .iter()
            .filter_map(|c| self.clients.get(c))
            .map(|c| c.errors_4xx)
            .sum();
        self.requests.saturating_sub(scanned)
    }
}

/// Frames built from one stream of requests in mostly time order (a thread of `analyze`):
/// the minute being filled is kept at hand, so a request costs no search of the minutes.
#[derive(Debug, Clone, Default)]
pub struct FrameBuilder {
    done: Frames,
    hot: Option<Frame>,
    /// The most routes a frame held so far: a new frame's map is made that large at once.
    routes_hint: usize,
    /// Frames built apart and merged in, added up only by [`FrameBuilder::finish`] (which
    /// `analyze` runs beside the counting of the other numbers).
    parts: Vec<Frames>,
}

impl FrameBuilder {
    /// Counts a request with a 4xx response for its client (the rest of a request's numbers
    /// go by [`FrameBuilder::add_route`]).
    pub fn add_client(&mut self, req: &crate::request::Request<'_>) {
        use crate::aggregate::recent::{client_hash, path_hash};
        self.hot(floor(req.ts_ms)).add_client(req.status, || {
            (client_hash(&req.client), path_hash(&req.path))
        });
    }

    /// Adds a request of `route` at `ts_ms` with `status`, response time `us`, automated
    /// when `bot`: `current` is the route's minute being filled, kept with the route by the
    /// caller and handed to the frames when the route's next minute begins, so a request
    /// costs no lookup of its route or its minute.
    pub fn add_route(
        &mut self,
        current: &mut Option<(i64, RouteMinute)>,
        route: &str,
        req: (i64, u16, Option<u64>, bool),
    ) {
        let (ts_ms, status, us, bot) = req;
        let t = match current {
            Some((t, _)) if (*t..*t + MINUTE_MS).contains(&ts_ms) => *t,
            _ => {
                self.flush_route(current, route);
                floor(ts_ms)
            }
        };
        current
            .get_or_insert_with(|| (t, RouteMinute::default()))
            .1
            .add(status, us, bot, false);
    }

    /// Hands `route`'s minute being filled (see [`FrameBuilder::add_route`]) to the frames.
    pub fn flush_route(&mut self, current: &mut Option<(i64, RouteMinute)>, route: &str) {
        if let Some((t, rm)) = current.take() {
            let hint = self.routes_hint;
            let f = match &mut self.hot {
                Some(f) if f.t_ms == t => f,
                _ => self.done.open.entry(t).or_insert_with(|| Frame {
                    routes: Map::with_capacity_and_hasher(hint, Default::default()),
                    ..Frame::empty(t)
                }),
            };
            f.absorb(route, &rm);
            self.routes_hint = self.routes_hint.max(f.routes.len());
        }
    }

    /// The frame of minute `t`, at hand.
    fn hot(&mut self, t: i64) -> &mut Frame {
        if self.hot.as_ref().is_none_or(|f| f.t_ms != t) {
            if let Some(f) = self.hot.take() {
                self.done.put(f);
            }
            self.hot = Some(self.done.open.remove(&t).unwrap_or_else(|| Frame::empty(t)));
        }
        self.hot.as_mut().expect("set above")
    }

    /// Adds the frames of `o`, built apart from other lines (added up by
    /// [`FrameBuilder::finish`]).
    pub fn merge(&mut self, mut o: FrameBuilder) {
        let mut parts = std::mem::take(&mut o.parts);
        parts.push(o.finish_own());
        self.parts.append(&mut parts);
    }

    /// The frames built here, without those merged in.
    fn finish_own(mut self) -> Frames {
        if let Some(f) = self.hot.take() {
            self.done.put(f);
        }
        self.done
    }

    /// The frames built, those merged in included.
    pub fn finish(mut self) -> Frames {
        let parts = std::mem::take(&mut self.parts);
        let mut done = self.finish_own();
        for p in parts {
            done.merge(p);
        }
        done
    }
}

/// One request as frames count it.
struct Seen<'a> {
    ts_ms: i64,
    status: u16,
    us: Option<u64>,
    bot: bool,
    route: &'a str,
}

/// Frames still open, by minute, and the point up to which frames were handed out.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Frames {
    open: BTreeMap<i64, Frame>,
    closed_until: Option<i64>,
    /// Records that arrived for a minute already closed (counted in the aggregate, not in
    /// detection).
    pub late: u64,
    /// Whether frames also keep latency sketches (what alert rules on percentiles need;
    /// detection does without).
    #[serde(default)]
    pub sketches: bool,
}

fn floor(t: i64) -> i64 {
    t - t.rem_euclid(MINUTE_MS)
}

impl Frames {
    /// The open minutes, for a migration of their ids.
    pub(crate) fn open_mut(&mut self) -> impl Iterator<Item = &mut Frame> {
        self.open.values_mut()
    }

    /// Adds the requests of a reader's batch.
    pub fn add_batch(&mut self, b: &RecordBatch) {
        for (r, route) in b.iter() {
            self.add(r, route);
        }
    }

    /// Adds frames built apart (by another thread, from other lines): minute by minute.
    pub fn merge(&mut self, o: Frames) {
        for f in o.open.into_values() {
            self.put(f);
        }
        self.late += o.late;
    }

    /// Start of the newest open minute.
    pub fn newest(&self) -> Option<i64> {
        self.open.last_key_value().map(|(t, _)| *t)
    }

    /// Adds one request, counted under `route`.
    pub fn add(&mut self, r: &crate::aggregate::recent::Record, route: &str) {
        let us = (r.us != u32::MAX).then_some(u64::from(r.us));
        let seen = Seen {
            ts_ms: r.ts_ms,
            status: r.status,
            us,
            bot: r.bot,
            route,
        };
        self.add_seen(&seen, || (r.client, r.path));
    }

    /// Adds one request; `who` gives its client and path hashes (looked at for 4xx only).
    fn add_seen(&mut self, s: &Seen<'_>, who: impl FnOnce() -> (u64, u32)) {
        let t = floor(s.ts_ms);
        if self.closed_until.is_some_and(|c| t < c) {
            self.late += 1;
            return;
        }
        let sketches = self.sketches;
        let f = self.open.entry(t).or_insert_with(|| Frame::empty(t));
        f.add(s, sketches, who);
    }

    /// Adds the frame `f`, built apart, to its minute.
    fn put(&mut self, f: Frame) {
        match self.open.get_mut(&f.t_ms) {
            Some(mine) => mine.merge(&f),
            None => {
                self.open.insert(f.t_ms, f);
            }
        }
    }

    /// Hands out, oldest first, every minute that ended at or before `watermark_ms`,
    /// including empty minutes in gaps of up to an hour.
    pub fn close(&mut self, watermark_ms: i64) -> Vec<Frame> {
        let end = floor(watermark_ms) - MINUTE_MS;
        let mut out = Vec::new();
        while let Some((&t, _)) = self.open.first_key_value() {
            if t > end {
                break;
            }
            let f = self.open.pop_first().expect("checked").1;
            self.fill_gap(t, &mut out);
            out.push(f);
            self.closed_until = Some(t + MINUTE_MS);
        }
        if self.closed_until.is_some() {
            self.fill_gap(end + MINUTE_MS, &mut out);
            self.closed_until = self.closed_until.map(|c| c.max(end + MINUTE_MS));
        }
        out
    }

    /// Empty frames from the last closed minute up to (not including) `t`.
    fn fill_gap(&self, t: i64, out: &mut Vec<Frame>) {
        let Some(mut c) = out.last().map(|f| f.t_ms + MINUTE_MS).or(self.closed_until) else {
            return;
        };
        if (t - c) / MINUTE_MS > MAX_GAP_MINUTES {
            return;
        }
        while c < t {
            out.push(Frame::empty(c));
            c += MINUTE_MS;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Request;
    use std::borrow::Cow;

    fn batch(reqs: &[(i64, u16, &'static str, &'static str)]) -> RecordBatch {
        let mut b = RecordBatch::default();
        for (ts, status, path, client) in reqs {
            b.push(&Request {
                ts_ms: *ts,
                path: Cow::Borrowed(path),
                status: *status,
                response_ms: Some(10.0),
                client: Cow::Borrowed(client),
                user_agent: Cow::Borrowed("Mozilla/5.0"),
                ..Request::default()
            });
        }
        b
    }

    #[test]
    fn frames_close_in_order_with_gaps_filled() {
        let mut f = Frames::default();
        f.add_batch(&batch(&[
            (1_000, 200, "/a", "1.1.1.1"),
            (61_000, 404, "/x", "2.2.2.2"),
            (61_500, 404, "/y", "2.2.2.2"),
            (241_000, 500, "/a", "1.1.1.1"),
        ]));
        assert!(f.close(100_000).iter().map(|f| f.t_ms).eq([0]));
        let out = f.close(300_000);
        assert!(
            out.iter()
                .map(|f| f.t_ms)
                .eq([60_000, 120_000, 180_000, 240_000])
        );
        assert_eq!(out[0].clients.values().next().unwrap().routes.len(), 2);
        assert_eq!(out[1].requests, 0);
        assert_eq!(out[3].routes["/a"].errors_5xx, 1);
        // Nothing new: empty minutes keep coming as time passes.
        assert!(
            f.close(420_000)
                .iter()
                .map(|f| f.t_ms)
                .eq([300_000, 360_000])
        );
        f.add_batch(&batch(&[(10_000, 200, "/a", "1.1.1.1")]));
        assert_eq!(f.late, 1);
    }
}
