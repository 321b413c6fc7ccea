//! Whether a run is live, catching up or replaying old data, and the rates it shows.

use crate::aggregate::Aggregate;
use std::time::{Duration, Instant};

/// How the data being shown relates to the clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// New lines arrive as they are written: "now" is the clock.
    #[default]
    Live,
    /// A backlog is being read (a file from its start, or after downtime).
    CatchingUp,
    /// Everything was read and the newest line is old: the data is history, and every
    /// rate and window is in log time.
    Replay,
}

/// What the page shows about reading: the mode, how far the backlog is, and rates in log
/// time.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Progress {
    /// Live, catching up, or replay.
    pub mode: Mode,
    /// Share of the followed files' bytes read (0–1), while catching up.
    pub progress: Option<f64>,
    /// How far the newest request is behind the clock, in seconds.
    pub lag_s: Option<i64>,
    /// Requests per second in log time: the newest complete minute of the data.
    pub log_rate: Option<f64>,
}

/// Data this close to the clock is live.
pub(super) const LIVE_LAG_MS: i64 = 120_000;

/// Tells the mode from the data and the readers' backlog.
#[derive(Debug, Default)]
pub(super) struct Tracker {
    /// Bytes read of the followed files and their lengths, as of the latest batch.
    pub backlog: Option<(u64, u64)>,
    /// True once the data has been within [`LIVE_LAG_MS`] of the clock.
    live_seen: bool,
    /// True once this run has read any line (a restored state alone is no replay).
    pub read_any: bool,
}

/// Bytes still to read before a run counts as catching up: one poll reads up to this much of
/// a file, so a busy live log is always a little behind.
pub const CATCH_UP_BYTES: u64 = crate::follow::tailer::MAX_CHUNK as u64;

impl Tracker {
    /// Live, catching up or replay at `now_ms`, with the figures the page shows for each.
    pub fn progress(&mut self, agg: &Aggregate, now_ms: i64) -> Progress {
        let newest = agg.period().map(|(_, b)| b);
        let lag = newest.map(|n| now_ms - n);
        self.live_seen |= lag.is_some_and(|l| l < LIVE_LAG_MS);
        let pending = self
            .backlog
            .filter(|(read, total)| total.saturating_sub(*read) > CATCH_UP_BYTES);
        let mode = match pending {
            Some(_) => Mode::CatchingUp,
            None if !self.live_seen && self.read_any && newest.is_some() => Mode::Replay,
            None => Mode::Live,
        };
        let log_rate = newest.map(|n| {
            let minute = n - n.rem_euclid(60_000) - 60_000;
            let requests: u64 = agg
                .minutes
                .range(minute, minute + 60_000)
                .map(|(_, c)| c.requests)
                .sum();
            requests as f64 / 60.0
        });
        Progress {
            mode,
            progress: pending.map(|(r, t)| r as f64 / t.max(1) as f64),
            lag_s: lag.map(|l| l / 1000),
            log_rate,
        }
    }
}

/// The span [`Rate`] averages over.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// Lines per second over a sliding window of a few seconds.
#[derive(Default)]
pub(super) struct Rate {
    window: std::collections::VecDeque<(Instant, u64)>,
}

impl Rate {
    pub fn add(&mut self, lines: u64) {
        let now = Instant::now();
        self.window.push_back((now, lines));
        while self
            .window
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            self.window.pop_front();
        }
    }

    /// Lines per second over the last few seconds: zero once nothing has been read for
    /// that long, not the rate of the last batch.
    pub fn per_sec(&self) -> f64 {
        self.per_sec_at(Instant::now())
    }

    fn per_sec_at(&self, now: Instant) -> f64 {
        let recent = || {
            self.window
                .iter()
                .filter(move |(t, _)| now.saturating_duration_since(*t) <= RATE_WINDOW)
        };
        let Some((first, _)) = recent().next() else {
            return 0.0;
        };
        let span = now.saturating_duration_since(*first).as_secs_f64().max(1.0);
        recent().map(|(_, n)| *n).sum::<u64>() as f64 / span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_falls_to_zero_once_reading_stops() {
        let mut r = Rate::default();
        r.add(500);
        let then = r.window[0].0;
        assert_eq!(r.per_sec_at(then + Duration::from_millis(500)), 500.0);
        assert_eq!(
            r.per_sec_at(then + RATE_WINDOW + Duration::from_secs(1)),
            0.0,
            "not the rate of the last batch read"
        );
    }
}
