//! Anomaly detection over per-minute frames, in the data's time: each route's and the
//! site's errors and response times tested over windows of 2 to 60 minutes against the
//! minutes outside the window, the site's traffic against its last two hours, silences and
//! gaps inside the data, scanners and the bot share. Incidents open when a window departs
//! and resolve when none has for a few minutes. Pure: frames in, events out.

pub mod baseline;
mod checks;
pub mod history;
mod judge;
mod migrate;

/// The per-minute frames detection looks at (an aggregate, built while counting).
pub use crate::aggregate::frame;
/// Response times as detection sees them.
pub use crate::aggregate::logstats as stats;
pub mod score;
pub mod traffic;

use crate::severity::Severity;
use baseline::RateBaseline;
use frame::{Frame, MINUTE_MS};
use history::History;
pub use judge::{MIN_ERRORS, Slowdown, error_spike, ln_poisson_tail, slowdown};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// A departure seen in one minute.
pub(super) struct Hit {
    pub(super) kind: AnomalyKind,
    pub(super) severity: Severity,
    pub(super) route: String,
    pub(super) client: Option<u64>,
    /// Start of the first minute that showed it.
    pub(super) start_ms: i64,
    pub(super) evidence: Vec<(&'static str, f64)>,
}

/// What an incident is about: its kind, and its route — or its client, for a scanner. While
/// one is open, a finding about the same subject continues it.
pub type Subject = (AnomalyKind, String);

/// The subject of a finding of `kind` about `route` or `client`: the one rule that tells
/// incidents apart, in live runs, replays, `analyze` and alerting.
fn subject_of(kind: AnomalyKind, route: &str, client: Option<u64>) -> Subject {
    match client {
        Some(c) => (kind, format!("client {c:016x}")),
        None => (kind, route.to_owned()),
    }
}

impl Anomaly {
    /// What it is about.
    pub fn subject(&self) -> Subject {
        subject_of(self.kind, &self.route, self.client)
    }

