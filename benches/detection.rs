//! Detection against ground truth: seeded synthetic days with incidents (the generator's),
//! parsed like any log and replayed through the live path's frames and detector. Prints
//! recall, precision and detection delay per incident kind (`cargo bench --bench detection`).
//! Environment: `DAYS` (default 3), `RATE` requests/s (default 50).

use tailpulse::aggregate::recent::RecordBatch;
use tailpulse::detect::score::{KindScore, explains, score};
use tailpulse::detect::{DetectorConfig, replay};
use tailpulse::format::{FormatOptions, detect};
use tailpulse::generate::{GenFormat, Generator, IncidentPlan};

const DAY_MS: i64 = 86_400_000;
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn env(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let days = env("DAYS", 3.0) as u64;
    let rate = env("RATE", 50.0);
    let mut total: std::collections::BTreeMap<&str, KindScore> = Default::default();
    let (mut true_f, mut false_f) = (0, 0);
    for seed in 1..=days {
        // A quiet first hour (no incidents) to learn the baselines, then a day of incidents.
        let start = T0 + seed as i64 * DAY_MS;
        let mut g = Generator::new(
            seed,
            GenFormat::Combined,
            rate,
            IncidentPlan::default(),
            start,
        );
        g.schedule_from(start + 3_600_000);
        let mut parser = None;
        let mut batches = Vec::new();
        let mut t = start;
        while t < start + DAY_MS + 3_600_000 {
            let (lines, _) = g.traffic(t, t + 5_000);
            let p = parser.get_or_insert_with(|| {
                let first: Vec<&[u8]> = lines.iter().take(20).map(|(_, l)| l.as_bytes()).collect();
                detect(&first, &FormatOptions::default()).unwrap()
            });
            let mut b = RecordBatch::default();
            for (_, line) in &lines {
                if let Ok(Some(req)) = p.parse(line.as_bytes()) {
                    b.push(&req);
                }
            }
            batches.push(b);
            t += 5_000;
        }
        let incidents: Vec<_> = g
            .incidents()
            .iter()
            .filter(|i| i.start_ms < start + DAY_MS + 3_600_000 - 5 * 60_000)
            .cloned()
            .collect();
        let found = replay(batches, DetectorConfig::default());
        let s = score(&incidents, &found);
        for i in &incidents {
            let first = found
                .iter()
                .filter(|a| explains(i, a))
                .map(|a| a.detected_ms)
                .min();
            if first.is_none_or(|t| t - i.start_ms > 120_000) {
                println!(
                    "  seed {seed}: late or missed {:?} at {} (found after {:?} s)",
                    i.kind,
                    tailpulse::time::format_rfc3339(i.start_ms),
                    first.map(|t| (t - i.start_ms) / 1000)
                );
            }
        }
        for f in &s.false_findings {
            println!(
                "  seed {seed}: false alarm {:?} {} at {} {:?}",
                f.kind,
                f.route,
                tailpulse::time::format_rfc3339(f.start_ms),
                f.evidence
            );
        }
        for (k, v) in s.kinds {
            let t = total.entry(k).or_default();
            t.incidents += v.incidents;
            t.found += v.found;
            t.delays_ms.extend(v.delays_ms);
        }
        true_f += s.true_findings;
        false_f += s.false_findings.len();
    }
    println!("detection: {days} simulated days at {rate} requests/s (seeds 1..={days})");
    println!(
        "{:<20} {:>9} {:>6} {:>8} {:>10} {:>10}",
        "incident", "injected", "found", "recall", "delay p50", "delay max"
    );
    let (mut n, mut f) = (0, 0);
    for (k, v) in &total {
        let mut d = v.delays_ms.clone();
        d.sort_unstable();
        let p50 = d
            .get(d.len() / 2)
            .map_or("-".into(), |x| format!("{:.0} s", *x as f64 / 1000.0));
        let max = d
            .last()
            .map_or("-".into(), |x| format!("{:.0} s", *x as f64 / 1000.0));
        println!(
            "{k:<20} {:>9} {:>6} {:>7.1}% {p50:>10} {max:>10}",
            v.incidents,
            v.found,
            100.0 * v.found as f64 / v.incidents.max(1) as f64
        );
        n += v.incidents;
        f += v.found;
    }
    println!(
        "all: recall {:.1}% ({f}/{n}), precision {:.1}% ({true_f} findings match an incident, {false_f} false alarms = {:.2} per day)",
        100.0 * f as f64 / n.max(1) as f64,
        100.0 * true_f as f64 / (true_f + false_f).max(1) as f64,
        false_f as f64 / days as f64
    );
}
