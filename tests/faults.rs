//! Named regression tests for the defects found by trying to break tailpulse as an operator
//! and an attacker would: each one failed before its fix. They run the real binary (or the
//! live pipeline) on real files, FIFOs and databases.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tailpulse::live::{self, RunOptions};

/// A combined line at `ts` (seconds since the epoch) for `path`.
fn line(ts: i64, path: &str, status: u16) -> String {
    let t = chrono::DateTime::from_timestamp(ts, 0).unwrap();
    format!(
        "203.0.113.{} - - [{}] \"GET {path} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0\"",
        ts % 200 + 1,
        t.format("%d/%b/%Y:%H:%M:%S +0000")
    )
}

/// `n` plain combined lines (no response times) a minute apart from a day in 2015.
fn old_lines(n: i64) -> String {
    (0..n)
        .map(|i| line(1_431_857_103 + i * 60, &format!("/post/{}", i % 7), 200) + "\n")
        .collect()
}

fn append(path: &Path, text: &[u8]) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text)
        .unwrap();
}

/// `tailpulse run` on `inputs`, writing its reports to `dir` every 100 ms.
fn spawn_run(dir: &Path, inputs: &[&str], extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .arg("run")
        .args(inputs)
        .args(["--port", "0", "--report-every", "100ms", "--out-dir"])
        .arg(dir)
        .arg("--logs")
        .arg(dir.join("logs"))
        .arg("--db")
        .arg(dir.join("tailpulse.db"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits up to 30 s for the JSON report in `dir` to satisfy `ok`; returns it.
fn until_report(dir: &Path, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let path = dir.join("analysis_report.json");
    let start = Instant::now();
    loop {
        let v = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        if let Some(v) = v {
            if ok(&v) {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "report never got there: {}",
                &v.to_string()[..v.to_string().len().min(600)]
            );
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no report");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(mut child: Child) -> std::process::ExitStatus {
    unsafe_kill(child.id(), "TERM");
    child.wait().unwrap()
}

fn unsafe_kill(pid: u32, sig: &str) {
    Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
}

/// The line and request counts of a report.
fn counts(v: &serde_json::Value) -> (u64, u64) {
    (
        v["requests"].as_u64().unwrap(),
        v["lines"]["rejected"].as_u64().unwrap(),
    )
}

/// Regression: with `--redact` the aggregator panicked on its first report (a regex needed a
/// feature the release build lacks), the process stayed up and every line was lost.
#[test]
fn redact_run_counts_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("r.log");
    std::fs::write(&log, old_lines(300)).unwrap();
    let child = spawn_run(
        dir.path(),
        &[log.to_str().unwrap()],
        &["--redact", "--no-db"],
    );
    let v = until_report(dir.path(), |v| v["requests"] == 300);
    let prompts = v["prompts"].to_string();
    assert!(!prompts.contains("203.0.113."), "addresses are redacted");
    // What the page and the API show is the same analysis: no address anywhere in it.
    let all = v.to_string();
    assert!(
        !all.contains("203.0.113."),
        "an address in the redacted report: {all}"
    );
    let client = v["clients"][0]["client"].as_str().unwrap();
    assert!(client.starts_with("client-"), "{client}");
    assert!(stop(child).success());
}

/// Regression (found trying it): with `--redact` the page showed pseudonyms, but the history
/// database kept every client address and query string in the stored state.
#[test]
fn redact_keeps_no_address_or_query_anywhere_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("input").join("r.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let text: String = (0..300)
        .map(|i| {
            line(
                1_431_857_103 + i * 60,
                &format!("/post/{}?token=s3cret{i}", i % 7),
                if i % 9 == 0 { 404 } else { 200 },
            ) + "\n"
        })
        .collect();
    std::fs::write(&log, text).unwrap();
    let out = dir.path().join("out");
    let child = spawn_run(&out, &[log.to_str().unwrap()], &["--redact"]);
    until_report(&out, |v| v["requests"] == 300);
    assert!(stop(child).success());
    // Every file the run wrote: reports, prompts, its own logs, the database and its journal.
    let mut files = vec![out.clone()];
    let mut seen = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        seen += 1;
        let bytes = std::fs::read(&p).unwrap();
        for secret in [&b"203.0.113."[..], b"s3cret"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} holds {:?}",
                p.display(),
                String::from_utf8_lossy(secret)
            );
        }
    }
    assert!(seen >= 4, "reports and the database were written");
    // The same client keeps its pseudonym across a restart (the key is kept beside the
    // history, readable by its owner only).
    let before = until_report(&out, |_| true)["unique_visitors"].clone();
    assert_eq!(before, 10, "the log has ten clients");
    std::fs::remove_file(out.join("analysis_report.json")).unwrap();
    let child = spawn_run(&out, &[log.to_str().unwrap()], &["--redact"]);
    until_report(&out, |v| v["requests"] == 300);
    // The same ten clients again, after the restart.
    let more: String = (300..360)
        .map(|i| line(1_431_857_103 + i * 60, "/post/1", 200) + "\n")
        .collect();
    append(&log, more.as_bytes());
    let after = until_report(&out, |v| v["requests"] == 360);
    assert!(stop(child).success());
    assert_eq!(
        after["unique_visitors"], before,
        "a client keeps its pseudonym"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out.join("redact.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "redact.key is readable by others: {mode:o}"
    );
}

/// Runs the live pipeline on `inputs` until it has counted `expected` requests, gives a
/// double count time to show itself, stops it and returns what it counted.
async fn run_to(dir: &Path, inputs: Vec<PathBuf>, db: Option<PathBuf>, expected: u64) -> u64 {
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let opts = common::run_options(dir, &inputs, db);
    let live = live::start(opts).unwrap();
    let mut rx = live.snapshots.clone();
    tokio::time::timeout(
        Duration::from_secs(20),
        rx.wait_for(|s| s.analysis.stats.requests >= expected),
    )
    .await
    .expect("counted in time")
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    live.shutdown().await.stats.requests
}

/// Regression: the same file followed as `dir/a.log`, `dir/./a.log`, `dir/sub/../a.log` and
/// through a link, one run after another on one database, was counted once per spelling.
#[tokio::test]
async fn one_file_under_many_names_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    let log = d.join("a.log");
    std::fs::write(&log, old_lines(50)).unwrap();
    std::os::unix::fs::symlink(&log, d.join("link.log")).unwrap();
    let names: Vec<PathBuf> = vec![
        log.clone(),
        d.join(".").join("a.log"),
        d.join("sub").join("..").join("a.log"),
        d.join("link.log"),
    ];
    let mut expected = 50;
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            append(&log, old_lines(10).as_bytes());
            expected += 10;
        }
        let db = Some(d.join("tailpulse.db"));
        let s = run_to(d, vec![name.clone()], db, expected).await;
        assert_eq!(s, expected, "{name:?}");
    }
    // Two names of one file in one run are one input.
    let both = vec![log.clone(), d.join("link.log")];
    assert_eq!(run_to(d, both, None, expected).await, expected);
}