    /// Whether `other` is this incident, later (the same subject, opened at the same time).
    pub fn same_incident(&self, other: &Anomaly) -> bool {
        self.start_ms == other.start_ms && self.subject() == other.subject()
    }
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

/// A gap in the data longer than this is not judged as a silence: the data resumes from
/// another time (an old file replayed, then today's lines), and baselines are learnt again.
const MAX_JUDGED_GAP_MINUTES: i64 = 24 * 60;

/// Routes tracked; the least recently seen go first beyond this.
const MAX_ROUTES: usize = 5_000;
/// The detector's memory: baselines and open incidents (saved with the live state, so a
/// restart keeps its baselines). Fields missing from a state saved by an older version
/// start empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Detector {
    #[serde(skip)]
    config: DetectorConfig,
    minutes: u64,
    /// The last minute seen, without its routes (scanners and bots look at two minutes).
    prev: Option<Frame>,
    last_t: Option<i64>,
    traffic: traffic::Traffic,
    site: History,
    bots: RateBaseline,
    /// Minutes in a row with a high bot share.
    bot_run: u32,
    /// The last minute a scanner was seen in (its requests would read as a bot surge).
    scanned_ms: Option<i64>,
    routes: hashbrown::HashMap<String, History, foldhash::fast::RandomState>,
    #[serde(with = "open_incidents")]
    open: BTreeMap<(AnomalyKind, String), Anomaly>,
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
        // Keyed anew by the one rule, whatever key an older version saved them under.
        Ok(Vec::<((AnomalyKind, String), Anomaly)>::deserialize(d)?
            .into_iter()
            .map(|(_, a)| (a.subject(), a))
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

    /// Looks at the next minute (frames must come in time order; a gap between two frames
    /// is a stretch without data).
    pub fn observe(&mut self, f: Frame) -> Vec<Event> {
        let mut events = Vec::new();
        if let Some(last) = self.last_t
            && f.t_ms - last > MINUTE_MS
        {
            self.gap(last + MINUTE_MS, f.t_ms, &mut events);
        }
        let mut hits = Vec::new();
        let scanners = self.scanners(&f, &mut hits);
        self.traffic(&f, &scanners, &mut hits);
        let site_cell = checks::cell(f.requests, f.errors_5xx, f.stats);
        self.site.push(self.minutes, site_cell);
        let site = self.site.windows();
        let by_route = self.routes(&f, &site, &mut hits);
        self.site(f.t_ms, &site, by_route, &mut hits);
        if !scanners.is_empty() {
            self.scanned_ms = Some(f.t_ms);
        }
        if self.scanned_ms.is_none_or(|t| f.t_ms - t > 2 * MINUTE_MS) {
            self.bot_share(&f, &mut hits);
        }
        self.minutes += 1;
        hits.sort_by(|a, b| (a.kind, &a.route, a.client).cmp(&(b.kind, &b.route, b.client)));
        let end = f.t_ms + MINUTE_MS;
        for h in hits {
            self.fire(h, end, &mut events);
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
        self.last_t = Some(f.t_ms);
        let mut prev = f;
        prev.routes = Default::default();
        self.prev = Some(prev);
        events
    }

    /// Data from another time follows: open incidents end where the old data did, and
    /// everything learnt is forgotten.
    fn start_afresh(&mut self, events: &mut Vec<Event>) {
        for (_, mut a) in std::mem::take(&mut self.open) {
            a.end_ms = Some(a.last_ms);
            events.push(Event::Resolved(a));
        }
        *self = Detector::new(self.config);
    }

    /// No data from `from_ms` to `to_ms` (more than the frames fill in): a silence inside
    /// the data, an incident that opened and ended there when traffic was expected.
    fn gap(&mut self, from_ms: i64, to_ms: i64, events: &mut Vec<Event>) {
        let minutes = (to_ms - from_ms) / MINUTE_MS;
        if minutes > MAX_JUDGED_GAP_MINUTES {
            self.start_afresh(events);
            return;
        }
        self.prev = None;
        self.minutes += minutes as u64;
        let Some(found) = self.traffic.gap(from_ms, minutes as u64) else {
            return;
        };
        let hit = checks::traffic_hit(&found, to_ms - MINUTE_MS);
        let mut quiet = Vec::new();
        self.fire(hit, to_ms, &mut quiet);
        for e in quiet {
            if let Event::Opened(mut a) = e {
                self.open.remove(&a.subject());
                events.push(Event::Opened(a.clone()));
                a.end_ms = Some(to_ms);
                events.push(Event::Resolved(a));
            }
        }
    }

    fn fire(&mut self, h: Hit, end: i64, events: &mut Vec<Event>) {
        let key = subject_of(h.kind, &h.route, h.client);
        let now = h
            .evidence
            .iter()
            .find(|(k, _)| *k == "now")
            .map_or(0.0, |e| e.1);
        if let Some(a) = self.open.get_mut(&key) {
            a.last_ms = end;
            a.severity = a.severity.max(h.severity);
            let peak = a.evidence["peak"];
            let worse = match h.kind {
                AnomalyKind::TrafficDrop | AnomalyKind::SiteQuiet => now < peak,
                _ => now > peak,
            };
            // The numbers of its worst minute, against the baseline it opened with; how
            // long a silence lasts, always.
            for (k, v) in h.evidence {
                if (worse && !k.starts_with("baseline")) || k == "quiet_minutes" {
                    a.evidence.insert(k.to_owned(), v);
                }
            }
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
            start_ms: h.start_ms,
            detected_ms: end,
            last_ms: end,
            end_ms: None,
            evidence,
        };
        self.open.insert(key, a.clone());
        events.push(Event::Opened(a));
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

/// Adds opened incidents to `found` and updates those that `events` resolve.
pub fn note_events<'a>(events: impl IntoIterator<Item = &'a Event>, found: &mut Vec<Anomaly>) {
    for e in events {
        match e {
            Event::Opened(a) => found.push(a.clone()),
            Event::Resolved(a) => {
                if let Some(f) = found.iter_mut().rev().find(|f| f.same_incident(a)) {
                    *f = a.clone();
                }
            }
        }
    }
}

/// Runs detection over every minute of `frames` (all of a log, built in any order), oldest
/// first, and returns every incident opened, with its end once resolved: what `analyze`
/// finds, in log time, with the detector of a live run.
pub fn find_all(mut frames: frame::Frames, config: DetectorConfig) -> Vec<Anomaly> {
    let mut det = Detector::new(config);
    let mut found = Vec::new();
    if let Some(newest) = frames.newest() {
        for f in frames.close(newest.saturating_add(MINUTE_MS)) {
            note_events(&det.observe(f), &mut found);
        }
    }
    found
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
    for b in batches {
        newest = newest.max(b.iter().map(|(r, _)| r.ts_ms).max().unwrap_or(newest));
        frames.add_batch(&b);
        for f in frames.close(newest) {
            note_events(&det.observe(f), &mut found);
        }
    }
    for f in frames.close(newest.saturating_add(MINUTE_MS)) {
        note_events(&det.observe(f), &mut found);
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
                r.stats.record_us(20_000 + (k % 10) * 1000);
            }
            f.requests += n;
            f.errors_5xx += e5;
            f.stats.merge(&r.stats);
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
        for i in 0..70 {
            assert!(opened(&d.observe(frame(i, &[("/a", 100, 0)]))).is_empty());
        }
        assert!(
            opened(&d.observe(frame(70, &[]))).is_empty(),
            "one quiet minute is not yet an incident"
        );
        assert_eq!(opened(&d.observe(frame(71, &[]))), [AnomalyKind::SiteQuiet]);
        assert!(d.open().iter().any(|a| a.kind == AnomalyKind::SiteQuiet));
        assert_eq!(d.open()[0].start_ms, 70 * MINUTE_MS);
        let mut resolved = false;
        for i in 72..80 {
            resolved |= d
                .observe(frame(i, &[("/a", 100, 0)]))
                .iter()
                .any(|e| matches!(e, Event::Resolved(a) if a.kind == AnomalyKind::SiteQuiet));
        }
        assert!(resolved && d.open().is_empty());
    }

    /// Regression: an old file replayed and then today's lines were an "outage" of eleven
    /// years (a critical incident, 10 million requests missing). A gap over a day is data
    /// from another time: no incident, open ones end with the old data, baselines start anew.
    #[test]
    fn data_resuming_years_later_is_no_outage() {
        let mut d = Detector::default();
        for i in 0..70 {
            d.observe(frame(i, &[("/a", 100, 0)]));
        }
        d.observe(frame(70, &[]));
        d.observe(frame(71, &[]));
        assert_eq!(d.open().len(), 1, "a real silence is open");
        let years_later = 70 + 11 * 365 * 24 * 60;
        let events = d.observe(frame(years_later, &[("/a", 5, 0)]));
        assert!(opened(&events).is_empty(), "{events:?}");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Resolved(a) if a.end_ms == Some(72 * MINUTE_MS))),
            "the open silence ends with the old data: {events:?}"
        );
        assert!(d.open().is_empty());
        for i in 1..30 {
            let events = d.observe(frame(years_later + i, &[("/a", 5, 0)]));
            assert!(opened(&events).is_empty(), "minute {i}: {events:?}");
        }
    }

