//! The history database: how fast rollups are committed, and how long a 30-day range takes
//! to answer (`cargo bench --bench store`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tailpulse::aggregate::Limits;
use tailpulse::aggregate::rollup::{HOUR_MS, MINUTE_MS, Rollup, Rollups};
use tailpulse::aggregate::stats::RouteStats;
use tailpulse::store::sqlite::SqliteStore;
use tailpulse::store::{Commit, Retention, Store, history};

const ROUTES: usize = 100;

fn minute(i: i64) -> Rollup {
    let mut r = Rollup::default();
    for k in 0..50 {
        let status = if k % 20 == 0 { 500 } else { 200 };
        let us = 1_000 + ((i * 37 + k * 101) % 400_000) as u64;
        r.counts.add(status, 2_000, Some(us));
        *r.status.entry(status).or_insert(0) += 1;
        r.latency.record_us(us);
    }
    r
}

fn route(i: i64) -> RouteStats {
    let mut s = RouteStats {
        requests: 30,
        bytes: 60_000,
        errors_5xx: 1,
        ..RouteStats::default()
    };
    for k in 0..30 {
        s.latency
            .record_us(1_000 + ((i * 13 + k * 7919) % 300_000) as u64);
    }
    s
}

/// The rollups of `minutes` minutes starting at `from`, with `ROUTES` routes an hour.
fn rollups(from: i64, minutes: i64) -> Rollups {
    let mut ro = Rollups::new(1000);
    for m in 0..minutes {
        let t = from + m * MINUTE_MS;
        ro.minutes.insert(t, minute(m));
        if t % HOUR_MS == 0 {
            // 2,000 distinct clients an hour.
            let v = ro.visitors.entry(t).or_default();
            for c in 0..2_000u64 {
                v.insert_hash(
                    (t as u64 / 1000).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                        ^ c.wrapping_mul(0xff51_afd7_ed55_8ccd),
                );
            }
            for r in 0..ROUTES {
                ro.add_route(t, &format!("/api/route{r}/{{id}}"), &route(m + r as i64));
            }
        }
    }
    ro
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let day = 1440;
    let mut g = c.benchmark_group("store");
    g.sample_size(10);

    // A report interval's commit during live ingest: 5 new minutes (and one hour's routes).
    let mut store = SqliteStore::open(&dir.path().join("live.db")).unwrap();
    let mut t = 0;
    g.throughput(Throughput::Elements(5 + ROUTES as u64));
    g.bench_function("commit 5 minutes + 100 routes", |b| {
        b.iter(|| {
            let c = Commit {
                rollups: rollups(t, 60).into_minutes_tail(5),
                ..Commit::default()
            };
            t += HOUR_MS;
            store.commit(black_box(&c)).unwrap();
        })
    });

    // 30 days written in day-sized commits, then retention (minutes → hours after 7 days).
    let path = dir.path().join("month.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let started = std::time::Instant::now();
    for d in 0..30 {
        let c = Commit {
            rollups: rollups(d * day * MINUTE_MS, day),
            ..Commit::default()
        };
        store.commit(&c).unwrap();
    }
    let wrote = started.elapsed();
    let rows = 30 * day + 30 * 24 * ROUTES as i64;
    println!(
        "store/write 30 days: {rows} rows in {:.2} s = {:.0} rows/s",
        wrote.as_secs_f64(),
        rows as f64 / wrote.as_secs_f64()
    );
    let started = std::time::Instant::now();
    let r = store.retain(&Retention::default(), i64::MAX).unwrap();
    println!(
        "store/retain: {} minutes downsampled in {:.2} s",
        r.downsampled,
        started.elapsed().as_secs_f64()
    );
    g.throughput(Throughput::Elements(1));
    g.bench_function("query 30-day range", |b| {
        b.iter(|| {
            let agg = history(&store, 0, 30 * day * MINUTE_MS, Limits::default()).unwrap();
            black_box(agg.totals.requests)
        })
    });
    g.bench_function("query 1-hour range", |b| {
        b.iter(|| {
            let from = 29 * day * MINUTE_MS;
            let agg = history(&store, from, from + HOUR_MS, Limits::default()).unwrap();
            black_box(agg.totals.requests)
        })
    });
    g.finish();
}

trait Tail {
    fn into_minutes_tail(self, n: usize) -> Rollups;
}

impl Tail for Rollups {
    /// Keeps the last `n` minutes and the routes.
    fn into_minutes_tail(mut self, n: usize) -> Rollups {
        while self.minutes.len() > n {
            self.minutes.pop_first();
        }
        self
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
