//! Scores detection against the generator's ground truth: which incidents were found, how
//! fast, and which findings match no incident.

use super::{Anomaly, AnomalyKind};
use crate::generate::{Incident, IncidentKind};
use std::collections::BTreeMap;

/// Findings may start this long before an incident and still be about it.
const EARLY_MS: i64 = 60_000;
/// … and this long after it ended (the tail of a window).
const LATE_MS: i64 = 3 * 60_000;

/// The results for one incident kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindScore {
    /// Incidents injected.
    pub incidents: usize,
    /// Of which found.
    pub found: usize,
    /// Time from each found incident's start to its first matching finding (ms).
    pub delays_ms: Vec<i64>,
}

/// The results of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Score {
    /// Per incident kind (`error_burst`, …).
    pub kinds: BTreeMap<&'static str, KindScore>,
    /// Findings that match an incident.
    pub true_findings: usize,
    /// Findings that match none.
    pub false_findings: Vec<Anomaly>,
}

impl Score {
    /// Findings that match an incident, over all findings.
    pub fn precision(&self) -> f64 {
        let all = self.true_findings + self.false_findings.len();
        if all == 0 {
            1.0
        } else {
            self.true_findings as f64 / all as f64
        }
    }

    /// Incidents found, over all incidents.
    pub fn recall(&self) -> f64 {
        let (n, f) = self
            .kinds
            .values()
            .fold((0, 0), |(n, f), k| (n + k.incidents, f + k.found));
        if n == 0 { 1.0 } else { f as f64 / n as f64 }
    }
}

/// The name of an incident kind.
pub fn incident_name(k: &IncidentKind) -> &'static str {
    match k {
        IncidentKind::ErrorBurst { .. } => "error_burst",
        IncidentKind::LatencyRegression { .. } => "latency_regression",
        IncidentKind::TrafficSurge { .. } => "traffic_surge",
        IncidentKind::TrafficDrop { .. } => "traffic_drop",
        IncidentKind::Scanner { .. } => "scanner",
    }
}

/// Whether finding `a` is about incident `i`.
pub fn explains(i: &Incident, a: &Anomaly) -> bool {
    if a.start_ms < i.start_ms - EARLY_MS || a.start_ms > i.end_ms + LATE_MS {
        return false;
    }
    match (&i.kind, a.kind) {
        (IncidentKind::ErrorBurst { route, .. }, AnomalyKind::ErrorSpike) => {
            a.route.is_empty() || a.route == *route
        }
        (IncidentKind::LatencyRegression { route, .. }, AnomalyKind::LatencyRegression) => {
            a.route.is_empty() || a.route == *route
        }
        (IncidentKind::TrafficSurge { .. }, AnomalyKind::TrafficSurge) => true,
        (IncidentKind::TrafficDrop { .. }, AnomalyKind::TrafficDrop | AnomalyKind::SiteQuiet) => {
            true
        }
        (IncidentKind::Scanner { client, .. }, AnomalyKind::Scanner) => {
            a.client == Some(crate::aggregate::recent::client_hash(client))
        }
        (IncidentKind::Scanner { .. }, AnomalyKind::BotSurge) => true,
        _ => false,
    }
}

/// Scores `findings` (every incident opened) against `incidents`.
pub fn score(incidents: &[Incident], findings: &[Anomaly]) -> Score {
    let mut s = Score::default();
    for i in incidents {
        let k = s.kinds.entry(incident_name(&i.kind)).or_default();
        k.incidents += 1;
        if let Some(first) = findings
            .iter()
            .filter(|a| explains(i, a))
            .map(|a| a.detected_ms)
            .min()
        {
            k.found += 1;
            k.delays_ms.push((first - i.start_ms).max(0));
        }
    }
    for a in findings {
        if incidents.iter().any(|i| explains(i, a)) {
            s.true_findings += 1;
        } else {
            s.false_findings.push(a.clone());
        }
    }
    s
}
