//! What watches the live stream besides the aggregate: per-minute frames for anomaly
//! detection, alert rules and their delivery, and the LLM loop.

use crate::aggregate::Aggregate;
use crate::aggregate::recent::{RecordBatch, client_hash};
use crate::alert::Engine;
use crate::analysis::Extras;
use crate::config::{Config, ConfigError};
use crate::delivery::Dispatcher;
use crate::detect::{Anomaly, DetectionState, DetectorConfig, Event};
use crate::lang::Lang;
use crate::llm::Llm;
use crate::store::AlertRecord;

/// Lines may arrive this late (ms, data time) and still count in their minute's frame.
const GRACE_MS: i64 = 5_000;
/// Data this close to the wall clock is live: minutes then close on the clock too, so a
/// site that goes quiet is noticed.
const LIVE_MS: i64 = 120_000;
/// Resolved incidents stay in the report this long (ms, data time).
const KEEP_RESOLVED_MS: i64 = 3_600_000;
/// Most incidents listed.
const MAX_LISTED: usize = 50;

/// Detection, alerting and the LLM loop of a live run.
pub struct Sentinel {
    state: DetectionState,
    alerts: Option<(Engine, Dispatcher)>,
    llm: Option<Llm>,
    opened: bool,
    llm_seen: (Option<i64>, Option<String>),
    /// While old data is read: incidents are logged quietly and counted by kind for one
    /// summary line.
    quiet: bool,
    found: std::collections::BTreeMap<String, u64>,
}

