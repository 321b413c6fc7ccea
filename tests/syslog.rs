//! Syslog in: util-linux `logger` over UDP and TCP (RFC 3164 and 5424, octet-counted and
//! line framing), and a real rsyslog forwarding a file, as nginx's `access_log syslog:` and a
//! relay would send.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn line(i: u64) -> String {
    let t = chrono::DateTime::from_timestamp(1_709_251_200 + i as i64, 0).unwrap();
    format!(
        "192.0.2.{} - - [{}] \"GET /p/{} HTTP/1.1\" 200 64 \"-\" \"Mozilla/5.0\" 0.010",
        i % 250,
        t.format("%d/%b/%Y:%H:%M:%S +0000"),
        i % 9
    )
}

/// `tailpulse run` with `syslog` listeners; returns it, its dashboard and the bound syslog
/// addresses (in the order given).
fn start(dir: &Path, syslog: &[&str]) -> (Child, String, Vec<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tailpulse"));
    cmd.args([
        "run",
        "--port",
        "0",
        "--report-every",
        "100ms",
        "--data-dir",
    ])
    .arg(dir);
    for s in syslog {
        cmd.args(["--syslog", s]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut web, mut bound) = (None, Vec::new());
    let mut l = String::new();
    while bound.len() < syslog.len() || web.is_none() {
        l.clear();
        if out.read_line(&mut l).unwrap() == 0 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tailpulse ended before listening");
        }
        if let Some(url) = l.trim().strip_prefix("tailpulse: dashboard on http://") {
            web = Some(url.trim_end_matches('/').to_owned());
        }
        if let Some(rest) = l.trim().strip_prefix("tailpulse: syslog on ") {
            bound.push(rest.split(' ').next().unwrap().to_owned());
        }
    }
    std::thread::spawn(move || for _ in out.lines() {});
    (child, web.unwrap(), bound)
}

/// Every request is counted under the host its syslog header names: this machine, as
/// `logger` and rsyslog write it (RFC 3164 cuts the name at its first dot).
fn assert_hosts_from_headers(web: &str, total: u64) {
    let hosts = common::hosts(&common::get_json(&format!("http://{web}/api/summary")));
    let me = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let short = |h: &str| h.trim().split('.').next().unwrap_or_default().to_owned();
    assert_eq!(hosts.values().sum::<u64>(), total);
    for h in hosts.keys() {
        assert_eq!(short(h), short(&me), "{h}");
    }
}

fn logger(args: &[&str], file: &Path) {
    let status = Command::new("logger")
        .args(args)
        .args(["-t", "nginx", "-f"])
        .arg(file)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn logger_over_udp_and_tcp_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, web, bound) = start(dir.path(), &["udp://127.0.0.1:0", "tcp://127.0.0.1:0"]);
    let port = |a: &str| a.rsplit(':').next().unwrap().to_owned();
    let (udp, tcp) = (port(&bound[0]), port(&bound[1]));
    let batch = |from: u64, name: &str| {
        let p = dir.path().join(name);
        let text: String = (from..from + 20).map(|i| line(i) + "\n").collect();
        std::fs::write(&p, text).unwrap();
        p
    };
    let host = ["-n", "127.0.0.1", "-P"];
    logger(
        &[&host[..], &[&udp, "-d", "--rfc3164"]].concat(),
        &batch(0, "a"),
    );
    common::until_requests(&web, |n| n == 20);
    logger(
        &[&host[..], &[&udp, "-d", "--rfc5424"]].concat(),
        &batch(20, "b"),
    );
    common::until_requests(&web, |n| n == 40);
    logger(
        &[&host[..], &[&tcp, "-T", "--octet-count"]].concat(),
        &batch(40, "c"),
    );
    common::until_requests(&web, |n| n == 60);
    logger(
        &[&host[..], &[&tcp, "-T", "--rfc3164"]].concat(),
        &batch(60, "d"),
    );
    common::until_requests(&web, |n| n == 80);
    assert_hosts_from_headers(&web, 80);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn rsyslog_forwards_a_file() {
    let Some(rsyslogd) = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        panic!("rsyslogd is not installed (apt-get install rsyslog; .ci/run does)");
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut child, web, bound) = start(dir.path(), &["tcp://127.0.0.1:0"]);
    let port = bound[0].rsplit(':').next().unwrap().to_owned();
    let log = dir.path().join("access.log");
    let text: String = (0..200).map(|i| line(i) + "\n").collect();
    std::fs::write(&log, text).unwrap();
    let work = dir.path().join("rsyslog");
    std::fs::create_dir_all(&work).unwrap();
    let conf = dir.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{work}\")\n\
             module(load=\"imfile\" PollingInterval=\"1\")\n\
             input(type=\"imfile\" File=\"{log}\" Tag=\"nginx:\" ruleset=\"fwd\")\n\
             ruleset(name=\"fwd\") {{\n\
               action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"tcp\"\n\
                      TCP_Framing=\"octet-counted\" template=\"RSYSLOG_SyslogProtocol23Format\")\n\
             }}\n",
            work = work.display(),
            log = log.display(),
        ),
    )
    .unwrap();
    let mut rsyslog = Command::new(rsyslogd)
        .args(["-n", "-f"])
        .arg(&conf)
        .arg("-i")
        .arg(dir.path().join("rsyslogd.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    common::until_requests(&web, |n| n == 200);
    assert_hosts_from_headers(&web, 200);
    let _ = rsyslog.kill();
    let _ = rsyslog.wait();
    let _ = child.kill();
    let _ = child.wait();
}
