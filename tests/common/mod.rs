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

/// Options for a live run on `inputs` with reports in `dir`, history in `db`, and short
/// intervals (reports every 100 ms, snapshots and polls every 50 ms).
pub fn run_options(
    dir: &std::path::Path,
    inputs: &[&std::path::Path],
    db: Option<std::path::PathBuf>,
) -> tailpulse::live::RunOptions {
    use std::time::Duration;
    tailpulse::live::RunOptions {
        inputs: inputs
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        out_dir: dir.to_path_buf(),
        db,
        report_every: Duration::from_millis(100),
        publish_every: Duration::from_millis(50),
        poll: Duration::from_millis(50),
        ..Default::default()
    }
}

/// `tailpulse ARGS` in `dir` (the test's directory when `None`), with `stdin` piped in and
/// `NO_COLOR` unset.
pub fn tailpulse_in(
    dir: Option<&std::path::Path>,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tailpulse"));
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let mut child = cmd
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        input.write_all(data).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// `tailpulse analyze ARGS --output json`, which must succeed: the document and its bytes.
pub fn analyze_json(args: &[&str]) -> (serde_json::Value, Vec<u8>) {
    let mut all = vec!["analyze"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", "json"]);
    let out = tailpulse_in(None, &all, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (serde_json::from_slice(&out.stdout).unwrap(), out.stdout)
}

/// `tailpulse run` over a copy of the log at `log` (read from its start: a replay), in a
/// new directory that also gets its reports, without a database; stdout and stderr piped.
pub fn replay_log(log: &std::path::Path) -> (tempfile::TempDir, std::process::Child) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(log, dir.path().join("old.log")).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args([
            "run",
            "--port",
            "0",
            "--no-db",
            "--report-every",
            "100ms",
            "--out-dir",
            ".",
            "old.log",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (dir, child)
}

/// The incidents a replay found, by kind, from its summary line on the terminal (the run
/// is stopped once it printed it).
pub fn replay_found(mut child: std::process::Child) -> std::collections::BTreeMap<String, u64> {
    use std::io::BufRead;
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let summary = out
        .lines()
        .map(|l| l.unwrap())
        .find(|l| l.contains("of old data"))
        .expect("a replay summary line");
    let _ = child.kill();
    child.wait().unwrap();
    let mut got = std::collections::BTreeMap::new();
    let Some(found) = summary.split("incidents found in it: ").nth(1) else {
        return got;
    };
    for part in found.split(" (see").next().unwrap().split(", ") {
        let (kind, n) = part.rsplit_once(' ').unwrap();
        got.insert(kind.to_owned(), n.parse::<u64>().unwrap());
    }
    got
}

/// The incidents of an analysis, counted by kind.
pub fn incident_kinds(v: &serde_json::Value) -> std::collections::BTreeMap<String, u64> {
    let mut kinds = std::collections::BTreeMap::new();
    for i in v["incidents"].as_array().unwrap() {
        *kinds
            .entry(i["kind"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    kinds
}

/// The request count a server at `addr` reports on `/api/summary`, once `want` holds for it
/// (panics after 30 s).
pub fn until_requests(addr: &str, want: impl Fn(u64) -> bool) -> u64 {
    use std::time::{Duration, Instant};
    let start = Instant::now();
    loop {
        let n = ureq::get(format!("http://{addr}/api/summary"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_json::<serde_json::Value>().ok())
            .and_then(|v| v["requests"].as_u64());
        if let Some(n) = n
            && want(n)
        {
            return n;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "requests: {n:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The JSON a server answers at `url` (`http://…`).
pub fn get_json(url: &str) -> serde_json::Value {
    ureq::get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap()
}

/// Requests per host of a report or summary (its `hosts` table).
pub fn hosts(v: &serde_json::Value) -> std::collections::BTreeMap<String, u64> {
    v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_owned(),
                h["requests"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A snapshot of the fixture log, as a live run publishes it.
pub fn fixture_snapshot() -> tailpulse::live::Snapshot {
    let data = std::fs::read(FIXTURE).unwrap();
    let agg = aggregate_bytes("combined.log", &data, 2, 1 << 16);
    tailpulse::live::Snapshot {
        generation: 7,
        analysis: tailpulse::analysis::analyze(&agg, tailpulse::lang::Lang::En),
        lines_per_sec: 12.5,
        lang: tailpulse::lang::Lang::En,
        minute_latency: agg.minute_latency.clone(),
        progress: Default::default(),
        alt: None,
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes the tests' geolocation databases (country.mmdb, asn.mmdb) into `dir`, with the
/// networks of tests/make_mmdb.py: 203.0.113.0/24 KR, 198.51.100.0/24 DE, 2001:db8:1::/48 JP.
pub fn make_mmdb(dir: &std::path::Path) {
    let made = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/make_mmdb.py"))
        .arg(dir)
        .output()
        .expect("python3 runs");
    let why = String::from_utf8_lossy(&made.stderr);
    assert!(made.status.success(), "{why}");
}