/// Regression: a live run on `access.log*` read the rotated `access.log.1.gz` as text (875
/// "rejected lines" of compressed bytes, nothing said why). Compressed files found by a
/// pattern are skipped with a warning; one named explicitly is an error at start.
#[tokio::test]
async fn compressed_logs_are_not_followed_as_text() {
    use flate2::{Compression, write::GzEncoder};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.log"), old_lines(50)).unwrap();
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(old_lines(3000).as_bytes()).unwrap();
    std::fs::write(d.join("a.log.1.gz"), gz.finish().unwrap()).unwrap();
    let pattern = d.join("a.log*");
    let opts = common::run_options(d, &[pattern.as_path()], None);
    let live = live::start(opts).unwrap();
    let mut rx = live.snapshots.clone();
    let snap = tokio::time::timeout(
        Duration::from_secs(20),
        rx.wait_for(|s| s.progress.mode == live::progress::Mode::Replay),
    )
    .await
    .expect("read in time")
    .unwrap()
    .clone();
    assert_eq!(snap.analysis.stats.requests, 50);
    assert_eq!(
        snap.analysis.stats.lines.rejected, 0,
        "no compressed bytes read as lines"
    );
    live.shutdown().await;
    let named = d.join("a.log.1.gz");
    let err = live::start(common::run_options(d, &[named.as_path()], None))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("gzip-compressed"), "{err}");
}

