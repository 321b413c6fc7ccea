//! History in a real SQLite file: stored rollups give the same numbers as the logs, a
//! restart keeps the dashboard's numbers, retention downsamples and deletes, and a damaged or
//! read-only database is a clear error.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tailpulse::aggregate::rollup::{HOUR_MS, MINUTE_MS, Rollup, Rollups};
use tailpulse::live::{self, RunOptions};
use tailpulse::store::sqlite::SqliteStore;
use tailpulse::store::{Commit, Retention, Store, StoreError};

fn options(dir: &Path, log: &Path) -> RunOptions {
    common::run_options(dir, &[log], Some(dir.join("tailpulse.db")))
}

async fn run_until(opts: RunOptions, n: u64) -> tailpulse::stats::Stats {
    let live = live::start(opts).unwrap();
    let mut rx = live.snapshots.clone();
    tokio::time::timeout(
        Duration::from_secs(20),
        rx.wait_for(|s| s.analysis.stats.requests >= n),
    )
    .await
    .expect("counted in time")
    .unwrap();
    live.shutdown().await.stats
}

fn analyze_json(args: &[&str]) -> serde_json::Value {
    common::analyze_json(args).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_history_reports_the_same_numbers_as_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::copy(common::FIXTURE, &log).unwrap();
    run_until(options(dir.path(), &log), 3000).await;
    let from_logs = analyze_json(&[log.to_str().unwrap()]);
    let db = dir.path().join("tailpulse.db");
    let from_db = analyze_json(&["--db", db.to_str().unwrap(), "--since", "1970-01-01"]);
    for key in [
        "requests",
        "status",
        "status_class",
        "bytes",
        "response_time_ms",
        "by_hour",
        "peak_hour",
        "error_rate_4xx",
        "error_rate_5xx",
    ] {
        assert_eq!(from_db[key], from_logs[key], "{key}");
    }
    let routes = |v: &serde_json::Value| {
        let mut r: Vec<_> = v["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["route"].as_str().unwrap().to_owned(),
                    r["requests"].as_u64().unwrap(),
                    r["errors_5xx"].as_u64().unwrap(),
                    r["p99_ms"].as_f64(),
                )
            })
            .collect();
        r.sort_by(|a, b| a.0.cmp(&b.0));
        r
    };
    assert_eq!(routes(&from_db), routes(&from_logs));
    // Unique visitors over stored history are distinct clients (HyperLogLog per hour).
    let clients: std::collections::HashSet<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').next().map(str::to_owned))
        .collect();
    let estimate = from_db["unique_visitors"].as_f64().unwrap();
    let exact = clients.len() as f64;
    assert!(
        (estimate - exact).abs() / exact <= 0.02,
        "{estimate} vs {exact}"
    );
    // A range selects only its minutes: the first half of the day, counted from the logs'
    // per-hour rows.
    let morning = analyze_json(&[
        "--db",
        db.to_str().unwrap(),
        "--since",
        "2024-03-01",
        "--until",
        "2024-03-01T12:00:00Z",
    ]);
    let expected: u64 = from_logs["by_hour"].as_array().unwrap()[..12]
        .iter()
        .map(|h| h["requests"].as_u64().unwrap())
        .sum();
    assert!(expected > 0 && expected < 3000);
    assert_eq!(morning["requests"].as_u64(), Some(expected));
}

