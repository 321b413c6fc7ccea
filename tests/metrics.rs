//! `/metrics` scraped by a real Prometheus (Debian's `prometheus`, which `.ci/run` installs):
//! the series it stores hold the numbers counted apart from the log.

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

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value of the instant query `q` as Prometheus answers it, once it has one.
fn query(prom: &str, q: &str) -> Option<Vec<(BTreeMap<String, String>, f64)>> {
    let url = format!("{prom}/api/v1/query");
    let body: serde_json::Value = ureq::get(&url)
        .query("query", q)
        .call()
        .ok()?
        .body_mut()
        .read_json()
        .ok()?;
    let result = body["data"]["result"].as_array()?;
    let rows: Vec<_> = result
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
        .collect();
    (!rows.is_empty()).then_some(rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_numbers_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::copy(common::FIXTURE, &log).unwrap();
    let live = live::start(common::run_options(dir.path(), &[log.as_path()], None)).unwrap();
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
    let state = tailpulse::web::AppState::new(live.snapshots.clone());
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

    // A real Prometheus scraping it every second.
    let prom_port = free_port();
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
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    live.shutdown().await;
}
