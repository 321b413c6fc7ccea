//! The checks run on every closed minute: scanners, site traffic, each route's errors and
//! response times (judged in `judge`), the site's, new failing routes and the bot share.

use super::frame::{ClientMinute, Frame, MINUTE_MS};
use super::history::{Cell, History, Window};
use super::judge::{MIN_BASE_REQUESTS, MIN_ERRORS, Ongoing, PRIOR_WEIGHT, judge, site_requests};
use super::traffic::Finding;
use super::{AnomalyKind, Detector, Hit};
use crate::severity::Severity;

impl Detector {
    /// Clients with many 404s (at least 30 a minute) over many distinct paths in the last
    /// two minutes.
    pub(super) fn scanners(&self, f: &Frame, hits: &mut Vec<Hit>) -> Vec<u64> {
        let mut out = Vec::new();
        let prev = self.prev.as_ref().map(|p| &p.clients);
        for (client, c) in &f.clients {
            let p = prev.and_then(|p| p.get(client));
            // Most failing clients are far from a scanner's count: no copy of their paths.
            if c.not_found + p.map_or(0, |p| p.not_found) < SCANNER_NOT_FOUND {
                continue;
            }
            let mut both = c.clone();
            if let Some(p) = p {
                both.merge(p);
            }
            if let Some(hit) = scanner_hit(*client, &both, f.t_ms) {
                out.push(*client);
                hits.push(hit);
            }
        }
        out
    }

    /// Surges, drops and silence of the site's traffic (scanners left out).
    pub(super) fn traffic(&mut self, f: &Frame, scanners: &[u64], hits: &mut Vec<Hit>) {
        let r = f.requests_without(scanners);
        if let Some(found) = self.traffic.observe(f.t_ms, r, &self.config) {
            hits.push(traffic_hit(&found, f.t_ms));
        }
    }

    /// Error spikes, new failing routes and slowdowns per route; returns whether any route
    /// had an error spike, and whether any slowed down.
    pub(super) fn routes(
        &mut self,
        f: &Frame,
        site: &[Window],
        hits: &mut Vec<Hit>,
    ) -> (bool, bool) {
        let (mut any_err, mut any_lat) = (false, false);
        let prior = Self::site_prior(site);
        let (minute, warmup) = (self.minutes, self.config.warmup_minutes);
        let ratio = self.config.latency_ratio;
        for (name, rm) in &f.routes {
            if name == crate::aggregate::capped::OTHER {
                continue;
            }
            let ongoing = Ongoing::of(&self.open, name);
            let h = self
                .routes
                .entry_ref(name.as_str())
                .or_insert_with(|| History::new(minute));
            h.push(minute, cell(rm.requests, rm.errors_5xx, rm.stats));
            let (err, lat) = judge(h, name, f.t_ms, ongoing, (prior, ratio), site);
            let err = err.or_else(|| {
                (minute >= warmup && h.first_minute >= warmup)
                    .then(|| new_route_failing(h, name, f.t_ms, site))
                    .flatten()
            });
            any_err |= err.is_some();
            any_lat |= lat.is_some();
            hits.extend(err.into_iter().chain(lat));
        }
        (any_err, any_lat)
    }

    /// The site's error rate before the window under test (`site`: its windows), as the
    /// prior of a route's.
    fn site_prior(site: &[Window]) -> f64 {
        site.first()
            .map_or(0.005, |w| {
                (w.base_e5 + 0.005 * PRIOR_WEIGHT) / (w.base_n + PRIOR_WEIGHT)
            })
            .clamp(0.002, 0.05)
    }

    /// Site-wide error rate and response times, when no single route explains them.
    pub(super) fn site(
        &mut self,
        t_ms: i64,
        site: &[Window],
        (route_err, route_lat): (bool, bool),
        hits: &mut Vec<Hit>,
    ) {
        if self.minutes < self.config.warmup_minutes {
            return;
        }
        let cfg = (0.005, self.config.latency_ratio);
        let ongoing = Ongoing::of(&self.open, "");
        let (err, lat) = judge(&mut self.site, "", t_ms, ongoing, cfg, site);
        if !route_err {
            hits.extend(err);
        }
        if !route_lat {
            hits.extend(lat);
        }
    }

