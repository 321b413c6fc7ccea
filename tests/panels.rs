//! The GoAccess panels (browsers, systems, devices, crawlers, referrers, methods, protocols),
//! the read-time exclusions and the CSV tables, checked against counts the test makes
//! itself from the lines it writes or reads.

mod common;

use std::collections::BTreeMap;

/// User agents with what a person reading them would call them: (agent, browser, os,
/// device, crawler name).
const AGENTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Chrome",
        "Windows 10",
        "desktop",
        "",
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "Firefox",
        "Linux",
        "desktop",
        "",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "Safari",
        "iPhone",
        "mobile",
        "",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        "Safari",
        "iPad",
        "tablet",
        "",
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Crawlers",
        "Crawlers",
        "bot",
        "Googlebot",
    ),
    ("curl/8.4.0", "Crawlers", "Crawlers", "bot", "curl"),
];

const REFERERS: &[&str] = &[
    "-",
    "https://www.own.example/blog/post?id=3",
    "https://news.example.net/item?id=1",
    "https://news.example.net/item?id=2",
    "https://search.example.org/?q=tailpulse",
];

const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "HEAD"];
const PROTOCOLS: &[&str] = &["HTTP/1.1", "HTTP/2.0", "HTTP/1.0"];

/// A small seeded generator of its own (not the project's).
struct Lcg(u64);

