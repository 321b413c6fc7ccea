//! The live pipeline on real files: following, reports, restart without loss or duplicates
//! (also after `kill -9`), many files and late ones, and a seeded incident found end to end.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tailpulse::generate::{GenFormat, Generator, Incident, IncidentKind, IncidentPlan};
use tailpulse::live::{self, RunOptions};

const T0: i64 = 1_709_251_200_000;

fn lines(seed: u64, n: u64) -> Vec<String> {
    let mut g = Generator::new(
        seed,
        GenFormat::Combined,
        10.0,
        IncidentPlan {
            every_min: None,
            length_min: 1.0,
        },
        T0,
    );
    g.lines(n, T0, T0 + 3_600_000)
        .into_iter()
        .map(|(_, l)| l)
        .collect()
}

fn append(path: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    f.write_all(text.as_bytes()).unwrap();
}

fn options(dir: &Path, inputs: Vec<String>) -> RunOptions {
    RunOptions {
        inputs,
        out_dir: dir.to_path_buf(),
        db: Some(dir.join("tailpulse.db")),
        report_every: Duration::from_millis(200),
        publish_every: Duration::from_millis(50),
        poll: Duration::from_millis(50),
        ..RunOptions::default()
    }
}

/// Waits (up to 20 s) until the snapshot shows `n` requests.
async fn until_requests(live: &live::Live, n: u64) {
    let mut rx = live.snapshots.clone();
    let wait = rx.wait_for(|s| s.analysis.stats.requests >= n);
    let snap = tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("counted in time")
        .unwrap()
        .clone();
    assert_eq!(snap.analysis.stats.requests, n, "no line counted twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_appends_and_writes_reports() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let all = lines(1, 300);
    append(&log, &all[..100]);
    let live = live::start(options(dir.path(), vec![log.to_string_lossy().into()])).unwrap();
    until_requests(&live, 100).await;
    append(&log, &all[100..]);
    until_requests(&live, 300).await;
    let summary = live.shutdown().await;
    assert_eq!(summary.stats.requests, 300);
    let report = std::fs::read_to_string(dir.path().join(live::REPORT_TXT)).unwrap();
    assert!(report.contains("Requests: 300 "), "{report}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(live::REPORT_JSON)).unwrap())
            .unwrap();
    assert_eq!(json["requests"], 300);
    assert!(
        std::fs::read_to_string(dir.path().join(live::PROMPT_LOG))
            .unwrap()
            .contains("Anomaly detection prompt")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_counts_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let all = lines(2, 500);
    append(&log, &all[..200]);
    let live = live::start(options(dir.path(), vec![log.to_string_lossy().into()])).unwrap();
    until_requests(&live, 200).await;
    live.shutdown().await;
    append(&log, &all[200..350]);
    std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, &all[350..]);
    let live = live::start(options(dir.path(), vec![log.to_string_lossy().into()])).unwrap();
    until_requests(&live, 500).await;
    assert_eq!(live.shutdown().await.stats.requests, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_files_a_glob_and_a_late_file() {
    let dir = tempfile::tempdir().unwrap();
    let all = lines(3, 300);
    append(&dir.path().join("a.log"), &all[..100]);
    append(&dir.path().join("b.log"), &all[100..200]);
    let pattern = dir.path().join("*.log").to_string_lossy().into_owned();
    let late = dir.path().join("late.txt");
    let live = live::start(options(
        dir.path(),
        vec![pattern, late.to_string_lossy().into()],
    ))
    .unwrap();
    until_requests(&live, 200).await;
    append(&late, &all[200..]);
    until_requests(&live, 300).await;
    let s = live.shutdown().await;
    assert_eq!(s.stats.sources.len(), 3);
}

/// An hour of seeded traffic at 20 requests/s in which half of `route`'s requests fail from
/// minute 30 to minute 40.
fn burst_traffic(seed: u64, route: &str) -> Vec<(i64, String)> {
    let mut g = Generator::new(
        seed,
        GenFormat::Combined,
        20.0,
        IncidentPlan {
            every_min: None,
            length_min: 1.0,
        },
        T0,
    );
    g.inject(Incident {
        kind: IncidentKind::ErrorBurst {
            route: route.into(),
            error_rate: 0.5,
        },
        start_ms: T0 + 1_800_000,
        end_ms: T0 + 2_400_000,
    });
    g.traffic(T0, T0 + 3_600_000).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_error_burst_is_named_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let route = "/api/products/{id}";
    let traffic = burst_traffic(9, route);
    let text: Vec<String> = traffic.into_iter().map(|(_, l)| l).collect();
    append(&log, &text);
    let live = live::start(options(dir.path(), vec![log.to_string_lossy().into()])).unwrap();
    until_requests(&live, text.len() as u64).await;
    let s = live.shutdown().await;
    let errors = s
        .insights
        .iter()
        .find(|i| i.kind == tailpulse::insights::InsightKind::ServerErrors)
        .unwrap();
    assert_eq!(errors.subject.as_deref(), Some(route));
    let report = std::fs::read_to_string(dir.path().join(live::REPORT_TXT)).unwrap();
    assert!(
        report.contains(&format!("{route} accounts for")),
        "{report}"
    );
    // Detection found it as it happened: one incident, with its time window, now resolved.
    let spikes: Vec<_> = s
        .insights
        .iter()
        .filter(|i| i.kind == tailpulse::insights::InsightKind::ErrorSpike)
        .collect();
    assert_eq!(spikes.len(), 1, "{spikes:?}");
    assert_eq!(spikes[0].subject.as_deref(), Some(route));
    let w = spikes[0].window.unwrap();
    let start = T0 + 1_800_000;
    assert!(
        w.start_ms >= start - 60_000 && w.detected_ms <= start + 120_000,
        "{w:?}"
    );
    assert!(
        w.end_ms.is_some_and(|e| e >= T0 + 2_400_000 - 60_000),
        "{w:?}"
    );
    assert!(spikes[0].evidence["now"] > 5.0 * spikes[0].evidence["baseline"]);
    assert!(
        report.contains(&format!("5xx spike on {route}")),
        "{report}"
    );
    // … and once in the stored history of findings.
    use tailpulse::store::Store;
    let store =
        tailpulse::store::sqlite::SqliteStore::open_read_only(&dir.path().join("tailpulse.db"))
            .unwrap();
    let rows: Vec<_> = store
        .insights(i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "error_spike")
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].first_ms, w.start_ms);
    // A report over the stored history names it too, without the log.
    drop(store);
    std::fs::remove_file(&log).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["analyze", "--since", "1970-01-01", "--db"])
        .arg(dir.path().join("tailpulse.db"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&format!("5xx spike on {route}")), "{text}");
}

/// An incident that spans a restart is one incident: detection's baselines, open minutes and
/// incidents are saved with the state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_across_a_restart_stays_one_incident() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let route = "/api/products/{id}";
    let traffic = burst_traffic(11, route);
    let cut = traffic
        .iter()
        .position(|(t, _)| *t >= T0 + 1_980_000)
        .unwrap();
    let text: Vec<String> = traffic.into_iter().map(|(_, l)| l).collect();
    append(&log, &text[..cut]);
    let live = live::start(options(dir.path(), vec![log.to_string_lossy().into()])).unwrap();
    until_requests(&live, cut as u64).await;
    let before = live.shutdown().await;
    assert!(
        before
            .insights
            .iter()
            .any(|i| i.kind == tailpulse::insights::InsightKind::ErrorSpike
                && i.window.is_some_and(|w| w.end_ms.is_none())),
        "open when stopped"
    );
    append(&log, &text[cut..]);
    let live = live::start(options(dir.path(), vec![log.to_string_lossy().into()])).unwrap();
    until_requests(&live, text.len() as u64).await;
    let s = live.shutdown().await;
    let spikes: Vec<_> = s
        .insights
        .iter()
        .filter(|i| i.kind == tailpulse::insights::InsightKind::ErrorSpike)
        .collect();
    assert_eq!(spikes.len(), 1, "{spikes:?}");
    let w = spikes[0].window.unwrap();
    assert!(w.start_ms <= T0 + 1_800_000 + 60_000, "{w:?}");
    assert!(
        w.end_ms.is_some_and(|e| e >= T0 + 2_400_000 - 60_000),
        "{w:?}"
    );
    use tailpulse::store::Store;
    let store =
        tailpulse::store::sqlite::SqliteStore::open_read_only(&dir.path().join("tailpulse.db"))
            .unwrap();
    let rows = store.insights(i64::MIN, i64::MAX).unwrap();
    assert_eq!(
        rows.iter().filter(|r| r.kind == "error_spike").count(),
        1,
        "{rows:?}"
    );
}

