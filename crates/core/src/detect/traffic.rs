//! Site traffic: surges, drops and silences, judged against the last two hours of minutes
//! that were not part of an incident, so a daily curve, bursts and logs that arrive in
//! clusters set their own normal.

use super::{AnomalyKind, DetectorConfig};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Minutes of traffic kept.
const RING: usize = 120;
/// Minutes a surge or a drop must last before it is one (each of them departs).
pub const SUSTAIN: usize = 3;
/// Minutes of baseline before surges and drops are judged.
const WARMUP: usize = 10;
/// Minutes of data before silence is judged: long enough to have seen the site's usual
/// quiet stretches.
const QUIET_WARMUP: u64 = 60;
/// Quiet stretches are remembered this long (ms).
const DAY_MS: i64 = 86_400_000;
/// A surge found for no more than this many minutes (it takes three to find one) is a
/// burst: its height is usual for a day.
const BURST_MINUTES: u64 = 2;
/// A surge or drop that lasts this many minutes is the new normal.
const NEW_NORMAL: u32 = 30;
/// Requests that a silence must have cost (expected, at the usual rate) to be an incident.
pub const QUIET_MIN_MISSED: f64 = 20.0;
/// Standard score below the usual level for a drop.
const DROP_Z: f64 = 6.0;

/// A departure of the site's traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Surge, drop or quiet.
    pub kind: AnomalyKind,
    /// Requests in the newest minute.
    pub now: f64,
    /// Requests usual in a minute.
    pub expected: f64,
    /// Minutes back from the newest to where it began.
    pub onset: u64,
    /// Minutes without requests (quiet only).
    pub quiet_minutes: u64,
}

/// The site's recent traffic, minute by minute.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Traffic {
    counts: VecDeque<(u64, bool)>,
    zero_run: u64,
    /// The current silence raised an incident (it is not one of the site's usual ones).
    quiet_raised: bool,
    runs: VecDeque<(i64, u64)>,
    departed: u32,
    seen: u64,
    /// A surge under way: its busiest minute and its length in minutes.
    surging: Option<(u64, u64)>,
    /// A drop under way.
    dropping: bool,
    /// Busiest minutes of short surges that ended within the last day: bursts of this
    /// height are usual here.
    peaks: VecDeque<(i64, u64)>,
}

struct Usual {
    mean: f64,
    median: f64,
    hi: f64,
    lo: f64,
}

impl Traffic {
    /// The usual traffic: minutes not part of an incident, leaving out the newest `skip`.
    fn usual(&self, skip: usize) -> Option<Usual> {
        let mut v: Vec<u64> = self
            .counts
            .iter()
            .rev()
            .skip(skip)
            .filter(|(_, flagged)| !flagged)
            .map(|(n, _)| *n)
            .collect();
        if v.len() < WARMUP {
            return None;
        }
        let mean = v.iter().sum::<u64>() as f64 / v.len() as f64;
        let mid = v.len() / 2;
        let (below, median, above) = v.select_nth_unstable(mid);
        let median = *median;
        Some(Usual {
            mean,
            median: median as f64,
            hi: above.iter().copied().max().unwrap_or(median) as f64,
            lo: below.iter().copied().min().unwrap_or(median) as f64,
        })
    }

    /// The longest quiet stretch of the last day (minutes).
    fn usual_quiet(&self) -> u64 {
        self.runs.iter().map(|(_, n)| *n).max().unwrap_or(0)
    }

    fn flag(&mut self, minutes: usize) {
        let len = self.counts.len();
        for c in self.counts.iter_mut().skip(len.saturating_sub(minutes)) {
            c.1 = true;
        }
    }

