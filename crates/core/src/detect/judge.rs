//! Whether one route's (or the site's) recent minutes depart from their baseline: 5xx
//! counts against a Poisson tail, typical response times against the baseline's spread,
//! over windows of 2 to 60 minutes; and whether an open incident goes on.

use super::frame::MINUTE_MS;
use super::history::{Cell, History, Window};
use super::{AnomalyKind, Hit};
use crate::severity::Severity;
use std::collections::BTreeMap;

/// Natural log of the chance of `k` or more events where `lambda` are expected (Poisson):
/// how surprising a count of failures is, also for the small counts of quiet routes.
pub fn ln_poisson_tail(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 0.0;
    }
    let lambda = lambda.max(1e-12);
    let ln_fact: f64 = (2..=k).map(|i| (i as f64).ln()).sum();
    let mut ln_term = -lambda + k as f64 * lambda.ln() - ln_fact;
    let first = ln_term;
    let mut sum = 1.0;
    let mut i = k;
    loop {
        i += 1;
        ln_term += lambda.ln() - (i as f64).ln();
        let r = (ln_term - first).exp();
        sum += r;
        if r < 1e-12 || i > k + 10_000 {
            break;
        }
    }
    (first + sum.ln()).min(0.0)
}

/// A failure count this unlikely under the baseline is a spike (about one false alarm in
/// ten million route-windows).
const LN_SURPRISE: f64 = -13.0;
/// Fewest 5xx responses in a window that make a spike.
pub const MIN_ERRORS: u64 = 5;
/// Fewest requests (outside the window) that make a baseline.
pub(super) const MIN_BASE_REQUESTS: f64 = 30.0;
/// Weight of the prior error rate, in requests.
pub(super) const PRIOR_WEIGHT: f64 = 50.0;
/// Standard score of a shift of the typical (log) response time that is a regression.
const LATENCY_Z: f64 = 6.0;
/// Least slowdown of the typical response time that matters (ms).
const MIN_SLOWDOWN_MS: f64 = 25.0;
/// Least spread of log response times assumed (a route whose times never vary is not
/// infinitely sure of itself).
const MIN_SD_LN: f64 = 0.25;

/// The baseline 5xx rate of `w` when its errors are a spike against it: far more failures
/// than the minutes outside the window make likely, and a clearly higher rate.
pub fn error_spike(w: &Window, prior: f64) -> Option<f64> {
    if w.base_n < MIN_BASE_REQUESTS || w.e5 < MIN_ERRORS {
        return None;
    }
    let p0 = ((w.base_e5 + prior * PRIOR_WEIGHT) / (w.base_n + PRIOR_WEIGHT)).max(0.001);
    let rate = w.e5 as f64 / w.n as f64;
    (rate >= (3.0 * p0).max(p0 + 0.02) && ln_poisson_tail(w.e5, w.n as f64 * p0) <= LN_SURPRISE)
        .then_some(p0)
}

/// A slowdown: typical (geometric mean) and average response times, now and usual (ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slowdown {
    /// Typical response time in the window.
    pub typical: f64,
    /// Typical response time of the baseline.
    pub usual: f64,
    /// Average in the window.
    pub avg: f64,
    /// Average of the baseline.
    pub usual_avg: f64,
}

/// A slowdown of `w` by at least `ratio` that its baseline's spread cannot explain.
pub fn slowdown(w: &Window, ratio: f64) -> Option<Slowdown> {
    let min_n = if w.minutes <= 2 { 8 } else { 20 };
    if w.base_lat.n < 50.0 || w.lat.n < min_n {
        return None;
    }
    let now = w.lat.scaled(1.0);
    let d = now.mean_ln() - w.base_lat.mean_ln();
    let sd = w.base_lat.sd_ln().max(MIN_SD_LN);
    let z = d / (sd / (w.lat.n as f64).sqrt());
    let (typical, usual) = (now.mean_ln().exp(), w.base_lat.mean_ln().exp());
    (z >= LATENCY_Z && typical >= ratio * usual && typical - usual >= MIN_SLOWDOWN_MS).then(|| {
        Slowdown {
            typical,
            usual,
            avg: now.avg_ms(),
            usual_avg: w.base_lat.avg_ms(),
        }
    })
}

/// Severity of an error spike: by the share of all traffic that failed beyond the baseline,
/// and by how much of the route fails.
fn error_severity(rate: f64, share: f64) -> Severity {
    if share >= 0.05 {
        Severity::Critical
    } else if share >= 0.005 || rate >= 0.2 {
        Severity::Warning
    } else {
        Severity::Info
    }
}

/// Severity of a slowdown: by the share of traffic slowed and by how much.
fn latency_severity(share: f64, ratio: f64) -> Severity {
    if share >= 0.25 && ratio >= 3.0 {
        Severity::Critical
    } else if share >= 0.02 || ratio >= 5.0 {
        Severity::Warning
    } else {
        Severity::Info
    }
}

