//! Appending generated traffic to a log file, as `tailpulse generate` and the demo do.

use crate::clock::now_ms;
use crate::generate::{Generator, Incident};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Where and how often the writer appends.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// The log file.
    pub path: PathBuf,
    /// Time between appends.
    pub interval: Duration,
    /// History to write first when the file is empty or missing.
    pub backfill: Option<Duration>,
    /// JSON-lines file receiving each incident as ground truth.
    pub truth: Option<PathBuf>,
}

/// Appends `lines` with one write, so a follower sees whole lines.
fn append(path: &Path, lines: &[(i64, String)]) -> io::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut buf = String::with_capacity(lines.len() * 200);
    for (_, l) in lines {
        buf.push_str(l);
        buf.push('\n');
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(buf.as_bytes())
}

fn record(incidents: &[Incident], truth: Option<&Path>) {
    for i in incidents {
        let json = serde_json::to_string(i).expect("incidents serialize");
        tracing::info!(target: "generator", incident = %json, "incident scheduled");
        if let Some(t) = truth {
            let line = json + "\n";
            if let Err(e) = OpenOptions::new()
                .create(true)
                .append(true)
                .open(t)
                .and_then(|mut f| f.write_all(line.as_bytes()))
            {
                tracing::error!(target: "generator", path = %t.display(), error = %e, "cannot write ground truth");
            }
        }
    }
}

/// Writes `n` lines ending now, then returns.
pub fn write_count(g: &mut Generator, opts: &WriterOptions, n: u64, rate: f64) -> io::Result<()> {
    let end = now_ms();
    let span = (n as f64 / rate.max(0.001) * 1000.0) as i64;
    for chunk_start in (0..n).step_by(100_000) {
        let k = (n - chunk_start).min(100_000);
        let from = end - span + (span as f64 * chunk_start as f64 / n as f64) as i64;
        let to = end - span + (span as f64 * (chunk_start + k) as f64 / n as f64) as i64;
        append(&opts.path, &g.lines(k, from, to))?;
    }
    record(g.incidents(), opts.truth.as_deref());
    Ok(())
}

/// Appends traffic every `interval` until `stop` is set; backfills history first when the
/// file is empty.
pub fn run(mut g: Generator, opts: &WriterOptions, stop: &AtomicBool) -> io::Result<()> {
    let mut last = now_ms();
    let empty = std::fs::metadata(&opts.path).map_or(true, |m| m.len() == 0);
    if let (Some(back), true) = (opts.backfill, empty) {
        let start = last - back.as_millis() as i64;
        g.schedule_from(start);
        tracing::info!(target: "generator", path = %opts.path.display(), hours = back.as_secs_f64() / 3600.0, "writing history");
        let mut t = start;
        while t < last {
            let to = (t + 3_600_000).min(last);
            let (lines, started) = g.traffic(t, to);
            append(&opts.path, &lines)?;
            record(&started, opts.truth.as_deref());
            t = to;
        }
    }
    tracing::info!(target: "generator", path = %opts.path.display(), interval_ms = opts.interval.as_millis() as u64, "appending traffic");
    while !stop.load(Ordering::SeqCst) {
        let wake = std::time::Instant::now() + opts.interval;
        while std::time::Instant::now() < wake && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50).min(opts.interval));
        }
        let now = now_ms();
        let (lines, started) = g.traffic(last, now);
        append(&opts.path, &lines)?;
        record(&started, opts.truth.as_deref());
        tracing::debug!(target: "generator", lines = lines.len(), "appended");
        last = now;
    }
    Ok(())
}

/// Runs [`run`] on its own thread; errors are logged.
pub fn spawn(
    g: Generator,
    opts: WriterOptions,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        if let Err(e) = run(g, &opts, &stop) {
            tracing::error!(target: "generator", path = %opts.path.display(), error = %e, "generator stopped");
        }
    })
}
