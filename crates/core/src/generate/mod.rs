//! The synthetic traffic writer behind `tailpulse generate` and the demo (pure: the caller
//! supplies the clock and does the writing).
//!
//! Seeded and deterministic: the same seed, start time and calls give the same lines.
//! Incidents — an error burst on one route, a latency regression, a traffic surge or drop, a
//! scanner hammering 404s — are scheduled at random and reported as ground truth.

pub mod incident;
pub mod model;

pub use incident::{Incident, IncidentKind, IncidentPlan};

use model::{AGENTS, ROUTES, RouteSpec, SCANNER_PATHS, diurnal};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Exp, LogNormal, Poisson};

/// Spread of response times around each route's mean (log-normal sigma).
const LATENCY_SIGMA: f64 = 0.45;

/// Line format the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenFormat {
    /// nginx combined with `$request_time` (seconds) appended.
    Combined,
    /// nginx `escape=json` style JSON lines.
    Json,
}

impl crate::choice::Choice for GenFormat {
    const CHOICES: &'static [(&'static str, &'static str, Self)] = &[
        (
            "combined",
            "nginx combined with `$request_time` (seconds) appended",
            GenFormat::Combined,
        ),
        (
            "json",
            "nginx `escape=json` style JSON lines",
            GenFormat::Json,
        ),
    ];
}

/// A seeded traffic source.
pub struct Generator {
    rng: StdRng,
    format: GenFormat,
    rate: f64,
    plan: IncidentPlan,
    route_pick: WeightedIndex<f64>,
    agent_pick: WeightedIndex<f64>,
    clients: Vec<String>,
    heavy: Vec<String>,
    incidents: Vec<Incident>,
    next_incident_ms: i64,
}

/// Normalized form of a route template, as the analyzer reports it.
fn route_name(spec: &RouteSpec) -> String {
    spec.template
        .replace("{n}", "{id}")
        .replace("{h}", "{id}")
        .replace("{u}", "{id}")
}

impl Generator {
    /// A generator writing about `rate` requests per second (averaged over a day) from
    /// `start_ms` on.
    pub fn new(seed: u64, format: GenFormat, rate: f64, plan: IncidentPlan, start_ms: i64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let clients: Vec<String> = (0..4000).map(|_| random_ip(&mut rng)).collect();
        let heavy = clients[..6].to_vec();
        let mut g = Generator {
            format,
            rate: rate.max(0.0),
            plan,
            route_pick: WeightedIndex::new(ROUTES.iter().map(|r| r.weight))
                .expect("weights are positive"),
            agent_pick: WeightedIndex::new(AGENTS.iter().map(|a| a.1))
                .expect("weights are positive"),
            clients,
            heavy,
            incidents: Vec::new(),
            next_incident_ms: start_ms,
            rng,
        };
        g.next_incident_ms = start_ms + g.gap_ms();
        g
    }

    fn gap_ms(&mut self) -> i64 {
        match self.plan.every_min {
            Some(every) if every > 0.0 => {
                let gap = Exp::new(1.0 / every)
                    .expect("positive rate")
                    .sample(&mut self.rng);
                ((gap.max(every / 4.0)) * 60_000.0) as i64
            }
            _ => i64::MAX / 4,
        }
    }

    /// Restarts the incident schedule at `start_ms` (for history written before "now").
    pub fn schedule_from(&mut self, start_ms: i64) {
        self.next_incident_ms = start_ms + self.gap_ms();
    }

    /// Adds an incident of the caller's choosing (for tests and experiments).
    pub fn inject(&mut self, incident: Incident) {
        self.incidents.push(incident);
    }

    /// Incidents that started so far (ground truth), oldest first.
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    fn schedule_incidents(&mut self, until_ms: i64) -> Vec<Incident> {
        let mut started = Vec::new();
        while self.next_incident_ms < until_ms {
            let start = self.next_incident_ms;
            let len = (self.plan.length_min * self.rng.random_range(0.75..1.5) * 60_000.0) as i64;
            let kind = self.random_incident_kind();
            let incident = Incident {
                kind,
                start_ms: start,
                end_ms: start + len.max(60_000),
            };
            started.push(incident.clone());
            self.incidents.push(incident);
            self.next_incident_ms = start + len + self.gap_ms();
        }
        started
    }

