//! Per-client counters for the heaviest clients, in bounded memory.
//!
//! All clients are counted exactly while there are at most `cap` of them. Past that, the
//! lighter half is dropped (their requests stay in the totals), so the clients that matter —
//! the heavy ones and the scanners — keep exact counts from the time they became heavy.

use compact_str::CompactString;
use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;
use serde::{Deserialize, Serialize};

/// What one client did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStats {
    /// Requests.
    pub requests: u64,
    /// Responses with status 404.
    pub not_found: u64,
    /// Responses with status 400–599.
    pub errors: u64,
    /// Response bytes.
    pub bytes: u64,
}

impl ClientStats {
    fn merge(&mut self, o: &ClientStats) {
        self.requests += o.requests;
        self.not_found += o.not_found;
        self.errors += o.errors;
        self.bytes = self.bytes.saturating_add(o.bytes);
    }
}

/// The heaviest clients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Clients {
    /// Keyed by address; short keys are stored in the table itself, so a lookup does not
    /// follow a pointer per probe.
    map: HashMap<CompactString, ClientStats>,
    cap: usize,
}

impl Clients {
    /// Tracks up to `cap` clients.
    pub fn new(cap: usize) -> Self {
        Clients {
            map: HashMap::new(),
            cap: cap.max(2),
        }
    }

    /// Counts one request from `client`.
    pub fn add(&mut self, client: &str, status: u16, bytes: u64) {
        let s = match self.map.entry_ref(client) {
            EntryRef::Occupied(e) => e.into_mut(),
            EntryRef::Vacant(e) => e.insert_with_key(client.into(), ClientStats::default()),
        };
        s.requests += 1;
        s.bytes = s.bytes.saturating_add(bytes);
        if status == 404 {
            s.not_found += 1;
        }
        if status >= 400 {
            s.errors += 1;
        }
        if self.map.len() > self.cap {
            self.prune();
        }
    }

    fn prune(&mut self) {
        let mut counts: Vec<u64> = self.map.values().map(|s| s.requests).collect();
        let keep = self.cap / 2;
        let (_, nth, _) = counts.select_nth_unstable_by(keep, |a, b| b.cmp(a));
        let threshold = *nth;
        self.map.retain(|_, s| s.requests > threshold);
    }

    /// Adds every client of `o`.
    pub fn merge(&mut self, o: &Clients) {
        for (k, v) in &o.map {
            self.map.entry(k.clone()).or_default().merge(v);
        }
        if self.map.len() > self.cap {
            self.prune();
        }
    }

    /// The `n` clients with the most requests (ties by address).
    pub fn top(&self, n: usize) -> Vec<(&str, ClientStats)> {
        self.top_by(n, |s| s.requests)
    }

    /// The `n` clients with the largest `key`, ignoring those where it is zero.
    pub fn top_by(&self, n: usize, key: impl Fn(&ClientStats) -> u64) -> Vec<(&str, ClientStats)> {
        let mut v: Vec<(&str, ClientStats)> = self
            .map
            .iter()
            .filter(|(_, s)| key(s) > 0)
            .map(|(k, s)| (k.as_str(), *s))
            .collect();
        v.sort_by(|a, b| key(&b.1).cmp(&key(&a.1)).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_clients_survive_pruning() {
        let mut c = Clients::new(10);
        for i in 0..1000 {
            c.add("heavy", 404, 1);
            c.add(&format!("light{i}"), 200, 1);
        }
        let top = c.top(1);
        assert_eq!(top[0].0, "heavy");
        assert_eq!(top[0].1.requests, 1000);
        assert_eq!(top[0].1.not_found, 1000);
        assert!(c.map.len() <= 11);
    }
}
