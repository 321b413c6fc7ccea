//! Per-minute frames: what anomaly detection and alert rules look at. Built from the compact
//! records readers send, closed once the minute is over.

use crate::aggregate::latency::Latency;
use crate::aggregate::recent::RecordBatch;
use std::collections::{BTreeMap, HashMap};

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
    /// Response times.
    pub latency: Latency,
}

impl RouteMinute {
    /// Adds `o`.
    pub fn merge(&mut self, o: &RouteMinute) {
        self.requests += o.requests;
        self.errors_4xx += o.errors_4xx;
        self.errors_5xx += o.errors_5xx;
        self.latency.merge(&o.latency);
    }
}

/// One client with 4xx responses in one minute.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ClientMinute {
    /// Its requests with a 4xx response.
    pub errors_4xx: u64,
    /// Of which 404.
    pub not_found: u64,
    /// Distinct routes among them (up to 64).
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
    /// Response times of all requests.
    pub latency: Latency,
    /// Per route.
    pub routes: HashMap<String, RouteMinute>,
    /// Clients with 4xx responses, by address hash.
    pub clients: HashMap<u64, ClientMinute>,
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
        self.latency.merge(&o.latency);
        for (name, r) in &o.routes {
            self.routes.entry(name.clone()).or_default().merge(r);
        }
        for (c, m) in &o.clients {
            self.clients.entry(*c).or_default().merge(m);
        }
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

/// Frames still open, by minute, and the point up to which frames were handed out.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Frames {
    open: BTreeMap<i64, Frame>,
    closed_until: Option<i64>,
    /// Records that arrived for a minute already closed (counted in the aggregate, not in
    /// detection).
    pub late: u64,
}

/// A stable id of a route name, to count distinct routes per client across batches.
fn route_id(route: &str) -> u32 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(3).hash_one(route) as u32
}

fn floor(t: i64) -> i64 {
    t - t.rem_euclid(MINUTE_MS)
}

impl Frames {
    /// Adds the requests of a reader's batch.
    pub fn add_batch(&mut self, b: &RecordBatch) {
        for (r, route) in b.iter() {
            self.add(r, route);
        }
    }

    /// Adds frames built apart (by another thread, from other lines): minute by minute.
    pub fn merge(&mut self, o: Frames) {
        for (t, f) in o.open {
            match self.open.get_mut(&t) {
                Some(mine) => mine.merge(&f),
                None => {
                    self.open.insert(t, f);
                }
            }
        }
        self.late += o.late;
    }

    /// Start of the newest open minute.
    pub fn newest(&self) -> Option<i64> {
        self.open.last_key_value().map(|(t, _)| *t)
    }

    /// Adds one request, counted under `route`.
    pub fn add(&mut self, r: &crate::aggregate::recent::Record, route: &str) {
        let t = floor(r.ts_ms);
        if self.closed_until.is_some_and(|c| t < c) {
            self.late += 1;
            return;
        }
        let f = self.open.entry(t).or_insert_with(|| Frame::empty(t));
        f.requests += 1;
        f.bots += u64::from(r.bot);
        let us = (r.us != u32::MAX).then_some(u64::from(r.us));
        if let Some(us) = us {
            f.latency.record_us(us);
        }
        let name = if f.routes.len() < MAX_ROUTES || f.routes.contains_key(route) {
            route
        } else {
            crate::aggregate::capped::OTHER
        };
        let rm = match f.routes.get_mut(name) {
            Some(rm) => rm,
            None => f.routes.entry(name.to_owned()).or_default(),
        };
        rm.requests += 1;
        if let Some(us) = us {
            rm.latency.record_us(us);
        }
        match r.status {
            400..=499 => {
                f.errors_4xx += 1;
                rm.errors_4xx += 1;
                if f.clients.len() < MAX_CLIENTS || f.clients.contains_key(&r.client) {
                    let c = f.clients.entry(r.client).or_default();
                    c.errors_4xx += 1;
                    c.not_found += u64::from(r.status == 404);
                    c.add_route(route_id(route));
                }
            }
            500..=599 => {
                f.errors_5xx += 1;
                rm.errors_5xx += 1;
            }
            _ => {}
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