    fn random_incident_kind(&mut self) -> IncidentKind {
        let api: Vec<&RouteSpec> = ROUTES
            .iter()
            .filter(|r| r.template.starts_with("/api/") && r.weight >= 3.0)
            .collect();
        let route = route_name(api[self.rng.random_range(0..api.len())]);
        match self.rng.random_range(0..5) {
            0 => IncidentKind::ErrorBurst {
                route,
                error_rate: self.rng.random_range(0.25..0.6),
            },
            1 => IncidentKind::LatencyRegression {
                route,
                factor: self.rng.random_range(4.0..8.0),
            },
            2 => IncidentKind::TrafficSurge {
                factor: self.rng.random_range(3.0..5.0),
            },
            3 => IncidentKind::TrafficDrop {
                factor: self.rng.random_range(0.02..0.1),
            },
            _ => IncidentKind::Scanner {
                client: random_ip(&mut self.rng),
                rate: self.rng.random_range(5.0..15.0),
            },
        }
    }

    fn active(&self, ts_ms: i64) -> impl Iterator<Item = &IncidentKind> {
        self.incidents
            .iter()
            .filter(move |i| i.start_ms <= ts_ms && ts_ms < i.end_ms)
            .map(|i| &i.kind)
    }

    fn rate_factor(&self, ts_ms: i64) -> f64 {
        self.active(ts_ms).fold(1.0, |f, k| match k {
            IncidentKind::TrafficSurge { factor } | IncidentKind::TrafficDrop { factor } => {
                f * factor
            }
            _ => f,
        })
    }

    /// Traffic for `[from_ms, to_ms)`: `(timestamp, line)` pairs in time order, and the
    /// incidents that started in that window.
    pub fn traffic(&mut self, from_ms: i64, to_ms: i64) -> (Vec<(i64, String)>, Vec<Incident>) {
        let started = self.schedule_incidents(to_ms);
        let mut out = Vec::new();
        let mut t = from_ms;
        while t < to_ms {
            let step_end = (t - t.rem_euclid(1000) + 1000).min(to_ms);
            let secs = (step_end - t) as f64 / 1000.0;
            let hour = (t.rem_euclid(86_400_000)) as f64 / 3_600_000.0;
            let lambda = self.rate * diurnal(hour) * self.rate_factor(t) * secs;
            let n = if lambda > 0.0 {
                Poisson::new(lambda).map_or(0.0, |p| p.sample(&mut self.rng)) as u64
            } else {
                0
            };
            let scanner = self.active(t).find_map(|k| match k {
                IncidentKind::Scanner { client, rate } => Some((client.clone(), *rate)),
                _ => None,
            });
            for _ in 0..n {
                let ts = self.rng.random_range(t..step_end.max(t + 1));
                out.push((ts, self.request(ts)));
            }
            if let Some((client, rate)) = scanner {
                let k = Poisson::new(rate * secs).map_or(0.0, |p| p.sample(&mut self.rng)) as u64;
                for _ in 0..k {
                    let ts = self.rng.random_range(t..step_end.max(t + 1));
                    out.push((ts, self.scan(ts, &client)));
                }
            }
            t = step_end;
        }
        out.sort_by_key(|(ts, _)| *ts);
        (out, started)
    }

    /// Exactly `n` lines spread evenly over `[from_ms, to_ms)` (for tests and benchmarks).
    pub fn lines(&mut self, n: u64, from_ms: i64, to_ms: i64) -> Vec<(i64, String)> {
        self.schedule_incidents(to_ms);
        let span = (to_ms - from_ms).max(1) as f64;
        (0..n)
            .map(|i| {
                let ts = from_ms + (span * i as f64 / n.max(1) as f64) as i64;
                (ts, self.request(ts))
            })
            .collect()
    }