/// Regression: a line dated 31/Dec/9999 was counted and became "now" for retention, ranges
/// and the badge. Lines more than the allowed skew ahead of the clock are rejected with a
/// reason; a day is allowed by default.
#[test]
fn future_dated_lines_are_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("f.log");
    let now = chrono::Utc::now().timestamp();
    let mut text = old_lines(20);
    text += "203.0.113.9 - - [31/Dec/9999:23:59:59 +0000] \"GET /x HTTP/1.1\" 200 1 \"-\" \"-\"\n";
    text += &(line(now + 2 * 86_400, "/two-days-ahead", 200) + "\n");
    text += &(line(now + 3_600, "/an-hour-ahead", 200) + "\n");
    std::fs::write(&log, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["analyze", "--output", "json", log.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(counts(&v), (21, 2));
    assert_eq!(v["lines"]["future"], 2);
    let samples = v["sources"][0]["rejected_samples"].to_string();
    assert!(samples.contains("future_timestamp"), "{samples}");
    let strict = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["analyze", "--output", "json", "--max-skew", "1m"])
        .arg(&log)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&strict.stdout).unwrap();
    assert_eq!(counts(&v), (20, 3));
}

/// Resident memory of a process, and its peak, in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Regression: a followed file that grew by 300 MB without a newline grew the reader's
/// buffer without bound; only `analyze` had the 16 MiB line cap. Now the over-long line is
/// skipped in bounded memory and counted as rejected with its line number.
#[test]
fn an_endless_line_in_a_followed_file_is_skipped_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("n.log");
    std::fs::write(&log, old_lines(10)).unwrap();
    let child = spawn_run(dir.path(), &[log.to_str().unwrap()], &["--no-db"]);
    until_report(dir.path(), |v| v["requests"] == 10);
    let (before, _) = rss_kib(child.id());
    let mb = vec![0u8; 1 << 20];
    for _ in 0..96 {
        append(&log, &mb);
    }
    append(&log, b"\n");
    append(&log, old_lines(5).as_bytes());
    let v = until_report(dir.path(), |v| v["requests"] == 15);
    assert_eq!(counts(&v), (15, 1));
    assert_eq!(v["sources"][0]["rejected_samples"][0]["line"], 11);
    let (_, peak) = rss_kib(child.id());
    assert!(
        peak < before + 48 * 1024,
        "96 MiB without a newline held in memory: {before} KiB → peak {peak} KiB"
    );
    assert!(stop(child).success());
}

/// Regression: a gzip member holding an over-long line was counted as nothing.
#[test]
fn an_overlong_line_in_gzip_is_rejected_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = old_lines(3).into_bytes();
    text.extend(std::iter::repeat_n(b'x', 17 << 20));
    text.push(b'\n');
    text.extend(old_lines(2).into_bytes());
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&text).unwrap();
    let gz = dir.path().join("a.log.gz");
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["analyze", "--output", "json"])
        .arg(&gz)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(counts(&v), (5, 1));
    assert_eq!(v["lines"]["read"], 6);
    assert_eq!(v["sources"][0]["rejected_samples"][0]["line"], 4);
}

