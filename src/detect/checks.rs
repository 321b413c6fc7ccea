//! The checks run on every closed minute: scanners, traffic (surge, drop, silence), each
//! route's errors and latency, the site's, and the bot share.

use super::baseline::LatencyBaseline;
use super::frame::{self, Frame, MINUTE_MS};
use super::{AnomalyKind, Detector, RouteBase};
use crate::insights::Severity;

/// Standard scores that count as a departure (errors, traffic).
const ERROR_Z: f64 = 4.5;
const TRAFFIC_Z: f64 = 6.0;

/// A departure seen in one minute.
pub(super) struct Hit {
    pub(super) kind: AnomalyKind,
    pub(super) severity: Severity,
    pub(super) route: String,
    pub(super) client: Option<u64>,
    pub(super) evidence: Vec<(&'static str, f64)>,
}

fn z_binomial(e: f64, n: f64, p: f64) -> f64 {
    (e - n * p) / (n * p * (1.0 - p)).max(1e-9).sqrt()
}

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
/// ten million route-minutes).
const LN_SURPRISE: f64 = -13.0;

impl Detector {
    /// Clients with many 404s (at least 30 a minute) over many distinct paths in the last
    /// two minutes.
    pub(super) fn scanners(&self, w: &Frame, hits: &mut Vec<Hit>) -> Vec<u64> {
        let mut out = Vec::new();
        for (client, c) in &w.clients {
            if c.not_found >= 60 && c.routes.len() >= 10 {
                out.push(*client);
                hits.push(Hit {
                    kind: AnomalyKind::Scanner,
                    severity: Severity::Warning,
                    route: String::new(),
                    client: Some(*client),
                    evidence: vec![
                        ("now", c.not_found as f64 / 2.0),
                        ("baseline", 0.0),
                        ("distinct_paths", c.routes.len() as f64),
                    ],
                });
            }
        }
        out
    }

    /// Surges, drops and silence against the traffic level (scanners left out).
    pub(super) fn traffic(&mut self, f: &Frame, scanners: &[u64], hits: &mut Vec<Hit>) {
        let r = f.requests_without(scanners) as f64;
        self.season.add(f.t_ms, r);
        let Some(level) = self.level else {
            if r > 0.0 {
                self.level = Some(r);
            }
            return;
        };
        let expected = (level * self.season.factor(f.t_ms)).max(0.1);
        let z = (r - expected) / expected.max(1.0).sqrt();
        let warm = self.minutes >= self.config.warmup_minutes;
        let mut departed = false;
        let ev = |extra: Vec<(&'static str, f64)>| {
            let mut v = vec![("now", r), ("baseline", expected)];
            v.extend(extra);
            v
        };
        if warm && r == 0.0 && expected >= 5.0 {
            self.quiet += 1;
            departed = true;
            if self.quiet >= 2 {
                hits.push(Hit {
                    kind: AnomalyKind::SiteQuiet,
                    severity: Severity::Critical,
                    route: String::new(),
                    client: None,
                    evidence: ev(vec![("quiet_minutes", f64::from(self.quiet))]),
                });
            }
        } else {
            self.quiet = 0;
        }
        if warm && r >= self.config.surge_ratio * expected && z >= TRAFFIC_Z {
            departed = true;
            hits.push(Hit {
                kind: AnomalyKind::TrafficSurge,
                severity: Severity::Warning,
                route: String::new(),
                client: None,
                evidence: ev(vec![("ratio", r / expected)]),
            });
        }
        if warm
            && expected >= 20.0
            && r <= self.config.drop_ratio * expected
            && z <= -TRAFFIC_Z
            && r > 0.0
        {
            departed = true;
            let severity = if r <= 0.1 * expected {
                Severity::Critical
            } else {
                Severity::Warning
            };
            hits.push(Hit {
                kind: AnomalyKind::TrafficDrop,
                severity,
                route: String::new(),
                client: None,
                evidence: ev(vec![("ratio", r / expected)]),
            });
        }
        // A departure that lasts half an hour is the new normal.
        let long = self.open.values().any(|a| {
            matches!(a.kind, AnomalyKind::TrafficSurge | AnomalyKind::TrafficDrop)
                && f.t_ms - a.start_ms >= 30 * MINUTE_MS
        });
        if !departed || long {
            self.level = Some(level + 0.15 * (r - level));
        }
    }

    /// Error spikes, new failing routes and latency regressions per route; returns whether
    /// any route had an error spike or a latency regression.
    pub(super) fn routes(&mut self, f: &Frame, w: &Frame, hits: &mut Vec<Hit>) -> (bool, bool) {
        let (mut any_err, mut any_lat) = (false, false);
        let site_p = self.site_errors.rate(0.005);
        let minute = self.minutes;
        for (name, rw) in &w.routes {
            if name == crate::aggregate::capped::OTHER {
                continue;
            }
            let base = self
                .routes
                .entry(name.clone())
                .or_insert_with(|| RouteBase {
                    first_minute: minute,
                    ..RouteBase::default()
                });
            base.last_minute = minute;
            let (e, n) = (rw.errors_5xx as f64, rw.requests as f64);
            let p0 = base.errors.rate(site_p.min(0.05)).max(0.002);
            let last = f.routes.get(name);
            // The last two minutes, or the last one alone (an incident that began late in
            // the minute before shows there first).
            let spiking = [Some(rw), last]
                .into_iter()
                .flatten()
                .find(|r| error_spike(r, p0));
            let mut err_hit = false;
            if base.requests >= 30 {
                if let Some(r) = spiking {
                    err_hit = true;
                    any_err = true;
                    hits.push(error_spike_hit(name, r.errors_5xx, r.requests, p0));
                }
            } else if minute >= self.config.warmup_minutes
                && base.first_minute >= self.config.warmup_minutes
                && e >= 5.0
                && e / n >= 0.5
            {
                err_hit = true;
                any_err = true;
                hits.push(Hit {
                    kind: AnomalyKind::NewRouteFailing,
                    severity: Severity::Critical,
                    route: name.clone(),
                    client: None,
                    evidence: vec![("now", e / n), ("baseline", 0.0), ("requests", n)],
                });
            }
            let ratio = self.config.latency_ratio;
            let lat_hit = latency_hit(&base.latency, &rw.latency, ratio, 8)
                .or_else(|| last.and_then(|r| latency_hit(&base.latency, &r.latency, ratio, 8)));
            if let Some(ev) = &lat_hit {
                any_lat = true;
                hits.push(Hit {
                    kind: AnomalyKind::LatencyRegression,
                    severity: Severity::Warning,
                    route: name.clone(),
                    client: None,
                    evidence: ev.clone(),
                });
            }
            if let Some(rf) = f.routes.get(name) {
                base.requests += rf.requests;
                if !err_hit {
                    base.errors.add(rf.errors_5xx, rf.requests);
                }
            }
            if lat_hit.is_none() && rw.latency.count() >= 5 {
                base.latency.add(&rw.latency);
            }
        }
        (any_err, any_lat)
    }

