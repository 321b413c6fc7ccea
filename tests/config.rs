//! The configuration file as an operator uses it: every option has a key, the command line
//! wins over the environment, which wins over the file, which wins over the defaults;
//! `config example` and `config check`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary with `env` added to an environment without any `TAILPULSE_*` variable.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tailpulse"));
    for (k, _) in std::env::vars() {
        if k.starts_with("TAILPULSE_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).envs(env.iter().copied()).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn korean(text: &str) -> bool {
    text.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c))
}

#[test]
fn flag_beats_environment_beats_file_beats_default() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "t.toml", "[analyze]\nlang = \"ko\"\n");
    let log = common::FIXTURE;
    let text = |args: &[&str], env: &[(&str, &str)]| stdout(&run(args, env));
    assert!(!korean(&text(&["analyze", log], &[])), "default: English");
    assert!(
        korean(&text(&["analyze", "--config", &cfg, log], &[])),
        "the file's lang"
    );
    assert!(
        korean(&text(&["analyze", log], &[("TAILPULSE_CONFIG", &cfg)])),
        "the file named by the environment"
    );
    assert!(
        !korean(&text(
            &["analyze", "--config", &cfg, log],
            &[("TAILPULSE_LANG", "en")]
        )),
        "the environment over the file"
    );
    assert!(
        korean(&text(
            &["analyze", "--config", &cfg, "--lang", "ko", log],
            &[("TAILPULSE_LANG", "en")]
        )),
        "the command line over the environment"
    );
}

#[test]
fn switches_lists_and_files_come_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "t.toml",
        &format!(
            "[analyze]\nfiles = [{:?}]\noutput = \"json\"\nno-detect = true\n\
             route-rule = [\"/api/products/**\"]\n",
            common::FIXTURE
        ),
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run(&["analyze", "--config", &cfg], &[]))).unwrap();
    assert_eq!(json["requests"], 3000, "the file's input was read");
    let routes: Vec<&str> = json["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["route"].as_str().unwrap())
        .collect();
    assert!(
        routes
            .iter()
            .all(|r| !r.starts_with("/api/products/") || *r == "/api/products/**"),
        "{routes:?}"
    );
    // Files on the command line replace the file's, and a flag its value.
    let other = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/real/ipv6_query.log"
    );
    let lines = std::fs::read_to_string(other).unwrap().lines().count();
    let text = stdout(&run(
        &["analyze", "--config", &cfg, "--output", "text", other],
        &[],
    ));
    assert!(text.contains(&format!("Requests: {lines}")), "{text}");
}

#[test]
fn an_unknown_key_stops_the_command_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "t.toml", "[analyze]\nouput = \"json\"\n");
    let out = run(&["analyze", "--config", &cfg, common::FIXTURE], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`ouput`") && err.contains("did you mean `output`"),
        "{err}"
    );
}

#[test]
fn check_names_the_line_of_every_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "bad.toml",
        "color = \"sometimes\"\n\
         [run]\n\
         report-evry = \"5s\"\n\
         port = \"http\"\n\
         bind = \"127.0.0.1\"\n\
         [analyze]\n\
         since = \"2024-03-01\"\n\
         [generate]\n\
         rate = 10\n",
    );
    let out = run(&["config", "check", &cfg], &[]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].contains("bad.toml:1: color"), "{text}");
    assert!(
        lines[1].contains("bad.toml:3:") && lines[1].contains("did you mean `report-every`"),
        "{text}"
    );
    assert!(lines[2].contains("bad.toml:4: port"), "{text}");
    assert!(
        lines[3].contains("bad.toml:6:") && lines[3].contains("--db"),
        "since needs db: {text}"
    );
    // The other tables are checked by their own rules.
    let cfg = write(dir.path(), "alerts.toml", "[alerts]\ncooldwn = \"1m\"\n");
    let out = run(&["config", "check", &cfg], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("alerts.toml:2:"));
    let cfg = write(dir.path(), "syntax.toml", "[run]\nport = \n");
    let out = run(&["config", "check", &cfg], &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("syntax.toml:2:"));
}

#[test]
fn the_example_has_every_option_and_checks_clean_as_printed_and_uncommented() {
    let dir = tempfile::tempdir().unwrap();
    let example = stdout(&run(&["config", "example"], &[]));
    insta::assert_snapshot!("config_example", example);
    let cmd = tailpulse::cli::settings::command();
    for section in tailpulse::cli::settings::SECTIONS {
        let sub = cmd.find_subcommand(section).unwrap();
        let start = example.find(&format!("\n[{section}]\n")).unwrap();
        let body = &example[start..];
        let body = &body[..body[1..].find("\n[").map_or(body.len(), |i| i + 1)];
        for key in tailpulse::cli::settings::keys(sub) {
            assert!(body.contains(&format!("\n# {key} = ")), "[{section}] {key}");
        }
    }
    let printed = write(dir.path(), "example.toml", &example);
    assert!(stdout(&run(&["config", "check", &printed], &[])).ends_with(": ok\n"));
    // Every option line with a default, uncommented: still a valid file.
    let lines: Vec<&str> = example.lines().collect();
    let mut uncommented = Vec::new();
    let mut in_options = true;
    for (i, line) in lines.iter().enumerate() {
        in_options &= *line != "[routes]";
        let option = line.starts_with("# ")
            && line[2..].split_once(" = ").is_some_and(|(k, v)| {
                k.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !v.contains("no default")
            })
            && lines.get(i + 1).is_some_and(|n| n.is_empty());
        uncommented.push(if in_options && option {
            &line[2..]
        } else {
            line
        });
    }
    let full = write(dir.path(), "full.toml", &uncommented.join("\n"));
    assert!(
        stdout(&run(&["config", "check", &full], &[])).ends_with(": ok\n"),
        "{}",
        uncommented.join("\n")
    );
    assert!(uncommented.contains(&"report-every = \"5s\""));
}