fn spawn_run(dir: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args([
            "run",
            log.to_str().unwrap(),
            "--report-every",
            "100ms",
            "--port",
            "0",
        ])
        .args([
            "--out-dir",
            dir.to_str().unwrap(),
            "--db",
            dir.join("tailpulse.db").to_str().unwrap(),
        ])
        .args(["--logs", dir.join("logs").to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Polls the JSON report until it shows `n` requests (up to 30 s).
fn report_reaches(dir: &Path, n: u64) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut last = 0;
    while std::time::Instant::now() < deadline {
        if let Ok(bytes) = std::fs::read(dir.join(live::REPORT_JSON))
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            last = v["requests"].as_u64().unwrap_or(0);
            if last >= n {
                return last;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    last
}

#[test]
fn kill_9_then_restart_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let all = lines(4, 40_000);
    append(&log, &all[..10_000]);
    let mut child = spawn_run(dir.path(), &log);
    assert!(report_reaches(dir.path(), 10_000) >= 10_000);
    // Keep writing while the process is killed without warning.
    for chunk in all[10_000..30_000].chunks(1000) {
        append(&log, chunk);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    append(&log, &all[30_000..]);
    let mut child = spawn_run(dir.path(), &log);
    assert_eq!(report_reaches(dir.path(), 40_000), 40_000);
    // SIGTERM: a clean stop that writes the final report and exits 0.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(report_reaches(dir.path(), 40_000), 40_000);
    // The stored history (rollups committed with the read positions) counts each line once.
    let db = dir.path().join("tailpulse.db");
    let out = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args([
            "analyze",
            "--output",
            "json",
            "--since",
            "1970-01-01",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(history["requests"], 40_000);
}

#[test]
fn separate_generate_then_run_matches_analyze() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server_sample.log");
    let generated = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args([
            "generate",
            "--count",
            "3000",
            "--seed",
            "5",
            "--out",
            log.to_str().unwrap(),
        ])
        .args(["--logs", dir.path().join("logs").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(generated.status.success());
    let analyzed = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["analyze", "--output", "json", log.to_str().unwrap()])
        .output()
        .unwrap();
    let analyzed: serde_json::Value = serde_json::from_slice(&analyzed.stdout).unwrap();
    assert_eq!(analyzed["requests"], 3000);
    let mut child = spawn_run(dir.path(), &log);
    assert_eq!(report_reaches(dir.path(), 3000), 3000);
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let live: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(live::REPORT_JSON)).unwrap())
            .unwrap();
    for key in [
        "requests",
        "status",
        "routes",
        "response_time_ms",
        "by_hour",
        "unique_visitors",
    ] {
        assert_eq!(live[key], analyzed[key], "{key}");
    }
}
