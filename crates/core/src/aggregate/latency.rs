//! Response-time distribution: a DDSketch (≤ 1 % relative error on every quantile) plus an
//! exact integer sum, so averages do not depend on the order things were merged in.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sketches_ddsketch::{Config, DDSketch};

/// Relative accuracy of every quantile the sketch returns.
pub const RELATIVE_ERROR: f64 = 0.01;

fn config() -> Config {
    Config::new(RELATIVE_ERROR, 2048, 1e-3)
}

/// The response times of a set of requests.
///
/// Stored forms: in binary formats the sketch as it is; in text formats (JSON) an empty
/// sketch is written as `null`, because its infinite minimum and maximum have no JSON form.
/// Reading either form gives an empty sketch a fresh start.
#[derive(Clone)]
pub struct Latency {
    sketch: DDSketch,
    sum_us: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            sketch: DDSketch::new(config()),
            sum_us: 0,
        }
    }
}

impl Serialize for Latency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let text = s.is_human_readable();
        let mut st = s.serialize_struct("Latency", 2)?;
        if text {
            st.serialize_field("sketch", &(self.count() > 0).then_some(&self.sketch))?;
        } else {
            st.serialize_field("sketch", &self.sketch)?;
        }
        st.serialize_field("sum_us", &self.sum_us)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "Latency")]
        struct Text {
            sketch: Option<DDSketch>,
            sum_us: u64,
        }
        #[derive(Deserialize)]
        #[serde(rename = "Latency")]
        struct Binary {
            sketch: DDSketch,
            sum_us: u64,
        }
        let (sketch, sum_us) = if d.is_human_readable() {
            let t = Text::deserialize(d)?;
            (t.sketch, t.sum_us)
        } else {
            let b = Binary::deserialize(d)?;
            (Some(b.sketch), b.sum_us)
        };
        Ok(match sketch.filter(|s| s.count() > 0) {
            Some(sketch) => Latency { sketch, sum_us },
            None => Latency::default(),
        })
    }
}

impl std::fmt::Debug for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latency")
            .field("count", &self.count())
            .field("avg_ms", &self.avg_ms())
            .finish()
    }
}

impl Latency {
    /// Records one response time in microseconds.
    pub fn record_us(&mut self, us: u64) {
        self.sketch.add(us as f64 / 1000.0);
        self.sum_us = self.sum_us.saturating_add(us);
    }

    /// Records one response time in milliseconds (kept to the microsecond).
    pub fn record(&mut self, ms: f64) {
        self.record_us(ms_to_us(ms));
    }

    /// A distribution rebuilt from a histogram: for each entry, `n` response times of about
    /// `ms` each; `sum_us` is their exact total.
    pub fn from_histogram(entries: impl IntoIterator<Item = (f64, u64)>, sum_us: u64) -> Latency {
        let mut l = Latency::default();
        for (ms, n) in entries {
            if n > 0 && ms.is_finite() && ms >= 0.0 {
                l.sketch.add_with_count(ms, n);
            }
        }
        l.sum_us = sum_us;
        l
    }

    /// Adds another distribution to this one.
    pub fn merge(&mut self, other: &Latency) {
        if other.count() > 0 {
            self.sketch
                .merge(&other.sketch)
                .expect("every sketch shares one config");
            self.sum_us = self.sum_us.saturating_add(other.sum_us);
        }
    }

    /// How many response times were recorded.
    pub fn count(&self) -> u64 {
        self.sketch.count() as u64
    }

    /// Mean in milliseconds (µs resolution); `None` when empty.
    pub fn avg_ms(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.sum_us as f64 / 1000.0 / n as f64)
    }

    /// The `q` quantile (0–1) in milliseconds; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.sketch.quantile(q.clamp(0.0, 1.0)).ok().flatten()
    }

    /// Largest recorded value (exact); `None` when empty.
    pub fn max_ms(&self) -> Option<f64> {
        self.sketch.max()
    }
}

impl super::capped::Merge for std::sync::Arc<Latency> {
    fn merge(&mut self, other: &Self) {
        std::sync::Arc::make_mut(self).merge(other);
    }
}

/// An empty sketch as JSON the way versions before the text form wrote it (bounds `null`):
/// what the store's upgrade tests read back.
#[doc(hidden)]
pub fn empty_sketch_as_written_before() -> serde_json::Value {
    serde_json::to_value(DDSketch::new(config())).expect("a sketch serializes")
}

/// Milliseconds to whole microseconds.
pub fn ms_to_us(ms: f64) -> u64 {
    (ms * 1000.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: an empty sketch was saved to JSON with `min: null` and could not be read
    /// back, so a plain combined log (no response times) could not restart.
    #[test]
    fn empty_sketches_round_trip_in_json_and_binary() {
        let empty = Latency::default();
        let mut one = Latency::default();
        one.record(12.5);
        for l in [&empty, &one] {
            let text: Latency = serde_json::from_str(&serde_json::to_string(l).unwrap()).unwrap();
            let bin: Latency = postcard::from_bytes(&postcard::to_stdvec(l).unwrap()).unwrap();
            for back in [text, bin] {
                assert_eq!(back.count(), l.count());
                assert_eq!(back.max_ms(), l.max_ms());
                assert_eq!(back.avg_ms(), l.avg_ms());
            }
        }
        let mut back: Latency =
            serde_json::from_str(&serde_json::to_string(&empty).unwrap()).unwrap();
        back.record(3.0);
        assert_eq!(
            back.quantile(0.0),
            Some(3.0),
            "a loaded empty sketch starts afresh"
        );
    }

    #[test]
    fn empty_and_basic() {
        let mut l = Latency::default();
        assert_eq!((l.count(), l.avg_ms(), l.quantile(0.5)), (0, None, None));
        for v in [1.0, 2.0, 3.0, 4.0] {
            l.record(v);
        }
        assert_eq!(l.avg_ms(), Some(2.5));
        assert_eq!(l.max_ms(), Some(4.0));
        let p50 = l.quantile(0.5).unwrap();
        assert!((p50 - 2.0).abs() <= 2.0 * RELATIVE_ERROR + 1e-9, "{p50}");
    }
}