/// The panels of a stored range are those of the log: browsers, systems, devices, crawlers,
/// referring sites, not found and static files (visitors per browser are not stored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_history_keeps_the_panels() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let real = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/real/blog_combined.log"
    );
    std::fs::copy(real, &log).unwrap();
    let lines = std::fs::read_to_string(&log).unwrap().lines().count() as u64;
    run_until(options(dir.path(), &log), lines).await;
    let from_logs = analyze_json(&[log.to_str().unwrap()]);
    let db = dir.path().join("tailpulse.db");
    let from_db = analyze_json(&["--db", db.to_str().unwrap(), "--since", "1970-01-01"]);
    let rows = |v: &serde_json::Value, panel: &str, key: &str| {
        let mut r: Vec<(String, u64)> = v[panel]
            .as_array()
            .unwrap_or_else(|| panic!("{panel}"))
            .iter()
            .map(|r| {
                (
                    r[key].as_str().unwrap().to_owned(),
                    r["requests"].as_u64().unwrap(),
                )
            })
            .collect();
        r.sort();
        r
    };
    for (panel, key) in [
        ("browsers", "name"),
        ("os", "name"),
        ("devices", "name"),
        ("crawlers", "name"),
        ("referring_sites", "site"),
        ("not_found", "path"),
    ] {
        let want = rows(&from_logs, panel, key);
        assert!(!want.is_empty(), "{panel} has rows in this log");
        assert_eq!(rows(&from_db, panel, key), want, "{panel}");
    }
    assert_eq!(
        from_db["static"]["requests"],
        from_logs["static"]["requests"]
    );
    assert_eq!(from_db["browsers"][0]["visitors"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_dashboards_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::copy(common::FIXTURE, &log).unwrap();
    let before = run_until(options(dir.path(), &log), 3000).await;
    let live = live::start(options(dir.path(), &log)).unwrap();
    let first = live.snapshots.borrow().analysis.stats.clone();
    let strip = |s: &tailpulse::stats::Stats| {
        let mut v = serde_json::to_value(s).unwrap();
        v.as_object_mut().unwrap().remove("generated_at");
        v
    };
    assert_eq!(first.requests, 3000, "restored before any line is read");
    assert_eq!(strip(&first), strip(&before));
    let after = live.shutdown().await.stats;
    assert_eq!(strip(&after), strip(&before), "nothing read twice");
}

/// The numbers of the requests `filter` selects, as the dashboard's filters ask for them.
async fn filtered(live: &live::Live, filter: tailpulse::aggregate::recent::Filter) -> u64 {
    let (reply, answer) = tokio::sync::oneshot::channel();
    live.queries
        .send(live::Query { filter, reply })
        .await
        .unwrap();
    answer.await.unwrap().stats.requests
}

/// Regression: after a restart the dashboard's filters saw only lines read since (the
/// window of recent requests they count was not there), so `status=5xx` said 0 beside a
/// card that said 3. The window is refilled from the end of what was read before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_after_a_restart_see_what_was_read_before() {
    use tailpulse::aggregate::recent::{Filter, StatusFilter};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::copy(common::FIXTURE, &log).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    // Counted apart: the status is the first field after the quoted request.
    let server_error = |l: &str| {
        l.split('"')
            .nth(2)
            .and_then(|r| r.split_whitespace().next())
            .is_some_and(|s| s.starts_with('5'))
    };
    let want_5xx = text.lines().filter(|l| server_error(l)).count() as u64;
    assert!(want_5xx > 0, "the fixture has server errors");
    let before = run_until(options(dir.path(), &log), 3000).await;
    assert_eq!(before.requests, 3000);
    let live = live::start(options(dir.path(), &log)).unwrap();
    let five = Filter {
        status: Some(StatusFilter::Class(5)),
        ..Filter::default()
    };
    let start = std::time::Instant::now();
    loop {
        let n = filtered(&live, five.clone()).await;
        if n == want_5xx {
            break;
        }
        assert!(
            n < want_5xx && start.elapsed() < Duration::from_secs(20),
            "{n} of {want_5xx} 5xx seen by the filter after a restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        filtered(&live, Filter::default()).await,
        3000,
        "nothing twice"
    );
    assert_eq!(live.shutdown().await.stats.requests, 3000);
}

fn rollup(requests: u64, ms: f64) -> Rollup {
    let mut r = Rollup::default();
    for _ in 0..requests {
        r.counts.add(200, 10, Some((ms * 1000.0) as u64));
        r.latency.record(ms);
    }
    r.status.insert(200, requests);
    r
}

#[test]
fn retention_downsamples_old_minutes_and_deletes_what_is_too_old() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("h.db")).unwrap();
    let day = 86_400_000;
    let noon = 12 * HOUR_MS;
    let newest = 40 * day + 13 * HOUR_MS;
    let mut ro = Rollups::new(10);
    // Two minutes at noon every day for 41 days, 3 requests each, and one newest minute.
    for d in 0..=40 {
        for m in [0, 1] {
            ro.minutes
                .insert(d * day + noon + m * MINUTE_MS, rollup(3, 5.0 + d as f64));
        }
    }
    ro.minutes.insert(newest, rollup(1, 1.0));
    for d in 0..=40 {
        let s = tailpulse::aggregate::stats::RouteStats {
            requests: 3,
            ..Default::default()
        };
        ro.add_route(d * day + noon, "/r", &s);
    }
    store
        .commit(&Commit {
            rollups: ro,
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.span().unwrap(), Some((noon, newest)));
    let r = store.retain(&Retention::default(), i64::MAX).unwrap();
    // Up to day 10 goes (older than 30 days); days 11..=33 become hours; the rest stay minutes.
    let rows = store.rollups(i64::MIN, i64::MAX).unwrap();
    assert!(rows.iter().all(|r| r.t_ms >= 11 * day));
    let hours: Vec<_> = rows.iter().filter(|r| r.width_ms == HOUR_MS).collect();
    let minutes: Vec<_> = rows.iter().filter(|r| r.width_ms == MINUTE_MS).collect();
    assert_eq!(hours.len(), 23);
    assert!(hours.iter().all(|h| h.rollup.counts.requests == 6));
    assert_eq!(minutes.len(), 15);
    assert!(minutes.iter().all(|m| m.t_ms >= newest - 7 * day));
    assert_eq!(r.downsampled, 2 * 34);
    // Route hours older than the per-minute history become days; totals do not change.
    let routes = store.route_stats(i64::MIN, i64::MAX).unwrap();
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].1.requests, 3 * 30);
    let afternoon = store
        .route_stats(20 * day + 13 * HOUR_MS, 20 * day + 14 * HOUR_MS)
        .unwrap();
    assert_eq!(afternoon[0].1.requests, 3, "a day row covers its whole day");
    // The merged sketch still answers percentiles of the minutes it came from.
    let h = hours.iter().find(|h| h.t_ms == 20 * day + noon).unwrap();
    let p50 = h.rollup.latency.quantile(0.5).unwrap();
    assert!((p50 - 25.0).abs() / 25.0 <= 0.01, "{p50}");
    // A second pass changes nothing.
    let again = store.retain(&Retention::default(), i64::MAX).unwrap();
    assert_eq!((again.downsampled, again.deleted), (0, 0));
}