impl Lcg {
    fn pick(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Counts per name made while the lines are written.
#[derive(Default)]
struct Expected {
    browsers: BTreeMap<String, u64>,
    os: BTreeMap<String, u64>,
    devices: BTreeMap<String, u64>,
    crawlers: BTreeMap<String, u64>,
    sites: BTreeMap<String, u64>,
    pages: BTreeMap<String, u64>,
    methods: BTreeMap<String, u64>,
    protocols: BTreeMap<String, u64>,
}

fn write_log(lines: usize) -> (String, Expected) {
    let mut rng = Lcg(7);
    let mut e = Expected::default();
    let mut log = String::new();
    for i in 0..lines {
        let (ua, browser, os, device, crawler) = AGENTS[rng.pick(AGENTS.len())];
        let referer = REFERERS[rng.pick(REFERERS.len())];
        let method = METHODS[rng.pick(METHODS.len())];
        let proto = PROTOCOLS[rng.pick(PROTOCOLS.len())];
        let client = format!("198.51.{}.{}", rng.pick(4), rng.pick(200));
        log.push_str(&format!(
            "{client} - - [01/Mar/2024:10:{:02}:{:02} +0000] \"{method} /p/{} {proto}\" 200 100 \"{referer}\" \"{ua}\"\n",
            (i / 60) % 60,
            i % 60,
            rng.pick(30)
        ));
        *e.browsers.entry(browser.into()).or_default() += 1;
        *e.os.entry(os.into()).or_default() += 1;
        *e.devices.entry(device.into()).or_default() += 1;
        if !crawler.is_empty() {
            *e.crawlers.entry(crawler.into()).or_default() += 1;
        }
        if referer != "-" && !referer.contains("own.example") {
            let site = referer.split('/').nth(2).unwrap();
            *e.sites.entry(site.into()).or_default() += 1;
            let page = referer.split('?').next().unwrap();
            *e.pages.entry(page.into()).or_default() += 1;
        }
        *e.methods.entry(method.into()).or_default() += 1;
        *e.protocols.entry(proto.into()).or_default() += 1;
    }
    (log, e)
}

fn rows(v: &serde_json::Value, panel: &str, key: &str) -> BTreeMap<String, u64> {
    v[panel]
        .as_array()
        .unwrap_or_else(|| panic!("{panel} is a list"))
        .iter()
        .map(|r| {
            (
                r[key].as_str().unwrap().to_owned(),
                r["requests"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn agent_referrer_method_and_protocol_panels_match_counts_made_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (log, e) = write_log(3000);
    let path = dir.path().join("access.log");
    std::fs::write(&path, log).unwrap();
    let (v, _) = common::analyze_json(&[path.to_str().unwrap(), "--site-host", "www.own.example"]);
    assert_eq!(v["requests"], 3000);
    assert_eq!(rows(&v, "browsers", "name"), e.browsers);
    assert_eq!(rows(&v, "os", "name"), e.os);
    assert_eq!(rows(&v, "devices", "name"), e.devices);
    assert_eq!(rows(&v, "crawlers", "name"), e.crawlers);
    assert_eq!(rows(&v, "referring_sites", "site"), e.sites);
    assert_eq!(rows(&v, "referrers", "url"), e.pages);
    assert_eq!(rows(&v, "methods", "name"), e.methods);
    assert_eq!(rows(&v, "protocols", "name"), e.protocols);
    let bots: u64 = e.crawlers.values().sum();
    assert_eq!(v["bots"]["requests"], bots, "one idea of automated");
    // Visitors per browser: at most the clients × agents that made them.
    for b in v["browsers"].as_array().unwrap() {
        assert!(b["visitors"].as_u64().unwrap() <= b["requests"].as_u64().unwrap());
    }
}

#[test]
fn csv_tables_carry_the_json_panels() {
    let dir = tempfile::tempdir().unwrap();
    let (log, e) = write_log(500);
    let path = dir.path().join("access.log");
    std::fs::write(&path, log).unwrap();
    let p = path.to_str().unwrap();
    let out = common::tailpulse_in(
        None,
        &["analyze", p, "--output", "csv", "--panel", "browsers"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("name,requests,visitors"));
    let got: BTreeMap<String, u64> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), f[1].parse().unwrap())
        })
        .collect();
    assert_eq!(got, e.browsers);
    // One file per panel in a directory.
    let tables = dir.path().join("tables");
    std::fs::create_dir(&tables).unwrap();
    let out = common::tailpulse_in(
        None,
        &[
            "analyze",
            p,
            "--output",
            "csv",
            "--out",
            tables.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let methods = std::fs::read_to_string(tables.join("methods.csv")).unwrap();
    assert_eq!(methods.lines().count(), 1 + e.methods.len());
    assert!(tables.join("not_found.csv").exists());
    // --panel belongs to CSV.
    let out = common::tailpulse_in(None, &["analyze", p, "--panel", "os"], None);
    assert!(!out.status.success());
}

/// The status and client of each line of a combined log, read by the test itself.
fn status_and_client(line: &str) -> (u16, &str) {
    let client = line.split(' ').next().unwrap();
    let after = line.split('"').nth(2).unwrap_or("");
    let status = after.split_whitespace().next().unwrap().parse().unwrap();
    (status, client)
}

#[test]
fn exclusions_leave_out_what_they_say_and_count_it() {
    let log = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/real/blog_combined.log"
    );
    let text = std::fs::read_to_string(log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Clients in 66.249.0.0/16 (a crawler's network in this log), counted apart.
    let in_net = lines.iter().filter(|l| l.starts_with("66.249.")).count() as u64;
    assert!(in_net > 0, "the fixture has such clients");
    let (v, _) = common::analyze_json(&[log, "--exclude-ip", "66.249.0.0/16"]);
    assert_eq!(v["lines"]["excluded"], in_net);
    assert_eq!(v["requests"].as_u64().unwrap(), lines.len() as u64 - in_net);
    let five = |v: &serde_json::Value| v["status_class"]["5xx"].as_u64().unwrap();
    let kept_5xx = lines
        .iter()
        .map(|l| status_and_client(l))
        .filter(|(s, c)| *s >= 500 && !c.starts_with("66.249."))
        .count() as u64;
    assert_eq!(five(&v), kept_5xx);

    // Without crawlers: what is left has no automated client at all.
    let (all, _) = common::analyze_json(&[log]);
    let (human, _) = common::analyze_json(&[log, "--ignore-crawlers"]);
    let bots = all["bots"]["requests"].as_u64().unwrap();
    assert!(bots > 0);
    assert_eq!(human["lines"]["excluded"].as_u64().unwrap(), bots);
    assert_eq!(human["bots"]["requests"], 0);
    assert!(human["crawlers"].as_array().unwrap().is_empty());

    // Without static files: the static panel is empty and the rest is what it was.
    let (dynamic, _) = common::analyze_json(&[log, "--ignore-static"]);
    assert_eq!(dynamic["static"]["requests"], 0);
    assert_eq!(dynamic["requests"], all["dynamic"]["requests"]);

    // Anonymized: no client keeps its last octet, in the tables or the sample lines.
    let (anon, bytes) = common::analyze_json(&[log, "--anonymize-ip"]);
    assert_eq!(anon["requests"], all["requests"]);
    for c in anon["clients"].as_array().unwrap() {
        let a = c["client"].as_str().unwrap();
        if a == "(other)" {
            continue;
        }
        assert!(a.ends_with(".0") || a.ends_with("::"), "{a}");
    }
    let busiest = all["clients"][0]["client"].as_str().unwrap();
    assert!(
        !String::from_utf8_lossy(&bytes).contains(&format!("{busiest} ")),
        "{busiest} appears whole"
    );
}

/// The JSON of `uri` (a summary) from the dashboard's router, which must answer 200.
async fn summary(st: &tailpulse::web::AppState, uri: &str) -> serde_json::Value {
    use tower::ServiceExt;
    let res = tailpulse::web::router(st.clone())
        .oneshot(
            axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(status, 200, "{uri}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// One line the test wrote: (agent index, referer, client, path, ms).
type Line = (usize, &'static str, String, String, u64);

/// Every filter a panel row sets counts exactly the matching requests of a live run: the
/// test keeps each line's fields and counts them itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panel_filters_count_only_matching_requests() {
    use tailpulse::web::AppState;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Lcg(11);
    let mut log = String::new();
    let mut truth: Vec<Line> = Vec::new();
    for i in 0..900usize {
        let a = rng.pick(AGENTS.len());
        let referer = REFERERS[rng.pick(REFERERS.len())];
        let client = format!("203.0.{}.{}", rng.pick(3), rng.pick(250));
        let path = ["/shop/cart", "/shop/item/7", "/blog/post", "/static/app.js"][rng.pick(4)];
        let ms = rng.pick(900) as u64;
        log.push_str(&format!(
            "{client} - - [01/Mar/2024:12:{:02}:{:02} +0000] \"GET {path}?x={i} HTTP/1.1\" 200 10 \"{referer}\" \"{}\" 0.{ms:03}\n",
            i / 60,
            i % 60,
            AGENTS[a].0
        ));
        truth.push((a, referer, client, path.to_owned(), ms));
    }
    let path = dir.path().join("access.log");
    std::fs::write(&path, log).unwrap();
    let live = tailpulse::live::start(tailpulse::live::RunOptions {
        inputs: vec![path.to_string_lossy().into()],
        out_dir: dir.path().to_path_buf(),
        db: None,
        ..Default::default()
    })
    .unwrap();
    let mut rx = live.snapshots.clone();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        rx.wait_for(|s| s.analysis.stats.requests == 900),
    )
    .await
    .unwrap()
    .unwrap();
    let st = AppState::new(live.snapshots.clone()).with_queries(live.queries.clone());
    let requests = |uri: String| {
        let st = st.clone();
        async move { summary(&st, &uri).await["requests"].as_u64().unwrap() }
    };
    let count = |f: &dyn Fn(&Line) -> bool| truth.iter().filter(|t| f(t)).count() as u64;
    assert_eq!(
        requests("/api/summary?browser=Firefox".into()).await,
        count(&|t| AGENTS[t.0].1 == "Firefox")
    );
    assert_eq!(
        requests("/api/summary?os=iPad&device=tablet".into()).await,
        count(&|t| AGENTS[t.0].2 == "iPad")
    );
    assert_eq!(
        requests("/api/summary?device=bot".into()).await,
        count(&|t| AGENTS[t.0].3 == "bot")
    );
    assert_eq!(
        requests("/api/summary?client=203.0.1.0/24".into()).await,
        count(&|t| t.2.starts_with("203.0.1."))
    );
    let one = truth[0].2.clone();
    assert_eq!(
        requests(format!("/api/summary?client={one}")).await,
        count(&|t| t.2 == one)
    );
    assert_eq!(
        requests("/api/summary?ua=googlebot".into()).await,
        count(&|t| AGENTS[t.0].4 == "Googlebot")
    );
    assert_eq!(
        requests("/api/summary?referer=news.example.net".into()).await,
        count(&|t| t.1.contains("news.example.net"))
    );
    assert_eq!(
        requests("/api/summary?path=/shop/".into()).await,
        count(&|t| t.3.starts_with("/shop/"))
    );
    // `~` and a regular expression, searched in the path without its query string.
    assert_eq!(
        requests("/api/summary?path=~/(item|post)(/|$)".into()).await,
        count(&|t| t.3.contains("/item/") || t.3.ends_with("/post"))
    );
    assert_eq!(
        requests("/api/summary?path=~x=1".into()).await,
        0,
        "the query string is not searched"
    );
    use tower::ServiceExt;
    let refused = tailpulse::web::router(st.clone())
        .oneshot(
            axum::http::Request::get("/api/summary?path=~(unclosed")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(
        requests("/api/summary?min_ms=500&browser=Chrome".into()).await,
        count(&|t| t.4 >= 500 && AGENTS[t.0].1 == "Chrome")
    );
    live.shutdown().await;
}

/// Panel names come from user agents, referrers and paths, which the client chooses: the
/// HTML report shows them as text.
#[test]
fn the_html_panels_show_hostile_names_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(
        &path,
        "192.0.2.9 - - [01/Mar/2024:10:00:00 +0000] \"GET /<img src=x onerror=alert(1)> HTTP/1.1\" 404 1 \"https://<b>evil</b>.example/\" \"<script>alert(1)</script> bot\"\n",
    )
    .unwrap();
    let out = common::tailpulse_in(
        None,
        &["analyze", path.to_str().unwrap(), "--output", "html"],
        None,
    );
    assert!(out.status.success());
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(
        html.contains("Crawlers and scripts"),
        "the crawler panel is there"
    );
    assert!(html.contains("&lt;script&gt;"), "its name is escaped");
    assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<b>evil"));
}

/// Regression (a user's trial): the text report printed a path's escape sequences to the
/// terminal as they were (recolouring or clearing it); the HTML report kept them too.
#[test]
fn reports_print_no_control_characters_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(
        &path,
        "192.0.2.9 - - [01/Mar/2024:10:00:00 +0000] \"GET /ctl\x1b[2J\x07red HTTP/1.1\" 404 1 \"http://x\x1b[31m.example/\" \"curl/8\"\n",
    )
    .unwrap();
    for output in ["text", "html"] {
        let out = common::tailpulse_in(
            None,
            &["analyze", path.to_str().unwrap(), "--output", output],
            None,
        );
        assert!(out.status.success());
        let shown = String::from_utf8(out.stdout).unwrap();
        assert!(
            shown.contains("/ctl\u{fffd}[2J\u{fffd}red"),
            "{output}: the path is shown"
        );
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{output}"
        );
    }
}

/// `--output csv --out DIR/` makes the directory it names.
#[test]
fn csv_tables_go_to_a_directory_made_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tables/");
    let o = common::tailpulse_in(
        None,
        &[
            "analyze",
            common::FIXTURE,
            "--output",
            "csv",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("browsers.csv").is_file());
}

/// Countries and networks from MaxMind-format databases the test builds itself (with
/// Python's mmdb-writer, tests/make_mmdb.py), counted against the networks it chose.
#[test]
fn countries_and_networks_from_geolocation_databases() {
    let dir = tempfile::tempdir().unwrap();
    common::make_mmdb(dir.path());
    // (client, country code, AS number): the networks of tests/make_mmdb.py.
    let clients = [
        ("203.0.113.7", "KR", 64500),
        ("203.0.113.99", "KR", 64500),
        ("198.51.100.5", "DE", 0),
        ("2001:db8:1::42", "JP", 64501),
        ("192.0.2.1", "--", 0),
        ("crawler.example.net", "--", 0),
    ];
    let mut rng = Lcg(5);
    let mut log = String::new();
    let mut by_country: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_asn: BTreeMap<u64, u64> = BTreeMap::new();
    for i in 0..600 {
        let (client, code, asn) = clients[rng.pick(clients.len())];
        log.push_str(&format!(
            "{client} - - [01/Mar/2024:10:{:02}:{:02} +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 Firefox/121.0\"\n",
            i / 60,
            i % 60
        ));
        *by_country.entry(code.into()).or_default() += 1;
        *by_asn.entry(asn).or_default() += 1;
    }
    let path = dir.path().join("access.log");
    std::fs::write(&path, log).unwrap();
    let db = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    let (v, _) = common::analyze_json(&[
        path.to_str().unwrap(),
        "--geoip-db",
        &db("country.mmdb"),
        "--geoip-db",
        &db("asn.mmdb"),
    ]);
    assert_eq!(rows(&v, "countries", "code"), by_country);
    let names: BTreeMap<String, String> = (v["countries"].as_array().unwrap().iter())
        .map(|c| {
            (
                c["code"].as_str().unwrap().into(),
                c["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(names["KR"], "South Korea");
    assert_eq!(names["--"], "Unknown");
    let asns: BTreeMap<u64, u64> = (v["asns"].as_array().unwrap().iter())
        .map(|a| (a["asn"].as_u64().unwrap(), a["requests"].as_u64().unwrap()))
        .collect();
    assert_eq!(asns, by_asn);
    // Without a database there is no geography; a file that is no database is an error.
    let (plain, _) = common::analyze_json(&[path.to_str().unwrap()]);
    assert!(plain["countries"].as_array().unwrap().is_empty());
    let bad = common::tailpulse_in(
        None,
        &[
            "analyze",
            path.to_str().unwrap(),
            "--geoip-db",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is no MaxMind database"));
}

/// Users, cache verdicts, content types and TLS sessions: from the `%u` of combined logs and
/// from GoAccess's `%e %C %M %K` in a custom format, counted as the test wrote them.
#[test]
fn users_cache_content_types_and_tls_from_formats_that_log_them() {
    let dir = tempfile::tempdir().unwrap();
    let users = ["alice", "-", "bob", "alice"];
    let caches = ["HIT", "MISS", "HIT", "-"];
    let mimes = [
        "text/html; charset=utf-8",
        "image/png",
        "text/html",
        "text/css",
    ];
    let mut combined = String::new();
    let mut custom = String::new();
    let mut want_users: BTreeMap<String, u64> = BTreeMap::new();
    let mut want_cache: BTreeMap<String, u64> = BTreeMap::new();
    let mut want_mime: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..200usize {
        let (u, c, m) = (users[i % 4], caches[i % 3], mimes[i % 4]);
        let t = format!("[01/Mar/2024:10:{:02}:{:02} +0000]", i / 60, i % 60);
        combined.push_str(&format!(
            "192.0.2.{} - {u} {t} \"GET /a HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n",
            i % 9
        ));
        custom.push_str(&format!(
            "192.0.2.{} {u} {t} \"GET /a HTTP/2.0\" 200 5 {c} \"{m}\" TLSv1.3\n",
            i % 9
        ));
        if u != "-" {
            *want_users.entry(u.into()).or_default() += 1;
        }
        if c != "-" {
            *want_cache.entry(c.into()).or_default() += 1;
        }
        *want_mime
            .entry(m.split(';').next().unwrap().into())
            .or_default() += 1;
    }
    let a = dir.path().join("combined.log");
    std::fs::write(&a, combined).unwrap();
    let (v, _) = common::analyze_json(&[a.to_str().unwrap()]);
    assert_eq!(rows(&v, "remote_users", "name"), want_users);
    assert!(
        v["cache_status"].as_array().unwrap().is_empty(),
        "not logged"
    );
    let b = dir.path().join("custom.log");
    std::fs::write(&b, custom).unwrap();
    let (v, _) = common::analyze_json(&[
        b.to_str().unwrap(),
        "--log-format",
        r#"%h %e [%d:%t %^] "%r" %s %b %C "%M" %K"#,
    ]);
    assert_eq!(v["requests"], 200);
    assert_eq!(rows(&v, "remote_users", "name"), want_users);
    assert_eq!(rows(&v, "cache_status", "name"), want_cache);
    assert_eq!(rows(&v, "mime_types", "name"), want_mime);
    assert_eq!(
        rows(&v, "tls", "name"),
        BTreeMap::from([("TLSv1.3".to_owned(), 200)])
    );
}

/// A country row of the live page filters by the country's code: the numbers of the requests
/// from that country's networks, as the test placed them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_country_filter_counts_the_requests_of_that_country() {
    let dir = tempfile::tempdir().unwrap();
    common::make_mmdb(dir.path());
    let clients = [
        ("203.0.113.7", "KR"),
        ("198.51.100.5", "DE"),
        ("192.0.2.1", "--"),
    ];
    let mut log = String::new();
    let mut want: BTreeMap<&str, u64> = BTreeMap::new();
    let mut rng = Lcg(3);
    for i in 0..300 {
        let (client, code) = clients[rng.pick(clients.len())];
        log.push_str(&format!(
            "{client} - - [01/Mar/2024:10:{:02}:{:02} +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n",
            i / 60,
            i % 60
        ));
        *want.entry(code).or_default() += 1;
    }
    let path = dir.path().join("access.log");
    std::fs::write(&path, log).unwrap();
    let files = ["country.mmdb", "asn.mmdb"]
        .map(|n| (n.to_owned(), std::fs::read(dir.path().join(n)).unwrap()))
        .to_vec();
    let geo = tailpulse::geo::Geo::from_files(files).unwrap();
    let live = tailpulse::live::start(tailpulse::live::RunOptions {
        inputs: vec![path.to_string_lossy().into()],
        out_dir: dir.path().to_path_buf(),
        db: None,
        routes: tailpulse::route::RouteOptions {
            geo: tailpulse::geo::GeoHandle(Some(std::sync::Arc::new(geo))),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let mut rx = live.snapshots.clone();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        rx.wait_for(|s| s.analysis.stats.requests == 300),
    )
    .await
    .unwrap()
    .unwrap();
    let st =
        tailpulse::web::AppState::new(live.snapshots.clone()).with_queries(live.queries.clone());
    for (code, n) in &want {
        let uri = format!("/api/summary?country={code}");
        let v = summary(&st, &uri).await;
        assert_eq!(v["requests"].as_u64(), Some(*n), "{uri}");
        assert_eq!(
            v["countries"][0]["code"], *code,
            "the view's countries panel"
        );
    }
    live.shutdown().await;
}
