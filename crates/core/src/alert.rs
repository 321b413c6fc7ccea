//! Alerts: rules from the configuration file evaluated on every closed minute (thresholds
//! held for a time) and on detected incidents, producing firing and resolved notifications
//! with a cool-down. Pure: frames, events and the time in; notifications out. [`deliver`]
//! sends them.

use crate::aggregate::frame::{Frame, MINUTE_MS};
use crate::aggregate::latency::Latency;
use crate::detect::{Anomaly, Event};
use crate::insights::Severity;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// A number a threshold rule watches, over its time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Share of 5xx responses (0–1).
    #[serde(rename = "error_rate_5xx")]
    ErrorRate5xx,
    /// Share of 4xx responses (0–1).
    #[serde(rename = "error_rate_4xx")]
    ErrorRate4xx,
    /// Median response time (ms).
    P50Ms,
    /// 95th percentile response time (ms).
    P95Ms,
    /// 99th percentile response time (ms).
    P99Ms,
    /// Mean response time (ms).
    AvgMs,
    /// Requests per minute.
    RequestsPerMin,
}

/// One rule as written in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Name shown in notifications.
    pub name: String,
    /// Threshold rules: what to watch.
    pub metric: Option<Metric>,
    /// Fire when the metric is above this …
    pub above: Option<f64>,
    /// … or below this.
    pub below: Option<f64>,
    /// Over this trailing window (default `5m`).
    #[serde(
        rename = "for",
        with = "crate::params::serde_duration",
        default = "default_for"
    )]
    pub for_: std::time::Duration,
    /// Only this route (exact, normalized); none: the whole site.
    pub route: Option<String>,
    /// Incident rules: fire on any detected incident of at least this severity.
    pub anomaly: Option<Severity>,
}

fn default_for() -> std::time::Duration {
    std::time::Duration::from_secs(300)
}

/// Firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition started.
    Firing,
    /// The condition ended.
    Resolved,
}

impl AlertState {
    /// `firing` or `resolved`.
    pub fn name(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One message to deliver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// The rule.
    pub rule: String,
    /// Firing or resolved.
    pub state: AlertState,
    /// How much it matters.
    pub severity: Severity,
    /// What happened, in one line.
    pub message: String,
    /// Data time it refers to (UTC ms).
    pub t_ms: i64,
}

impl Notification {
    /// The one-line text of chat messages and mail subjects.
    pub fn text(&self) -> String {
        let mark = match self.state {
            AlertState::Firing => "FIRING",
            AlertState::Resolved => "RESOLVED",
        };
        format!("[tailpulse] {mark} {}: {}", self.rule, self.message)
    }
}

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    /// A rule needs `metric` with `above` or `below`, or `anomaly`.
    #[error("alert rule {0:?}: give metric with above or below, or anomaly")]
    Incomplete(String),
}

#[derive(Debug)]
enum Kind {
    Threshold {
        metric: Metric,
        above: Option<f64>,
        below: Option<f64>,
        minutes: usize,
        route: Option<String>,
    },
    Anomaly(Severity),
}

/// One minute of what a threshold rule watches.
#[derive(Debug, Clone, Default)]
struct Sample {
    requests: u64,
    errors_4xx: u64,
    errors_5xx: u64,
    latency: Latency,
}

#[derive(Debug)]
struct Rule {
    name: String,
    kind: Kind,
    samples: VecDeque<Sample>,
    firing: bool,
    notified: bool,
    last_sent: HashMap<String, i64>,
}

/// The rules and what they remember.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Rule>,
    cooldown_ms: i64,
}

