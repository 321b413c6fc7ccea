//! Anomaly detection over per-minute frames: baselines per route and for the whole site
//! (decayed rates, EWMA of log latencies, a traffic level with the hour-of-day profile),
//! and incidents that open when a minute departs from them and resolve when it no longer
//! does. Pure: frames in, events out; time is the data's.

pub mod baseline;
pub mod frame;
pub mod score;

use crate::insights::Severity;
use baseline::{LatencyBaseline, RateBaseline, Season};
use frame::{Frame, MINUTE_MS};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What kind of incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// A route's (or the site's) 5xx rate far above its baseline.
    ErrorSpike,
    /// A route's (or the site's) p95 far above its baseline.
    LatencyRegression,
    /// Far more requests than expected.
    TrafficSurge,
    /// Far fewer requests than expected.
    TrafficDrop,
    /// No requests at all where many were expected.
    SiteQuiet,
    /// A route not seen before that mostly fails.
    NewRouteFailing,
    /// One client requesting many missing paths.
    Scanner,
    /// The share of automated traffic jumped.
    BotSurge,
}

/// An incident: open while the minutes keep departing from the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// What it is.
    pub kind: AnomalyKind,
    /// How much it matters.
    pub severity: Severity,
    /// The route, or empty for the whole site.
    pub route: String,
    /// The client address hash (scanners).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<u64>,
    /// Start of the first minute that showed it (UTC ms).
    pub start_ms: i64,
    /// When it was first detected: the end of that minute.
    pub detected_ms: i64,
    /// End of the last minute that showed it.
    pub last_ms: i64,
    /// Set once it is over.
    pub end_ms: Option<i64>,
    /// The numbers: `baseline` and `now` always, more by kind; `peak` is the worst `now`.
    pub evidence: BTreeMap<String, f64>,
}

/// An incident opening or ending.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// First detected.
    Opened(Anomaly),
    /// Not seen for a few minutes.
    Resolved(Anomaly),
}

/// Thresholds of the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Minutes of data before site-wide traffic is judged.
    pub warmup_minutes: u64,
    /// Quiet minutes after which an incident is over.
    pub resolve_after_minutes: i64,
    /// Traffic ratio (now / expected) that is a surge.
    pub surge_ratio: f64,
    /// Traffic ratio below which it is a drop.
    pub drop_ratio: f64,
    /// p95 ratio (now / baseline) that is a latency regression.
    pub latency_ratio: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            warmup_minutes: 10,
            resolve_after_minutes: 3,
            surge_ratio: 2.0,
            drop_ratio: 0.4,
            latency_ratio: 2.0,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RouteBase {
    errors: RateBaseline,
    latency: LatencyBaseline,
    requests: u64,
    first_minute: u64,
    last_minute: u64,
}

/// Routes tracked; the least recently seen go first beyond this.
const MAX_ROUTES: usize = 5_000;
/// Standard scores that count as a departure (errors, traffic).
const ERROR_Z: f64 = 4.5;
const TRAFFIC_Z: f64 = 6.0;

/// The detector's memory: baselines and open incidents (saved with the live state, so a
/// restart keeps its baselines).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Detector {
    #[serde(skip)]
    config: DetectorConfig,
    minutes: u64,
    prev: Option<Frame>,
    level: Option<f64>,
    season: Season,
    site_errors: RateBaseline,
    site_latency: LatencyBaseline,
    bots: RateBaseline,
    routes: HashMap<String, RouteBase>,
    #[serde(with = "open_incidents")]
    open: BTreeMap<(AnomalyKind, String), Anomaly>,
    quiet: u32,
}

/// Open incidents are saved as a list (JSON keys must be strings).
mod open_incidents {
    use super::{Anomaly, AnomalyKind};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<(AnomalyKind, String), Anomaly>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        m.iter().collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<(AnomalyKind, String), Anomaly>, D::Error> {
        Ok(Vec::<((AnomalyKind, String), Anomaly)>::deserialize(d)?
            .into_iter()
            .collect())
    }
}

/// Everything detection keeps between minutes: open frames, the detector, and the recent
/// incidents listed in the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DetectionState {
    /// Minutes not yet closed.
    pub frames: frame::Frames,
    /// Baselines and open incidents.
    pub detector: Detector,
    /// Incidents listed in the report (open, and resolved within the last hour).
    pub incidents: Vec<Anomaly>,
    /// Time of the newest request seen (UTC ms).
    pub newest_ms: Option<i64>,
}

