//! A map with a cap on distinct keys, so random paths from a scanner cannot exhaust memory.
//!
//! Keys are counted exactly in a table [`TABLE_FACTOR`] (8) times larger than the cap; what is
//! shown ([`Capped::top`]) is the `cap` heaviest of them, ties by name, the rest folded into
//! one `(other)` row. The result does not depend on the order keys arrived in, or on how
//! the input was split between threads, as long as the distinct keys fit the table; past it,
//! new keys go straight to `(other)` and [`Top::overflowed`] says so.

use compact_str::CompactString;
use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;

/// Something that can absorb another value of its kind.
pub trait Merge {
    /// Adds `other` into `self`.
    fn merge(&mut self, other: &Self);
}

impl Merge for u64 {
    fn merge(&mut self, other: &Self) {
        *self += other;
    }
}

/// What ranks a value among the kept keys (requests, for a route).
pub trait Weight {
    /// The value's weight.
    fn weight(&self) -> u64;
}

impl Weight for u64 {
    fn weight(&self) -> u64 {
        *self
    }
}

/// How many keys the table counts exactly for each one shown.
pub const TABLE_FACTOR: usize = 8;

/// The shown part of a [`Capped`] map.
#[derive(Debug)]
pub struct Top<'a, V> {
    /// The heaviest keys, heaviest first (ties by key).
    pub rows: Vec<(&'a str, &'a V)>,
    /// Everything else, merged: the `(other)` row.
    pub other: Option<V>,
    /// Distinct keys counted but not shown (folded into `other`).
    pub dropped: usize,
    /// True when the table was full and later keys were not counted by name at all.
    pub overflowed: bool,
}

/// Name shown for the entry that collects keys past the cap.
pub const OTHER: &str = "(other)";

/// Per-key values with at most `cap` distinct keys plus an overflow entry.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Capped<V> {
    /// Short keys are stored in the table itself, so a lookup does not follow a pointer.
    map: HashMap<CompactString, V>,
    other: Option<V>,
    cap: usize,
}

impl<V: Default + Merge + Clone + Weight> Capped<V> {
    /// An empty map holding at most `cap` distinct keys.
    pub fn new(cap: usize) -> Self {
        Capped {
            map: HashMap::new(),
            other: None,
            cap,
        }
    }

    /// The value for `key`, or the overflow entry when `key` is new and the map is full.
    pub fn entry(&mut self, key: &str) -> &mut V {
        let full = self.map.len() >= self.cap.saturating_mul(TABLE_FACTOR);
        if key == OTHER {
            // A request for a path named like the fold row is counted in it, not beside it.
            return self.other.get_or_insert_with(V::default);
        }
        match self.map.entry_ref(key) {
            EntryRef::Occupied(e) => e.into_mut(),
            EntryRef::Vacant(e) if !full => e.insert_with_key(key.into(), V::default()),
            EntryRef::Vacant(_) => self.other.get_or_insert_with(V::default),
        }
    }

    /// Adds every entry of `o`.
    pub fn merge(&mut self, o: &Capped<V>) {
        for (k, v) in &o.map {
            self.entry(k).merge(v);
        }
        if let Some(v) = &o.other {
            self.other.get_or_insert_with(V::default).merge(v);
        }
    }

    /// `(key, value)` pairs to change, the overflow entry (named [`OTHER`]) last.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut V)> {
        let other = self.other.as_mut().map(|v| (OTHER, v));
        self.map
            .iter_mut()
            .map(|(k, v)| (k.as_str(), v))
            .chain(other)
    }

    /// `(key, value)` pairs, the overflow entry (named [`OTHER`]) last.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.map
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .chain(self.other.iter().map(|v| (OTHER, v)))
    }

    /// The `cap` heaviest keys and the rest merged (see the module documentation).
    pub fn top(&self) -> Top<'_, V> {
        let mut rows: Vec<(&str, &V)> = self.map.iter().map(|(k, v)| (k.as_str(), v)).collect();
        rows.sort_unstable_by(|a, b| b.1.weight().cmp(&a.1.weight()).then(a.0.cmp(b.0)));
        let kept = rows.len().min(self.cap);
        let mut other = self.other.clone();
        for (_, v) in &rows[kept..] {
            other.get_or_insert_with(V::default).merge(v);
        }
        let dropped = rows.len() - kept;
        rows.truncate(kept);
        Top {
            rows,
            other,
            dropped,
            overflowed: self.other.is_some(),
        }
    }

    /// Number of distinct keys counted by name (the overflow entry not counted).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.other.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_folds_into_other() {
        let mut c: Capped<u64> = Capped::new(1);
        for k in ["a", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] {
            *c.entry(k) += 1;
        }
        assert_eq!(c.len(), TABLE_FACTOR);
        let other: Vec<u64> = c
            .iter()
            .filter(|(k, _)| *k == OTHER)
            .map(|(_, v)| *v)
            .collect();
        assert_eq!(other, vec![2], "i and j came after the table was full");
        let top = c.top();
        assert_eq!(top.rows, vec![("a", &2)]);
        assert_eq!((top.other, top.dropped, top.overflowed), (Some(9), 7, true));
    }

    /// Regression: which routes were shown depended on the order threads merged their
    /// tables, so the same file gave a different report each run.
    #[test]
    fn the_shown_keys_do_not_depend_on_arrival_order() {
        let keys: Vec<String> = (0..300)
            .map(|i| format!("/k{}", i % 97 * (i % 5)))
            .collect();
        let shown = |order: &mut dyn Iterator<Item = &String>, split: usize| {
            let (mut a, mut b) = (Capped::<u64>::new(25), Capped::<u64>::new(25));
            for (i, k) in order.enumerate() {
                *(if i % split == 0 { &mut a } else { &mut b }).entry(k) += 1;
            }
            b.merge(&a);
            let top = b.top();
            let rows: Vec<(String, u64)> =
                top.rows.iter().map(|(k, v)| (k.to_string(), **v)).collect();
            (rows, top.other, top.dropped)
        };
        let first = shown(&mut keys.iter(), 2);
        assert_eq!(first.0.len(), 25, "174 distinct keys fit a table of 200");
        assert_eq!(shown(&mut keys.iter().rev(), 3), first);
        assert_eq!(
            shown(&mut keys.iter().skip(150).chain(&keys[..150]), 7),
            first
        );
    }
}
