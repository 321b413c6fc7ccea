//! ClickHouse as the fleet's store, against a real `clickhouse-server` (Debian's package,
//! 18.16, which `.ci/run` installs) started by each test on free ports with its own
//! configuration: every request stored once across kill -9 and restarts, the server stopped
//! and started again mid-run, two instances writing one database, and reports read back
//! from it equal to the log file's. Counts are recomputed from the log files by the tests.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `clickhouse-server` of the test's own, in a temporary directory.
struct ClickHouse {
    dir: tempfile::TempDir,
    http: u16,
    child: Option<Child>,
}

impl ClickHouse {
    fn start() -> ClickHouse {
        ClickHouse::node(common::free_port(), common::free_port(), "")
    }

    /// A server on ports `http` and `tcp`, with `remote_servers` (XML) in its configuration.
    fn node(http: u16, tcp: u16, remote_servers: &str) -> ClickHouse {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let config = format!(
            r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog><console>0</console></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <timezone>UTC</timezone>
  {remote_servers}
</yandex>"#
        );
        let users = r#"<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>"#;
        std::fs::write(dir.path().join("config.xml"), config).unwrap();
        std::fs::write(dir.path().join("users.xml"), users).unwrap();
        let mut ch = ClickHouse {
            dir,
            http,
            child: None,
        };
        ch.resume();
        ch
    }

