//! Logs inside containers' and shippers' envelopes (Docker's json-file, the CRI prefix of
//! Kubernetes, journald's JSON) are read as the lines inside, and every request is counted
//! under the server that logged it.

mod common;

use common::hosts;

use std::collections::BTreeMap;

/// The fields of a report that must not change when the same lines come wrapped.
fn counted(v: &serde_json::Value) -> serde_json::Value {
    let routes: Vec<_> = v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["route"].clone(),
                r["requests"].clone(),
                r["p90_ms"].clone(),
            )
        })
        .collect();
    serde_json::json!({
        "requests": v["requests"],
        "status": v["status"],
        "bytes": v["bytes"],
        "period": v["period"],
        "visitors": v["unique_visitors"],
        "routes": routes,
    })
}

fn analyze(data: &str, extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrapped.log");
    std::fs::write(&path, data).unwrap();
    let mut args = vec![path.to_str().unwrap()];
    args.extend_from_slice(extra);
    common::analyze_json(&args).0
}

#[test]
fn wrapped_lines_count_like_the_bare_log() {
    let bare = std::fs::read_to_string(common::FIXTURE).unwrap();
    let lines: Vec<&str> = bare.lines().filter(|l| !l.trim().is_empty()).collect();
    let want = analyze(&bare, &["--host", "edge-1"]);
    assert_eq!(
        hosts(&want),
        BTreeMap::from([("edge-1".to_owned(), lines.len() as u64)])
    );

    // Docker's json-file driver: the line, its newline included, under "log".
    let docker: String = lines
        .iter()
        .map(|l| {
            serde_json::json!({"log": format!("{l}\n"), "stream": "stdout", "time": "2024-03-01T00:00:00.000000001Z"})
                .to_string()
                + "\n"
        })
        .collect();
    // Kubernetes' CRI log files: time, stream, a full-line tag, the line.
    let cri: String = lines
        .iter()
        .map(|l| format!("2024-03-01T00:00:00.123456789Z stdout F {l}\n"))
        .collect();
    for (name, wrapped) in [("docker", docker), ("cri", cri)] {
        let got = analyze(&wrapped, &["--host", "edge-1"]);
        assert_eq!(counted(&got), counted(&want), "{name}");
        assert_eq!(got["lines"]["rejected"], 0, "{name}");
        assert_eq!(hosts(&got), hosts(&want), "{name}");
    }

    // journald's JSON export names the host of each entry.
    let mut per_host: BTreeMap<String, u64> = BTreeMap::new();
    let journal: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let host = format!("web-{}", i % 3);
            *per_host.entry(host.clone()).or_default() += 1;
            serde_json::json!({"MESSAGE": l, "_HOSTNAME": host, "PRIORITY": "6", "_SYSTEMD_UNIT": "nginx.service"})
                .to_string()
                + "\n"
        })
        .collect();
    let got = analyze(&journal, &[]);
    assert_eq!(counted(&got), counted(&want));
    assert_eq!(hosts(&got), per_host);
}

#[test]
fn json_access_logs_in_docker_envelopes_are_read_as_json() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/real/json_nginx.log"
    );
    let bare = std::fs::read_to_string(fixture).unwrap();
    let want = analyze(&bare, &[]);
    let docker: String = bare
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::json!({"log": format!("{l}\n"), "stream": "stdout", "time": "2024-03-01T00:00:00Z"})
                .to_string()
                + "\n"
        })
        .collect();
    let got = analyze(&docker, &[]);
    assert_eq!(counted(&got), counted(&want));
    assert_eq!(got["sources"][0]["format"], "json");
}

/// Regression (found trying it): a line starting with the tag byte but no tag, or a tag
/// inside a tag, was read with the tag bytes in its client address.
#[test]
fn a_host_tag_is_whole_or_the_line_is_rejected() {
    let line = "10.0.0.1 - - [01/Mar/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"";
    let data = [
        format!("\u{1e}web-1\u{1f}{line}"),
        format!("\u{1e}web-1\u{1f}\u{1e}evil\u{1f}{line}"),
        format!("\u{1e}{line}"),
        format!("\u{1e}a\u{1e}b\u{1f}{line}"),
        format!("\u{1e}{}\u{1f}{line}", "q".repeat(2000)),
    ]
    .join("\n");
    let got = analyze(&data, &["--host", "edge-1"]);
    assert_eq!(hosts(&got), BTreeMap::from([("web-1".to_owned(), 1)]));
    assert_eq!(got["lines"]["rejected"], 4);
    let samples = got["sources"][0]["rejected_samples"].to_string();
    assert!(samples.contains("host tag"), "{samples}");
    assert_eq!(got["clients"][0]["client"], "10.0.0.1");
}

/// Regression (found trying it): samples and prompts showed the envelope around a line
/// (Docker's JSON, the CRI prefix, the spool's host tag) instead of the line.
#[test]
fn samples_show_the_line_inside_its_envelope() {
    let bare = std::fs::read_to_string(common::FIXTURE).unwrap();
    let lines: Vec<&str> = bare.lines().filter(|l| !l.trim().is_empty()).collect();
    let docker: String = lines
        .iter()
        .map(|l| {
            serde_json::json!({"log": format!("{l}\n"), "stream": "stdout"}).to_string() + "\n"
        })
        .collect();
    let cri: String = lines
        .iter()
        .map(|l| format!("2024-03-01T00:00:00Z stdout F {l}\n"))
        .collect();
    let tagged: String = lines
        .iter()
        .map(|l| format!("\u{1e}web-1\u{1f}{l}\n"))
        .collect();
    for (name, data) in [("docker", docker), ("cri", cri), ("tagged", tagged)] {
        let got = analyze(&data, &[]);
        let shown: Vec<&str> = ["recent", "slowest", "recent_errors"]
            .iter()
            .flat_map(|k| got[*k].as_array().unwrap())
            .map(|r| r["line"].as_str().unwrap())
            .collect();
        assert!(!shown.is_empty());
        for l in shown {
            assert!(lines.contains(&l), "{name}: {l:?} is not a line of the log");
        }
        let prompts = got["prompts"].to_string();
        assert!(
            !prompts.contains("stdout F") && !prompts.contains("\\u001e"),
            "{name}"
        );
    }
}

/// Regression (review): lines sent over ingest or syslog are tagged with their host, and a
/// CRI or Docker line inside the tag was rejected; so was Fluent Bit's `{"log": <CRI line>}`.
#[test]
fn envelopes_inside_a_host_tag_or_around_a_cri_line_are_opened() {
    let bare = std::fs::read_to_string(common::FIXTURE).unwrap();
    let lines: Vec<&str> = bare
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(300)
        .collect();
    let data: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| match i % 3 {
            0 => format!("\u{1e}web-1\u{1f}2024-03-01T00:00:00Z stdout F {l}\n"),
            1 => format!(
                "\u{1e}web-1\u{1f}{}\n",
                serde_json::json!({"log": format!("{l}\n"), "stream": "stdout"})
            ),
            _ => {
                serde_json::json!({"log": format!("2024-03-01T00:00:00Z stdout F {l}")}).to_string()
                    + "\n"
            }
        })
        .collect();
    let got = analyze(&data, &["--host", "edge-1"]);
    assert_eq!(got["lines"]["rejected"], 0);
    assert_eq!(
        hosts(&got),
        BTreeMap::from([("edge-1".to_owned(), 100), ("web-1".to_owned(), 200)])
    );
}
