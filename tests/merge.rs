//! `merge(aggregate(a), aggregate(b)) == aggregate(a ++ b)`, and the parallel batch path gives
//! the same result as one thread reading everything.

mod common;

use proptest::prelude::*;
use tailpulse::aggregate::Aggregate;
use tailpulse::format::{FormatOptions, detect};
use tailpulse::ingest::{BlockPos, ingest_block};

const PATHS: [&str; 8] = [
    "/",
    "/api/users/1",
    "/api/users/22",
    "/login",
    "/static/a.css",
    "/x?q=1",
    "/<script>",
    "/api/orders/9f8e7d6c5b4a",
];
const AGENTS: [&str; 4] = ["Mozilla/5.0", "curl/8.0", "Googlebot/2.1", "-"];

fn line(ts: u32, path: usize, status: u16, ms: Option<u32>, client: u8, agent: usize) -> String {
    let t = chrono::DateTime::from_timestamp(1_709_251_200 + i64::from(ts), 0).unwrap();
    let stamp = t.format("%d/%b/%Y:%H:%M:%S +0000");
    let timing = ms
        .map(|m| format!(" {}.{:03}", m / 1000, m % 1000))
        .unwrap_or_default();
    format!(
        "10.0.0.{client} - - [{stamp}] \"GET {} HTTP/1.1\" {status} {} \"-\" \"{}\"{timing}\n",
        PATHS[path],
        ts % 5000,
        AGENTS[agent]
    )
}

fn arb_line() -> impl Strategy<Value = String> {
    (
        0u32..200_000,
        0..PATHS.len(),
        prop::sample::select(vec![200u16, 201, 301, 304, 400, 404, 500, 503]),
        prop::option::of(0u32..5_000_000),
        0u8..40,
        0..AGENTS.len(),
    )
        .prop_map(|(ts, p, st, ms, c, a)| line(ts, p, st, ms, c, a))
        .boxed()
        .prop_union(Just("garbage line\n".to_owned()).boxed())
}

fn aggregate(text: &str, offset: u64) -> Aggregate {
    let mut parser = detect(&[], &FormatOptions::default()).unwrap();
    let mut agg = Aggregate::default();
    ingest_block(
        &mut agg,
        "src",
        &mut parser,
        text.as_bytes(),
        BlockPos {
            first_line: 1,
            offset,
        },
    );
    agg
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn merge_equals_whole(lines in prop::collection::vec(arb_line(), 0..120), cut in 0usize..120) {
        let cut = cut.min(lines.len());
        let (a, b) = (lines[..cut].concat(), lines[cut..].concat());
        let whole = aggregate(&(a.clone() + &b), 0);
        let mut merged = aggregate(&a, 0);
        merged.merge(&aggregate(&b, a.len() as u64));
        let (mut m, mut w) = (common::json(&merged), common::json(&whole));
        // Line numbers of rejected samples are relative to each part; compare them apart.
        for v in [&mut m, &mut w] {
            v["sources"][0]["rejected_samples"] = serde_json::Value::Null;
        }
        prop_assert_eq!(m, w);
    }
}

#[test]
fn parallel_blocks_equal_one_thread() {
    let data = std::fs::read(common::FIXTURE).unwrap();
    let one = common::aggregate_bytes("f", &data, 1, 64 << 20);
    let many = common::aggregate_bytes("f", &data, 4, 4096);
    assert_eq!(one.lines.read, 3000);
    assert_eq!(common::json(&one), common::json(&many));
}

#[test]
fn file_chunks_equal_the_stream() {
    let fixture = std::fs::read_to_string(common::FIXTURE).unwrap();
    let mut data = String::new();
    for (i, line) in fixture.lines().take(600).enumerate() {
        data.push_str(line);
        data.push('\n');
        match i % 97 {
            // Rejected lines, whose numbers must survive chunking.
            5 => data.push_str("garbage between chunks\n"),
            // A line longer than a chunk.
            40 => data.push_str(&format!("{}\n", "z".repeat(5000))),
            61 => data.push('\n'),
            _ => {}
        }
    }
    data.push_str("no newline at the end");
    let stream = common::json(&common::aggregate_bytes("f", data.as_bytes(), 1, 64 << 20));
    assert!(stream["lines"]["rejected"].as_u64().unwrap() > 10);
    for (threads, size) in [(1, 1024), (2, 1024), (3, 1500), (2, 4096), (4, 64 << 20)] {
        let file = common::aggregate_written("f", data.as_bytes(), threads, size);
        assert_eq!(
            common::json(&file),
            stream,
            "{threads} threads, chunks of {size}"
        );
    }
}
