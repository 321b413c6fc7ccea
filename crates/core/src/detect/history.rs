//! What detection remembers of one route, or of the whole site: the last hour minute by
//! minute, and a slowly forgetting baseline of the minutes before it. A window under test is
//! always judged against minutes outside it, and minutes that were part of an incident are
//! kept out of every baseline.

use super::stats::{LogStats, WeightedStats};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The windows tested, in minutes: a sharp change shows in the shortest, a small but
/// sustained one only in the longer ones.
pub const WINDOWS: [usize; 4] = [2, 5, 15, 60];
/// Minutes kept one by one.
const RING: usize = 60;
/// Weight the older baseline keeps per minute (a half-life of about 70 minutes).
const DECAY: f64 = 0.99;

/// One minute of one route.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Requests.
    pub n: u64,
    /// 5xx responses.
    pub e5: u64,
    /// Response times.
    pub lat: LogStats,
    /// Part of an incident: kept out of baselines.
    pub flagged: bool,
}

/// The newest `minutes` of a history, and its baseline: everything before them that was not
/// part of an incident.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    /// Length in minutes.
    pub minutes: usize,
    /// Requests in the window.
    pub n: u64,
    /// 5xx responses in the window.
    pub e5: u64,
    /// Response times in the window.
    pub lat: LogStats,
    /// Requests of the baseline (weighted).
    pub base_n: f64,
    /// 5xx responses of the baseline (weighted).
    pub base_e5: f64,
    /// Response times of the baseline.
    pub base_lat: WeightedStats,
}

/// The recent minutes of one route, or of the site (a state saved by an older version
/// reads as an empty history).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    cells: VecDeque<Cell>,
    base_n: f64,
    base_e5: f64,
    base_lat: WeightedStats,
    /// A running mean of each minute's typical log response time: a cheap first look, so
    /// windows are only summed for minutes that might be slow.
    pub typical_ln: Option<f64>,
    /// A running mean of each minute's 5xx rate: the same cheap first look for errors.
    pub error_rate: f64,
    /// Requests seen in all.
    pub requests: u64,
    /// The detector's minute count when first and last seen.
    pub first_minute: u64,
    /// See `first_minute`.
    pub last_minute: u64,
}

impl History {
    /// A history first seen at the detector's minute `minute`.
    pub fn new(minute: u64) -> Self {
        History {
            first_minute: minute,
            last_minute: minute,
            ..History::default()
        }
    }

    /// Adds the newest minute; `minute` is the detector's count, and the minutes since the
    /// last one this history saw are added empty (at most a ring's worth).
    pub fn push(&mut self, minute: u64, cell: Cell) {
        let missed = minute.saturating_sub(self.last_minute).saturating_sub(1);
        if !self.cells.is_empty() {
            for _ in 0..missed.min(RING as u64) {
                self.push_one(Cell::default());
            }
        }
        self.last_minute = minute;
        self.requests += cell.n;
        if cell.n > 0 {
            let r = cell.e5 as f64 / cell.n as f64;
            self.error_rate += 0.1 * (r - self.error_rate);
        }
        if cell.lat.n > 0 {
            let m = cell.lat.sum_ln / cell.lat.n as f64;
            self.typical_ln = Some(self.typical_ln.map_or(m, |t| t + 0.1 * (m - t)));
        }
        self.push_one(cell);
    }

    fn push_one(&mut self, cell: Cell) {
        self.base_n *= DECAY;
        self.base_e5 *= DECAY;
        self.base_lat.decay(DECAY);
        if self.cells.len() == RING {
            let old = self.cells.pop_front().expect("full");
            if !old.flagged {
                self.base_n += old.n as f64;
                self.base_e5 += old.e5 as f64;
                self.base_lat.add(&old.lat.scaled(1.0));
            }
        }
        self.cells.push_back(cell);
    }

    /// Marks the newest `minutes` as part of an incident.
    pub fn flag(&mut self, minutes: usize) {
        let len = self.cells.len();
        for c in self.cells.iter_mut().skip(len.saturating_sub(minutes)) {
            c.flagged = true;
        }
    }

    /// The newest cell.
    pub fn last(&self) -> Option<&Cell> {
        self.cells.back()
    }

    /// The newest `minutes`, incidents included: whether an open incident goes on.
    pub fn recent(&self, minutes: usize) -> Window {
        let mut w = Window::default();
        for c in self.cells.iter().rev().take(minutes) {
            w.minutes += 1;
            w.n += c.n;
            w.e5 += c.e5;
            w.lat.merge(&c.lat);
        }
        w
    }

    /// Minutes back from the newest (0) to the first of the newest `minutes` (not part of
    /// an incident) for which `shows` holds: where the change began.
    pub fn onset(&self, minutes: usize, shows: impl Fn(&Cell) -> bool) -> usize {
        self.cells
            .iter()
            .rev()
            .take(minutes)
            .enumerate()
            .filter(|(_, c)| !c.flagged && shows(c))
            .map(|(i, _)| i)
            .max()
            .unwrap_or(0)
    }

    /// Each window of [`WINDOWS`] that the history covers, shortest first. Minutes that
    /// were part of an incident count in neither the window nor the baseline, so an
    /// incident that ended is not found again in the longer windows.
    pub fn windows(&self) -> Vec<Window> {
        // Sums from the newest minute back, read off at each window's length; the baseline
        // is the rest of the ring and the older minutes.
        let mut sum = Window::default();
        let mut out = Vec::with_capacity(WINDOWS.len());
        for (i, c) in self.cells.iter().rev().enumerate() {
            if !c.flagged {
                sum.n += c.n;
                sum.e5 += c.e5;
                sum.lat.merge(&c.lat);
            }
            if WINDOWS.contains(&(i + 1)) {
                out.push(Window {
                    minutes: i + 1,
                    ..sum
                });
            }
        }
        for w in &mut out {
            w.base_n = self.base_n + (sum.n - w.n) as f64;
            w.base_e5 = self.base_e5 + (sum.e5 - w.e5) as f64;
            w.base_lat = self.base_lat;
            w.base_lat.add(&sum.lat.without(&w.lat).scaled(1.0));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(n: u64, e5: u64) -> Cell {
        Cell {
            n,
            e5,
            ..Cell::default()
        }
    }

    #[test]
    fn a_window_is_judged_against_the_minutes_outside_it() {
        let mut h = History::new(0);
        for m in 0..10 {
            h.push(m, cell(10, 1));
        }
        h.push(10, cell(10, 9));
        let w = h.windows();
        assert_eq!(w[0].minutes, 2);
        assert_eq!((w[0].n, w[0].e5), (20, 10));
        assert_eq!((w[0].base_n, w[0].base_e5), (90.0, 9.0));
        // Flagged minutes leave the baseline and the window.
        h.flag(1);
        let w = h.windows();
        assert_eq!((w[1].n, w[1].base_n), (40, 60.0));
        assert_eq!(h.recent(5).n, 50);
        assert_eq!(h.onset(5, |c| c.e5 > 5), 0);
    }

    #[test]
    fn minutes_a_route_missed_are_empty_and_old_minutes_move_to_the_baseline() {
        let mut h = History::new(0);
        h.push(0, cell(10, 0));
        h.push(100, cell(10, 0));
        // 60 empty minutes pushed the first one out of the ring into the decayed baseline.
        let w = h.windows();
        let last = w.last().unwrap();
        assert_eq!((last.minutes, last.n), (60, 10));
        assert!(last.base_n > 5.0 && last.base_n < 10.0, "{}", last.base_n);
    }
}
