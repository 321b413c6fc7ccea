//! A map with a cap on distinct keys: past the cap, new keys fold into one `(other)` entry,
//! so random paths from a scanner cannot exhaust memory.

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

impl<V: Default + Merge + Clone> Capped<V> {
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
        let full = self.map.len() >= self.cap;
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

    /// `(key, value)` pairs, the overflow entry (named [`OTHER`]) last.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.map
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .chain(self.other.iter().map(|v| (OTHER, v)))
    }

    /// Number of distinct keys kept (the overflow entry not counted).
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
        let mut c: Capped<u64> = Capped::new(2);
        for k in ["a", "b", "c", "a", "d"] {
            *c.entry(k) += 1;
        }
        let mut got: Vec<(String, u64)> = c.iter().map(|(k, v)| (k.to_owned(), *v)).collect();
        got.sort();
        assert_eq!(
            got,
            vec![("(other)".into(), 2), ("a".into(), 2), ("b".into(), 1)]
        );
    }
}