    /// A detector saved by the version before windowed baselines (a level, an hour-of-day
    /// profile, EWMA latencies per route) still reads: its routes keep their counts and
    /// start their windows afresh.
    #[test]
    fn a_detector_saved_by_the_older_version_still_reads() {
        let old = r#"{"minutes":5,"prev":null,"level":12.0,
            "season":{"slots":[null,null,null,null,null,null,null,null,null,null,null,null,
                null,null,null,null,null,null,null,null,null,null,null,null],"current":null},
            "site_errors":{"hits":0.0,"total":50.0},
            "site_latency":{"ln_p50":1.0,"ln_p95":2.0,"updates":3},
            "bots":{"hits":1.0,"total":50.0},
            "routes":{"/a":{"errors":{"hits":0.0,"total":10.0},
                "latency":{"ln_p50":1.0,"ln_p95":2.0,"updates":3},
                "requests":10,"first_minute":0,"last_minute":4}},
            "open":[],"quiet":0}"#;
        let d: Detector = serde_json::from_str(old).unwrap();
        assert_eq!(d.minutes, 5);
        assert_eq!(d.routes["/a"].requests, 10);
    }

    /// A client with 60 404s over ten distinct paths in two minutes is a scanner; 59 are
    /// not.
    #[test]
    fn a_scanner_is_found_at_sixty_404s_and_not_below() {
        for (not_found, want) in [(59, false), (60, true)] {
            let mut d = Detector::default();
            for i in 0..20 {
                d.observe(frame(i, &[("/a", 100, 0)]));
            }
            let mut f = frame(20, &[("/a", 100, 0)]);
            f.clients.insert(
                7,
                frame::ClientMinute {
                    errors_4xx: not_found,
                    not_found,
                    routes: (0..10).collect(),
                },
            );
            let found = opened(&d.observe(f)).contains(&AnomalyKind::Scanner);
            assert_eq!(found, want, "{not_found} 404s");
        }
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
}
