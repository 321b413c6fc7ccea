//! tailpulse on logs shaped like real ones (tests/fixtures/real/, written by
//! scripts/make_real_fixtures.py with its own expected counts): plain combined without
//! timings, years old, slugs and query strings, clustered and bursty traffic, IPv6, JSON and
//! W3C. Each known defect on such logs has a named test here.

mod common;

use std::process::Command;

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real/");

fn fixture(name: &str) -> String {
    format!("{REAL}{name}")
}

fn expected(name: &str) -> serde_json::Value {
    let path = fixture(&name.replace(".log", ".expected.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `tailpulse analyze ARGS --output json`, parsed.
fn analyze(args: &[&str]) -> (serde_json::Value, Vec<u8>) {
    common::analyze_json(args)
}

/// Every fixture is read whole: the counts match the ones its writer recorded.
#[test]
fn fixture_counts_match_their_writer() {
    for name in [
        "blog_combined.log",
        "clustered.log",
        "json_nodur.log",
        "json_nginx.log",
        "w3c_iis.log",
        "ipv6_query.log",
    ] {
        let want = expected(name);
        let (v, _) = analyze(&[&fixture(name)]);
        assert_eq!(v["requests"], want["requests"], "{name}");
        assert_eq!(v["lines"]["rejected"], 0, "{name}");
        assert_eq!(v["bytes"], want["bytes"], "{name}");
        for (code, n) in want["status"].as_object().unwrap() {
            assert_eq!(&v["status"][code], n, "{name} status {code}");
        }
        let first = v["period"]["first"].as_str().unwrap();
        let want_first = want["first"].as_str().unwrap();
        assert_eq!(
            &first[..19],
            &want_first[..19],
            "{name}: first request time (UTC)"
        );
    }
}

/// The most requested path without its query in a combined log, counted here by splitting
/// the request line, independently of tailpulse's parser.
fn most_requested_path(log: &[u8]) -> (String, u64) {
    let mut counts = std::collections::HashMap::<String, u64>::new();
    for line in String::from_utf8_lossy(log).lines() {
        let request = line.split('"').nth(1).unwrap_or("");
        let path = request.split(' ').nth(1).unwrap_or("");
        *counts
            .entry(path.split('?').next().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .unwrap()
}

/// Regression: six runs of `analyze` on the same blog log gave six different `(other)` rows
/// and route tables: the route cap kept whichever routes a thread saw first. Now every run,
/// with any number of threads, prints the same bytes, and the cap keeps the heaviest routes.
#[test]
fn analyze_is_deterministic_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    let blog = std::fs::read(fixture("blog_combined.log")).unwrap();
    let big = dir.path().join("blog6.log");
    std::fs::write(&big, blog.repeat(6)).unwrap();
    let big = big.to_str().unwrap();
    let mut first: Option<Vec<u8>> = None;
    for threads in ["1", "2", "4", "8"] {
        for _ in 0..5 {
            let (v, bytes) = analyze(&[big, "--threads", threads, "--max-routes", "200"]);
            match &first {
                None => {
                    assert!(v["route_cap"]["dropped"].as_u64().unwrap() > 0);
                    first = Some(bytes);
                }
                Some(f) => assert!(f == &bytes, "--threads {threads} gave another report"),
            }
        }
    }
    let (v, _) = analyze(&[big, "--max-routes", "200"]);
    let routes = v["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 201);
    assert_eq!(routes.last().unwrap()["route"], "(other)");
    // The heaviest routes are kept: the most requested path of the log leads.
    let (top_path, top_count) = most_requested_path(&blog);
    assert_eq!(routes[0]["route"], top_path.as_str());
    assert_eq!(routes[0]["requests"], 6 * top_count);
    let kept_min = routes[199]["requests"].as_u64().unwrap();
    assert!(kept_min >= 6, "a light route was kept: {kept_min}");
    for i in v["insights"].as_array().unwrap() {
        assert_ne!(i["subject"], "(other)", "{i}");
    }
    let text = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["analyze", big, "--max-routes", "200"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("raise --max-routes"), "{text}");
}

fn route_requests(v: &serde_json::Value, route: &str) -> Option<u64> {
    v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["route"] == route)
        .and_then(|r| r["requests"].as_u64())
}

/// Regression: `/presentations/logstash-puppetconf-2012/…` became `/presentations/{id}/…`
/// and `/?flav=rss20` merged into `/`: a content site's URLs could not be seen as its users
/// know them. Slugs stay; query strings and groupings are the user's choice.
#[test]
fn urls_as_users_know_them() {
    let blog = fixture("blog_combined.log");
    let want = expected("blog_combined.log");
    let top: Vec<(String, u64)> = want["top_paths_with_query"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_u64().unwrap()))
        .collect();
    let (v, _) = analyze(&[&blog, "--keep-query", "--max-routes", "5000"]);
    for (path, n) in &top {
        assert_eq!(route_requests(&v, path), Some(*n), "{path}");
    }
    let (v, _) = analyze(&[&blog, "--keep-query", "flav"]);
    let flav = |p: &str| top.iter().find(|t| t.0 == p).unwrap().1;
    assert_eq!(
        route_requests(&v, "/?flav=rss20"),
        Some(flav("/?flav=rss20"))
    );
    assert_eq!(route_requests(&v, "/?flav=atom"), Some(flav("/?flav=atom")));
    let (v, _) = analyze(&[&blog]);
    let routes = v["routes"].to_string();
    assert!(!routes.contains("/presentations/{id}"), "slugs are not ids");
    let (v, _) = analyze(&[&blog, "--route-rule", "/presentations/**"]);
    let grouped = route_requests(&v, "/presentations/**").unwrap();
    let by_hand = String::from_utf8_lossy(&std::fs::read(&blog).unwrap())
        .lines()
        .filter(|l| l.contains("\"GET /presentations/") || l.contains("\"HEAD /presentations/"))
        .count() as u64;
    assert_eq!(grouped, by_hand);
}

fn tailpulse(args: &[&str], stdin: Option<&[u8]>, dir: &std::path::Path) -> std::process::Output {
    common::tailpulse_in(Some(dir), args, stdin)
}

/// Regression: forcing a wrong `--format` exited 0 with "Requests: 0 | rejected: 10000", a
/// JSON log in an unknown shape was "detected" as combined with no hint, and `cat f |
/// tailpulse analyze` without `-` was a usage error.
#[test]
fn analyze_says_what_it_cannot_read_and_reads_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let blog = std::fs::read(fixture("blog_combined.log")).unwrap();
    let out = tailpulse(
        &["analyze", "--format", "w3c", &fixture("blog_combined.log")],
        None,
        dir.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1:") && err.contains("as w3c"), "{err}");
    let odd =
        b"{\"when\":\"2021-03-04T12:00:01Z\",\"who\":\"10.0.0.1\",\"what\":\"/a\",\"res\":200}\n"
            .repeat(5);
    let out = tailpulse(&["analyze", "-"], Some(&odd), dir.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--json-field") && err.contains("res, what, when, who"),
        "{err}"
    );
    let out = tailpulse(&["analyze", "--output", "json"], Some(&blog), dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["requests"], expected("blog_combined.log")["requests"]);
    assert_eq!(v["sources"][0]["name"], "(stdin)");
}

/// Regression: `tailpulse --port 5077` was a usage error although bare `tailpulse` is
/// `tailpulse run`; every run dropped its database, logs and reports into the working
/// directory; colour codes went into redirected output; `generate --count` made an empty
/// `logs/`.
#[test]
fn a_tidy_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let home = data.path().join("tailpulse");
    let log = dir.path().join("a.log");
    std::fs::copy(fixture("clustered.log"), &log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args(["--port", "0", "--report-every", "100ms", "a.log"])
        .current_dir(dir.path())
        .env("XDG_DATA_HOME", data.path())
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let report = home.join("analysis_report.json");
    let want = expected("clustered.log")["requests"].clone();
    let start = std::time::Instant::now();
    loop {
        let v = std::fs::read(&report)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        if v.is_some_and(|v| v["requests"] == want) {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(30));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\u{1b}'), "colour on a pipe: {err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec!["a.log"],
        "nothing but the log in the working directory"
    );
    assert!(home.join("tailpulse.db").exists() && home.join("logs/runner.log").exists());
    let logs = std::fs::read_to_string(home.join("logs/analysis.log")).unwrap_or_default();
    assert!(!logs.contains('\u{1b}'));
    for l in logs.lines().filter(|l| l.contains("incident")) {
        assert!(!l.contains("route= ") && !l.contains("kind=Traffic"), "{l}");
    }
    let out = tailpulse(
        &["analyze", "--color", "always", "--format", "w3c", "a.log"],
        None,
        dir.path(),
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains('\u{1b}'),
        "--color always"
    );
    let gen_dir = tempfile::tempdir().unwrap();
    let out = tailpulse(
        &["generate", "--count", "50", "--out", "g.log"],
        None,
        gen_dir.path(),
    );
    assert!(out.status.success());
    assert!(
        !gen_dir.path().join("logs").exists(),
        "generate alone made logs/"
    );
    let lines = std::fs::read_to_string(gen_dir.path().join("g.log")).unwrap();
    assert_eq!(lines.lines().count(), 50);
}

/// `tailpulse run` on a copy of the fixture `name` (old data), reports every 100 ms, no
/// database; standard output and error piped.
fn replay(name: &str) -> (tempfile::TempDir, std::process::Child) {
    common::replay_log(std::path::Path::new(&fixture(name)))
}

/// Regression: `run old.log` on a 2015 log printed a flood of `incident detected` warnings,
/// said "Requests/s now 10000.0" with a green *live* badge. Old data is a replay: rates in
/// log time, the mode on the page, and one line on the terminal for what was found.
#[test]
fn replaying_an_old_log_is_not_live() {
    use std::io::BufRead;
    let want = expected("blog_combined.log")["requests"].as_u64().unwrap();
    let (_dir, mut child) = replay("blog_combined.log");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "no address printed");
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.trim().trim_end_matches('/').to_owned();
        }
    };
    let start = std::time::Instant::now();
    let summary = loop {
        let v: serde_json::Value = ureq::get(format!("http://{addr}/api/summary"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        if v["requests"] == want && v["live"]["mode"] == "replay" {
            break v;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{}",
            v["live"]
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let rate = summary["live"]["log_rate"].as_f64().unwrap();
    assert!(
        rate < 5.0,
        "a requests/s in log time, not the read speed: {rate}"
    );
    assert!(summary["live"]["lag_s"].as_i64().unwrap() > 86_400 * 365);
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let rest = child.wait_with_output().unwrap();
    for l in out.lines() {
        lines.push(l.unwrap());
    }
    let said = lines.join("\n");
    assert!(
        said.contains(&format!("read {want} requests of old data")),
        "{said}"
    );
    let err = String::from_utf8_lossy(&rest.stderr);
    assert!(
        !err.contains("incident detected"),
        "a flood on the terminal: {err}"
    );
}

/// Regression: 404s on a missing `.jar` were answered with "add input validation … stronger
/// authentication", and 3 server errors in 6,000 requests were a warning. Advice follows
/// what the errors are, and each rule's threshold is in the text.
#[test]
fn advice_follows_the_evidence() {
    let (v, _) = analyze(&[&fixture("blog_combined.log")]);
    let insights = v["insights"].as_array().unwrap();
    let find = |kind: &str| insights.iter().find(|i| i["kind"] == kind).unwrap();
    let hot = find("error_hotspot");
    assert!(hot["subject"].as_str().unwrap().ends_with(".jar"), "{hot}");
    let advice = hot["advice"].as_str().unwrap();
    assert!(advice.contains("missing deploy artifact"), "{advice}");
    assert!(!advice.contains("authentication"), "{advice}");
    assert!(
        hot["message"]
            .as_str()
            .unwrap()
            .contains("a warning from 20")
    );
    let server = find("server_errors");
    assert_eq!(server["severity"], "info", "3 of ~6,000 is not a warning");
    assert!(
        server["message"]
            .as_str()
            .unwrap()
            .contains("a warning from 1%")
    );
    // The scanner is an incident with its window, and not listed a second time as a
    // finding over the whole log.
    let scanner = find("scanner_activity");
    assert!(scanner["message"].as_str().unwrap().contains("404"));
    assert!(!scanner["window"].is_null());
    assert!(!insights.iter().any(|i| i["kind"] == "scanner"));
}

/// One combined line, read apart from tailpulse: (client, UTC day, path without query,
/// status, bytes, user agent).
fn combined_fields(line: &str) -> Option<(String, i64, String, u16, u64, String)> {
    let re = regex::Regex::new(
        r#"^(\S+) \S+ \S+ \[([^\]]+)\] "\S+ (\S+)[^"]*" (\d{3}) (\d+|-) "[^"]*" "([^"]*)""#,
    )
    .unwrap();
    let c = re.captures(line)?;
    let t = chrono::DateTime::parse_from_str(&c[2], "%d/%b/%Y:%H:%M:%S %z").ok()?;
    let day = t.timestamp().div_euclid(86_400);
    let path = c[3].split('?').next().unwrap().to_owned();
    let bytes = c[5].parse().unwrap_or(0);
    Some((
        c[1].into(),
        day,
        path,
        c[4].parse().ok()?,
        bytes,
        c[6].into(),
    ))
}

/// The documented rule for static files, written out again here: the extension of the last
/// path segment, without case, is one of the README's list.
fn is_static(path: &str) -> bool {
    const EXT: &str = "css js mjs map png jpg jpeg gif svg ico webp avif bmp woff woff2 ttf otf eot mp4 webm mp3 ogg wav pdf txt xml json zip gz tgz tar jar war deb rpm exe dmg iso";
    let last = path.rsplit('/').next().unwrap_or(path);
    last.rsplit_once('.')
        .is_some_and(|(_, e)| EXT.split(' ').any(|x| x.eq_ignore_ascii_case(e)))
}

/// The GoAccess panels counted apart from the log: requests, bytes and visitors per UTC day,
/// the 404 paths with their requests and distinct clients, static files and the dynamic rest.
#[test]
fn visitors_per_day_and_not_found_match_counts_made_apart() {
    use std::collections::{BTreeMap, BTreeSet};
    for name in ["blog_combined.log", "clustered.log", "ipv6_query.log"] {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        type Day = (u64, u64, BTreeSet<(String, String)>);
        let mut days: BTreeMap<i64, Day> = BTreeMap::new();
        let mut missing: BTreeMap<String, (u64, BTreeSet<String>)> = BTreeMap::new();
        let mut statics: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let (mut all_requests, mut all_bytes) = (0u64, 0u64);
        for line in text.lines() {
            let (client, day, path, status, bytes, agent) =
                combined_fields(line).unwrap_or_else(|| panic!("{name}: {line}"));
            let d = days.entry(day).or_default();
            d.0 += 1;
            d.1 += bytes;
            d.2.insert((client.clone(), agent));
            all_requests += 1;
            all_bytes += bytes;
            if is_static(&path) {
                let e = statics.entry(path.clone()).or_default();
                e.0 += 1;
                e.1 += bytes;
            }
            if status == 404 {
                let m = missing.entry(path).or_default();
                m.0 += 1;
                m.1.insert(client);
            }
        }
        let (v, _) = analyze(&[&fixture(name)]);
        let got = v["visitors_by_day"].as_array().unwrap();
        assert_eq!(got.len(), days.len(), "{name}: days");
        for (row, (day, (requests, bytes, visitors))) in got.iter().zip(&days) {
            let when = chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap();
            assert_eq!(row["day"], when.format("%Y-%m-%d").to_string(), "{name}");
            assert_eq!(row["requests"], *requests, "{name} {row}");
            assert_eq!(row["bytes"], *bytes, "{name} {row}");
            let (est, n) = (row["visitors"].as_f64().unwrap(), visitors.len() as f64);
            assert!(
                (est - n).abs() <= (n * 0.02).max(1.0),
                "{name} {row}: {n} visitors"
            );
        }
        let all_rows = v["not_found"].as_array().unwrap();
        let (other, rows): (Vec<_>, Vec<_>) = all_rows.iter().partition(|r| r["path"] == "(other)");
        assert_eq!(rows.len(), missing.len().min(50), "{name}: 404 paths");
        // The rest of the 404s are one (other) row, so the table adds up.
        let shown: u64 = rows.iter().map(|r| r["requests"].as_u64().unwrap()).sum();
        let total: u64 = missing.values().map(|(n, _)| n).sum();
        let rest = other.first().map_or(0, |r| r["requests"].as_u64().unwrap());
        assert_eq!(shown + rest, total, "{name}: every 404 in the table");
        assert_eq!(
            other.is_empty(),
            missing.len() <= 50,
            "{name}: (other) only when needed"
        );
        for row in &rows {
            let (requests, clients) = &missing[row["path"].as_str().unwrap()];
            assert_eq!(row["requests"], *requests, "{name} {row}");
            let (est, n) = (row["clients"].as_f64().unwrap(), clients.len() as f64);
            assert!(
                (est - n).abs() <= (n * 0.1).max(1.0),
                "{name} {row}: {n} clients"
            );
        }
        let (sr, sb) = statics
            .values()
            .fold((0, 0), |(r, b), x| (r + x.0, b + x.1));
        assert_eq!(v["static"]["requests"], sr, "{name}");
        assert_eq!(v["static"]["bytes"], sb, "{name}");
        assert_eq!(v["dynamic"]["requests"], all_requests - sr, "{name}");
        assert_eq!(v["dynamic"]["bytes"], all_bytes - sb, "{name}");
        for row in v["static"]["top"].as_array().unwrap() {
            let (requests, bytes) = statics[row["path"].as_str().unwrap()];
            assert_eq!(
                (row["requests"].clone(), row["bytes"].clone()),
                (requests.into(), bytes.into())
            );
        }
        let heaviest = missing.values().map(|m| m.0).max().unwrap_or(0);
        assert_eq!(
            rows.first().map_or(0, |r| r["requests"].as_u64().unwrap()),
            heaviest
        );
    }
}
