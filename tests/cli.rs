//! The `tailpulse analyze` command, run as a user runs it.

mod common;

use std::io::Write;
use std::process::{Command, Output};

fn tailpulse(args: &[&str], stdin: Option<&[u8]>) -> Output {
    common::tailpulse_in(None, args, stdin)
}

fn json_of(args: &[&str], stdin: Option<&[u8]>) -> serde_json::Value {
    let out = tailpulse(args, stdin);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn text_report_by_default() {
    let out = tailpulse(&["analyze", common::FIXTURE], None);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[Improvement suggestions and insights]"));
    assert!(text.contains("Requests: 3000"));
    let ko =
        String::from_utf8(tailpulse(&["analyze", "--lang", "ko", common::FIXTURE], None).stdout)
            .unwrap();
    assert!(ko.contains("[개선 제안 및 인사이트]"));
}

#[test]
fn gzip_stdin_and_many_files_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::read(common::FIXTURE).unwrap();
    let gz = dir.path().join("access.log.1.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&data).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let gz = gz.to_str().unwrap();

    let plain = json_of(&["analyze", "--output", "json", common::FIXTURE], None);
    let zipped = json_of(&["analyze", "--output", "json", gz], None);
    let piped = json_of(&["analyze", "--output", "json", "-"], Some(&data));
    for v in [&zipped, &piped] {
        assert_eq!(v["requests"], plain["requests"]);
        assert_eq!(v["routes"], plain["routes"]);
        assert_eq!(v["response_time_ms"], plain["response_time_ms"]);
    }
    assert_eq!(piped["sources"][0]["name"], "(stdin)");
    let both = json_of(&["analyze", "--output", "json", common::FIXTURE, gz], None);
    assert_eq!(both["requests"], 6000);
    assert_eq!(both["sources"].as_array().unwrap().len(), 2);
}

/// Regression (a real archive cut short in a copy): one truncated `.gz` stopped `analyze`
/// with "incomplete deflate stream", and the other, intact file was not reported either.
/// What was read is counted, up to the last whole line, and the report says where it stopped.
#[test]
fn a_truncated_gzip_counts_what_it_holds_and_says_so() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::read(common::FIXTURE).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&data).unwrap();
    let packed = enc.finish().unwrap();
    let cut = &packed[..packed.len() / 2];
    let gz = dir.path().join("access.log.2.gz");
    std::fs::write(&gz, cut).unwrap();
    // Counted apart: the whole lines a decoder gets out of the cut file before it fails.
    let mut prefix = Vec::new();
    let failed = flate2::read::GzDecoder::new(cut).read_to_end(&mut prefix);
    assert!(failed.is_err(), "the cut stream is incomplete");
    let whole_lines = prefix.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(whole_lines > 100 && whole_lines < 3000, "{whole_lines}");

    let gz = gz.to_str().unwrap();
    let out = tailpulse(&["analyze", "--output", "json", common::FIXTURE, gz], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading stopped early"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["requests"], 3000 + whole_lines);
    let sources = v["sources"].as_array().unwrap();
    let cut_row = sources.iter().find(|s| s["name"] == gz).unwrap();
    assert!(cut_row["error"].as_str().is_some(), "{cut_row}");
    let text = tailpulse(&["analyze", gz], None);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("stopped early"), "{text}");
}

#[test]
fn every_format_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "json",
            "{\"time\":\"2024-03-01T12:00:00Z\",\"remote_addr\":\"::1\",\"request\":\"GET /a HTTP/1.1\",\"status\":200,\"body_bytes_sent\":5,\"request_time\":0.5}\n",
            &[],
        ),
        (
            "w3c",
            "#Software: IIS\n#Fields: date time cs-method cs-uri-stem c-ip sc-status time-taken\n2024-03-01 12:00:00 GET /a 10.0.0.1 200 500\n",
            &[],
        ),
        (
            "traefik",
            "10.0.0.1 - - [01/Mar/2024:12:00:00 +0000] \"GET /a HTTP/2.0\" 200 5 \"-\" \"x\" 1 \"r@docker\" \"http://b\" 500ms\n",
            &[],
        ),
        (
            "vhost-combined",
            "example.org:443 10.0.0.1 - - [01/Mar/2024:13:00:00 +0100] \"GET /a HTTP/1.1\" 200 5 \"-\" \"x\" 500000\n",
            &[],
        ),
        (
            "custom",
            "2024-03-01|12:00:00|10.0.0.1|GET /a HTTP/1.1|200|5|500\n",
            &[
                "--log-format",
                "%d|%t|%h|%r|%s|%b|%L",
                "--date-format",
                "%Y-%m-%d",
            ],
        ),
    ];
    for (name, content, extra) in cases {
        let path = dir.path().join(format!("{name}.log"));
        std::fs::write(&path, content).unwrap();
        let mut args = vec!["analyze", "--output", "json", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        let v = json_of(&args, None);
        assert_eq!(v["sources"][0]["format"], name, "{name}");
        assert_eq!(v["requests"], 1, "{name}");
        assert_eq!(v["response_time_ms"]["max"], 500.0, "{name}");
        assert_eq!(v["period"]["first"], "2024-03-01T12:00:00.000Z", "{name}");
        assert_eq!(v["routes"][0]["route"], "/a", "{name}");
    }
}

#[test]
fn html_report_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let o = tailpulse(
        &[
            "analyze",
            "--output",
            "html",
            "--out",
            out.to_str().unwrap(),
            common::FIXTURE,
        ],
        None,
    );
    assert!(o.status.success());
    let html = std::fs::read_to_string(out).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<svg"), "charts are inline SVG");
    assert!(!html.contains("<script"), "no script at all");
    assert!(
        !html.contains(" src=") && !html.contains(" href="),
        "nothing loaded from elsewhere"
    );
    assert!(html.contains("Content-Security-Policy"));
}

