//! Response times as detection sees them: count, exact sum, and the sum and sum of squares
//! of their logarithms, so windows add up exactly and a shift of the typical time can be
//! tested against the spread of a baseline.

use serde::{Deserialize, Serialize};

/// ln of a response time of `us` µs, in ms, to about 2e-5: from the float's exponent and a
/// polynomial for its mantissa (least squares on [1, 2)), without a division, since it is paid
/// on every request.
pub fn ln_ms(us: u64) -> f64 {
    const C: [f64; 5] = [
        1.441_825_123_615_477_5,
        -0.708_674_935_181_491,
        0.415_397_766_823_116,
        -0.194_390_433_029_862_17,
        0.045_870_751_690_526_69,
    ];
    let bits = (us.max(1) as f64).to_bits();
    let exponent = (bits >> 52) as i64 - 1023;
    let x = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52)) - 1.0;
    let log2_m = x * (C[0] + x * (C[1] + x * (C[2] + x * (C[3] + x * C[4]))));
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
        ] {
            let exact = (us as f64 / 1000.0).ln();
            assert!(
                (ln_ms(us) - exact).abs() < 3e-5,
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
