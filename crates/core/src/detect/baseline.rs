//! A decayed rate: the share of automated requests over the recent past.

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
