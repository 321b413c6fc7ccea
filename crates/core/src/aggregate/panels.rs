//! The panels a GoAccess user looks for first that need counting of their own: visitors per
//! day, and the paths that answer 404 with how many clients asked for each.

use super::Visitors;
use super::capped::{Merge, Weight};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// Days kept; the oldest go first beyond this.
pub const MAX_DAYS: usize = 400;

/// A set of distinct things, estimated by linear counting over 256 bits: exact enough for the
/// clients of one missing path (tens to hundreds), and mergeable by OR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmallSet([u64; 4]);

impl SmallSet {
    /// Adds the thing with hash `h`.
    pub fn insert(&mut self, h: u64) {
        let bit = (h % 256) as usize;
        self.0[bit / 64] |= 1 << (bit % 64);
    }

    /// About how many distinct things were added (at most about 1,400: a full set).
    pub fn estimate(&self) -> u64 {
        let zeros: u32 = self.0.iter().map(|w| w.count_zeros()).sum();
        let m = 256.0_f64;
        let z = f64::from(zeros.max(1));
        (-m * (z / m).ln()).round() as u64
    }

    fn union(&mut self, o: &SmallSet) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a |= b;
        }
    }
}

/// A path that answered 404: how often, and to how many clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    /// 404 responses.
    pub requests: u64,
    /// The clients that asked.
    pub clients: SmallSet,
}

impl Merge for Missing {
    fn merge(&mut self, o: &Self) {
        self.requests += o.requests;
        self.clients.union(&o.clients);
    }
}

impl Weight for Missing {
    fn weight(&self) -> u64 {
        self.requests
    }
}

/// Requests and bytes served (static files, one static path).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Served {
    /// Requests.
    pub requests: u64,
    /// Response bytes.
    pub bytes: u64,
}

impl Served {
    /// Counts one response of `bytes`.
    pub fn add(&mut self, bytes: u64) {
        self.requests += 1;
        self.bytes = self.bytes.saturating_add(bytes);
    }
}

impl Merge for Served {
    fn merge(&mut self, o: &Self) {
        self.requests += o.requests;
        self.bytes = self.bytes.saturating_add(o.bytes);
    }
}

impl Weight for Served {
    fn weight(&self) -> u64 {
        self.requests
    }
}

/// One UTC day's traffic.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Day {
    /// Requests.
    pub requests: u64,
    /// Response bytes.
    pub bytes: u64,
    /// Distinct (client, user agent) pairs, as for the whole log.
    pub visitors: Visitors,
}

/// Traffic per UTC day, the newest [`MAX_DAYS`] days.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Days(
    BTreeMap<i64, Day>,
    /// The day and visitor last counted: a visitor's requests often come one after another,
    /// and the sketch is left alone then (not saved).
    #[serde(skip)]
    Option<(i64, u64)>,
);

impl Days {
    /// Counts a request at `ts_ms` of `bytes` from the visitor hashed `visitor`.
    pub fn add(&mut self, ts_ms: i64, bytes: u64, visitor: u64) {
        let day = ts_ms.div_euclid(DAY_MS);
        let d = self.0.entry(day).or_default();
        d.requests += 1;
        d.bytes = d.bytes.saturating_add(bytes);
        if self.1 != Some((day, visitor)) {
            d.visitors.insert_hash(visitor);
            self.1 = Some((day, visitor));
        }
        if self.0.len() > MAX_DAYS {
            self.0.pop_first();
        }
    }

    /// Adds the days of `o`.
    pub fn merge(&mut self, o: &Days) {
        for (day, d) in &o.0 {
            let mine = self.0.entry(*day).or_default();
            mine.requests += d.requests;
            mine.bytes = mine.bytes.saturating_add(d.bytes);
            mine.visitors.merge(&d.visitors);
        }
        while self.0.len() > MAX_DAYS {
            self.0.pop_first();
        }
    }

    /// Each day (UTC ms of its midnight) with its numbers, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &Day)> {
        self.0.iter().map(|(d, v)| (d * DAY_MS, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_estimate_and_merge() {
        let mut a = SmallSet::default();
        for i in 0..40u64 {
            a.insert(crate::hash::stable(
                crate::hash::Purpose::Client,
                &i.to_le_bytes(),
            ));
        }
        let n = a.estimate();
        assert!((36..=44).contains(&n), "{n}");
        let mut b = SmallSet::default();
        b.insert(crate::hash::stable(
            crate::hash::Purpose::Client,
            &1u64.to_le_bytes(),
        ));
        a.union(&b);
        assert_eq!(
            a.estimate(),
            n,
            "a client already counted is not counted again"
        );
        assert_eq!(SmallSet::default().estimate(), 0);
    }

    #[test]
    fn days_split_at_utc_midnight_and_merge() {
        let mut d = Days::default();
        d.add(DAY_MS - 1, 10, 1);
        d.add(DAY_MS, 20, 2);
        d.add(DAY_MS + 5, 30, 2);
        let mut e = Days::default();
        e.add(DAY_MS + 9, 40, 3);
        d.merge(&e);
        let rows: Vec<_> = d
            .iter()
            .map(|(t, v)| (t, v.requests, v.bytes, v.visitors.estimate()))
            .collect();
        assert_eq!(rows, [(0, 1, 10, 1), (DAY_MS, 3, 90, 2)]);
    }
}