    /// Adds the requests of the minute starting at `t_ms`, and says whether traffic departs.
    pub fn observe(&mut self, t_ms: i64, requests: u64, cfg: &DetectorConfig) -> Option<Finding> {
        self.seen += 1;
        self.counts.push_back((requests, false));
        if self.counts.len() > RING {
            self.counts.pop_front();
        }
        if requests == 0 {
            self.zero_run += 1;
        } else if self.zero_run > 0 {
            if !std::mem::take(&mut self.quiet_raised) {
                self.runs.push_back((t_ms, self.zero_run));
            }
            self.zero_run = 0;
        }
        while self
            .runs
            .front()
            .is_some_and(|(end, _)| t_ms - end > DAY_MS)
        {
            self.runs.pop_front();
        }
        while self
            .peaks
            .front()
            .is_some_and(|(end, _)| t_ms - end > DAY_MS)
        {
            self.peaks.pop_front();
        }
        let Some(mut usual) = self.usual(SUSTAIN) else {
            self.surging = None;
            return None;
        };
        usual.hi = (self.peaks.iter().map(|(_, p)| *p as f64)).fold(usual.hi, f64::max);
        let found = self
            .quiet(&usual)
            .or_else(|| self.surge_or_drop(&usual, requests, cfg));
        self.track_surge(t_ms, requests, found.as_ref().map(|f| f.kind));
        self.dropping = found
            .as_ref()
            .is_some_and(|f| f.kind == AnomalyKind::TrafficDrop);
        match &found {
            Some(f) if f.kind == AnomalyKind::SiteQuiet => {}
            Some(_) => {
                self.departed += 1;
                if self.departed < NEW_NORMAL {
                    self.flag(SUSTAIN);
                }
            }
            None => self.departed = 0,
        }
        found
    }

    fn track_surge(&mut self, t_ms: i64, requests: u64, found: Option<AnomalyKind>) {
        if found == Some(AnomalyKind::TrafficSurge) {
            let (peak, minutes) = self.surging.unwrap_or((0, 0));
            self.surging = Some((peak.max(requests), minutes + 1));
        } else if let Some((peak, minutes)) = self.surging.take()
            && minutes <= BURST_MINUTES
        {
            self.peaks.push_back((t_ms, peak));
        }
    }

    /// Silence where most minutes have requests: judged by the median minute, so a log
    /// whose minutes are mostly empty (a small site, lines that arrive in clusters) never
    /// calls its usual silences an outage.
    fn quiet(&mut self, usual: &Usual) -> Option<Finding> {
        let k = self.zero_run;
        let quiet = k >= 2
            && self.seen >= QUIET_WARMUP
            && usual.median * k as f64 >= QUIET_MIN_MISSED
            && k > self.usual_quiet() * 3 / 2 + 1;
        quiet.then(|| {
            self.quiet_raised = true;
            self.flag(k as usize);
            Finding {
                kind: AnomalyKind::SiteQuiet,
                now: 0.0,
                expected: usual.median,
                onset: k - 1,
                quiet_minutes: k,
            }
        })
    }

    fn surge_or_drop(&self, usual: &Usual, requests: u64, cfg: &DetectorConfig) -> Option<Finding> {
        if self.counts.len() < SUSTAIN + WARMUP {
            return None;
        }
        let recent: Vec<f64> = self
            .counts
            .iter()
            .rev()
            .take(SUSTAIN)
            .map(|(n, _)| *n as f64)
            .collect();
        let surge_at = (cfg.surge_ratio * usual.mean)
            .max(usual.mean + 10.0)
            .max(1.5 * usual.hi);
        let finding = |kind, onset| Finding {
            kind,
            now: requests as f64,
            expected: usual.mean,
            onset,
            quiet_minutes: 0,
        };
        // A surge under way goes on while its minutes stay a third of the way from the
        // usual level to its peak.
        if let Some((peak, _)) = self.surging
            && requests as f64 >= usual.mean + (peak as f64 - usual.mean) / 3.0
        {
            return Some(finding(AnomalyKind::TrafficSurge, 0));
        }
        if recent.iter().all(|&r| r >= surge_at) {
            return Some(finding(AnomalyKind::TrafficSurge, SUSTAIN as u64 - 1));
        }
        if self.dropping && (requests as f64) < (1.0 + cfg.drop_ratio) / 2.0 * usual.median {
            return Some(Finding {
                expected: usual.median,
                ..finding(AnomalyKind::TrafficDrop, 0)
            });
        }
        let drop_at = (cfg.drop_ratio * usual.median).min(0.8 * usual.lo);
        let sum: f64 = recent.iter().sum();
        let expected = SUSTAIN as f64 * usual.median;
        // All empty is silence, judged by `quiet`.
        let dropped = usual.median >= 10.0
            && sum > 0.0
            && recent.iter().all(|&r| r <= drop_at)
            && (expected - sum) / expected.sqrt() >= DROP_Z;
        dropped.then(|| Finding {
            expected: usual.median,
            ..finding(AnomalyKind::TrafficDrop, SUSTAIN as u64 - 1)
        })
    }

