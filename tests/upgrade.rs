//! A database written by an earlier tailpulse (`tests/fixtures/state-v1`, see its README) is
//! read by this one: the run resumes exactly where that one stopped, and its history stays.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;
use tailpulse::live::{self, progress::Mode};

const FIXTURE: &str = "tests/fixtures/state-v1";
const LOG: &str = "tests/fixtures/real/blog_combined.log";
/// Lines the old build had read when it stopped.
const READ_BEFORE: usize = 4000;

/// The fixture database unpacked into `dir`, its checkpoint pointed at `log` (the same bytes
/// the old build read, in a file of this machine).
fn old_database(dir: &Path, log: &Path) -> std::path::PathBuf {
    let mut packed = Vec::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(format!("{FIXTURE}/tailpulse.db.gz")).unwrap(),
    )
    .read_to_end(&mut packed)
    .unwrap();
    let db = dir.join("tailpulse.db");
    std::fs::write(&db, packed).unwrap();
    std::fs::copy(
        format!("{FIXTURE}/tailpulse.db.commits"),
        dir.join("tailpulse.db.commits"),
    )
    .unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (path, text): (String, String) = conn
        .query_row("SELECT path, positions FROM checkpoint", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(path, "/tmp/fx/access.log", "the fixture as its README says");
    let mut positions: serde_json::Value = serde_json::from_str(&text).unwrap();
    let meta = std::fs::metadata(log).unwrap();
    use std::os::unix::fs::MetadataExt;
    positions[0]["id"] = serde_json::json!({"dev": meta.dev(), "ino": meta.ino()});
    let key = std::fs::canonicalize(log).unwrap();
    conn.execute(
        "UPDATE checkpoint SET path = ?1, positions = ?2",
        rusqlite::params![key.to_str().unwrap(), positions.to_string()],
    )
    .unwrap();
    db
}

/// Regression for the move to a pinned hash and versioned blobs: a database of the earlier
/// format keeps its read positions (nothing is read twice, nothing skipped) and its history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_earlier_format_resumes_exactly() {
    let text = std::fs::read_to_string(LOG).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let head: String = lines[..READ_BEFORE]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&log, &head).unwrap();
    let db = old_database(dir.path(), &log);
    let tail: String = lines[READ_BEFORE..]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(tail.as_bytes())
        .unwrap();

    let opts = common::run_options(dir.path(), &[log.as_path()], Some(db.clone()));
    let live = live::start(opts).unwrap();
    let mut rx = live.snapshots.clone();
    let snap = tokio::time::timeout(
        Duration::from_secs(30),
        rx.wait_for(|s| s.progress.mode == Mode::Replay),
    )
    .await
    .expect("read to the end in time")
    .unwrap()
    .clone();
    let counted = live.shutdown().await.stats.requests;
    assert_eq!(
        counted,
        lines.len() as u64,
        "the old positions were kept: {READ_BEFORE} lines restored, the rest read once"
    );

    let (whole, _) = common::analyze_json(&[LOG, "--no-detect"]);
    let now = serde_json::to_value(&snap.analysis).unwrap();
    for field in ["requests", "bytes", "status"] {
        assert_eq!(now[field], whole[field], "{field}");
    }

    // The history of the earlier build is still read, beside the new minutes.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let quarantined: i64 = conn
        .query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))
        .unwrap();
    assert_eq!(quarantined, 0, "every stored row was read");
    let out = common::tailpulse_in(None, &["db", "check", "--db", db.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (hist, _) = common::analyze_json(&["--db", db.to_str().unwrap()]);
    assert_eq!(
        hist["requests"], whole["requests"],
        "the stored minutes, old and new, add up to the whole log"
    );
}
