//! Fuzzes the whole per-block path: format detection, every line, the aggregate and the report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailpulse::aggregate::Aggregate;
use tailpulse::format::{FormatOptions, detect};
use tailpulse::ingest::{BlockPos, ingest_block};

fuzz_target!(|data: &[u8]| {
    let sample: Vec<&[u8]> = data.split(|&b| b == b'\n').take(50).collect();
    let mut parser = detect(&sample, &FormatOptions::default()).unwrap();
    let mut agg = Aggregate::default();
    let stats = ingest_block(&mut agg, "fuzz", &mut parser, data, BlockPos { first_line: 1, offset: 0 });
    assert_eq!(stats.read, stats.parsed + stats.rejected + stats.skipped);
    assert_eq!(agg.totals.requests, stats.parsed);
    let summary = tailpulse::analysis::analyze(&agg, tailpulse::lang::Lang::En);
    let _ = tailpulse::report::text::render(&summary, tailpulse::lang::Lang::En);
});
