//! Helpers shared by the integration tests.
#![allow(dead_code)]

use tailpulse::aggregate::{Aggregate, Limits};
use tailpulse::batch::{BatchOptions, aggregate_file, aggregate_reader};

/// The committed sample log (3,000 combined lines with request times).
pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/combined.log");

/// Aggregates `data` as one input named `name`, with the given threads and block size.
pub fn aggregate_bytes(name: &str, data: &[u8], threads: usize, block_size: usize) -> Aggregate {
    let opts = BatchOptions {
        threads,
        block_size,
        limits: Limits::default(),
        ..BatchOptions::default()
    };
    aggregate_reader(name, data, &opts).expect("in-memory input aggregates")
}

/// Aggregates `data` written to a real file, read in chunks of `block_size` by `threads`,
/// once mapped and once read; the two must agree.
pub fn aggregate_written(name: &str, data: &[u8], threads: usize, block_size: usize) -> Aggregate {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(&path, data).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let [mapped, read] = [true, false].map(|mmap| {
        let opts = BatchOptions {
            threads,
            block_size,
            mmap,
            limits: Limits::default(),
            ..BatchOptions::default()
        };
        aggregate_file(name, &file, data.len() as u64, &opts).expect("a written file aggregates")
    });
    assert_eq!(json(&mapped), json(&read), "mapped and read files disagree");
    mapped
}

/// The analysis of `agg` as JSON.
pub fn json(agg: &Aggregate) -> serde_json::Value {
    serde_json::to_value(tailpulse::analysis::analyze(agg, tailpulse::lang::Lang::En)).unwrap()
}