/// The site's requests in the window of `minutes` (or `fallback` when the site has no such
/// window yet).
pub(super) fn site_requests(site: &[Window], minutes: usize, fallback: u64) -> f64 {
    site.iter()
        .find(|w| w.minutes == minutes)
        .map_or(fallback, |w| w.n)
        .max(1) as f64
}

/// What an open incident of a history needs to go on, from its newest five minutes: a 5xx
/// rate, a typical log response time.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Ongoing {
    errors: Option<f64>,
    /// The level to stay above, and the usual typical time (ms).
    ln_latency: Option<(f64, f64)>,
}

/// How many times the running 5xx rate a minute needs to be looked at (an incident needs
/// twice its baseline's).
const GATE_ERRORS: f64 = 1.5;
/// How far below the running typical time (ln) a minute may be and still be looked at.
const GATE_MARGIN: f64 = 0.1;

/// Minutes an open incident is judged on.
const ONGOING_MINUTES: usize = 5;

impl Ongoing {
    /// From the incidents open on `route`: a third of the way from the baseline to the
    /// worst seen (for response times, in log terms).
    pub(super) fn of(
        open: &BTreeMap<(AnomalyKind, String), super::Anomaly>,
        route: &str,
    ) -> Ongoing {
        if open.is_empty() {
            return Ongoing::default();
        }
        let get = |kind| {
            open.get(&(kind, route.to_owned()))
                .map(|a| (a.evidence["baseline"], a.evidence["peak"]))
        };
        Ongoing {
            errors: get(AnomalyKind::ErrorSpike).map(|(p0, p1)| p0 + (p1 - p0) / 3.0),
            ln_latency: get(AnomalyKind::LatencyRegression).map(|(usual, t)| {
                let (u, t) = (usual.max(0.01).ln(), t.max(0.01).ln());
                (u + (t - u) / 3.0, usual)
            }),
        }
    }
}

/// An error spike found in window `w` against the baseline rate `p0`, from `onset` minutes
/// back.
fn error_hit(route: &str, start_ms: i64, w: &Window, p0: f64, site: &[Window]) -> Hit {
    let rate = w.e5 as f64 / w.n.max(1) as f64;
    let excess = (w.e5 as f64 - w.n as f64 * p0).max(0.0);
    let share = excess / site_requests(site, w.minutes, w.n);
    Hit {
        kind: AnomalyKind::ErrorSpike,
        severity: error_severity(rate, share),
        route: route.to_owned(),
        client: None,
        start_ms,
        evidence: vec![
            ("now", rate),
            ("baseline", p0),
            ("requests", w.n as f64),
            ("errors", w.e5 as f64),
            ("window_min", w.minutes as f64),
            ("share", share),
        ],
    }
}

/// A slowdown `s` found in window `w`.
fn latency_hit(route: &str, start_ms: i64, w: &Window, s: Slowdown, site: &[Window]) -> Hit {
    let share = w.n as f64 / site_requests(site, w.minutes, w.n);
    let ratio = s.typical / s.usual;
    Hit {
        kind: AnomalyKind::LatencyRegression,
        severity: latency_severity(share, ratio),
        route: route.to_owned(),
        client: None,
        start_ms,
        evidence: vec![
            ("now", s.typical),
            ("baseline", s.usual),
            ("ratio", ratio),
            ("avg_ms", s.avg),
            ("baseline_avg_ms", s.usual_avg),
            ("window_min", w.minutes as f64),
            ("share", share),
        ],
    }
}

