//! Request counters by status class, and the time buckets built from them.

use super::capped::Merge;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Status classes `1xx` to `5xx`, in index order.
pub const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Index into [`CLASSES`] of a status code (100–599).
pub fn class_index(status: u16) -> usize {
    usize::from(status / 100).clamp(1, 5) - 1
}

/// Requests, their status classes, bytes and summed response time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Number of requests.
    pub requests: u64,
    /// Requests per status class (`1xx` … `5xx`).
    pub class: [u64; 5],
    /// Response bytes.
    pub bytes: u64,
    /// Requests that carried a response time.
    pub timed: u64,
    /// Sum of their response times in microseconds.
    pub time_us: u64,
}

impl Counts {
    /// Counts one request (`response_us`: its response time in µs, if logged).
    pub fn add(&mut self, status: u16, bytes: u64, response_us: Option<u64>) {
        self.requests += 1;
        self.class[class_index(status)] += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if let Some(us) = response_us {
            self.timed += 1;
            self.time_us = self.time_us.saturating_add(us);
        }
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, o: &Counts) {
        self.requests += o.requests;
        for (a, b) in self.class.iter_mut().zip(o.class) {
            *a += b;
        }
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.timed += o.timed;
        self.time_us = self.time_us.saturating_add(o.time_us);
    }

    /// Mean response time in milliseconds, when any request was timed.
    pub fn avg_ms(&self) -> Option<f64> {
        (self.timed > 0).then(|| self.time_us as f64 / 1000.0 / self.timed as f64)
    }
}

/// Values per time bucket (minute or hour since the epoch), keeping only the newest `cap`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "V: Serialize", deserialize = "V: Deserialize<'de>"))]
pub struct Buckets<V = Counts> {
    /// Bucket width in milliseconds.
    pub width_ms: i64,
    cap: usize,
    /// Buckets by key, oldest first; logs arrive in time order, so the newest is the one
    /// almost every request goes to.
    #[serde(with = "as_map")]
    map: VecDeque<(i64, V)>,
}

impl<V: Default + Merge> Buckets<V> {
    /// Buckets `width_ms` wide, at most `cap` of them (the newest win).
    pub fn new(width_ms: i64, cap: usize) -> Self {
        Buckets {
            width_ms,
            cap,
            map: VecDeque::new(),
        }
    }

    /// The bucket holding `ts_ms`; `None` when it is older than everything kept in a full set.
    pub fn at(&mut self, ts_ms: i64) -> Option<&mut V> {
        // The newest bucket is tested by its bounds: the width is not a constant, so the
        // division below would cost more than the rest of the call.
        let width = self.width_ms;
        if self.map.back().is_some_and(|(k, _)| {
            k.checked_mul(width)
                .and_then(|start| ts_ms.checked_sub(start))
                .is_some_and(|into| (0..width).contains(&into))
        }) {
            return self.map.back_mut().map(|e| &mut e.1);
        }
        let key = ts_ms.div_euclid(width);
        let mut i = self.map.partition_point(|(k, _)| *k < key);
        if self.map.get(i).is_some_and(|(k, _)| *k == key) {
            return Some(&mut self.map[i].1);
        }
        if self.map.len() >= self.cap && i == 0 {
            return None;
        }
        self.map.insert(i, (key, V::default()));
        if self.map.len() > self.cap {
            self.map.pop_front();
            i -= 1;
        }
        Some(&mut self.map[i].1)
    }

    /// Adds another set of buckets.
    pub fn merge(&mut self, o: &Buckets<V>) {
        let mine = std::mem::take(&mut self.map);
        let mut merged = VecDeque::with_capacity(mine.len() + o.map.len());
        let mut theirs = o.map.iter().peekable();
        for (k, mut v) in mine {
            while let Some((ok, ov)) = theirs.next_if(|(ok, _)| *ok < k) {
                merged.push_back((*ok, copy_of(ov)));
            }
            if let Some((_, ov)) = theirs.next_if(|(ok, _)| *ok == k) {
                v.merge(ov);
            }
            merged.push_back((k, v));
        }
        merged.extend(theirs.map(|(ok, ov)| (*ok, copy_of(ov))));
        while merged.len() > self.cap {
            merged.pop_front();
        }
        self.map = merged;
    }

