//! `/metrics` scraped by a real Prometheus (Debian's `prometheus`, which `.ci/run` installs):
//! the series it stores hold the numbers counted apart from the log, and every query of the
//! Grafana dashboard in docs/ finds series there.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tailpulse::live;

/// Requests per status class of the fixture, counted apart: the status is the first field
/// after the quoted request.
fn classes_of_fixture() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(common::FIXTURE).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let status = line
            .split('"')
            .nth(2)
            .and_then(|r| r.split_whitespace().next());
        if let Some(s) = status {
            *out.entry(format!("{}xx", &s[..1])).or_default() += 1;
        }
    }
    out
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Series = Vec<(BTreeMap<String, String>, f64)>;

/// The instant query `q` as Prometheus answers it: `None` while it cannot (not up yet, or
/// an invalid query), else its series, maybe none.
fn answer(prom: &str, q: &str) -> Option<Series> {
    let url = format!("{prom}/api/v1/query");
    let body: serde_json::Value = ureq::get(&url)
        .query("query", q)
        .call()
        .ok()?
        .body_mut()
        .read_json()
        .ok()?;
    if body["status"] != "success" {
        return None;
    }
    let result = body["data"]["result"].as_array()?;
    Some(
        result
            .iter()
            .map(|r| {
                let labels = serde_json::from_value(r["metric"].clone()).unwrap_or_default();
                let v = r["value"][1]
                    .as_str()
                    .unwrap_or("nan")
                    .parse()
                    .unwrap_or(f64::NAN);
                (labels, v)
            })
            .collect(),
    )
}

/// The series of the instant query `q`, once it has some.
fn query(prom: &str, q: &str) -> Option<Series> {
    answer(prom, q).filter(|rows| !rows.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_numbers_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::copy(common::FIXTURE, &log).unwrap();
    let db = dir.path().join("tailpulse.db");
    let live = live::start(common::run_options(
        dir.path(),
        &[log.as_path()],
        Some(db.clone()),
    ))
    .unwrap();
    let mut rx = live.snapshots.clone();
    tokio::time::timeout(
        Duration::from_secs(20),
        rx.wait_for(|s| s.analysis.stats.requests >= 3000),
    )
    .await
    .expect("counted in time")
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state =
        tailpulse::web::AppState::new(live.snapshots.clone()).with_health(live.health.clone());
    // A commit of the history has been made (the store writer runs beside the analysis).
    let health = live.health.clone();
    let started = Instant::now();
    while health.counters().store_commits == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "no commit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tailpulse::web::serve(listener, state, async {
        let _ = stopped.await;
    }));

    // The page itself, as a scraper reads it.
    let page = tokio::task::spawn_blocking(move || {
        ureq::get(&format!("http://{addr}/metrics"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(page.ends_with("# EOF\n"), "OpenMetrics text");
    assert!(
        page.contains("# TYPE tailpulse_http_requests counter"),
        "{page}"
    );
    // tailpulse's own parts: the file read to its end, the store, the snapshot's age.
    let behind = format!(
        "tailpulse_source_bytes_behind{{source=\"{}\"}} 0",
        log.display()
    );
    assert!(page.contains(&behind), "{page}");
    let commits = page
        .lines()
        .find_map(|l| l.strip_prefix("tailpulse_store_commits_total "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(commits.is_some_and(|n| n >= 1), "{page}");
    assert!(
        page.contains("tailpulse_store_commit_failures_total 0"),
        "{page}"
    );
    assert!(page.contains("tailpulse_snapshot_age_seconds "), "{page}");

    // A real Prometheus scraping it every second.
    let prom_port = common::free_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tailpulse\n    static_configs:\n      - targets: ['{addr}']\n"
        ),
    )
    .unwrap();
    let prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Debian's prometheus (apt-get install prometheus; .ci/run installs it)");
    let _prometheus = Killed(prometheus);
    let prom = format!("http://127.0.0.1:{prom_port}");
    let want = classes_of_fixture();
    let got = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        loop {
            if let Some(rows) = query(&prom, "tailpulse_http_requests_total") {
                let rows: BTreeMap<String, f64> = rows
                    .into_iter()
                    .map(|(l, v)| (l.get("class").cloned().unwrap_or_default(), v))
                    .collect();
                let routes = query(&prom, "count(tailpulse_http_route_requests_total)");
                return (rows, routes);
            }
            assert!(start.elapsed() < Duration::from_secs(60), "never scraped");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
    let (mut classes, routes) = got;
    // Classes with no request are series at zero.
    classes.retain(|_, v| *v != 0.0);
    let want: BTreeMap<String, f64> = want.into_iter().map(|(k, v)| (k, v as f64)).collect();
    assert_eq!(
        classes, want,
        "requests by status class, as Prometheus stored them"
    );
    let n = live.snapshots.borrow().analysis.stats.routes.len();
    let named = n.min(tailpulse::web::metrics::ROUTE_SERIES);
    let want_series = named + usize::from(n > named);
    let routes = routes.expect("route series")[0].1;
    assert_eq!(routes, want_series as f64, "route series, capped");
    dashboard_queries_answer(&format!("http://127.0.0.1:{prom_port}")).await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    live.shutdown().await;
}

/// The Grafana dashboard in docs/ has what Grafana needs to import it, and every query in it
/// runs on the Prometheus that scraped tailpulse and finds series.
async fn dashboard_queries_answer(prom: &str) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/grafana-dashboard.json"
    ))
    .unwrap();
    let d: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in ["uid", "title"] {
        assert!(d[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
    }
    assert!(d["schemaVersion"].as_u64().is_some());
    let panels = d["panels"].as_array().unwrap();
    let mut ids = std::collections::BTreeSet::new();
    let mut exprs = Vec::new();
    for p in panels {
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "panel ids are unique"
        );
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().unwrap(), g["w"].as_u64().unwrap());
        assert!(x + w <= 24 && g["h"].as_u64().unwrap() > 0, "{g}");
        assert!(["timeseries", "stat", "table"].contains(&p["type"].as_str().unwrap()));
        for t in p["targets"].as_array().unwrap() {
            assert!(t["refId"].as_str().is_some());
            exprs.push(t["expr"].as_str().unwrap().to_owned());
        }
    }
    let prom = prom.to_owned();
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        for e in exprs {
            let q = e.replace("$instance", ".*").replace("$__range", "5m");
            // No incident is open in this log, and no alert is configured: those queries
            // answer with no series.
            let may_be_empty =
                q.contains("tailpulse_incidents_open") || q.contains("tailpulse_alert_deliveries");
            // `rate` needs two scrapes in its window: wait for them.
            loop {
                match answer(&prom, &q) {
                    Some(rows) if !rows.is_empty() || may_be_empty => break,
                    _ => {}
                }
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "no answer to {q}"
                );
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    })
    .await
    .unwrap();
}
