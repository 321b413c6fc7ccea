//! Live pipeline figures: sustained ingest while a file grows fast, and freshness (time from
//! a line's append to its appearance in the published snapshot).
//!
//! `cargo bench --bench live_pipeline` — prints the numbers; asserts nothing.

use std::io::Write;
use std::time::{Duration, Instant};
use tailpulse::generate::{GenFormat, Generator, IncidentPlan};
use tailpulse::live::{self, RunOptions};

const T0: i64 = 1_709_251_200_000;

fn options(dir: &std::path::Path, log: &std::path::Path) -> RunOptions {
    RunOptions {
        inputs: vec![log.to_string_lossy().into()],
        out_dir: dir.to_path_buf(),
        db: None,
        report_every: Duration::from_secs(5),
        ..RunOptions::default()
    }
}

fn corpus(n: u64) -> Vec<u8> {
    let mut g = Generator::new(11, GenFormat::Combined, 100.0, IncidentPlan::default(), T0);
    let mut out = Vec::new();
    for (_, l) in g.lines(n, T0, T0 + 86_400_000) {
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Appends `rate` lines/s for `secs` seconds; reports how far the snapshot lags behind.
async fn sustained(rate: u64, secs: u64) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fast.log");
    std::fs::File::create(&log).unwrap();
    let data = corpus(rate * secs);
    let live = live::start(options(dir.path(), &log)).unwrap();
    let writer_log = log.clone();
    let lines_per_tick = rate / 100;
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&writer_log)
            .unwrap();
        let start = Instant::now();
        let mut written = 0u64;
        let mut pos = 0usize;
        let mut tick = 0u64;
        while written < rate * secs {
            let mut end = pos;
            for _ in 0..lines_per_tick {
                end += memchr::memchr(b'\n', &data[end..]).map_or(data.len() - end, |i| i + 1);
            }
            f.write_all(&data[pos..end]).unwrap();
            written += lines_per_tick;
            pos = end;
            tick += 1;
            let due = start + Duration::from_millis(tick * 10);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        (written, start.elapsed())
    });
    let mut rx = live.snapshots.clone();
    let mut max_lag = 0u64;
    let started = Instant::now();
    while !writer.is_finished() {
        let _ = tokio::time::timeout(Duration::from_millis(100), rx.changed()).await;
        let expected = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        let seen = rx.borrow().analysis.stats.requests;
        max_lag = max_lag.max(expected.saturating_sub(seen));
    }
    let (written, took) = writer.join().unwrap();
    let caught_up = Instant::now();
    rx.wait_for(|s| s.analysis.stats.requests >= written)
        .await
        .unwrap();
    let drain = caught_up.elapsed();
    live.shutdown().await;
    println!(
        "sustained: {written} lines appended at {:.0} lines/s; max lag {max_lag} lines ({:.2} s of input); caught up {:.0} ms after the writer stopped",
        written as f64 / took.as_secs_f64(),
        max_lag as f64 / rate as f64,
        drain.as_secs_f64() * 1000.0
    );
}

/// Appends one line every `every`, `n` times; reports append-to-snapshot latency.
async fn freshness(n: usize, every: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("slow.log");
    std::fs::File::create(&log).unwrap();
    let data = corpus(n as u64);
    let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    let live = live::start(options(dir.path(), &log)).unwrap();
    let mut rx = live.snapshots.clone();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let mut latencies = Vec::with_capacity(n);
    for (i, line) in lines.iter().enumerate() {
        let t = Instant::now();
        f.write_all(line).unwrap();
        rx.wait_for(|s| s.analysis.stats.requests > i as u64)
            .await
            .unwrap();
        latencies.push(t.elapsed());
        tokio::time::sleep(every).await;
    }
    live.shutdown().await;
    latencies.sort();
    let q = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "freshness: {n} lines, one every {} ms: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        every.as_millis(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sustained(200_000, 10).await;
        freshness(200, Duration::from_millis(20)).await;
    });
}
