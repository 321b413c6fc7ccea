//! Requests per second through the aggregator, alone and with parsing (the whole per-line path).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tailpulse::aggregate::Aggregate;
use tailpulse::format::{FormatOptions, Parser, detect};
use tailpulse::ingest::{BlockPos, ingest_block};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/combined.log");

fn ingested(parser: &Parser, data: &[u8]) -> Aggregate {
    let mut agg = Aggregate::default();
    ingest_block(
        &mut agg,
        "f",
        &mut parser.clone(),
        data,
        BlockPos::default(),
    );
    agg
}

fn bench(c: &mut Criterion) {
    let data = std::fs::read(FIXTURE).unwrap();
    let lines = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count() as u64;
    let mut parser = detect(&[&data[..1000]], &FormatOptions::default()).unwrap();
    let requests: Vec<_> = data
        .split(|&b| b == b'\n')
        .filter_map(|l| parser.parse(l).ok().flatten())
        .collect();
    let one = ingested(&parser, &data);

    let mut g = c.benchmark_group("aggregate");
    g.throughput(Throughput::Elements(lines));
    g.bench_function("count", |b| {
        b.iter(|| {
            let mut agg = Aggregate::default();
            for r in &requests {
                agg.count(r);
            }
            black_box(agg.totals.requests)
        })
    });
    g.bench_function("ingest_block", |b| {
        b.iter(|| black_box(ingested(&parser, &data).totals.requests))
    });
    g.bench_function("merge", |b| {
        b.iter(|| {
            let mut total = Aggregate::default();
            total.merge(&one);
            total.merge(&one);
            black_box(total.totals.requests)
        })
    });
    g.bench_function("analyze_summary", |b| {
        b.iter(|| {
            black_box(
                tailpulse::analysis::analyze(&one, tailpulse::lang::Lang::En)
                    .stats
                    .requests,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