    fn request(&mut self, ts: i64) -> String {
        let spec = ROUTES[self.route_pick.sample(&mut self.rng)];
        let route = route_name(&spec);
        let mut path = spec.template.to_owned();
        if path.contains("{n}") {
            path = path.replace("{n}", &self.rng.random_range(1..100_000u32).to_string());
        }
        if path.contains("{h}") {
            path = path.replace("{h}", &format!("{:012x}", self.rng.random::<u64>() >> 16));
        }
        if path.contains("{u}") {
            let (a, b) = (self.rng.random::<u64>(), self.rng.random::<u64>());
            let u = format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                b >> 52,
                b & 0xffff_ffff_ffff
            );
            path = path.replace("{u}", &u);
        }
        if spec.method == "GET" && path.starts_with("/api/") && self.rng.random_bool(0.25) {
            path.push_str(&format!("?page={}", self.rng.random_range(1..20)));
        }
        let (e4, mut e5, mut slow) = (spec.client_errors, spec.server_errors, 1.0);
        for k in self.active(ts) {
            match k {
                IncidentKind::ErrorBurst {
                    route: r,
                    error_rate,
                } if *r == route => e5 = *error_rate,
                IncidentKind::LatencyRegression { route: r, factor } if *r == route => {
                    slow = *factor
                }
                _ => {}
            }
        }
        let x: f64 = self.rng.random();
        let status = if x < e5 {
            [500, 502, 503, 504][self.rng.random_range(0..4)]
        } else if x < e5 + e4 {
            [400, 401, 403, 404, 404, 404, 422, 429][self.rng.random_range(0..8)]
        } else if spec.method == "POST" {
            201
        } else if spec.template.starts_with("/static/") && self.rng.random_bool(0.3) {
            304
        } else {
            200
        };
        let mean = spec.mean_ms * slow;
        let mu = mean.ln() - LATENCY_SIGMA * LATENCY_SIGMA / 2.0;
        let ms = LogNormal::new(mu, LATENCY_SIGMA).map_or(mean, |d| d.sample(&mut self.rng));
        let bytes = if status == 304 {
            0
        } else {
            (spec.bytes as f64 * self.rng.random_range(0.5..1.5)) as u64
        };
        let client = if self.rng.random_bool(0.2) {
            self.heavy[self.rng.random_range(0..self.heavy.len())].clone()
        } else {
            self.clients[self.rng.random_range(0..self.clients.len())].clone()
        };
        let agent = AGENTS[self.agent_pick.sample(&mut self.rng)].0;
        let referer = if spec.method == "GET" && self.rng.random_bool(0.4) {
            "https://shop.example.com/"
        } else {
            "-"
        };
        self.format_line(
            ts,
            &client,
            spec.method,
            &path,
            status,
            bytes,
            referer,
            agent,
            ms,
        )
    }

    fn scan(&mut self, ts: i64, client: &str) -> String {
        let path = SCANNER_PATHS[self.rng.random_range(0..SCANNER_PATHS.len())];
        let ms = self.rng.random_range(0.5..3.0);
        self.format_line(
            ts,
            client,
            "GET",
            path,
            404,
            162,
            "-",
            "Mozilla/5.0 zgrab/0.x",
            ms,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn format_line(
        &self,
        ts: i64,
        client: &str,
        method: &str,
        path: &str,
        status: u16,
        bytes: u64,
        referer: &str,
        agent: &str,
        ms: f64,
    ) -> String {
        let t = chrono::DateTime::from_timestamp_millis(ts).unwrap_or_default();
        match self.format {
            GenFormat::Combined => format!(
                "{client} - - [{}] \"{method} {path} HTTP/1.1\" {status} {bytes} \"{referer}\" \"{agent}\" {:.3}",
                t.format("%d/%b/%Y:%H:%M:%S +0000"),
                ms / 1000.0
            ),
            GenFormat::Json => serde_json::json!({
                "time": t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "remote_addr": client,
                "request": format!("{method} {path} HTTP/1.1"),
                "status": status,
                "body_bytes_sent": bytes,
                "request_time": (ms / 1000.0 * 1000.0).round() / 1000.0,
                "http_referer": if referer == "-" { "" } else { referer },
                "http_user_agent": agent,
            })
            .to_string(),
        }
    }
}

fn random_ip(rng: &mut StdRng) -> String {
    if rng.random_bool(0.1) {
        format!(
            "2001:db8:{:x}::{:x}",
            rng.random::<u16>(),
            rng.random::<u16>()
        )
    } else {
        format!(
            "{}.{}.{}.{}",
            rng.random_range(1..224),
            rng.random::<u8>(),
            rng.random::<u8>(),
            rng.random_range(1..255)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{FormatOptions, detect};

    const DAY: i64 = 86_400_000;
    const T0: i64 = 1_709_251_200_000;

    #[test]
    fn seeded_output_is_reproducible() {
        let mut a = Generator::new(7, GenFormat::Combined, 5.0, IncidentPlan::default(), T0);
        let mut b = Generator::new(7, GenFormat::Combined, 5.0, IncidentPlan::default(), T0);
        assert_eq!(a.traffic(T0, T0 + 60_000), b.traffic(T0, T0 + 60_000));
        let mut c = Generator::new(8, GenFormat::Combined, 5.0, IncidentPlan::default(), T0);
        assert_ne!(
            a.traffic(T0 + 60_000, T0 + 120_000).0,
            c.traffic(T0 + 60_000, T0 + 120_000).0
        );
    }

    #[test]
    fn lines_parse_in_both_formats() {
        for f in [GenFormat::Combined, GenFormat::Json] {
            let mut g = Generator::new(1, f, 20.0, IncidentPlan::default(), T0);
            let (lines, _) = g.traffic(T0, T0 + 120_000);
            assert!(lines.len() > 500, "{}", lines.len());
            let first = lines[0].1.as_bytes();
            let mut p = detect(&[first], &FormatOptions::default()).unwrap();
            for (ts, l) in &lines {
                let r = p.parse(l.as_bytes()).unwrap().unwrap();
                assert_eq!(r.ts_ms / 1000, ts / 1000, "{l}");
                assert!(r.response_ms.is_some());
            }
        }
    }

    #[test]
    fn a_day_has_incidents_of_every_kind_and_a_diurnal_curve() {
        let mut g = Generator::new(
            3,
            GenFormat::Combined,
            2.0,
            IncidentPlan {
                every_min: Some(10.0),
                length_min: 3.0,
            },
            T0,
        );
        let (lines, started) = g.traffic(T0, T0 + DAY);
        assert!(started.len() > 20);
        let kinds: std::collections::BTreeSet<&str> = started
            .iter()
            .map(|i| match i.kind {
                IncidentKind::ErrorBurst { .. } => "error",
                IncidentKind::LatencyRegression { .. } => "latency",
                IncidentKind::TrafficSurge { .. } => "surge",
                IncidentKind::TrafficDrop { .. } => "drop",
                IncidentKind::Scanner { .. } => "scanner",
            })
            .collect();
        assert_eq!(kinds.len(), 5);
        let in_hour = |h: i64| {
            lines
                .iter()
                .filter(|(t, _)| (t - T0) / 3_600_000 == h)
                .count()
        };
        assert!(in_hour(15) > 2 * in_hour(3), "afternoon busier than night");
    }

    #[test]
    fn an_error_burst_shows_in_its_route() {
        let mut g = Generator::new(
            5,
            GenFormat::Combined,
            50.0,
            IncidentPlan {
                every_min: None,
                length_min: 1.0,
            },
            T0,
        );
        g.incidents.push(Incident {
            kind: IncidentKind::ErrorBurst {
                route: "/api/products/{id}".into(),
                error_rate: 0.5,
            },
            start_ms: T0,
            end_ms: T0 + 600_000,
        });
        let (lines, _) = g.traffic(T0, T0 + 600_000);
        let hits: Vec<&String> = lines
            .iter()
            .map(|l| &l.1)
            .filter(|l| l.contains("GET /api/products/") && !l.contains("/reviews"))
            .collect();
        let failed = hits.iter().filter(|l| l.contains("\" 50")).count();
        assert!(failed * 3 > hits.len(), "{failed} of {}", hits.len());
    }
}
