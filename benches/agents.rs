//! User-agent parsing: the cost of telling one distinct agent (woothee, uncached) and of an
//! agent already seen (the per-line cost, a cache lookup), on the agents of a real log.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tailpulse::aggregate::agents::{Agents, classify};
use tailpulse::aggregate::is_bot;

const LOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/real/blog_combined.log"
);

fn bench(c: &mut Criterion) {
    let text = std::fs::read_to_string(LOG).unwrap();
    let per_line: Vec<&str> = text.lines().filter_map(|l| l.split('"').nth(5)).collect();
    let mut distinct = per_line.clone();
    distinct.sort_unstable();
    distinct.dedup();
    // The regular expressions are compiled on first use, not in the measured loop.
    let _ = classify(distinct[0], false);
    let mut g = c.benchmark_group("agents");
    g.throughput(Throughput::Elements(distinct.len() as u64));
    g.bench_function("distinct agents, parsed", |b| {
        b.iter(|| {
            for ua in &distinct {
                black_box(classify(ua, is_bot(ua)));
            }
        })
    });
    g.throughput(Throughput::Elements(per_line.len() as u64));
    g.bench_function("per line, cached", |b| {
        let hashes: Vec<u64> = per_line
            .iter()
            .map(|ua| tailpulse::hash::stable(tailpulse::hash::Purpose::Agent, ua.as_bytes()))
            .collect();
        let mut agents = Agents::default();
        b.iter(|| {
            for (i, (ua, h)) in per_line.iter().zip(&hashes).enumerate() {
                black_box(agents.add(ua, *h, i as u64));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