/// Regression: `run FIFO` failed every read with "Illegal seek" and counted none of its lines.
#[test]
fn a_fifo_is_read_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("p.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let child = spawn_run(dir.path(), &[fifo.to_str().unwrap()], &["--no-db"]);
    // Opening for writing waits until tailpulse opens it for reading.
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(old_lines(3000).as_bytes()).unwrap();
    drop(w);
    let v = until_report(dir.path(), |v| v["requests"] == 3000);
    assert_eq!(counts(&v), (3000, 0));
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(old_lines(5).as_bytes()).unwrap();
    drop(w);
    until_report(dir.path(), |v| v["requests"] == 3005);
    let mut child = child;
    unsafe_kill(child.id(), "TERM");
    // Its reader may be waiting for a writer: a run still stops on its own.
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "run did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Regression: `run DIR` retried reading the directory in a loop (83k warnings a second,
/// 80 MB of its own log). A directory, a socket or an unreadable file is one clear error.
#[test]
fn bad_paths_fail_once_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    for (input, says) in [
        (dir.path().to_path_buf(), "is a directory"),
        (sock, "neither a file nor a pipe"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
            .arg("run")
            .arg(&input)
            .args(["--port", "0", "--no-db", "--logs"])
            .arg(dir.path().join("logs"))
            .arg("--out-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{input:?}");
        assert_eq!(err.matches(says).count(), 1, "{err}");
    }
}

/// Regression: a plain combined log (no response times) saved empty sketches that could not
/// be read back, and the second `run` refused to start. JSON logs without durations and W3C
/// logs restart too, with exact totals.
#[tokio::test]
async fn a_run_restarts_on_logs_without_response_times() {
    let real = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real/");
    for name in ["blog_combined.log", "json_nodur.log", "w3c_iis.log"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(name);
        std::fs::copy(format!("{real}{name}"), &log).unwrap();
        let expected: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!("{real}{}", name.replace(".log", ".expected.json"))).unwrap(),
        )
        .unwrap();
        let n = expected["requests"].as_u64().unwrap();
        let opts = || RunOptions {
            max_skew: Duration::from_secs(86_400),
            ..common::run_options(dir.path(), &[&log], Some(dir.path().join("tailpulse.db")))
        };
        for round in 0..2 {
            let live = live::start(opts()).unwrap_or_else(|e| panic!("{name} round {round}: {e}"));
            let mut rx = live.snapshots.clone();
            tokio::time::timeout(
                Duration::from_secs(20),
                rx.wait_for(|s| s.analysis.stats.requests >= n),
            )
            .await
            .expect("counted in time")
            .unwrap();
            let s = live.shutdown().await;
            assert_eq!(s.stats.requests, n, "{name} round {round}");
            assert_eq!(s.stats.lines.rejected, 0, "{name} round {round}");
        }
    }
}

/// A database that cannot be read is moved aside with an error, and the run goes on from the
/// logs' start instead of refusing to start.
#[test]
fn an_unreadable_database_is_moved_aside_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    std::fs::write(&log, old_lines(40)).unwrap();
    let db = dir.path().join("tailpulse.db");
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let child = spawn_run(dir.path(), &[log.to_str().unwrap()], &[]);
    until_report(dir.path(), |v| v["requests"] == 40);
    let out = {
        unsafe_kill(child.id(), "TERM");
        child.wait_with_output().unwrap()
    };
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ERROR") && err.contains("moved aside"),
        "{err}"
    );
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".unreadable-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read(aside[0].path()).unwrap(), vec![0x5a; 8192]);
}