    /// The share of automated requests, high for [`BOT_MINUTES`] minutes in a row (a
    /// crawler's burst of a minute or two is usual).
    pub(super) fn bot_share(&mut self, f: &Frame, hits: &mut Vec<Hit>) {
        let (b, n) = (f.bots as f64, f.requests as f64);
        let p0 = self.bots.rate(0.1);
        let warm = self.minutes >= self.config.warmup_minutes * 3;
        let high = warm
            && n >= 25.0
            && b / n >= p0 + 0.25
            && b / n >= 2.0 * p0
            && z_binomial(b, n, p0) >= 4.0;
        if !high {
            self.bot_run = 0;
            self.bots.add(f.bots, f.requests);
            return;
        }
        self.bot_run += 1;
        if self.bot_run >= BOT_MINUTES {
            hits.push(Hit {
                kind: AnomalyKind::BotSurge,
                severity: Severity::Info,
                route: String::new(),
                client: None,
                start_ms: f.t_ms - i64::from(BOT_MINUTES - 1) * MINUTE_MS,
                evidence: vec![("now", b / n), ("baseline", p0)],
            });
        }
    }
}

/// Minutes in a row of a high bot share that make a bot surge.
const BOT_MINUTES: u32 = 4;

fn z_binomial(e: f64, n: f64, p: f64) -> f64 {
    (e - n * p) / (n * p * (1.0 - p)).max(1e-9).sqrt()
}

/// One minute of one route, as its history keeps it.
pub(super) fn cell(n: u64, e5: u64, lat: super::stats::LogStats) -> Cell {
    Cell {
        n,
        e5,
        lat,
        flagged: false,
    }
}

/// A client with many 404s over many distinct paths in two minutes.
/// 404 responses to one client in two minutes that make it a scanner (with
/// [`SCANNER_PATHS`] distinct paths).
const SCANNER_NOT_FOUND: u64 = 60;
/// See [`SCANNER_NOT_FOUND`].
const SCANNER_PATHS: usize = 10;

fn scanner_hit(client: u64, c: &ClientMinute, t_ms: i64) -> Option<Hit> {
    (c.not_found >= SCANNER_NOT_FOUND && c.routes.len() >= SCANNER_PATHS).then(|| Hit {
        kind: AnomalyKind::Scanner,
        severity: Severity::Warning,
        route: String::new(),
        client: Some(client),
        start_ms: t_ms,
        evidence: vec![
            ("now", c.not_found as f64 / 2.0),
            ("baseline", 0.0),
            ("distinct_paths", c.routes.len() as f64),
        ],
    })
}

/// A route first seen after the warm-up, without a baseline yet, that mostly fails.
fn new_route_failing(h: &History, route: &str, t_ms: i64, site: &[Window]) -> Option<Hit> {
    let w = match h.windows().last() {
        Some(w) => *w,
        None => {
            let c = h.last()?;
            Window {
                minutes: 1,
                n: c.n,
                e5: c.e5,
                ..Window::default()
            }
        }
    };
    let rate = w.e5 as f64 / w.n.max(1) as f64;
    (w.base_n < MIN_BASE_REQUESTS && w.e5 >= MIN_ERRORS && rate >= 0.5).then(|| {
        let share = w.e5 as f64 / site_requests(site, w.minutes, w.n);
        Hit {
            kind: AnomalyKind::NewRouteFailing,
            severity: if share >= 0.05 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            route: route.to_owned(),
            client: None,
            start_ms: t_ms - h.onset(w.minutes, |c| c.e5 > 0) as i64 * MINUTE_MS,
            evidence: vec![
                ("now", rate),
                ("baseline", 0.0),
                ("requests", w.n as f64),
                ("share", share),
            ],
        }
    })
}

/// The hit of a traffic finding in the minute starting at `t_ms`; severity by size and
/// length.
pub(super) fn traffic_hit(f: &Finding, t_ms: i64) -> Hit {
    let ratio = f.now / f.expected.max(1e-9);
    let severity = match f.kind {
        AnomalyKind::SiteQuiet if f.quiet_minutes >= 5 => Severity::Critical,
        AnomalyKind::TrafficDrop if ratio <= 0.1 => Severity::Critical,
        AnomalyKind::TrafficSurge if ratio < 3.0 => Severity::Info,
        _ => Severity::Warning,
    };
    let mut evidence = vec![("now", f.now), ("baseline", f.expected), ("ratio", ratio)];
    if f.kind == AnomalyKind::SiteQuiet {
        evidence.push(("quiet_minutes", f.quiet_minutes as f64));
    }
    Hit {
        kind: f.kind,
        severity,
        route: String::new(),
        client: None,
        start_ms: t_ms - f.onset as i64 * MINUTE_MS,
        evidence,
    }
}