    /// A stretch of `minutes` with no data at all, starting at `start_ms` (longer than the
    /// frames fill in): a silence inside the data, judged like any other.
    pub fn gap(&mut self, start_ms: i64, minutes: u64) -> Option<Finding> {
        let k = self.zero_run + minutes;
        let usual_quiet = self.usual_quiet();
        let raised = std::mem::take(&mut self.quiet_raised);
        self.zero_run = 0;
        let found = self
            .usual(0)
            .filter(|u| u.mean * k as f64 >= QUIET_MIN_MISSED && k > usual_quiet * 3 / 2 + 1);
        if found.is_none() && !raised {
            // A silence of the site's usual kind (nights of a small site, a log that
            // arrives in batches): the next one as long is no incident either.
            let end = start_ms + minutes as i64 * super::frame::MINUTE_MS;
            self.runs.push_back((end, k));
        }
        found.map(|usual| Finding {
            kind: AnomalyKind::SiteQuiet,
            now: 0.0,
            expected: usual.mean,
            onset: k - 1,
            quiet_minutes: k,
        })
    }

    /// Requests usual in a minute now (for the share of traffic an incident touches).
    pub fn level(&self) -> Option<f64> {
        self.usual(0).map(|u| u.mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;

    fn run(t: &mut Traffic, from: i64, counts: &[u64]) -> Vec<(i64, AnomalyKind)> {
        let cfg = DetectorConfig::default();
        let mut out = Vec::new();
        for (i, &c) in counts.iter().enumerate() {
            let m = from + i as i64;
            if let Some(f) = t.observe(m * M, c, &cfg) {
                out.push((m - f.onset as i64, f.kind));
            }
        }
        out
    }

    #[test]
    fn a_surge_is_three_minutes_far_above_the_usual_and_dates_from_its_first() {
        let mut t = Traffic::default();
        assert!(run(&mut t, 0, &[100; 30]).is_empty());
        // Just below: twice the usual, minus one, for four minutes.
        assert!(run(&mut t, 30, &[199; 4]).is_empty());
        let mut t = Traffic::default();
        run(&mut t, 0, &[100; 30]);
        let found = run(&mut t, 30, &[201, 201, 201, 201]);
        assert_eq!(found.first(), Some(&(30, AnomalyKind::TrafficSurge)));
    }

    #[test]
    fn bursts_as_big_as_earlier_ones_are_not_surges() {
        let mut t = Traffic::default();
        let mut day = vec![10; 30];
        day.extend([60, 60, 60]);
        day.extend([10; 30]);
        day.extend([70, 70, 70]);
        day.extend([10; 10]);
        let found = run(&mut t, 0, &day);
        assert_eq!(found.len(), 1, "only the first burst: {found:?}");
    }

    #[test]
    fn silence_counts_when_it_costs_requests_and_is_longer_than_usual() {
        let mut t = Traffic::default();
        let mut day = vec![150; 70];
        day.extend([0, 0, 0]);
        let found = run(&mut t, 0, &day);
        assert_eq!(found[0], (70, AnomalyKind::SiteQuiet));
        // A log that arrives in the first five minutes of each hour: its silences are usual.
        let mut t = Traffic::default();
        let hour: Vec<u64> = (0..60).map(|m| if m < 5 { 300 } else { 0 }).collect();
        let found = run(&mut t, 0, &hour.repeat(6));
        assert!(
            found.iter().all(|(_, k)| *k != AnomalyKind::SiteQuiet),
            "{found:?}"
        );
    }

    /// Nine requests a minute: two silent minutes cost 18 requests (under 20), three cost 27.
    #[test]
    fn silence_is_found_once_it_has_cost_twenty_requests() {
        let mut t = Traffic::default();
        let mut day = vec![9; 70];
        day.extend([0, 0]);
        assert!(run(&mut t, 0, &day).is_empty());
        assert_eq!(run(&mut t, 72, &[0]), [(70, AnomalyKind::SiteQuiet)]);
    }

    #[test]
    fn a_gap_in_the_data_is_an_outage_only_where_traffic_was_expected() {
        let mut t = Traffic::default();
        run(&mut t, 0, &[150; 20]);
        let f = t.gap(20 * M, 90).expect("an outage");
        assert_eq!((f.kind, f.quiet_minutes), (AnomalyKind::SiteQuiet, 90));
        let mut t = Traffic::default();
        // Five requests an hour: 90 minutes without one is not unusual enough.
        run(&mut t, 0, &[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert!(t.gap(12 * M, 90).is_none());
    }
}