/// Errors, then response times, of one history: whether an open incident goes on, or
/// whether a window departs from its baseline (the newest minute still showing it, or a
/// long window would keep finding an incident for an hour after it ended).
pub(super) fn judge(
    h: &mut History,
    route: &str,
    t_ms: i64,
    ongoing: Ongoing,
    cfg: (f64, f64),
    site: &[Window],
) -> (Option<Hit>, Option<Hit>) {
    let (prior, ratio) = cfg;
    // Summing the windows is the costly part: only when the newest minute could open an
    // incident (more 5xx than the running rate, or a typical time well above the running
    // typical; an incident needs twice the baseline in its newest minute).
    let newest = h.last().copied().unwrap_or_default();
    let may_fail = ongoing.errors.is_none()
        && newest.e5 > 0
        && newest.e5 as f64 > GATE_ERRORS * newest.n as f64 * h.error_rate;
    let may_slow = ongoing.ln_latency.is_none()
        && newest.lat.n > 0
        && h.typical_ln.is_none_or(|t| {
            newest.lat.sum_ln / newest.lat.n as f64 >= t + ratio.ln() / 2.0 - GATE_MARGIN
        });
    let windows = if may_fail || may_slow {
        h.windows()
    } else {
        Vec::new()
    };
    // Whether an open incident goes on: summed only when one is open.
    let recent = if ongoing.errors.is_some() || ongoing.ln_latency.is_some() {
        h.recent(ONGOING_MINUTES)
    } else {
        Window::default()
    };
    let start = |onset: usize| t_ms - onset as i64 * MINUTE_MS;
    let err = match ongoing.errors {
        Some(at) => {
            (recent.e5 > 0 && recent.e5 as f64 >= at * recent.n as f64).then_some((0, recent, 0.0))
        }
        None => {
            let failing = |c: &Cell, p0: f64| c.e5 > 0 && c.e5 as f64 > 2.0 * c.n as f64 * p0;
            windows
                .iter()
                .find_map(|w| error_spike(w, prior).map(|p0| (*w, p0)))
                .filter(|(_, p0)| h.last().is_some_and(|c| failing(c, *p0)))
                .map(|(w, p0)| (h.onset(w.minutes, |c| failing(c, p0)), w, p0))
        }
    };
    let err = err.map(|(onset, w, p0)| {
        h.flag(onset + 1);
        error_hit(route, start(onset), &w, p0, site)
    });
    let lat = match ongoing.ln_latency {
        Some((at, usual)) => {
            let now = recent.lat.scaled(1.0);
            (recent.lat.n > 0 && now.mean_ln() >= at).then(|| {
                let s = Slowdown {
                    typical: now.mean_ln().exp(),
                    usual,
                    avg: now.avg_ms(),
                    usual_avg: 0.0,
                };
                (0, recent, s)
            })
        }
        None => {
            let slow = |c: &Cell, w: &Window| {
                c.lat.n > 0
                    && c.lat.sum_ln / c.lat.n as f64 >= w.base_lat.mean_ln() + ratio.ln() / 2.0
            };
            windows
                .iter()
                .find_map(|w| slowdown(w, ratio).map(|s| (*w, s)))
                .filter(|(w, _)| h.last().is_some_and(|c| slow(c, w)))
                .map(|(w, s)| (h.onset(w.minutes, |c| slow(c, &w)), w, s))
        }
    };
    let lat = lat.map(|(onset, w, s)| {
        h.flag(onset + 1);
        latency_hit(route, start(onset), &w, s, site)
    });
    (err, lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::detect::stats::LogStats;

    fn times(pairs: &[(u64, u64)]) -> LogStats {
        let mut s = LogStats::default();
        for &(n, us) in pairs {
            for _ in 0..n {
                s.record_us(us);
            }
        }
        s
    }

    /// 1,000 requests with 10 failures before; 100 in the window. With the prior (0.5 % at
    /// a weight of 50) the baseline rate is 10.25 / 1,050, so 0.98 failures are expected:
    /// 8 or more has a chance of 8.6e-6 (ln -11.7, not enough), 9 or more 9.3e-7 (ln -13.9).
    #[test]
    fn an_error_spike_is_found_just_above_its_threshold_and_not_below() {
        let w = |e5| Window {
            minutes: 5,
            n: 100,
            e5,
            base_n: 1000.0,
            base_e5: 10.0,
            ..Window::default()
        };
        assert_eq!(error_spike(&w(8), 0.005), None);
        let p0 = error_spike(&w(9), 0.005).expect("a spike");
        assert!((p0 - 10.25 / 1050.0).abs() < 1e-12);
        // Fewer than five failures are never a spike, however unlikely.
        let tiny = Window {
            base_e5: 0.0,
            base_n: 100_000.0,
            ..w(4)
        };
        assert_eq!(error_spike(&tiny, 0.005), None);
    }

    /// A baseline typical of 30 ms (20 and 45 ms, a spread of ln 1.5) and 20 requests in
    /// the window: twice the typical time is a regression (a standard score of 7.6), just
    /// under twice is not.
    #[test]
    fn a_slowdown_is_found_at_twice_the_typical_time_and_not_below() {
        let w = |f: f64| Window {
            minutes: 5,
            n: 20,
            lat: times(&[(10, (20_000.0 * f) as u64), (10, (45_000.0 * f) as u64)]),
            base_lat: times(&[(100, 20_000), (100, 45_000)]).scaled(1.0),
            ..Window::default()
        };
        assert_eq!(slowdown(&w(1.95), 2.0), None);
        let s = slowdown(&w(2.05), 2.0).expect("a slowdown");
        assert!(
            (s.usual - 30.0).abs() < 0.01 && (s.typical - 61.5).abs() < 0.01,
            "{s:?}"
        );
        // A fast route twice as slow by a few milliseconds is not worth an incident.
        let fast = Window {
            lat: times(&[(20, 4_000)]),
            base_lat: times(&[(200, 1_500)]).scaled(1.0),
            ..w(1.0)
        };
        assert_eq!(slowdown(&fast, 2.0), None);
    }

    #[test]
    fn poisson_tail_matches_known_values() {
        // P(X >= 1 | 1) = 1 - e^-1; P(X >= 3 | 0.5) = 0.01439.
        assert!((ln_poisson_tail(1, 1.0).exp() - (1.0 - (-1.0f64).exp())).abs() < 1e-9);
        assert!((ln_poisson_tail(3, 0.5).exp() - 0.014_387_6).abs() < 1e-6);
        assert_eq!(ln_poisson_tail(0, 3.0), 0.0);
        assert!(ln_poisson_tail(40, 0.1) < LN_SURPRISE);
    }
}
