//! tailpulse on logs shaped like real ones (tests/fixtures/real/, written by
//! scripts/make_real_fixtures.py with its own expected counts): plain combined without
//! timings, years old, slugs and query strings, clustered and bursty traffic, IPv6, JSON and
//! W3C. Each known defect on such logs has a named test here.

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
    let out = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .arg("analyze")
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (serde_json::from_slice(&out.stdout).unwrap(), out.stdout)
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