/// Starts `tailpulse run` with `TAILPULSE_FAULT=panic:<part>` (the debug build's test hook).
fn spawn_faulty(dir: &Path, part: &str) -> Child {
    let log = dir.join("a.log");
    std::fs::write(&log, old_lines(20)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .arg("run")
        .arg(&log)
        .args(["--port", "0", "--report-every", "100ms", "--out-dir"])
        .arg(dir)
        .arg("--logs")
        .arg(dir.join("logs"))
        .arg("--db")
        .arg(dir.join("tailpulse.db"))
        .env("TAILPULSE_FAULT", format!("panic:{part}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Regression: a panic in the aggregator left the process up, `/healthz` said ok and every
/// line was lost. A failed aggregator, reader or store writer now ends the run with an ERROR
/// naming the part and exit code 70 (a restart resumes from the saved state).
#[test]
fn a_failed_part_ends_the_run_with_an_error_naming_it() {
    for (part, name) in [
        ("aggregator", "aggregator"),
        ("reader", "reader"),
        ("store", "store writer"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = spawn_faulty(dir.path(), part);
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{part}: still running"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(70), "{part}: {err}");
        assert!(
            err.contains(&format!("ERROR the {name} failed")),
            "{part}: {err}"
        );
    }
}

/// A panic while answering one web request closes that connection and is counted on
/// `/healthz`; the server and the analysis go on.
#[test]
fn a_failed_web_request_is_counted_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_faulty(dir.path(), "web");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut out, &mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('/')
        .to_owned();
    assert!(
        ureq::get(format!("http://{addr}/api/summary"))
            .call()
            .is_err()
    );
    let health: serde_json::Value = ureq::get(format!("http://{addr}/healthz"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(health["parts"]["web"]["handler_panics"], 1, "{health}");
    assert_eq!(health["status"], "ok");
    until_report(dir.path(), |v| v["requests"] == 20);
    assert!(child.try_wait().unwrap().is_none(), "still running");
    assert!(stop(child).success());
}

/// The stderr of a run stopped with SIGTERM after its report shows `n` requests.
fn run_until_and_stop(dir: &Path, log: &Path, n: u64) -> String {
    let child = spawn_run(dir, &[log.to_str().unwrap()], &[]);
    until_report(dir, |v| v["requests"] == n);
    // Two report intervals, so that the history has been committed.
    std::thread::sleep(Duration::from_millis(300));
    unsafe_kill(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Regression: after SIGTERM the history sat in `tailpulse.db-wal`; a copy of the database
/// file alone held nothing. A clean stop folds the log into the file.
#[test]
fn a_clean_stop_leaves_the_history_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    std::fs::write(&log, old_lines(60)).unwrap();
    run_until_and_stop(dir.path(), &log, 60);
    let wal = dir.path().join("tailpulse.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0,
        "WAL left behind"
    );
    let copy = tempfile::tempdir().unwrap();
    let db = copy.path().join("copy.db");
    std::fs::copy(dir.path().join("tailpulse.db"), &db).unwrap();
    let (v, _) = common::analyze_json(&["--since", "3650d", "--db", db.to_str().unwrap()]);
    assert_eq!(v["requests"], 60);
    let check = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["db", "check", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(check.status.success());
    assert!(String::from_utf8_lossy(&check.stdout).contains(": ok"));
    std::fs::write(&db, vec![7u8; 4096]).unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["db", "check", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!check.status.success());
}

/// Regression: a deleted write-ahead log, or a database emptied to 0 bytes, started afresh
/// without a word (the counts came right again from the logs, but history was gone). Both
/// are now an ERROR that says what was lost; the counts stay exact.
#[test]
fn lost_history_is_named() {
    for damage in ["wal", "empty"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        std::fs::write(&log, old_lines(60)).unwrap();
        let mut child = spawn_run(dir.path(), &[log.to_str().unwrap()], &[]);
        until_report(dir.path(), |v| v["requests"] == 60);
        let marker = dir.path().join("tailpulse.db.commits");
        let start = Instant::now();
        while !marker.exists() {
            assert!(start.elapsed() < Duration::from_secs(20), "no commit");
            std::thread::sleep(Duration::from_millis(50));
        }
        unsafe_kill(child.id(), "KILL");
        child.wait().unwrap();
        let db = dir.path().join("tailpulse.db");
        match damage {
            "wal" => std::fs::remove_file(dir.path().join("tailpulse.db-wal")).unwrap(),
            _ => {
                std::fs::write(&db, b"").unwrap();
                let _ = std::fs::remove_file(dir.path().join("tailpulse.db-wal"));
            }
        }
        let _ = std::fs::remove_file(dir.path().join("analysis_report.json"));
        let err = run_until_and_stop(dir.path(), &log, 60);
        assert!(
            err.contains("ERROR") && err.contains("history since") && err.contains("is gone"),
            "{damage}: {err}"
        );
    }
}

/// Review finding: a pattern that also matches rotated names (`app.log*`) found `app.log.1`
/// after a rename and read it again from its start, on top of what the tailer of `app.log`
/// had read: every rotated file counted twice.
#[test]
fn a_pattern_that_matches_rotated_names_counts_them_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, old_lines(1000)).unwrap();
    let pattern = format!("{}*", log.display());
    let child = spawn_run(dir.path(), &[&pattern], &["--no-db"]);
    until_report(dir.path(), |v| v["requests"] == 1000);
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    std::fs::write(&log, old_lines(500)).unwrap();
    until_report(dir.path(), |v| v["requests"] == 1500);
    // The pattern is expanded again every 5 s: wait until the rotated name has been seen.
    let runner = dir.path().join("logs/runner.log");
    let start = Instant::now();
    while !std::fs::read_to_string(&runner).is_ok_and(|t| t.contains("app.log.1")) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "app.log.1 never seen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    append(&log, old_lines(5).as_bytes());
    let v = until_report(dir.path(), |v| v["requests"].as_u64() >= Some(1505));
    assert_eq!(v["requests"], 1505, "the rotated file was read again");
    assert!(stop(child).success());
}