    /// `(bucket start in ms, value)`, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &V)> {
        self.map.iter().map(|(k, c)| (k * self.width_ms, c))
    }

    /// Buckets starting in `[from_ms, to_ms)`.
    pub fn range(&self, from_ms: i64, to_ms: i64) -> impl Iterator<Item = (i64, &V)> {
        let (a, b) = (
            from_ms.div_euclid(self.width_ms),
            to_ms.div_euclid(self.width_ms),
        );
        let lo = self.map.partition_point(|(k, _)| *k < a);
        let hi = self.map.partition_point(|(k, _)| *k < b).max(lo);
        self.map.range(lo..hi).map(|(k, c)| (k * self.width_ms, c))
    }

    /// Start of the oldest bucket kept.
    pub fn first_ms(&self) -> Option<i64> {
        self.map.front().map(|(k, _)| k * self.width_ms)
    }
}

/// A value merged into an empty one: what [`Merge`] offers instead of `Clone`.
fn copy_of<V: Default + Merge>(v: &V) -> V {
    let mut c = V::default();
    c.merge(v);
    c
}

/// Buckets are stored as a map from key to value, whatever holds them in memory.
mod as_map {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::{BTreeMap, VecDeque};

    pub fn serialize<V: Serialize, S: Serializer>(
        list: &VecDeque<(i64, V)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(list.iter().map(|(k, v)| (k, v)))
    }

    pub fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<VecDeque<(i64, V)>, D::Error> {
        Ok(BTreeMap::<i64, V>::deserialize(d)?.into_iter().collect())
    }
}

impl Buckets<Counts> {
    /// Counts one request at `ts_ms` (`response_us` as in [`Counts::add`]).
    pub fn add(&mut self, ts_ms: i64, status: u16, bytes: u64, response_us: Option<u64>) {
        if let Some(c) = self.at(ts_ms) {
            c.add(status, bytes, response_us);
        }
    }
}

impl Merge for Counts {
    fn merge(&mut self, o: &Self) {
        Counts::merge(self, o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_the_newest() {
        let mut b = Buckets::new(60_000, 2);
        b.add(0, 200, 10, Some(1000));
        b.add(60_000, 404, 0, None);
        b.add(120_000, 500, 0, None);
        b.add(1, 200, 0, None);
        let keys: Vec<i64> = b.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![60_000, 120_000]);
        b.add(90_000, 200, 0, None);
        assert_eq!(
            b.at(60_000).map(|c| c.requests),
            Some(2),
            "an older bucket is found"
        );
        assert_eq!(b.range(60_000, 120_000).count(), 1);
        let mut wide = Buckets::new(60_000, 3);
        wide.add(0, 200, 0, None);
        wide.add(180_000, 200, 0, None);
        wide.merge(&b);
        let merged: Vec<(i64, u64)> = wide.iter().map(|(k, c)| (k, c.requests)).collect();
        assert_eq!(merged, vec![(60_000, 2), (120_000, 1), (180_000, 1)]);
        let json = serde_json::to_string(&wide).unwrap();
        assert!(json.contains(r#""map":{"1":"#), "stored as a map: {json}");
        let back: Buckets = serde_json::from_str(&json).unwrap();
        assert_eq!(back.iter().count(), 3);
        assert_eq!(class_index(503), 4);
        assert_eq!(class_index(101), 0);
    }

    #[test]
    fn each_time_lands_in_its_bucket() {
        let w = 60_000;
        let times = [
            -60_001, -60_000, -1, 0, 1, 59_999, 60_000, 59_999, 119_999, 120_000, 119_999, 300_007,
            -1, 300_007, 359_999, 360_000, 0,
        ];
        let mut b = Buckets::new(w, 100);
        let mut expected = std::collections::BTreeMap::new();
        for t in times {
            b.add(t, 200, 0, None);
            *expected.entry(t.div_euclid(w) * w).or_insert(0u64) += 1;
            let got: Vec<(i64, u64)> = b.iter().map(|(k, c)| (k, c.requests)).collect();
            let want: Vec<(i64, u64)> = expected.iter().map(|(k, n)| (*k, *n)).collect();
            assert_eq!(got, want, "after {t}");
        }
    }
}