#[test]
fn out_dash_is_standard_output_not_a_file_named_dash() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::fs::canonicalize(common::FIXTURE).unwrap();
    let args = ["analyze", "--output", "json", "--out", "-"];
    let o = common::tailpulse_in(
        Some(dir.path()),
        &[&args[..], &[fixture.to_str().unwrap()]].concat(),
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["requests"], 3000);
    assert!(!dir.path().join("-").exists());
}

#[test]
fn errors_are_reported_not_panicked() {
    let o = tailpulse(&["analyze", "/nonexistent/access.log"], None);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("Error: cannot open /nonexistent/access.log: "),
        "{err}"
    );
    let o = tailpulse(&["analyze", "--log-format", "%h %Z", common::FIXTURE], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8(o.stderr)
            .unwrap()
            .contains("unknown specifier %Z")
    );
    // Regressions found by trying the binary as a new user: `--report-every 0s` panicked the
    // aggregator (exit 134), `--max-routes 0` made a table of nothing, and `--since` on log
    // files was silently ignored.
    let o = tailpulse(&["run", "--report-every", "0s", "--no-db", "x.log"], None);
    assert_eq!(o.status.code(), Some(2), "a usage error, not a panic");
    assert!(String::from_utf8_lossy(&o.stderr).contains("must be longer than 0s"));
    let o = tailpulse(&["analyze", "--max-routes", "0", common::FIXTURE], None);
    assert_eq!(o.status.code(), Some(2));
    let o = tailpulse(&["analyze", "--since", "2024-03-01", common::FIXTURE], None);
    assert_eq!(o.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&o.stderr).contains("<--db <DB>|--clickhouse <URL>>"));
    // Regression: a live run read the files as combined logs instead (an error in its log).
    let dir = tempfile::tempdir().unwrap();
    let o = common::tailpulse_in(
        Some(dir.path()),
        &[
            "run",
            "--no-db",
            "--port",
            "0",
            "--log-format",
            "%h %Z",
            common::FIXTURE,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("unknown specifier %Z"), "{err}");
    let o = tailpulse(&["analyze", "--output", "sideways"], None);
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2");
    // No file and a pipe on standard input: the pipe is read (here, empty).
    let o = tailpulse(&["analyze"], None);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn empty_input_gives_an_empty_report() {
    let v = json_of(&["analyze", "--output", "json", "-"], Some(b""));
    assert_eq!(v["requests"], 0);
    assert!(v["response_time_ms"].is_null());
    assert!(v["peak_hour"].is_null());
}

/// `--version` names the git revision of a checkout build; completions load in a real bash;
/// the manual page is roff with every command.
#[test]
fn version_completions_and_manual() {
    let v = String::from_utf8(tailpulse(&["--version"], None).stdout).unwrap();
    assert!(
        v.starts_with(concat!("tailpulse ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    if std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.git")).exists() {
        let rev = v
            .split("(git ")
            .nth(1)
            .map(|r| r.trim().trim_end_matches(')'));
        assert!(
            rev.is_some_and(|r| r.len() == 12 && r.bytes().all(|b| b.is_ascii_hexdigit())),
            "{v}"
        );
    }
    let bin = env!("CARGO_BIN_EXE_tailpulse");
    let bash = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source <('{bin}' completions bash) && complete -p tailpulse"
        ))
        .output()
        .unwrap();
    assert!(
        bash.status.success(),
        "{}",
        String::from_utf8_lossy(&bash.stderr)
    );
    assert!(String::from_utf8_lossy(&bash.stdout).contains("_tailpulse"));
    for shell in ["zsh", "fish"] {
        let out = tailpulse(&["completions", shell], None);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("analyze") && text.contains("max-routes"),
            "{shell}"
        );
    }
    let man = String::from_utf8(tailpulse(&["man"], None).stdout).unwrap();
    assert!(
        man.starts_with(".ie") || man.starts_with(".TH"),
        "{}",
        &man[..80]
    );
    assert!(man.contains(".TH tailpulse 1"));
    for command in ["run", "analyze", "generate", "db", "completions", "config"] {
        assert!(man.contains(command), "{command}");
    }
}

/// Runs `args` under a pseudo-terminal (util-linux `script`), as a user at a terminal does;
/// returns what the terminal showed.
fn on_a_terminal(args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_tailpulse");
    let out = Command::new("script")
        .args(["-qec", &format!("'{bin}' {args}"), "/dev/null"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_is_shown_on_a_terminal_only() {
    let log = common::FIXTURE;
    let shown = on_a_terminal(&format!("analyze --output json --out /dev/null {log}"));
    assert!(shown.contains("100%"), "a bar for a file: {shown}");
    assert!(shown.contains("read 3,000 lines in"), "{shown}");
    let piped = on_a_terminal(&format!("analyze --output json --out /dev/null - < {log}"));
    assert!(
        piped.contains("(stdin)") && piped.contains("read 3,000 lines"),
        "{piped}"
    );
    let quiet = on_a_terminal(&format!(
        "analyze --quiet --output json --out /dev/null {log}"
    ));
    assert!(!quiet.contains("lines"), "{quiet}");
    let out = tailpulse(
        &["analyze", "--output", "json", "--out", "/dev/null", log],
        None,
    );
    assert!(
        out.stderr.is_empty(),
        "not a terminal: nothing on standard error"
    );
}
