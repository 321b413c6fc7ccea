//! Per-client counters for the heaviest clients, in bounded memory.
//!
//! All clients are counted exactly while there are at most `cap` of them. Past that, the
//! lighter half is dropped (their requests stay in the totals), so the clients that matter —
//! the heavy ones and the scanners — keep exact counts from the time they became heavy.

use compact_str::CompactString;
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use std::hash::BuildHasher;

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
    /// The paths of its 404s, one bit per path hash modulo 64: how many distinct paths it
    /// asked for in vain ([`ClientStats::not_found_paths`]). Absent from states saved
    /// before it existed.
    #[serde(default)]
    pub not_found_bits: u64,
    /// Responses with status 500–599 (the 4xx are `errors` less these). Absent from states
    /// saved before it existed.
    #[serde(default)]
    pub errors_5xx: u64,
    /// Time of its first and last request (UTC ms) since it was tracked. Absent from states
    /// saved before it existed.
    #[serde(default)]
    pub seen: Option<(i64, i64)>,
}

impl ClientStats {
    fn merge(&mut self, o: &ClientStats) {
        self.requests += o.requests;
        self.not_found += o.not_found;
        self.errors += o.errors;
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.not_found_bits |= o.not_found_bits;
        self.errors_5xx += o.errors_5xx;
        self.seen = match (self.seen, o.seen) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
    }

    /// Distinct paths among its 404s, estimated (linear counting over 64 bits: exact enough
    /// up to a few dozen, where a scanner is told from a client fetching one missing file).
    pub fn not_found_paths(&self) -> f64 {
        let zeros = self.not_found_bits.count_zeros();
        if zeros == 0 {
            return 64.0 * 64f64.ln();
        }
        -64.0 * (f64::from(zeros) / 64.0).ln()
    }
}

/// One client and what it did.
type Entry = (CompactString, ClientStats);

fn hash(client: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x636c_6965_6e74).hash_one(client)
}

/// The heaviest clients.
#[derive(Clone, Serialize, Deserialize)]
pub struct Clients {
    /// Keyed by address; short keys are stored in the table itself, so a lookup does not
    /// follow a pointer per probe. Serialized as a map from address to counts.
    #[serde(with = "as_map")]
    map: HashTable<Entry>,
    cap: usize,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.map.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl Clients {
    /// Tracks up to `cap` clients.
    pub fn new(cap: usize) -> Self {
        Clients {
            map: HashTable::new(),
            cap: cap.max(2),
        }
    }

    /// Starts fetching the table entry of `client` into the cache, for an [`Clients::add`]
    /// a little later: the table is too large to stay cached while a log streams past.
    pub fn prefetch(&self, client: &str) {
        let h = hash(client);
        if let Some(e) = self
            .map
            .iter_hash_buckets(h)
            .next()
            .and_then(|i| self.map.get_bucket(i))
        {
            prefetch(e);
        }
    }

    /// Counts one request from `client` for `path`, made at `ts_ms`.
    pub fn add(&mut self, client: &str, status: u16, bytes: u64, path: &str, ts_ms: i64) {
        let s = self.entry(client);
        s.requests += 1;
        s.seen = Some(
            s.seen
                .map_or((ts_ms, ts_ms), |(a, b)| (a.min(ts_ms), b.max(ts_ms))),
        );
        s.bytes = s.bytes.saturating_add(bytes);
        if status == 404 {
            s.not_found += 1;
            s.not_found_bits |= 1 << (super::recent::path_hash(path) % 64);
        }
        if status >= 400 {
            s.errors += 1;
            s.errors_5xx += u64::from(status >= 500);
        }
        if self.map.len() > self.cap {
            self.prune();
        }
    }

    fn prune(&mut self) {
        let mut counts: Vec<u64> = self.map.iter().map(|e| e.1.requests).collect();
        let keep = self.cap / 2;
        let (_, nth, _) = counts.select_nth_unstable_by(keep, |a, b| b.cmp(a));
        let threshold = *nth;
        self.map.retain(|e| e.1.requests > threshold);
    }

    fn entry(&mut self, client: &str) -> &mut ClientStats {
        let h = hash(client);
        let e = self.map.entry(h, |e| e.0 == client, |e| hash(&e.0));
        &mut e
            .or_insert_with(|| (client.into(), ClientStats::default()))
            .into_mut()
            .1
    }

    /// Adds every client of `o`.
    pub fn merge(&mut self, o: &Clients) {
        for (k, v) in o.map.iter() {
            self.entry(k).merge(v);
        }
        if self.map.len() > self.cap {
            self.prune();
        }
    }

    /// Every client's address, in no order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.iter().map(|(k, _)| k.as_str())
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
        let order = |a: &(&str, ClientStats), b: &(&str, ClientStats)| {
            key(&b.1).cmp(&key(&a.1)).then(a.0.cmp(b.0))
        };
        if n < v.len() {
            v.select_nth_unstable_by(n, order);
            v.truncate(n);
        }
        v.sort_unstable_by(order);
        v
    }
}

/// Asks the processor to start loading the cache line of `e`.
#[inline]
fn prefetch<T>(e: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it reads nothing the program sees and never faults.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (e as *const T).cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = e;
}

/// The table as a map from address to counts, the same form as a `HashMap` would take.
mod as_map {
    use super::{ClientStats, Entry, hash};
    use compact_str::CompactString;
    use hashbrown::HashTable;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &HashTable<Entry>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(t.iter().map(|(k, v)| (k, v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HashTable<Entry>, D::Error> {
        let map = hashbrown::HashMap::<CompactString, ClientStats>::deserialize(d)?;
        let mut t = HashTable::with_capacity(map.len());
        for (k, v) in map {
            t.insert_unique(hash(&k), (k, v), |e| hash(&e.0));
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_clients_survive_pruning() {
        let mut c = Clients::new(10);
        for i in 0..1000 {
            c.add("heavy", 404, 1, "/x", i);
            c.add(&format!("light{i}"), 200, 1, "/", i);
        }
        let top = c.top(1);
        assert_eq!(top[0].0, "heavy");
        assert_eq!(top[0].1.requests, 1000);
        assert_eq!(top[0].1.not_found, 1000);
        assert_eq!(top[0].1.seen, Some((0, 999)));
        assert!(c.map.len() <= 11);
    }

    #[test]
    fn top_is_the_head_of_the_full_ranking() {
        let mut c = Clients::new(1000);
        for i in 0..200u64 {
            for _ in 0..(i * 7) % 13 {
                c.add(&format!("10.0.{}.{}", i % 5, i), 200, 1, "/", 0);
            }
        }
        let all = c.top(usize::MAX);
        assert!(all.windows(2).all(|w| {
            let (a, b) = (&w[0], &w[1]);
            a.1.requests > b.1.requests || (a.1.requests == b.1.requests && a.0 < b.0)
        }));
        for n in [0, 1, 5, 13, 100, all.len(), all.len() + 1] {
            assert_eq!(c.top(n), all[..n.min(all.len())], "top {n}");
        }
    }
}
