//! Bounded "N largest by key" lists: the slowest requests, the most recent ones, the first
//! rejected lines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Keeps the `cap` entries with the largest keys; merging two lists keeps the `cap` largest
/// of both, so the result does not depend on how the input was split.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "K: serde::Serialize, V: serde::Serialize",
    deserialize = "K: serde::Deserialize<'de>, V: serde::Deserialize<'de>"
))]
pub struct TopN<K: Ord, V: Ord> {
    heap: BinaryHeap<Reverse<(K, V)>>,
    cap: usize,
}

impl<K: Ord, V: Ord> TopN<K, V> {
    /// An empty list holding at most `cap` entries.
    pub fn new(cap: usize) -> Self {
        TopN {
            heap: BinaryHeap::with_capacity(cap + 1),
            cap,
        }
    }

    /// True when an entry with `key` would be kept (so the caller can skip building it).
    pub fn admits(&self, key: &K) -> bool {
        self.cap > 0
            && (self.heap.len() < self.cap
                || self.heap.peek().is_some_and(|Reverse((k, _))| key > k))
    }

    /// Offers an entry built by `make`, which gets the evicted value to reuse its buffers.
    pub fn offer_with(&mut self, key: K, make: impl FnOnce(Option<V>) -> V) {
        if !self.admits(&key) {
            return;
        }
        let recycled = if self.heap.len() >= self.cap {
            self.heap.pop().map(|Reverse((_, v))| v)
        } else {
            None
        };
        self.heap.push(Reverse((key, make(recycled))));
    }

    /// Offers a ready entry.
    pub fn offer(&mut self, key: K, value: V) {
        self.offer_with(key, |_| value);
    }

    /// Adds every entry of `other`.
    pub fn merge(&mut self, other: &TopN<K, V>)
    where
        K: Clone,
        V: Clone,
    {
        for Reverse((k, v)) in &other.heap {
            if self.admits(k) {
                self.offer(k.clone(), v.clone());
            }
        }
    }

    /// The entries, largest key first.
    pub fn sorted(&self) -> Vec<&(K, V)> {
        let mut v: Vec<&(K, V)> = self.heap.iter().map(|Reverse(e)| e).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_largest_and_merges() {
        let mut a = TopN::new(3);
        let mut b = TopN::new(3);
        let mut all = TopN::new(3);
        for k in [5, 1, 9, 3] {
            a.offer(k, ());
            all.offer(k, ());
        }
        for k in [7, 2, 8] {
            b.offer(k, ());
            all.offer(k, ());
        }
        a.merge(&b);
        let keys = |t: &TopN<i32, ()>| t.sorted().iter().map(|(k, _)| *k).collect::<Vec<_>>();
        assert_eq!(keys(&a), vec![9, 8, 7]);
        assert_eq!(keys(&a), keys(&all));
        assert!(!a.admits(&6));
        assert!(TopN::<i32, ()>::new(0).sorted().is_empty());
    }
}