    /// Site-wide error rate and latency, when no single route explains them.
    pub(super) fn site(
        &mut self,
        f: &Frame,
        w: &Frame,
        (route_err, route_lat): (bool, bool),
        hits: &mut Vec<Hit>,
    ) {
        let (e, n) = (w.errors_5xx as f64, w.requests as f64);
        let p0 = self.site_errors.rate(0.005).max(0.001);
        let warm = self.minutes >= self.config.warmup_minutes;
        let spike =
            warm && e >= 5.0 && e / n >= (3.0 * p0).max(0.05) && z_binomial(e, n, p0) >= ERROR_Z;
        if spike && !route_err {
            hits.push(error_spike_hit("", w.errors_5xx, w.requests, p0));
        }
        if !spike {
            self.site_errors.add(f.errors_5xx, f.requests);
        }
        let lat = latency_hit(
            &self.site_latency,
            &w.latency,
            self.config.latency_ratio,
            20,
        );
        match lat {
            Some(ev) if warm && !route_lat => hits.push(Hit {
                kind: AnomalyKind::LatencyRegression,
                severity: Severity::Warning,
                route: String::new(),
                client: None,
                evidence: ev,
            }),
            Some(_) => {}
            None if w.latency.count() >= 5 => self.site_latency.add(&w.latency),
            None => {}
        }
    }

    /// The share of automated requests.
    pub(super) fn bot_share(&mut self, f: &Frame, w: &Frame, hits: &mut Vec<Hit>) {
        let (b, n) = (w.bots as f64, w.requests as f64);
        let p0 = self.bots.rate(0.1);
        let warm = self.minutes >= self.config.warmup_minutes * 3;
        if warm
            && n >= 50.0
            && b / n >= p0 + 0.25
            && b / n >= 2.0 * p0
            && z_binomial(b, n, p0) >= 6.0
        {
            hits.push(Hit {
                kind: AnomalyKind::BotSurge,
                severity: Severity::Info,
                route: String::new(),
                client: None,
                evidence: vec![("now", b / n), ("baseline", p0)],
            });
        } else {
            self.bots.add(f.bots, f.requests);
        }
    }
}

/// An error spike on `route` (empty: the site): `errors` of `requests` failed where the
/// baseline rate is `p0`; critical from 20 % up.
fn error_spike_hit(route: &str, errors: u64, requests: u64, p0: f64) -> Hit {
    let rate = errors as f64 / requests as f64;
    Hit {
        kind: AnomalyKind::ErrorSpike,
        severity: if rate >= 0.2 {
            Severity::Critical
        } else {
            Severity::Warning
        },
        route: route.to_owned(),
        client: None,
        evidence: vec![
            ("now", rate),
            ("baseline", p0),
            ("requests", requests as f64),
        ],
    }
}

/// Whether a route's 5xx count is far too high for its baseline rate `p0`.
fn error_spike(r: &frame::RouteMinute, p0: f64) -> bool {
    let (e, n) = (r.errors_5xx as f64, r.requests as f64);
    e >= 3.0 && e / n >= (4.0 * p0).max(0.1) && ln_poisson_tail(r.errors_5xx, n * p0) <= LN_SURPRISE
}

/// Evidence of a latency regression of `now` against `base`, if there is one.
fn latency_hit(
    base: &LatencyBaseline,
    now: &crate::aggregate::latency::Latency,
    ratio: f64,
    min_count: u64,
) -> Option<Vec<(&'static str, f64)>> {
    let (b50, b95) = base.get()?;
    if now.count() < min_count {
        return None;
    }
    let (p50, p95) = (now.quantile(0.5)?, now.quantile(0.95)?);
    (p95 >= ratio * b95 && p95 - b95 >= 50.0 && p50 >= 0.9 * ratio * b50).then(|| {
        vec![
            ("now", p95),
            ("baseline", b95),
            ("p50_ms", p50),
            ("baseline_p50_ms", b50),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_tail_matches_known_values() {
        // P(X >= 1 | 1) = 1 - e^-1; P(X >= 3 | 0.5) = 0.01439.
        assert!((ln_poisson_tail(1, 1.0).exp() - (1.0 - (-1.0f64).exp())).abs() < 1e-9);
        assert!((ln_poisson_tail(3, 0.5).exp() - 0.014_387_6).abs() < 1e-6);
        assert_eq!(ln_poisson_tail(0, 3.0), 0.0);
        assert!(ln_poisson_tail(40, 0.1) < LN_SURPRISE);
    }
}
