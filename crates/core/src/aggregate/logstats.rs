//! Response times as detection sees them: count, exact sum, and the sum and sum of squares
//! of their logarithms, so windows add up exactly and a shift of the typical time can be
//! tested against the spread of a baseline.

use serde::{Deserialize, Serialize};

/// Intervals of the mantissa in [`LOG2_MANTISSA`].
const STEPS: usize = 256;

/// log2 of 1 + i/256 for i in 0..=256, computed at build time from the series of atanh.
const LOG2_MANTISSA: [f64; STEPS + 1] = {
    let mut t = [0.0; STEPS + 1];
    let mut i = 0;
    while i <= STEPS {
        // ln x = 2 atanh((x - 1) / (x + 1)); here (x - 1) / (x + 1) ≤ 1/3.
        let x = 1.0 + i as f64 / STEPS as f64;
        let y = (x - 1.0) / (x + 1.0);
        let (mut term, mut sum, mut k) = (y, 0.0, 1.0);
        while k < 60.0 {
            sum += term / k;
            term *= y * y;
            k += 2.0;
        }
        t[i] = 2.0 * sum / std::f64::consts::LN_2;
        i += 1;
    }
    t
};

/// ln of a response time of `us` µs, in ms, to about 3e-6: from the float's exponent and a
/// table of its mantissa's logarithm, interpolated, since it is paid on every request.
pub fn ln_ms(us: u64) -> f64 {
    let bits = (us.max(1) as f64).to_bits();
    let exponent = (bits >> 52) as i64 - 1023;
    let x = (f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52)) - 1.0) * STEPS as f64;
    let i = (x as usize).min(STEPS - 1);
    let (lo, hi) = (LOG2_MANTISSA[i], LOG2_MANTISSA[i + 1]);
    let log2_m = lo + (x - i as f64) * (hi - lo);
    (exponent as f64 + log2_m) * std::f64::consts::LN_2 - 1000f64.ln()
}

/// The response times of a set of requests, in the form detection tests them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LogStats {
    /// Requests with a response time.
    pub n: u64,
    /// Sum of response times (µs).
    pub sum_us: u64,
    /// Sum of ln(ms).
    pub sum_ln: f64,
    /// Sum of ln(ms)².
    pub sum_ln2: f64,
}

impl LogStats {
    /// Adds one response time (µs).
    pub fn record_us(&mut self, us: u64) {
        self.record(us, ln_ms(us));
    }

    /// Adds one response time (µs) whose [`ln_ms`] is `l`.
    pub fn record(&mut self, us: u64, l: f64) {
        self.n += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.sum_ln += l;
        self.sum_ln2 += l * l;
    }

    /// Adds `o`.
    pub fn merge(&mut self, o: &LogStats) {
        self.n += o.n;
        self.sum_us = self.sum_us.saturating_add(o.sum_us);
        self.sum_ln += o.sum_ln;
        self.sum_ln2 += o.sum_ln2;
    }

    /// These times without those of `o` (a part of them).
    pub fn without(&self, o: &LogStats) -> LogStats {
        LogStats {
            n: self.n - o.n,
            sum_us: self.sum_us - o.sum_us,
            sum_ln: self.sum_ln - o.sum_ln,
            sum_ln2: self.sum_ln2 - o.sum_ln2,
        }
    }

    /// These times weighted by `w` (a decayed baseline keeps fractional weights).
    pub fn scaled(&self, w: f64) -> WeightedStats {
        WeightedStats {
            n: self.n as f64 * w,
            sum_ms: self.sum_us as f64 / 1000.0 * w,
            sum_ln: self.sum_ln * w,
            sum_ln2: self.sum_ln2 * w,
        }
    }

    /// Mean response time (ms).
    pub fn avg_ms(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum_us as f64 / 1000.0 / self.n as f64)
    }
}

/// Response-time sums with fractional weights: a baseline that forgets slowly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WeightedStats {
    /// Weight (requests).
    pub n: f64,
    /// Sum of response times (ms).
    pub sum_ms: f64,
    /// Sum of ln(ms).
    pub sum_ln: f64,
    /// Sum of ln(ms)².
    pub sum_ln2: f64,
}

impl WeightedStats {
    /// Adds `o`.
    pub fn add(&mut self, o: &WeightedStats) {
        self.n += o.n;
        self.sum_ms += o.sum_ms;
        self.sum_ln += o.sum_ln;
        self.sum_ln2 += o.sum_ln2;
    }

    /// Every weight times `f`.
    pub fn decay(&mut self, f: f64) {
        self.n *= f;
        self.sum_ms *= f;
        self.sum_ln *= f;
        self.sum_ln2 *= f;
    }

    /// Mean of ln(ms).
    pub fn mean_ln(&self) -> f64 {
        self.sum_ln / self.n.max(1e-9)
    }

    /// Standard deviation of ln(ms).
    pub fn sd_ln(&self) -> f64 {
        let m = self.mean_ln();
        (self.sum_ln2 / self.n.max(1e-9) - m * m).max(0.0).sqrt()
    }

    /// Mean response time (ms).
    pub fn avg_ms(&self) -> f64 {
        self.sum_ms / self.n.max(1e-9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_ms_is_ln_of_milliseconds() {
        for us in [
            1,
            7,
            999,
            1000,
            1001,
            30_000,
            123_456,
            86_400_000_000,
            u64::from(u32::MAX),
            u64::MAX,
        ]
        .into_iter()
        .chain((1..5000).map(|k| k * 7919))
        {
            let exact = (us as f64 / 1000.0).ln();
            assert!(
                (ln_ms(us) - exact).abs() < 4e-6,
                "{us}: {} vs {exact}",
                ln_ms(us)
            );
        }
        assert_eq!(ln_ms(0), ln_ms(1));
    }

    #[test]
    fn log_stats_give_the_spread_of_log_times() {
        let mut s = LogStats::default();
        for us in [10_000, 40_000] {
            s.record_us(us);
        }
        let w = s.scaled(1.0);
        // ln 10 and ln 40: mean ln 20, sd ln 2.
        assert!((w.mean_ln().exp() - 20.0).abs() < 1e-3);
        assert!((w.sd_ln() - 2f64.ln()).abs() < 1e-3);
        assert_eq!(s.avg_ms(), Some(25.0));
    }
}