impl Engine {
    /// Compiles `rules`; firing notifications of one rule are at least `cooldown_ms` apart.
    pub fn new(rules: &[RuleConfig], cooldown_ms: i64) -> Result<Self, RuleError> {
        let rules = rules
            .iter()
            .map(|r| {
                let kind = match (r.metric, r.anomaly) {
                    (Some(metric), _) if r.above.is_some() || r.below.is_some() => {
                        let d = r.for_;
                        Kind::Threshold {
                            metric,
                            above: r.above,
                            below: r.below,
                            minutes: (d.as_millis() as i64 / MINUTE_MS).max(1) as usize,
                            route: r.route.clone(),
                        }
                    }
                    (None, Some(sev)) => Kind::Anomaly(sev),
                    _ => return Err(RuleError::Incomplete(r.name.clone())),
                };
                Ok(Rule {
                    name: r.name.clone(),
                    kind,
                    samples: VecDeque::new(),
                    firing: false,
                    notified: false,
                    last_sent: HashMap::new(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Engine { rules, cooldown_ms })
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True without rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Evaluates the threshold rules on a closed minute; `now_ms` is the clock for the
    /// cool-down.
    pub fn observe_frame(&mut self, f: &Frame, now_ms: i64) -> Vec<Notification> {
        let cooldown = self.cooldown_ms;
        let mut out = Vec::new();
        for rule in &mut self.rules {
            let Kind::Threshold {
                metric,
                above,
                below,
                minutes,
                route,
            } = &rule.kind
            else {
                continue;
            };
            let sample = match route {
                Some(r) => f.routes.get(r).map_or_else(Sample::default, |m| Sample {
                    requests: m.requests,
                    errors_4xx: m.errors_4xx,
                    errors_5xx: m.errors_5xx,
                    latency: m.latency.as_deref().cloned().unwrap_or_default(),
                }),
                None => Sample {
                    requests: f.requests,
                    errors_4xx: f.errors_4xx,
                    errors_5xx: f.errors_5xx,
                    latency: f.latency.as_deref().cloned().unwrap_or_default(),
                },
            };
            rule.samples.push_back(sample);
            while rule.samples.len() > *minutes {
                rule.samples.pop_front();
            }
            if rule.samples.len() < *minutes {
                continue;
            }
            let value = measure(*metric, &rule.samples, *minutes);
            let holds =
                value.is_some_and(|v| above.is_some_and(|a| v > a) || below.is_some_and(|b| v < b));
            let scope = route.as_deref().unwrap_or("the site");
            let shown = value.map_or("-".into(), |v| show(*metric, v));
            let limit = match (above, below) {
                (Some(a), _) => format!("above {}", show(*metric, *a)),
                (_, Some(b)) => format!("below {}", show(*metric, *b)),
                _ => String::new(),
            };
            let message = format!(
                "{} of {scope} is {shown} over the last {minutes} min ({limit})",
                metric_name(*metric)
            );
            let t_ms = f.t_ms + MINUTE_MS;
            if holds && !rule.firing {
                rule.firing = true;
                let last = rule.last_sent.get("").copied();
                rule.notified = last.is_none_or(|t| now_ms - t >= cooldown);
                if rule.notified {
                    rule.last_sent.insert(String::new(), now_ms);
                    out.push(Notification {
                        rule: rule.name.clone(),
                        state: AlertState::Firing,
                        severity: Severity::Warning,
                        message,
                        t_ms,
                    });
                }
            } else if !holds && rule.firing {
                rule.firing = false;
                if rule.notified {
                    out.push(Notification {
                        rule: rule.name.clone(),
                        state: AlertState::Resolved,
                        severity: Severity::Info,
                        message,
                        t_ms,
                    });
                }
            }
        }
        out
    }

    /// Evaluates the incident rules on detection events; `describe` gives an incident's
    /// one-line text.
    pub fn observe_events(
        &mut self,
        events: &[Event],
        now_ms: i64,
        describe: impl Fn(&Anomaly) -> String,
    ) -> Vec<Notification> {
        let cooldown = self.cooldown_ms;
        let mut out = Vec::new();
        for rule in &mut self.rules {
            let Kind::Anomaly(min) = rule.kind else {
                continue;
            };
            for e in events {
                let (a, state) = match e {
                    Event::Opened(a) => (a, AlertState::Firing),
                    Event::Resolved(a) => (a, AlertState::Resolved),
                };
                if a.severity < min {
                    continue;
                }
                let (kind, about) = a.subject();
                let key = format!("{kind:?}/{about}");
                let (message, t_ms) = (describe(a), a.last_ms);
                match state {
                    AlertState::Firing => {
                        let last = rule.last_sent.get(&key).copied();
                        if last.is_some_and(|t| now_ms - t < cooldown) {
                            continue;
                        }
                        rule.last_sent.insert(key.clone(), now_ms);
                        rule.last_sent.insert(format!("open {key}"), a.start_ms);
                    }
                    AlertState::Resolved => {
                        // Only incidents whose start was announced get a resolved message.
                        if rule.last_sent.remove(&format!("open {key}")) != Some(a.start_ms) {
                            continue;
                        }
                    }
                }
                out.push(Notification {
                    rule: rule.name.clone(),
                    state,
                    severity: a.severity,
                    message,
                    t_ms,
                });
            }
        }
        out
    }
}

fn measure(metric: Metric, samples: &VecDeque<Sample>, minutes: usize) -> Option<f64> {
    let requests: u64 = samples.iter().map(|s| s.requests).sum();
    let rate = |n: u64| (requests > 0).then(|| n as f64 / requests as f64);
    let mut latency = Latency::default();
    for s in samples {
        latency.merge(&s.latency);
    }
    match metric {
        Metric::ErrorRate5xx => rate(samples.iter().map(|s| s.errors_5xx).sum()),
        Metric::ErrorRate4xx => rate(samples.iter().map(|s| s.errors_4xx).sum()),
        Metric::P50Ms => latency.quantile(0.5),
        Metric::P95Ms => latency.quantile(0.95),
        Metric::P99Ms => latency.quantile(0.99),
        Metric::AvgMs => latency.avg_ms(),
        Metric::RequestsPerMin => Some(requests as f64 / minutes as f64),
    }
}

fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::ErrorRate5xx => "5xx rate",
        Metric::ErrorRate4xx => "4xx rate",
        Metric::P50Ms => "p50",
        Metric::P95Ms => "p95",
        Metric::P99Ms => "p99",
        Metric::AvgMs => "mean response time",
        Metric::RequestsPerMin => "requests per minute",
    }
}

fn show(m: Metric, v: f64) -> String {
    match m {
        Metric::ErrorRate5xx | Metric::ErrorRate4xx => crate::lang::pct(v),
        Metric::RequestsPerMin => format!("{v:.0}"),
        _ => crate::lang::ms(crate::lang::Lang::En, v),
    }
}
