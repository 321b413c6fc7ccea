//! Incidents: what goes wrong, when, and how often (the generator's ground truth).

use serde::Serialize;

/// What goes wrong during an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IncidentKind {
    /// A share of a route's responses become 5xx.
    ErrorBurst {
        /// The route (normalized, as tailpulse reports it).
        route: String,
        /// Share of its responses that fail.
        error_rate: f64,
    },
    /// A route becomes slower.
    LatencyRegression {
        /// The route.
        route: String,
        /// Multiplier on its response times.
        factor: f64,
    },
    /// Overall traffic multiplies.
    TrafficSurge {
        /// Multiplier on the request rate.
        factor: f64,
    },
    /// Overall traffic falls (an upstream outage, a DNS problem).
    TrafficDrop {
        /// Multiplier on the request rate (below 1).
        factor: f64,
    },
    /// One client requests many paths that do not exist.
    Scanner {
        /// Its address.
        client: String,
        /// Its requests per second.
        rate: f64,
    },
}

/// One incident with its time window (UTC ms, end exclusive).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// What happens.
    #[serde(flatten)]
    pub kind: IncidentKind,
    /// Start.
    pub start_ms: i64,
    /// End.
    pub end_ms: i64,
}

/// How incidents are scheduled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IncidentPlan {
    /// Mean time between incidents in minutes; `None` disables incidents.
    pub every_min: Option<f64>,
    /// Mean incident length in minutes.
    pub length_min: f64,
}

impl Default for IncidentPlan {
    fn default() -> Self {
        IncidentPlan {
            every_min: Some(20.0),
            length_min: 4.0,
        }
    }
}