/// A departure seen in one minute.
struct Hit {
    kind: AnomalyKind,
    severity: Severity,
    route: String,
    client: Option<u64>,
    evidence: Vec<(&'static str, f64)>,
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
    /// Uses `config` from now on (after a restore).
    pub fn set_config(&mut self, config: DetectorConfig) {
        self.config = config;
    }

    /// A detector with `config`.
    pub fn new(config: DetectorConfig) -> Self {
        Detector {
            config,
            ..Detector::default()
        }
    }

    /// Incidents open now, oldest first.
    pub fn open(&self) -> Vec<&Anomaly> {
        let mut v: Vec<_> = self.open.values().collect();
        v.sort_by_key(|a| (a.start_ms, a.kind));
        v
    }

    /// Looks at the next minute (frames must come in time order, one per minute).
    pub fn observe(&mut self, f: Frame) -> Vec<Event> {
        if self
            .prev
            .as_ref()
            .is_some_and(|p| f.t_ms - p.t_ms > MINUTE_MS)
        {
            // A gap in the data: the last minute is no neighbour of this one.
            self.prev = None;
        }
        let mut window = f.clone();
        if let Some(p) = &self.prev {
            window.merge(p);
        }
        let mut hits = Vec::new();
        let scanners = self.scanners(&window, &mut hits);
        self.traffic(&f, &scanners, &mut hits);
        let route_errors = self.routes(&f, &window, &mut hits);
        self.site(&f, &window, route_errors, &mut hits);
        if scanners.is_empty() {
            self.bot_share(&f, &window, &mut hits);
        }
        self.minutes += 1;
        let mut events = Vec::new();
        let end = f.t_ms + MINUTE_MS;
        for h in hits {
            self.fire(h, f.t_ms, end, &mut events);
        }
        let stale = end - (self.config.resolve_after_minutes + 1) * MINUTE_MS;
        let over: Vec<_> = self
            .open
            .iter()
            .filter(|(_, a)| a.last_ms <= stale)
            .map(|(k, _)| k.clone())
            .collect();
        for k in over {
            let mut a = self.open.remove(&k).expect("listed above");
            a.end_ms = Some(a.last_ms);
            events.push(Event::Resolved(a));
        }
        self.prune_routes();
        self.prev = Some(f);
        events
    }

    fn fire(&mut self, h: Hit, t_ms: i64, end: i64, events: &mut Vec<Event>) {
        let key = (
            h.kind,
            match h.client {
                Some(c) => format!("{c:016x}"),
                None => h.route.clone(),
            },
        );
        let now = h
            .evidence
            .iter()
            .find(|(k, _)| *k == "now")
            .map_or(0.0, |e| e.1);
        if let Some(a) = self.open.get_mut(&key) {
            a.last_ms = end;
            a.severity = a.severity.max(h.severity);
            let worse = match h.kind {
                AnomalyKind::TrafficDrop | AnomalyKind::SiteQuiet => now < a.evidence["peak"],
                _ => now > a.evidence["peak"],
            };
            if worse {
                a.evidence.insert("peak".into(), now);
            }
            return;
        }
        let mut evidence: BTreeMap<String, f64> = h
            .evidence
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        evidence.insert("peak".into(), now);
        let a = Anomaly {
            kind: h.kind,
            severity: h.severity,
            route: h.route,
            client: h.client,
            start_ms: t_ms,
            detected_ms: end,
            last_ms: end,
            end_ms: None,
            evidence,
        };
        self.open.insert(key, a.clone());
        events.push(Event::Opened(a));
    }

    /// Clients with many 404s (at least 30 a minute) over many distinct paths in the last
    /// two minutes.
    fn scanners(&self, w: &Frame, hits: &mut Vec<Hit>) -> Vec<u64> {
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
    fn traffic(&mut self, f: &Frame, scanners: &[u64], hits: &mut Vec<Hit>) {
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
    fn routes(&mut self, f: &Frame, w: &Frame, hits: &mut Vec<Hit>) -> (bool, bool) {
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
                    let (e, n) = (r.errors_5xx as f64, r.requests as f64);
                    err_hit = true;
                    any_err = true;
                    hits.push(Hit {
                        kind: AnomalyKind::ErrorSpike,
                        severity: if e / n >= 0.2 {
                            Severity::Critical
                        } else {
                            Severity::Warning
                        },
                        route: name.clone(),
                        client: None,
                        evidence: vec![("now", e / n), ("baseline", p0), ("requests", n)],
                    });
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
    fn site(
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
            hits.push(Hit {
                kind: AnomalyKind::ErrorSpike,
                severity: if e / n >= 0.2 {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                route: String::new(),
                client: None,
                evidence: vec![("now", e / n), ("baseline", p0), ("requests", n)],
            });
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
    fn bot_share(&mut self, f: &Frame, w: &Frame, hits: &mut Vec<Hit>) {
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

    fn prune_routes(&mut self) {
        if self.routes.len() <= MAX_ROUTES {
            return;
        }
        let mut ages: Vec<u64> = self.routes.values().map(|r| r.last_minute).collect();
        ages.sort_unstable();
        let cut = ages[ages.len() - MAX_ROUTES * 9 / 10];
        self.routes.retain(|_, r| r.last_minute >= cut);
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

/// Runs detection over batches of requests in time order and returns every incident opened
/// (with its end once resolved): the live path without the clock, for tests and benchmarks.
pub fn replay(
    batches: impl IntoIterator<Item = crate::aggregate::recent::RecordBatch>,
    config: DetectorConfig,
) -> Vec<Anomaly> {
    let mut frames = frame::Frames::default();
    let mut det = Detector::new(config);
    let mut found: Vec<Anomaly> = Vec::new();
    let mut newest = i64::MIN;
    let apply = |events: Vec<Event>, found: &mut Vec<Anomaly>| {
        for e in events {
            match e {
                Event::Opened(a) => found.push(a),
                Event::Resolved(a) => {
                    if let Some(f) = found.iter_mut().rev().find(|f| {
                        f.kind == a.kind
                            && f.start_ms == a.start_ms
                            && f.route == a.route
                            && f.client == a.client
                    }) {
                        *f = a;
                    }
                }
            }
        }
    };
    for b in batches {
        newest = newest.max(b.iter().map(|(r, _)| r.ts_ms).max().unwrap_or(newest));
        frames.add_batch(&b);
        for f in frames.close(newest) {
            let events = det.observe(f);
            apply(events, &mut found);
        }
    }
    for f in frames.close(newest.saturating_add(MINUTE_MS)) {
        let events = det.observe(f);
        apply(events, &mut found);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    use frame::RouteMinute;

    fn frame(i: i64, routes: &[(&str, u64, u64)]) -> Frame {
        let mut f = Frame::empty(i * MINUTE_MS);
        for (name, n, e5) in routes {
            let mut r = RouteMinute {
                requests: *n,
                errors_5xx: *e5,
                ..RouteMinute::default()
            };
            for k in 0..*n {
                r.latency.record(20.0 + (k % 10) as f64);
            }
            f.requests += n;
            f.errors_5xx += e5;
            f.latency.merge(&r.latency);
            f.routes.insert((*name).to_owned(), r);
        }
        f
    }

    fn opened(events: &[Event]) -> Vec<AnomalyKind> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Opened(a) => Some(a.kind),
                Event::Resolved(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_site_that_goes_quiet_is_noticed_and_recovers() {
        let mut d = Detector::default();
        for i in 0..30 {
            assert!(opened(&d.observe(frame(i, &[("/a", 100, 0)]))).is_empty());
        }
        assert!(
            opened(&d.observe(frame(30, &[]))).is_empty(),
            "one quiet minute is not yet an incident"
        );
        assert_eq!(opened(&d.observe(frame(31, &[]))), [AnomalyKind::SiteQuiet]);
        assert!(d.open().iter().any(|a| a.kind == AnomalyKind::SiteQuiet));
        let mut resolved = false;
        for i in 32..40 {
            resolved |= d
                .observe(frame(i, &[("/a", 100, 0)]))
                .iter()
                .any(|e| matches!(e, Event::Resolved(a) if a.kind == AnomalyKind::SiteQuiet));
        }
        assert!(resolved && d.open().is_empty());
    }

    #[test]
    fn a_new_route_that_fails_is_an_incident_of_its_own() {
        let mut d = Detector::default();
        for i in 0..20 {
            d.observe(frame(i, &[("/a", 100, 0)]));
        }
        let events = d.observe(frame(20, &[("/a", 100, 0), ("/api/v2/new", 12, 9)]));
        assert_eq!(opened(&events), [AnomalyKind::NewRouteFailing]);
        // The same incident while it lasts: no second opening.
        let again = d.observe(frame(21, &[("/a", 100, 0), ("/api/v2/new", 12, 10)]));
        assert!(opened(&again).is_empty());
        assert_eq!(d.open().len(), 1);
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
