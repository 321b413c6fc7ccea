//! Alerts end to end: a live run with rules from a configuration file sees an error burst
//! in a real log and notifies real local receivers — webhooks on 127.0.0.1 (one that fails
//! at first) and an SMTP server (aiosmtpd) — with a firing and a resolved message each.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tailpulse::config::Config;
use tailpulse::live::{self, RunOptions};
use tailpulse::store::Store;

#[derive(Clone, Default)]
struct Received {
    slack: Arc<Mutex<Vec<serde_json::Value>>>,
    json: Arc<Mutex<Vec<serde_json::Value>>>,
    flaky_calls: Arc<Mutex<u32>>,
    flaky: Arc<Mutex<Vec<serde_json::Value>>>,
}

async fn receivers() -> (String, Received) {
    let got = Received::default();
    let app = axum::Router::new()
        .route(
            "/slack",
            post(
                |State(r): State<Received>, Json(v): Json<serde_json::Value>| async move {
                    r.slack.lock().unwrap().push(v);
                    StatusCode::OK
                },
            ),
        )
        .route(
            "/json",
            post(
                |State(r): State<Received>, Json(v): Json<serde_json::Value>| async move {
                    r.json.lock().unwrap().push(v);
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .route(
            "/flaky",
            post(
                |State(r): State<Received>, Json(v): Json<serde_json::Value>| async move {
                    let mut n = r.flaky_calls.lock().unwrap();
                    *n += 1;
                    if *n <= 2 {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    r.flaky.lock().unwrap().push(v);
                    StatusCode::OK
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), got)
}

/// The local SMTP server; stops when dropped.
struct Smtp {
    child: Child,
    port: u16,
}

impl Smtp {
    fn start(dir: &Path) -> Smtp {
        let mut child = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py"))
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the SMTP sink did not start (is aiosmtpd installed?): {line:?}")
        });
        Smtp { child, port }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 40 minutes at 60 requests a minute on two routes; /api/pay fails half the time in
/// minutes 25–28.
fn log_text() -> String {
    let t0 = 1_709_251_200_000i64;
    let mut out = String::new();
    for i in 0..40 * 60 {
        let t = chrono::DateTime::from_timestamp_millis(t0 + i * 1000)
            .unwrap()
            .format("%d/%b/%Y:%H:%M:%S +0000");
        let pay = i % 2 == 0;
        let minute = i / 60;
        let status = if pay && (25..29).contains(&minute) && i % 4 == 0 {
            503
        } else {
            200
        };
        let path = if pay { "/api/pay" } else { "/api/items/7" };
        out.push_str(&format!(
            "10.0.{}.{} - - [{t}] \"POST {path} HTTP/1.1\" {status} 10 \"-\" \"Mozilla/5.0\" 0.0{}\n",
            i % 3,
            i % 100,
            10 + i % 50
        ));
    }
    out
}

async fn until(what: &str, f: impl Fn() -> bool) {
    tokio::time::timeout(Duration::from_secs(30), async {
        while !f() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

fn texts(v: &Mutex<Vec<serde_json::Value>>) -> Vec<String> {
    v.lock()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_burst_fires_and_resolves_on_every_channel() {
    let dir = tempfile::tempdir().unwrap();
    let (base, got) = receivers().await;
    let mail_dir = dir.path().join("mail");
    let smtp = Smtp::start(&mail_dir);
    let config = Config::parse(
        &format!(
            r#"
            [alerts]
            backoff = "20ms"
            attempts = 4

            [[alerts.rules]]
            name = "pay 5xx"
            metric = "error_rate_5xx"
            route = "/api/pay"
            above = 0.1
            for = "2m"

            [[alerts.rules]]
            name = "incidents"
            anomaly = "warning"

            [[alerts.webhooks]]
            url = "{base}/slack"

            [[alerts.webhooks]]
            url = "{base}/json"
            format = "json"

            [[alerts.webhooks]]
            url = "{base}/flaky"

            [alerts.email]
            server = "127.0.0.1:{}"
            tls = "none"
            from = "tailpulse@example.com"
            to = ["ops@example.com"]
            "#,
            smtp.port
        ),
        "test.toml",
    )
    .unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, log_text()).unwrap();
    let db = dir.path().join("tailpulse.db");
    let live = live::start(RunOptions {
        inputs: vec![log.to_string_lossy().into()],
        out_dir: dir.path().to_path_buf(),
        db: Some(db.clone()),
        config,
        report_every: Duration::from_millis(100),
        publish_every: Duration::from_millis(50),
        ..RunOptions::default()
    })
    .unwrap();

    let has =
        |v: &[String], s: &str, rule: &str| v.iter().any(|t| t.contains(s) && t.contains(rule));
    until("slack firing and resolved", || {
        let t = texts(&got.slack);
        has(&t, "FIRING", "pay 5xx") && has(&t, "RESOLVED", "pay 5xx")
    })
    .await;
    let t = texts(&got.slack);
    assert!(has(&t, "FIRING", "incidents"), "{t:?}");
    assert!(
        t.iter().any(|m| m.contains("5xx spike on /api/pay")),
        "the incident names the route: {t:?}"
    );
    assert_eq!(
        t.iter().filter(|m| m.contains("FIRING pay 5xx")).count(),
        1,
        "one firing message per incident"
    );
    until("json receiver", || got.json.lock().unwrap().len() >= 2).await;
    let j = got.json.lock().unwrap().clone();
    assert!(
        j.iter()
            .any(|m| m["rule"] == "pay 5xx" && m["state"] == "firing"),
        "{j:?}"
    );
    assert!(
        j.iter()
            .all(|m| m["source"] == "tailpulse" && m["t"].is_string())
    );
    // The flaky receiver failed twice, and the retries still delivered.
    until("flaky receiver", || !got.flaky.lock().unwrap().is_empty()).await;
    assert!(*got.flaky_calls.lock().unwrap() >= 3);
    until("mail", || {
        std::fs::read_dir(&mail_dir).map(|d| d.count()).unwrap_or(0) >= 2
    })
    .await;
    let mails: Vec<String> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        mails
            .iter()
            .any(|m| m.contains("Subject: [tailpulse] FIRING")
                && m.contains("X-Rcpt: ops@example.com")),
        "{mails:?}"
    );
    let health = live.health.clone();
    live.shutdown().await;
    // Every delivery is in the history.
    let store = tailpulse::store::sqlite::SqliteStore::open_read_only(&db).unwrap();
    let alerts = store.alerts(100).unwrap();
    assert!(alerts.iter().any(|a| a.channel == "email" && a.delivered));
    // And counted for /metrics, per channel and outcome, as stored.
    let mut stored = std::collections::BTreeMap::new();
    for a in &alerts {
        *stored
            .entry((a.channel.clone(), a.delivered))
            .or_insert(0u64) += 1;
    }
    let counted: std::collections::BTreeMap<_, _> = health
        .counters()
        .alerts
        .into_iter()
        .map(|(c, d, n)| ((c, d), n))
        .collect();
    assert_eq!(counted, stored);
    assert!(
        alerts
            .iter()
            .any(|a| a.channel == "webhook" && a.state == "resolved")
    );
    drop(smtp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_receiver_never_stalls_the_analysis() {
    let dir = tempfile::tempdir().unwrap();
    // A receiver that accepts connections and never answers: every attempt times out.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hung.local_addr().unwrap().port();
    let attempts = Arc::new(Mutex::new(0u32));
    let seen = attempts.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in hung.incoming().flatten() {
            *seen.lock().unwrap() += 1;
            held.push(conn);
        }
    });
    let config = Config::parse(
        &format!(
            r#"
            [alerts]
            backoff = "5s"
            attempts = 5
            timeout = "300ms"

            [[alerts.rules]]
            name = "any"
            metric = "requests_per_min"
            above = 1
            for = "1m"

            [[alerts.webhooks]]
            url = "http://127.0.0.1:{port}/hook"
            "#
        ),
        "test.toml",
    )
    .unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, log_text()).unwrap();
    let live = live::start(RunOptions {
        inputs: vec![log.to_string_lossy().into()],
        out_dir: dir.path().to_path_buf(),
        db: None,
        config,
        ..RunOptions::default()
    })
    .unwrap();
    let mut rx = live.snapshots.clone();
    tokio::time::timeout(
        Duration::from_secs(10),
        rx.wait_for(|s| s.analysis.stats.requests == 2400),
    )
    .await
    .expect("every line counted while deliveries keep failing")
    .unwrap();
    // The rule fired and its delivery was tried (and is now waiting to retry).
    until("a delivery attempt", || *attempts.lock().unwrap() >= 1).await;
    tokio::time::timeout(Duration::from_secs(10), live.shutdown())
        .await
        .expect("a stop does not wait for the retries");
}