/// Regression: one line dated 31/Dec/9999 became the newest stored minute, and retention,
/// counted back from it, deleted all real history.
#[test]
fn retention_counts_back_from_the_clock_not_from_a_future_minute() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("h.db")).unwrap();
    let day = 86_400_000;
    let mut ro = Rollups::new(10);
    for d in 0..3 {
        ro.minutes.insert(d * day, rollup(5, 10.0));
    }
    let year_9999 = 253_402_214_400_000;
    ro.minutes.insert(year_9999, rollup(1, 1.0));
    store
        .commit(&Commit {
            rollups: ro,
            ..Commit::default()
        })
        .unwrap();
    let now = 3 * day;
    let r = store.retain(&Retention::default(), now).unwrap();
    assert_eq!((r.deleted, r.downsampled), (0, 0));
    let kept: u64 = store
        .rollups(i64::MIN, i64::MAX)
        .unwrap()
        .iter()
        .map(|r| r.rollup.counts.requests)
        .sum();
    assert_eq!(kept, 16);
}

#[test]
fn a_damaged_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tailpulse.db");
    std::fs::write(
        &db,
        b"this is not a database, but it is long enough to look like a header of some file format"
            .repeat(100),
    )
    .unwrap();
    let err = SqliteStore::open(&db).err().expect("refused");
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    // A report over its history cannot be made: a clear error. (`run` moves such a file
    // aside and goes on: tests/faults.rs.)
    let out = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["analyze", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not a tailpulse database or is damaged"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Makes `path` unwritable, even for root (which ignores permission bits).
fn make_read_only(path: &Path) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false);
    if root {
        Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success())
    } else {
        let mut p = std::fs::metadata(path).unwrap().permissions();
        p.set_readonly(true);
        std::fs::set_permissions(path, p).is_ok()
    }
}

#[test]
fn a_read_only_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tailpulse.db");
    drop(SqliteStore::open(&db).unwrap());
    assert!(make_read_only(&db), "cannot make the file read-only here");
    let err = SqliteStore::open(&db).err();
    let _ = Command::new("chattr").arg("-i").arg(&db).status();
    let err = err.expect("refused");
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    assert!(err.to_string().contains("is read-only"), "{err}");
}

/// Per-server numbers are kept in the history too: a stored range breaks its requests,
/// errors and response times down by host and virtual host, as the log does (counted here
/// apart, from the lines made here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_history_keeps_hosts_and_virtual_hosts() {
    use std::collections::BTreeMap;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut text = String::new();
    let (mut hosts, mut vhosts) = (BTreeMap::new(), BTreeMap::new());
    for n in 0..2400u32 {
        let host = ["web-1", "web-2", "web-3"][(n % 7 % 3) as usize];
        let vhost = ["shop.example", "api.example"][(n % 5 % 2) as usize];
        let status = if n % 11 == 0 { 503 } else { 200 };
        // Lines tagged with the server that sent them, as the ingest spool holds them.
        text.push_str(&format!(
            "\u{1e}{host}\u{1f}{vhost}:443 10.1.{}.{} - - [01/Mar/2024:{:02}:{:02}:00 +0000] \"GET /p/{n} HTTP/1.1\" {status} 512 \"-\" \"curl/8\" {}\n",
            n % 3,
            n % 200,
            n / 100,
            n % 60,
            n % 40 * 1000,
        ));
        let h = hosts.entry(host.to_owned()).or_insert((0u64, 0u64));
        h.0 += 1;
        h.1 += u64::from(status == 503);
        *vhosts.entry(vhost.to_owned()).or_insert(0u64) += 1;
    }
    std::fs::write(&log, text).unwrap();
    run_until(options(dir.path(), &log), 2400).await;
    let db = dir.path().join("tailpulse.db");
    let from_db = analyze_json(&["--db", db.to_str().unwrap(), "--since", "1970-01-01"]);
    let from_log = analyze_json(&[log.to_str().unwrap()]);
    let stored: BTreeMap<String, (u64, u64)> = from_db["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let n = |k: &str| h[k].as_u64().unwrap();
            (
                h["host"].as_str().unwrap().to_owned(),
                (n("requests"), n("errors_5xx")),
            )
        })
        .collect();
    assert_eq!(stored, hosts);
    let stored_vhosts: BTreeMap<String, u64> = from_db["vhosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_owned(),
                v["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(stored_vhosts, vhosts);
    for (a, b) in from_db["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(from_log["hosts"].as_array().unwrap())
    {
        assert_eq!(a["host"], b["host"]);
        assert_eq!(a["p99_ms"], b["p99_ms"], "response times per host");
    }
}