impl Sentinel {
    /// Starts the alert channels and the LLM worker that `config` asks for; detection
    /// continues from `restored` (saved with the state) when given.
    pub fn new(
        config: &Config,
        detector: DetectorConfig,
        restored: Option<DetectionState>,
    ) -> Result<Sentinel, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: "configuration".into(),
            message,
        };
        let a = &config.alerts;
        let alerts = if a.rules.is_empty() {
            None
        } else {
            let engine =
                Engine::new(&a.rules, a.cooldown_ms()).map_err(|e| invalid(e.to_string()))?;
            let retry = a.retry();
            Some((
                engine,
                Dispatcher::spawn(&a.webhooks, a.email.as_ref(), retry),
            ))
        };
        let llm = config.llm.as_ref().map(Llm::start);
        let mut state = restored.unwrap_or_default();
        state.detector.set_config(detector);
        // Alert rules on percentiles need latency sketches in the frames.
        state.frames.sketches = alerts.is_some();
        Ok(Sentinel {
            state,
            alerts,
            llm,
            opened: false,
            llm_seen: (None, None),
            quiet: false,
            found: Default::default(),
        })
    }

    /// Adds a reader's batch.
    pub fn add_batch(&mut self, b: &RecordBatch) {
        if let Some(t) = b.iter().map(|(r, _)| r.ts_ms).max() {
            self.state.newest_ms = Some(self.state.newest_ms.map_or(t, |n| n.max(t)));
        }
        self.state.frames.add_batch(b);
    }

    /// Closes the minutes that are over (by the data, and by `wall_ms` while the data is
    /// live), runs detection and alert rules on them; true when an incident opened or ended.
    pub fn tick(&mut self, wall_ms: i64, agg: &Aggregate, lang: Lang) -> bool {
        let mut changed = false;
        if let Some(l) = &self.llm {
            let st = l.status();
            let seen = (st.answered_ms, st.last_error);
            changed |= seen != self.llm_seen;
            self.llm_seen = seen;
        }
        let Some(newest) = self.state.newest_ms else {
            return changed;
        };
        let mut watermark = newest - GRACE_MS;
        if wall_ms - newest < LIVE_MS {
            watermark = watermark.max(wall_ms - GRACE_MS);
        }
        for frame in self.state.frames.close(watermark) {
            let threshold_notes = self
                .alerts
                .as_mut()
                .map(|(engine, _)| engine.observe_frame(&frame, wall_ms));
            let events = self.state.detector.observe(frame);
            changed |= !events.is_empty();
            self.record(&events);
            if let (Some((engine, dispatcher)), Some(mut notes)) =
                (&mut self.alerts, threshold_notes)
            {
                let names = client_names(agg, &events);
                notes.extend(engine.observe_events(&events, wall_ms, |a| {
                    crate::insights::anomaly::insight_of(a, lang, &name_of(&names, a)).message
                }));
                notes.iter().for_each(|n| dispatcher.send(n));
            }
        }
        changed
    }

    fn record(&mut self, events: &[Event]) {
        for e in events {
            match e {
                Event::Opened(a) => {
                    let (kind, subject, severity) =
                        (word(&a.kind), subject(&a.route), word(&a.severity));
                    if self.quiet {
                        tracing::info!(target: "analysis", %kind, %subject, %severity, start = %crate::time::format_rfc3339(a.start_ms), "incident found in old data");
                        // Counted under the name the report gives it.
                        let named = crate::insights::anomaly::insight_of(a, Lang::En, "").kind;
                        *self
                            .found
                            .entry(crate::insights::kind_name(named))
                            .or_default() += 1;
                    } else {
                        tracing::warn!(target: "analysis", %kind, %subject, %severity, "incident detected");
                    }
                    self.opened |= a.severity >= crate::insights::Severity::Warning;
                }
                Event::Resolved(a) => {
                    tracing::info!(target: "analysis", kind = %word(&a.kind), subject = %subject(&a.route), "incident resolved");
                }
            }
        }
        crate::detect::note_events(events, &mut self.state.incidents);
        let newest = self.state.newest_ms.unwrap_or(0);
        self.state
            .incidents
            .retain(|i| i.end_ms.is_none_or(|e| newest - e < KEEP_RESOLVED_MS));
        if self.state.incidents.len() > MAX_LISTED {
            let cut = self.state.incidents.len() - MAX_LISTED;
            self.state.incidents.drain(..cut);
        }
    }

    /// While old data is read (catching up, or a replay), incidents are logged at INFO and
    /// counted instead of warned about one by one.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// One line for the terminal once old data has been read (a `replay`, or a backlog that
    /// had incidents): its span and the incidents found in it, by kind.
    pub fn replay_summary(&self, agg: &Aggregate, replay: bool) -> Option<String> {
        if !replay && self.found.is_empty() {
            return None;
        }
        let span = agg.period().map_or(String::new(), |(a, b)| {
            format!(
                " ({} – {} UTC)",
                crate::time::format_utc(a),
                crate::time::format_utc(b)
            )
        });
        let found = if self.found.is_empty() {
            "no incidents found in it".to_owned()
        } else {
            let kinds: Vec<String> = self.found.iter().map(|(k, n)| format!("{k} {n}")).collect();
            format!(
                "incidents found in it: {} (see the report)",
                kinds.join(", ")
            )
        };
        Some(if replay {
            format!(
                "tailpulse: read {} requests of old data{span}; times are log times; {found}",
                agg.totals.requests
            )
        } else {
            format!("tailpulse: caught up with the backlog{span}; {found}")
        })
    }

    /// What the analysis of a snapshot needs from here.
    pub fn extras(&self, agg: &Aggregate, lang: Lang) -> Extras {
        let incidents = crate::insights::anomaly::incidents(agg, &self.state.incidents, lang);
        Extras {
            incidents,
            llm: self.llm.as_ref().map(Llm::status),
        }
    }

    /// Offers the LLM loop the summary prompt of a new snapshot (it asks on its schedule,
    /// or now if an incident opened since the last offer).
    pub fn after_publish(&mut self, s: &crate::analysis::Analysis) {
        let incident = std::mem::take(&mut self.opened);
        if let Some(llm) = &mut self.llm {
            llm.offer(incident, || {
                s.prompts
                    .iter()
                    .find(|p| p.id == "summary")
                    .map(|p| p.text.clone())
                    .unwrap_or_default()
            });
        }
    }

    /// What detection keeps, to be saved with the live state.
    pub fn state(&self) -> DetectionState {
        self.state.clone()
    }

    /// Deliveries finished since the last call, for the history.
    pub fn take_alert_records(&mut self) -> Vec<AlertRecord> {
        match &self.alerts {
            Some((_, d)) => d.outcomes.try_iter().collect(),
            None => Vec::new(),
        }
    }
}

/// Addresses of the scanners among `events`, from the tracked clients.
fn client_names(agg: &Aggregate, events: &[Event]) -> Vec<(u64, String)> {
    client_names_of(
        agg,
        events.iter().map(|e| match e {
            Event::Opened(a) | Event::Resolved(a) => a,
        }),
    )
}

fn client_names_of<'a>(
    agg: &Aggregate,
    anomalies: impl Iterator<Item = &'a Anomaly>,
) -> Vec<(u64, String)> {
    let wanted: Vec<u64> = anomalies.filter_map(|a| a.client).collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    agg.clients
        .top(usize::MAX)
        .into_iter()
        .map(|(name, _)| (client_hash(name), name.to_owned()))
        .filter(|(h, _)| wanted.contains(h))
        .collect()
}

fn name_of(names: &[(u64, String)], a: &Anomaly) -> String {
    a.client
        .and_then(|c| names.iter().find(|(h, _)| *h == c).map(|(_, n)| n.clone()))
        .unwrap_or_else(|| "(an untracked client)".into())
}

/// The name users read for an enum value: its serialized form (`traffic_drop`, `critical`).
fn word<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".into(),
    }
}

/// What an incident is about: its route, or the whole site.
fn subject(route: &str) -> &str {
    if route.is_empty() {
        "the whole site"
    } else {
        route
    }
}
