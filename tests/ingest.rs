//! `POST /api/ingest` as shippers use it: the bodies Vector's and Fluent Bit's `http` outputs
//! send, plain and gzip text, refusals, and a kill -9 during sustained ingest.

mod common;

use common::get_json;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A combined line `i` seconds into a day of 2024.
fn line(i: u64) -> String {
    let t = chrono::DateTime::from_timestamp(1_709_251_200 + i as i64, 0).unwrap();
    format!(
        "198.51.100.{} - - [{}] \"GET /api/items/{} HTTP/1.1\" {} 512 \"-\" \"Mozilla/5.0\" 0.042",
        i % 250,
        t.format("%d/%b/%Y:%H:%M:%S +0000"),
        i % 40,
        if i.is_multiple_of(10) { 503 } else { 200 }
    )
}

/// `tailpulse run --ingest` keeping its state in `dir`; returns it and its address.
fn start(dir: &Path) -> (Child, String) {
    start_with(dir, &[])
}

/// [`start`] with more options.
fn start_with(dir: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tailpulse"))
        .args([
            "run",
            "--ingest",
            "--port",
            "0",
            "--report-every",
            "100ms",
            "--data-dir",
        ])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut l = String::new();
    while out.read_line(&mut l).unwrap() > 0 {
        if let Some(url) = l.trim().strip_prefix("tailpulse: dashboard on ") {
            let addr = url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned();
            std::thread::spawn(move || for _ in out.lines() {});
            return (child, addr);
        }
        l.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("no dashboard line");
}

fn post(addr: &str, content_type: &str, gzip: bool, body: &[u8]) -> (u16, String) {
    post_query(addr, "", content_type, gzip, body)
}

/// [`post`] with a query string (`?host=…`).
fn post_query(
    addr: &str,
    query: &str,
    content_type: &str,
    gzip: bool,
    body: &[u8],
) -> (u16, String) {
    let mut req = ureq::post(format!("http://{addr}/api/ingest{query}"))
        .config()
        .http_status_as_error(false)
        .build()
        .header("content-type", content_type);
    let sent = if gzip {
        req = req.header("content-encoding", "gzip");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(body).unwrap();
        enc.finish().unwrap()
    } else {
        body.to_vec()
    };
    match req.send(&sent[..]) {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(_) => (0, String::new()),
    }
}

/// Whether the run has read every spool file to its end (`/metrics`).
fn caught_up(addr: &str) -> bool {
    let page = ureq::get(format!("http://{addr}/metrics"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .unwrap_or_default();
    let behind: Vec<&str> = page
        .lines()
        .filter(|l| l.starts_with("tailpulse_source_bytes_behind{") && l.contains("ingest-"))
        .collect();
    // One line per spool file: detected text, three named text formats, JSON records.
    behind.len() == 5
        && behind
            .iter()
            .all(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) == Some(0.0))
}

#[test]
fn vector_fluent_bit_and_text_bodies_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start(dir.path());
    // Vector: `http` sink, `encoding.codec = "json"`, `framing.method = "newline_delimited"`,
    // events of a `file` source.
    let vector: String = (0..100)
        .map(|i| {
            serde_json::json!({
                "file": "/var/log/nginx/access.log",
                "host": "web-1",
                "message": line(i),
                "source_type": "file",
                "timestamp": "2024-03-01T00:00:00.000Z",
            })
            .to_string()
                + "\n"
        })
        .collect();
    assert_eq!(
        post(&addr, "application/x-ndjson", false, vector.as_bytes()).0,
        200
    );
    // Fluent Bit: `http` output, `format json_lines`, records of the `tail` input.
    let fluent: String = (100..150)
        .map(|i| serde_json::json!({"date": 1_709_251_200.5, "log": line(i)}).to_string() + "\n")
        .collect();
    assert_eq!(
        post(&addr, "application/json", false, fluent.as_bytes()).0,
        200
    );
    // curl --data-binary @access.log, gzip-compressed, naming its server.
    let text: String = (150..200).map(|i| line(i) + "\n").collect();
    let (status, body) = post_query(&addr, "?host=web-2", "text/plain", true, text.as_bytes());
    assert_eq!(status, 200);
    assert!(body.contains("\"accepted\":50"), "{body}");
    assert_eq!(common::until_requests(&addr, |n| n >= 200), 200);
    // Every line has a host: Vector's envelope names it, the query names it, and lines that
    // name none are the sender's.
    let hosts = common::hosts(&get_json(&format!("http://{addr}/api/summary")));
    let want = [("127.0.0.1", 50), ("web-1", 100), ("web-2", 50)];
    assert_eq!(hosts, want.map(|(h, n)| (h.to_owned(), n)).into());
    let web2 = get_json(&format!("http://{addr}/api/summary?host=web-2"));
    assert_eq!(web2["requests"], 50);
    let failed = (150..200).filter(|i| i % 10 == 0).count();
    assert_eq!(web2["status_class"]["5xx"], failed as u64);
    assert_eq!(web2["filter"]["host"], "web-2");
    // Refusals say why.
    assert_eq!(
        post(
            &addr,
            "application/x-ndjson",
            false,
            b"{\"log\":\"x\"}\nnot json\n"
        )
        .0,
        400
    );
    assert_eq!(post(&addr, "image/png", false, b"x").0, 415);
    // A page on another site posting a form here (the browser adds Origin) is refused.
    let forged = ureq::post(format!("http://{addr}/api/ingest"))
        .config()
        .http_status_as_error(false)
        .build()
        .header("content-type", "text/plain")
        .header("origin", "https://attacker.example")
        .send(line(999).as_bytes())
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let big = vec![b'a'; (16 << 20) + 1];
    assert_eq!(post(&addr, "text/plain", false, &big).0, 413);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn acknowledged_lines_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start(dir.path());
    const BATCH: u64 = 500;
    let sender = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let mut acked = 0u64;
            for b in 0.. {
                let body: String = (b * BATCH..(b + 1) * BATCH)
                    .map(|i| line(i) + "\n")
                    .collect();
                match post(&addr, "text/plain", false, body.as_bytes()).0 {
                    200 => acked += BATCH,
                    _ => break,
                }
            }
            acked
        })
    };
    // Killed in the middle of the stream of batches.
    common::until_requests(&addr, |n| n >= 20 * BATCH);
    child.kill().unwrap();
    child.wait().unwrap();
    let acked = sender.join().unwrap();
    assert!(acked >= 20 * BATCH, "{acked}");
    let (mut child, addr) = start(dir.path());
    // Every acknowledged line is counted once; at most the batch in flight when the server
    // died (kept on disk, not acknowledged) comes on top.
    common::until_requests(&addr, |n| n >= acked);
    let start = Instant::now();
    while !caught_up(&addr) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the spool is never read"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let n = common::until_requests(&addr, |_| true);
    assert!(
        (acked..=acked + BATCH).contains(&n),
        "acked {acked}, counted {n}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Regression: `--from-end` applied to the spool too, so lines acknowledged before a crash
/// and not yet read were skipped at the next start.
#[test]
fn the_spool_is_read_from_its_start_even_with_from_end() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let kept: String = (0..30)
        .map(|i| format!("\u{1e}web-9\u{1f}{}\n", line(i)))
        .collect();
    std::fs::write(spool.join("ingest-text.log"), kept).unwrap();
    let (mut child, addr) = start_with(dir.path(), &["--from-end", "--no-db"]);
    assert_eq!(common::until_requests(&addr, |n| n >= 30), 30);
    let v = get_json(&format!("http://{addr}/api/summary"));
    assert_eq!(v["hosts"][0]["host"], "web-9");
    let _ = child.kill();
    let _ = child.wait();
}

/// Senders with different formats share one run: each names its format, and its lines are
/// read in it (one spool file per named format), whatever the others send.
#[test]
fn each_sender_names_its_format() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start(dir.path());
    let combined: String = (0..40).map(|i| line(i) + "\n").collect();
    assert_eq!(post(&addr, "text/plain", false, combined.as_bytes()).0, 200);
    // Apache's vhost_combined: `host:port` first. Read as combined, every line would fail.
    let vhost: String = (40..70)
        .map(|i| format!("shop.example:443 {}\n", line(i)))
        .collect();
    let (status, body) = post_query(
        &addr,
        "?format=vhost-combined",
        "text/plain",
        false,
        vhost.as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(common::until_requests(&addr, |n| n >= 70), 70);
    let v = get_json(&format!("http://{addr}/api/summary"));
    assert_eq!(v["lines"]["rejected"], 0);
    assert_eq!(v["vhosts"][0]["name"], "shop.example");
    assert_eq!(v["vhosts"][0]["requests"], 30);
    let (status, body) = post_query(&addr, "?format=nginx-ish", "text/plain", false, b"x\n");
    assert_eq!(status, 400);
    assert!(
        body.contains("vhost-combined"),
        "the refusal names the formats: {body}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
