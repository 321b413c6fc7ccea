//! Every state round-trips: whatever a run saves — aggregates with empty parts (no response
//! times, no bytes, one line, no line), checkpoints and every stored row type — loads back
//! to the same numbers, in the text form the state is saved in, in the binary form rollups
//! are stored in, and through a real SQLite file.

mod common;

use proptest::prelude::*;
use tailpulse::aggregate::Aggregate;
use tailpulse::aggregate::recent::RecordBatch;
use tailpulse::aggregate::rollup::Rollups;
use tailpulse::follow::{Checkpoints, FileId, FilePos};
use tailpulse::format::{FormatOptions, detect};
use tailpulse::store::sqlite::SqliteStore;
use tailpulse::store::{Commit, Saved, Store};

/// A combined line; `ms` none leaves out the response time (plain combined), `bytes` none
/// writes `-`.
fn line(ts: u32, path: u8, status: u16, ms: Option<u32>, bytes: Option<u32>, client: u8) -> String {
    let t = chrono::DateTime::from_timestamp(1_431_857_103 + i64::from(ts), 0).unwrap();
    let timing = ms
        .map(|m| format!(" {}.{:03}", m / 1000, m % 1000))
        .unwrap_or_default();
    let bytes = bytes.map_or("-".to_owned(), |b| b.to_string());
    format!(
        "2001:db8::{client:x} - - [{}] \"GET /p/{path}?q={path} HTTP/1.1\" {status} {bytes} \"-\" \"Mozilla/5.0\"{timing}\n",
        t.format("%d/%b/%Y:%H:%M:%S +0000")
    )
}

fn arb_log() -> impl Strategy<Value = String> {
    let timed = any::<bool>();
    (
        timed,
        prop::collection::vec(
            (
                0u32..500_000,
                0u8..30,
                prop::sample::select(vec![200u16, 304, 404, 500]),
                0u32..3_000_000,
                prop::option::of(0u32..100_000),
                0u8..20,
            ),
            0..60,
        ),
    )
        .prop_map(|(timed, lines)| {
            lines
                .into_iter()
                .map(|(ts, p, st, ms, b, c)| line(ts, p, st, timed.then_some(ms), b, c))
                .collect()
        })
}

fn aggregate_and_records(text: &str) -> (Aggregate, RecordBatch) {
    let mut parser = detect(&[], &FormatOptions::default()).unwrap();
    let mut agg = Aggregate::default();
    let mut records = RecordBatch::default();
    tailpulse::ingest::ingest_block_with(
        &mut agg,
        "src",
        &mut parser,
        text.as_bytes(),
        tailpulse::ingest::BlockPos {
            first_line: 1,
            offset: 0,
        },
        |r, c, _| records.push_counted(r, c),
    );
    (agg, records)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn aggregates_round_trip_in_text_and_binary(log in arb_log()) {
        let (agg, _) = aggregate_and_records(&log);
        let want = common::json(&agg);
        let text: Aggregate = serde_json::from_str(&serde_json::to_string(&agg).unwrap()).unwrap();
        prop_assert_eq!(common::json(&text), want.clone());
        let bin: Aggregate = postcard::from_bytes(&postcard::to_stdvec(&agg).unwrap()).unwrap();
        prop_assert_eq!(common::json(&bin), want);
    }

    #[test]
    fn a_stored_state_and_its_rows_load_back(log in arb_log()) {
        let (agg, records) = aggregate_and_records(&log);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut rollups = Rollups::new(10);
        rollups.add_batch(&records);
        let mut checkpoints = Checkpoints::default();
        checkpoints.update(
            "/var/log/a.log",
            FilePos { id: FileId { dev: 1, ino: 2 }, offset: log.len() as u64, lines: 3, head: 9, head_len: 64, hash: tailpulse::follow::checkpoint::HeadHash::Xxh3 },
            false,
        );
        {
            let mut store = SqliteStore::open(&path).unwrap();
            store
                .commit(&Commit {
                    rollups,
                    saved: Some(Box::new(Saved { aggregate: agg.clone(), checkpoints: checkpoints.clone(), detection: None })),
                    ..Commit::default()
                })
                .unwrap();
        }
        let mut store = SqliteStore::open(&path).unwrap();
        prop_assert!(store.recovery.is_none());
        let saved = store.load().unwrap().expect("a state");
        prop_assert_eq!(common::json(&saved.aggregate), common::json(&agg));
        prop_assert_eq!(saved.checkpoints, checkpoints);
        let stored: u64 = store
            .rollups(i64::MIN, i64::MAX)
            .unwrap()
            .iter()
            .map(|r| r.rollup.counts.requests)
            .sum();
        prop_assert_eq!(stored, agg.totals.requests);
        let routes: u64 = store
            .route_stats(i64::MIN, i64::MAX)
            .unwrap()
            .iter()
            .map(|r| r.1.requests)
            .sum();
        prop_assert_eq!(routes, agg.totals.requests);
        let history = tailpulse::store::history(&store, i64::MIN, i64::MAX, Default::default()).unwrap();
        prop_assert_eq!(history.totals.requests, agg.totals.requests);
    }
}