    /// Starts the server (again) on the same data and port, and waits until it answers.
    fn resume(&mut self) {
        let binary = ["/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect(
                "clickhouse-server is installed (apt-get install clickhouse-server; .ci/run does)",
            );
        let child = Command::new(binary)
            .arg(format!(
                "--config-file={}/config.xml",
                self.dir.path().display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let start = Instant::now();
        while ureq::get(format!("{}/ping", self.url())).call().is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "clickhouse-server did not start: {}",
                std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the server (as a crash would).
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    /// The answer to `sql` (TabSeparated), trimmed.
    fn query(&self, sql: &str) -> String {
        let mut res = ureq::post(self.url())
            .config()
            .http_status_as_error(false)
            .build()
            .send(sql)
            .unwrap();
        let text = res.body_mut().read_to_string().unwrap();
        assert_eq!(res.status(), 200, "{sql}: {text}");
        text.trim().to_owned()
    }

    fn number(&self, sql: &str) -> u64 {
        let text = self.query(sql);
        text.parse()
            .unwrap_or_else(|_| panic!("{sql} gave {text:?}"))
    }

    /// The number `sql` gives, or `None` while it cannot be answered (no table yet).
    fn try_number(&self, sql: &str) -> Option<u64> {
        ureq::post(self.url())
            .send(sql)
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .and_then(|t| t.trim().parse::<u64>().ok())
    }

    /// Waits until `sql` gives `want` (panics after 60 s with the last answer).
    fn until(&self, sql: &str, want: u64) {
        let start = Instant::now();
        loop {
            let got = self.try_number(sql);
            if got == Some(want) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{sql}: {got:?}, want {want}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `tailpulse run` child and its dashboard's address; killed when dropped.
struct Run(Child, String);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tailpulse run FILE --clickhouse URL --clickhouse-db DB` with its data in `data`.
fn run(data: &Path, file: &Path, ch: &ClickHouse, db: &str, extra: &[&str]) -> Run {
    let child = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["run", "--port", "0", "--report-every", "200ms"])
        .arg("--data-dir")
        .arg(data)
        .args(["--clickhouse", &ch.url(), "--clickhouse-db", db])
        .args(extra)
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = child;
    let addr = dashboard(&mut child);
    Run(child, addr)
}

/// The dashboard address a run prints (its output is read on to the end, so that the run
/// never writes to a closed pipe).
fn dashboard(child: &mut Child) -> String {
    use std::io::BufRead;
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if let Some(addr) = line.split("dashboard on http://").nth(1) {
                let _ = tx.send(addr.trim_end_matches('/').to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the run prints its address")
}

/// Lines of `text` whose status (the field after the quoted request) passes `keep`.
fn count_status(text: &str, keep: impl Fn(u16) -> bool) -> u64 {
    text.lines()
        .filter_map(|l| l.split('"').nth(2)?.split_whitespace().next()?.parse().ok())
        .filter(|s| keep(*s))
        .count() as u64
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

#[test]
fn a_restart_from_older_read_positions_stores_no_request_twice() {
    let ch = ClickHouse::start();
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("access.log");
    let text = std::fs::read_to_string(fixture("tests/fixtures/real/blog_combined.log")).unwrap();
    std::fs::write(&log, &text).unwrap();
    let lines = text.lines().count() as u64;
    let total = "SELECT count() FROM t.requests";
    {
        let _r = run(data.path(), &log, &ch, "t", &[]);
        ch.until(total, lines);
    }
    // The history database (the read positions) is lost: the whole file is read again.
    for e in std::fs::read_dir(data.path()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("tailpulse.db")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let mut more = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let extra: String = text.lines().take(100).map(|l| format!("{l}\n")).collect();
    more.write_all(extra.as_bytes()).unwrap();
    let _r = run(data.path(), &log, &ch, "t", &[]);
    ch.until(total, lines + 100);
    let store = get_store(&ch, "t");
    assert_eq!(store, lines + 100, "each line once, by source and offset");
    let not_found = count_status(&text, |s| s == 404) + count_status(&extra, |s| s == 404);
    assert_eq!(
        ch.number("SELECT count() FROM t.requests WHERE status = 404"),
        not_found
    );
}

/// Distinct (source, offset) pairs stored.
fn get_store(ch: &ClickHouse, db: &str) -> u64 {
    ch.number(&format!(
        "SELECT uniqExact(source, offset) FROM {db}.requests"
    ))
}

#[test]
fn kill_9_during_sustained_reading_loses_and_doubles_nothing() {
    let ch = ClickHouse::start();
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("access.log");
    let text = std::fs::read_to_string(common::FIXTURE).unwrap();
    std::fs::write(&log, "").unwrap();
    let mut written = 0u64;
    let mut append = |n: usize| {
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        for _ in 0..n {
            f.write_all(text.as_bytes()).unwrap();
            written += text.lines().count() as u64;
        }
        written
    };
    let mut r = Some(run(data.path(), &log, &ch, "k", &[]));
    // Lines keep arriving; the run is killed once the server holds some of them.
    let start = Instant::now();
    let mut killed = false;
    while start.elapsed() < Duration::from_secs(60) {
        let so_far = append(1);
        let stored = ch.try_number("SELECT count() FROM k.requests").unwrap_or(0);
        if stored > 0 && so_far > 30_000 {
            kill_9(r.take().unwrap());
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        killed,
        "the server got rows while lines were still arriving"
    );
    let all = append(3);
    let stored_at_kill = ch.number("SELECT count() FROM k.requests");
    assert!(stored_at_kill < all, "the kill came before the end");
    let _r = run(data.path(), &log, &ch, "k", &[]);
    ch.until("SELECT count() FROM k.requests", all);
    assert_eq!(get_store(&ch, "k"), all, "no line doubled");
}

/// SIGINT, as Ctrl-C: the run saves its state and stops.
fn stop(mut r: Run) {
    let status = Command::new("kill")
        .args(["-INT", &r.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(r.0.wait().unwrap().success(), "a clean stop");
}

/// SIGKILL, as a crash.
fn kill_9(mut r: Run) {
    let _ = r.0.kill();
    let _ = r.0.wait();
}

#[test]
fn the_server_stopped_mid_run_then_started_again_loses_nothing() {
    let mut ch = ClickHouse::start();
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("access.log");
    let text = std::fs::read_to_string(common::FIXTURE).unwrap();
    std::fs::write(&log, &text).unwrap();
    let lines = text.lines().count() as u64;
    let r = run(data.path(), &log, &ch, "d", &[]);
    let addr = r.1.clone();
    ch.until("SELECT count() FROM d.requests", lines);
    ch.kill();
    // Lines read while the server is away wait in the queue; the page says so.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let start = Instant::now();
    loop {
        let v = common::get_json(&format!("http://{addr}/api/store"));
        let st = &v["clickhouse"];
        if st["available"] == false && st["queued_bytes"].as_u64().unwrap_or(0) > 0 {
            assert!(st["error"].as_str().unwrap().contains("cannot be reached"));
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{v}");
        std::thread::sleep(Duration::from_millis(50));
    }
    common::until_requests(&addr, |n| n == 2 * lines);
    let mut res = ureq::get(format!("http://{addr}/api/summary?range=all"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(res.status(), 503);
    let v: serde_json::Value = res.body_mut().read_json().unwrap();
    assert_eq!(
        v["error"].as_str().map(|e| e.contains("unavailable")),
        Some(true),
        "{v}"
    );
    ch.resume();
    ch.until("SELECT count() FROM d.requests", 2 * lines);
    assert_eq!(get_store(&ch, "d"), 2 * lines);
}

#[test]
fn two_instances_write_one_database_and_each_dashboard_answers_for_the_fleet() {
    let ch = ClickHouse::start();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let text_a = std::fs::read_to_string(common::FIXTURE).unwrap();
    let text_b = std::fs::read_to_string(fixture("tests/fixtures/real/blog_combined.log")).unwrap();
    std::fs::write(a.path().join("a.log"), &text_a).unwrap();
    std::fs::write(b.path().join("b.log"), &text_b).unwrap();
    let ra = run(
        a.path(),
        &a.path().join("a.log"),
        &ch,
        "f",
        &["--host", "web-1"],
    );
    let _rb = run(
        b.path(),
        &b.path().join("b.log"),
        &ch,
        "f",
        &["--host", "web-2"],
    );
    let addr = ra.1.clone();
    let (na, nb) = (text_a.lines().count() as u64, text_b.lines().count() as u64);
    ch.until("SELECT count() FROM f.requests", na + nb);
    assert_eq!(
        ch.query("SELECT host, count() FROM f.requests GROUP BY host ORDER BY host"),
        format!("web-1\t{na}\nweb-2\t{nb}")
    );
    // web-1's page answers for web-2 over all of time, from ClickHouse.
    let v = common::get_json(&format!(
        "http://{addr}/api/summary?range=all&host=web-2&status=4xx"
    ));
    assert_eq!(v["filter"]["source"], "clickhouse", "{v}");
    assert_eq!(
        v["requests"].as_u64(),
        Some(count_status(&text_b, |s| s / 100 == 4))
    );
    let v = common::get_json(&format!("http://{addr}/api/summary?range=all"));
    assert_eq!(v["requests"].as_u64(), Some(na + nb), "the fleet's total");
    // The fleet's view without a range: every instance's requests, broken down by host.
    let v = common::get_json(&format!("http://{addr}/api/summary?scope=fleet"));
    assert_eq!(v["requests"].as_u64(), Some(na + nb), "{v}");
    assert_eq!(v["filter"]["source"], "clickhouse");
    let hosts: std::collections::BTreeSet<(String, u64)> = (v["hosts"].as_array().unwrap().iter())
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_owned(),
                h["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [("web-1".to_owned(), na), ("web-2".to_owned(), nb)];
    assert_eq!(hosts, want.into_iter().collect());
    // The charts and the route table of all of time are the fleet's too.
    let sum = |v: serde_json::Value| -> u64 {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["requests"].as_u64().unwrap())
            .sum()
    };
    let series = common::get_json(&format!(
        "http://{addr}/api/timeseries?range=all&host=web-2"
    ));
    assert_eq!(sum(series), nb);
    let routes = common::get_json(&format!("http://{addr}/api/routes?range=all&host=web-2"));
    assert_eq!(sum(routes), nb);
    // The newest requests of web-2, from all of them, not the few kept in memory.
    let recent = common::get_json(&format!("http://{addr}/api/recent?host=web-2&limit=30"));
    let recent = recent.as_array().unwrap();
    assert_eq!(recent.len(), 30);
    assert!(recent.iter().all(|r| r["host"] == "web-2"));
    let newest_b = text_b
        .lines()
        .filter_map(|l| Some(l.split('[').nth(1)?.split(']').next()?.to_owned()))
        .map(|t| chrono::DateTime::parse_from_str(&t, "%d/%b/%Y:%H:%M:%S %z").unwrap())
        .max()
        .unwrap();
    assert_eq!(
        recent[0]["ts_ms"].as_i64(),
        Some(newest_b.timestamp_millis()),
        "newest first"
    );
    let local = common::get_json(&format!("http://{addr}/api/routes?host=web-2"));
    assert_eq!(
        sum(local),
        0,
        "without a range, the live run's own requests"
    );
    let fleet = common::get_json(&format!("http://{addr}/api/routes?host=web-2&scope=fleet"));
    assert_eq!(sum(fleet), nb, "unless the fleet's are asked for");
    let series = common::get_json(&format!(
        "http://{addr}/api/timeseries?range=all&scope=fleet"
    ));
    assert_eq!(sum(series), na + nb);
    // The fleet's hour is the hour before its newest stored minute, whichever instance
    // holds it, not before this run's newest request.
    let times: Vec<i64> = [&text_a, &text_b]
        .iter()
        .flat_map(|t| t.lines())
        .filter_map(|l| Some(l.split('[').nth(1)?.split(']').next()?.to_owned()))
        .map(|t| {
            chrono::DateTime::parse_from_str(&t, "%d/%b/%Y:%H:%M:%S %z")
                .unwrap()
                .timestamp_millis()
        })
        .collect();
    let newest_minute_end = times.iter().max().unwrap() / 60_000 * 60_000 + 59_999;
    let hour = times
        .iter()
        .filter(|t| **t > newest_minute_end - 3_600_000)
        .count() as u64;
    assert!(hour > 0 && hour < na.max(nb));
    let v = common::get_json(&format!("http://{addr}/api/summary?range=1h&scope=fleet"));
    assert_eq!(v["requests"].as_u64(), Some(hour), "{v}");
}

#[test]
fn analyze_of_stored_requests_equals_analyze_of_the_log() {
    let ch = ClickHouse::start();
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("access.log");
    std::fs::copy(common::FIXTURE, &log).unwrap();
    let lines = std::fs::read_to_string(&log).unwrap().lines().count() as u64;
    {
        let _r = run(data.path(), &log, &ch, "a", &["--host", "web-1"]);
        ch.until("SELECT count() FROM a.requests", lines);
    }
    let path = log.to_str().unwrap();
    let (mut file, _) = common::analyze_json(&[path, "--host", "web-1"]);
    let url = ch.url();
    let (mut stored, _) = common::analyze_json(&["--clickhouse", &url, "--clickhouse-db", "a"]);
    // The sample lines are rebuilt from stored fields, and the source is the database.
    for v in [&mut file, &mut stored] {
        let o = v.as_object_mut().unwrap();
        for k in [
            "recent",
            "recent_errors",
            "slowest",
            "sources",
            "prompts",
            "lines",
        ] {
            o.remove(k);
        }
    }
    assert_eq!(stored, file);
    // Filters: recomputed from the log apart.
    let text = std::fs::read_to_string(&log).unwrap();
    let want = text
        .lines()
        .filter(|l| {
            l.starts_with("150.29.")
                && l.split('"')
                    .nth(2)
                    .is_some_and(|s| s.trim_start().starts_with('2'))
        })
        .count() as u64;
    // The requests of database `a` that pass the `--where` filters.
    let stored = |filters: &[&str]| {
        let mut args = vec!["--clickhouse", &url, "--clickhouse-db", "a"];
        for f in filters {
            args.extend(["--where", f]);
        }
        common::analyze_json(&args).0["requests"].as_u64()
    };
    assert_eq!(stored(&["client=150.29.0.0/16", "status=2xx"]), Some(want));
    // A path pattern is matched on the stored paths, without their query strings.
    let request_path = |l: &str| {
        l.split('"')
            .nth(1)
            .and_then(|r| r.split(' ').nth(1))
            .map(|p| p.split('?').next().unwrap_or(p).to_owned())
    };
    let want = text
        .lines()
        .filter_map(request_path)
        .filter(|p| p.ends_with(".png") || p.ends_with(".jpg"))
        .count() as u64;
    assert!(want > 0);
    assert_eq!(stored(&["path=~\\.(png|jpg)$"]), Some(want));
}

/// `country=` over stored requests: ClickHouse keeps addresses, tailpulse places them with
/// the run's geolocation database, in `analyze` and on the dashboard; without a database the
/// filter is refused, not ignored.
#[test]
fn stored_requests_are_filtered_by_country_with_a_geolocation_database() {
    let ch = ClickHouse::start();
    let data = tempfile::tempdir().unwrap();
    common::make_mmdb(data.path());
    let country_db = data.path().join("country.mmdb");
    // Clients of the networks tests/make_mmdb.py places, and some it does not.
    let clients = [
        "203.0.113.7",
        "198.51.100.5",
        "2001:db8:1::42",
        "192.0.2.1",
        "203.0.113.99",
    ];
    let codes = ["KR", "DE", "JP", "--", "KR"];
    let mut text = String::new();
    let mut want = std::collections::BTreeMap::<&str, u64>::new();
    for i in 0..500usize {
        let k = (i * 7 + i / 3) % clients.len();
        text.push_str(&format!(
            "{} - - [01/Mar/2024:10:{:02}:{:02} +0000] \"GET /p/{i} HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n",
            clients[k],
            i / 60,
            i % 60
        ));
        *want.entry(codes[k]).or_default() += 1;
    }
    let log = data.path().join("access.log");
    std::fs::write(&log, text).unwrap();
    let geo = ["--geoip-db", country_db.to_str().unwrap()];
    let r = run(data.path(), &log, &ch, "g", &geo);
    ch.until("SELECT count() FROM g.requests", 500);
    let url = ch.url();
    for (code, n) in &want {
        let filter = format!("country={code}");
        let mut args = vec![
            "--clickhouse",
            &url,
            "--clickhouse-db",
            "g",
            "--where",
            &filter,
        ];
        args.extend_from_slice(&geo);
        let (v, _) = common::analyze_json(&args);
        assert_eq!(v["requests"].as_u64(), Some(*n), "analyze {code}");
        let page = common::get_json(&format!(
            "http://{}/api/summary?range=all&country={code}",
            r.1
        ));
        assert_eq!(page["requests"].as_u64(), Some(*n), "dashboard {code}");
        assert_eq!(page["filter"]["source"], "clickhouse");
    }
    let refused = common::tailpulse_in(
        None,
        &[
            "analyze",
            "--clickhouse",
            &url,
            "--clickhouse-db",
            "g",
            "--where",
            "country=KR",
        ],
        None,
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--geoip-db"));
}

#[test]
fn a_cluster_of_two_shards_holds_every_request_once_and_any_node_reads_them_all() {
    let ports: Vec<u16> = (0..4).map(|_| common::free_port()).collect();
    let shard = |tcp: u16| {
        format!("<shard><replica><host>127.0.0.1</host><port>{tcp}</port></replica></shard>")
    };
    let remote = format!(
        "<remote_servers><pair>{}{}</pair></remote_servers>",
        shard(ports[1]),
        shard(ports[3])
    );
    let n1 = ClickHouse::node(ports[0], ports[1], &remote);
    let n2 = ClickHouse::node(ports[2], ports[3], &remote);
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("access.log");
    let text = std::fs::read_to_string(fixture("tests/fixtures/real/blog_combined.log")).unwrap();
    std::fs::write(&log, &text).unwrap();
    let lines = text.lines().count() as u64;
    let url2 = n2.url();
    let extra = ["--clickhouse-cluster", "pair", "--clickhouse-shard", &url2];
    let _r = run(data.path(), &log, &n1, "c", &extra);
    n1.until("SELECT count() FROM c.requests", lines);
    let (a, b) = (
        n1.number("SELECT count() FROM c.requests_local"),
        n2.number("SELECT count() FROM c.requests_local"),
    );
    assert_eq!(a + b, lines, "each request on one shard");
    assert!(a > 0 && b > 0, "both shards hold requests: {a} and {b}");
    assert_eq!(n2.number("SELECT count() FROM c.requests"), lines);
    assert_eq!(
        n2.number("SELECT countMerge(requests) FROM c.minutes"),
        lines,
        "the rollups too, through the Distributed table"
    );
    let (v, _) = common::analyze_json(&["--clickhouse", &url2, "--clickhouse-db", "c"]);
    assert_eq!(v["requests"].as_u64(), Some(lines));
    assert_eq!(
        v["status"]["404"].as_u64(),
        Some(count_status(&text, |s| s == 404))
    );
}

#[test]
fn retention_drops_the_days_past_it_counted_back_from_the_newest_request() {
    let ch = ClickHouse::start();
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("access.log");
    // The fixture's day (2024-03-01), then 100 of its lines dated 50 days later.
    let text = std::fs::read_to_string(common::FIXTURE).unwrap();
    let later: String = text
        .lines()
        .take(100)
        .map(|l| {
            format!(
                "{}\n",
                l.replace("/Mar/2024:", "/Apr/2024:")
                    .replacen("[01/", "[20/", 1)
            )
        })
        .collect();
    std::fs::write(&log, format!("{text}{later}")).unwrap();
    let total = text.lines().count() as u64 + 100;
    let first = run(data.path(), &log, &ch, "r", &["--retention", "30d"]);
    ch.until("SELECT count() FROM r.requests", total);
    stop(first);
    // A new start applies the retention at once: the first day is more than 30 days
    // before the newest request.
    let _r = run(data.path(), &log, &ch, "r", &["--retention", "30d"]);
    ch.until("SELECT count() FROM r.requests", 100);
    assert_eq!(
        ch.query("SELECT DISTINCT toDate(t) FROM r.requests"),
        "2024-04-20"
    );
}

#[test]
fn a_long_range_is_answered_from_the_rollups_with_the_rows_numbers() {
    let ch = ClickHouse::start();
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("access.log");
    std::fs::copy(common::FIXTURE, &log).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = text.lines().count() as u64;
    // Any range holding more than 100 requests comes from the rollups.
    let r = run(
        data.path(),
        &log,
        &ch,
        "m",
        &["--clickhouse-scan-max", "100"],
    );
    ch.until("SELECT count() FROM m.requests", lines);
    ch.until("SELECT countMerge(requests) FROM m.minutes", lines);
    let v = common::get_json(&format!("http://{}/api/summary?range=all", r.1));
    assert_eq!(v["filter"]["source"], "clickhouse-rollups", "{v}");
    let url = ch.url();
    let (rows, _) = common::analyze_json(&["--clickhouse", &url, "--clickhouse-db", "m"]);
    assert_eq!(v["requests"].as_u64(), Some(lines));
    assert_eq!(v["status"], rows["status"], "status codes");
    assert_eq!(v["bytes"], rows["bytes"]);
    let by_route = |x: &serde_json::Value| -> std::collections::BTreeMap<String, (u64, u64)> {
        (x["routes"].as_array().unwrap().iter())
            .map(|r| {
                let n = |k: &str| r[k].as_u64().unwrap();
                (
                    r["route"].as_str().unwrap().to_owned(),
                    (n("requests"), n("errors_5xx")),
                )
            })
            .collect()
    };
    assert_eq!(by_route(&v), by_route(&rows), "routes");
    // Response times from 2 % buckets: within 2 % of the exact percentiles.
    for p in ["p50", "p90", "p99"] {
        let (a, b) = (
            v["response_time_ms"][p].as_f64().unwrap(),
            rows["response_time_ms"][p].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= b * 0.02 + 0.01, "{p}: {a} vs {b}");
    }
    let avg = |x: &serde_json::Value| x["response_time_ms"]["avg"].as_f64().unwrap();
    assert!((avg(&v) - avg(&rows)).abs() < 0.001, "the mean is exact");
    let clients: std::collections::HashSet<&str> =
        text.lines().filter_map(|l| l.split(' ').next()).collect();
    let (est, n) = (v["unique_visitors"].as_f64().unwrap(), clients.len() as f64);
    assert!((est - n).abs() <= n * 0.03, "{est} visitors, {n} clients");
    // A filter the rollups cannot answer goes to the rows.
    let v = common::get_json(&format!("http://{}/api/summary?range=all&ua=Firefox", r.1));
    assert_eq!(v["filter"]["source"], "clickhouse");
}
