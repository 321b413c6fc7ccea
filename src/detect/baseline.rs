//! Baselines: a decayed rate, an EWMA of log latencies, and the hour-of-day traffic profile.

use crate::aggregate::latency::Latency;

/// Weight kept per minute by [`RateBaseline`] (a half-life of about 35 minutes).
const DECAY: f64 = 0.98;
/// Weight of the prior, in requests.
const PRIOR_WEIGHT: f64 = 20.0;

/// A rate (failures per request) over the recent past, older minutes weighing less.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RateBaseline {
    hits: f64,
    total: f64,
}

impl RateBaseline {
    /// Adds one minute: `hits` of `total`.
    pub fn add(&mut self, hits: u64, total: u64) {
        self.hits = self.hits * DECAY + hits as f64;
        self.total = self.total * DECAY + total as f64;
    }

    /// The rate, pulled towards `prior` while little is known.
    pub fn rate(&self, prior: f64) -> f64 {
        (self.hits + prior * PRIOR_WEIGHT) / (self.total + PRIOR_WEIGHT)
    }
}

/// Typical p50 and p95, as EWMAs of their logarithms.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LatencyBaseline {
    ln_p50: f64,
    ln_p95: f64,
    updates: u32,
}

impl LatencyBaseline {
    /// Adds the response times of a window.
    pub fn add(&mut self, l: &Latency) {
        let (Some(p50), Some(p95)) = (l.quantile(0.5), l.quantile(0.95)) else {
            return;
        };
        let (a, b) = (p50.max(0.01).ln(), p95.max(0.01).ln());
        if self.updates == 0 {
            (self.ln_p50, self.ln_p95) = (a, b);
        } else {
            let alpha = 0.1;
            self.ln_p50 += alpha * (a - self.ln_p50);
            self.ln_p95 += alpha * (b - self.ln_p95);
        }
        self.updates = self.updates.saturating_add(1);
    }

    /// (p50, p95) in ms, once a few windows were seen.
    pub fn get(&self) -> Option<(f64, f64)> {
        (self.updates >= 5).then(|| (self.ln_p50.exp(), self.ln_p95.exp()))
    }
}

/// Requests per minute by hour of day, learned over days.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Season {
    slots: [Option<f64>; 24],
    current: Option<(i64, f64, u32)>,
}

fn hour_of(t_ms: i64) -> usize {
    usize::from(crate::time::hour_of_day(t_ms))
}

impl Season {
    /// Adds one minute's requests.
    pub fn add(&mut self, t_ms: i64, requests: f64) {
        let hour = t_ms - t_ms.rem_euclid(3_600_000);
        match &mut self.current {
            Some((h, sum, n)) if *h == hour => {
                *sum += requests;
                *n += 1;
            }
            _ => {
                if let Some((h, sum, n)) = self.current.take()
                    && n >= 45
                {
                    let mean = sum / f64::from(n);
                    let slot = &mut self.slots[hour_of(h)];
                    *slot = Some(slot.map_or(mean, |m| m + 0.3 * (mean - m)));
                }
                self.current = Some((hour, requests, 1));
            }
        }
    }

    /// How much busier this hour of day usually is than a quarter of an hour ago (1 when
    /// not yet known).
    pub fn factor(&self, t_ms: i64) -> f64 {
        let now = self.slots[hour_of(t_ms)];
        let before = self.slots[hour_of(t_ms - 15 * 60_000)];
        match (now, before) {
            (Some(a), Some(b)) if a > 0.0 && b > 0.0 => (a / b).clamp(0.5, 2.0),
            _ => 1.0,
        }
    }
}
