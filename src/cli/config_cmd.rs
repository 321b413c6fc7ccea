//! `tailpulse config example` (every key, commented) and `tailpulse config check FILE`
//! (every mistake, with its line).

use super::settings::{self, GLOBAL_KEYS, SECTIONS};
use clap::{ArgAction, Command};
use std::fmt::Write as _;
use std::path::Path;

/// The tables other than the commands' options, as the example shows them.
const OTHER_TABLES: &str = r#"
# How paths become routes (the flags --routes, --keep-query and --route-rule win).
[routes]
# mode = "normalized"          # or "raw"
# keep_query = ["page"]        # query keys kept in routes; ["*"] for all
# rules = ["/presentations/**"]

[prompts]
# redact = false               # client addresses replaced, query strings dropped

[alerts]
# cooldown = "15m"             # shortest time between two firing messages of one rule
# attempts = 4                 # delivery attempts per message and channel
# backoff = "2s"               # doubled after each failure
# timeout = "10s"

# [[alerts.rules]]
# name = "5xx rate"
# metric = "error_rate_5xx"    # error_rate_4xx, p50_ms, p95_ms, p99_ms, avg_ms, requests_per_min
# above = 0.02                 # or below = …
# for = "5m"
# route = "/api/checkout"      # one route; default: the whole site

# [[alerts.rules]]
# name = "incidents"
# anomaly = "warning"          # any detected incident of this severity or worse

# [[alerts.webhooks]]
# url = "https://example.com/hook"
# format = "json"              # or "slack" (the default: {"text": …})

# [alerts.email]
# server = "smtp.example.com:587"
# tls = "starttls"             # or "tls" (465), "none" (a local relay)
# from = "tailpulse@example.com"
# to = ["ops@example.com"]
# username_env = "SMTP_USER"
# password_env = "SMTP_PASSWORD"

# An OpenAI-compatible endpoint the summary prompt is sent to (none: nothing is sent).
# [llm]
# base_url = "http://127.0.0.1:11434/v1"
# model = "llama3"
# api_key_env = "OPENAI_API_KEY"
# every = "1h"
# on_incident = true
# max_calls_per_hour = 6
# timeout = "60s"
# attempts = 3
"#;

/// A configuration file with every key, commented out, at its default.
pub fn example() -> String {
    let cmd = settings::command();
    let mut out = String::from(
        "# tailpulse configuration: tailpulse --config FILE … (or TAILPULSE_CONFIG=FILE).\n\
         # Every option of a command has a key in the command's table, named as its long\n\
         # flag. The command line wins over the environment (TAILPULSE_<OPTION>, e.g.\n\
         # TAILPULSE_REPORT_EVERY=10s), which wins over this file, which wins over the\n\
         # defaults shown here.\n\n",
    );
    for key in GLOBAL_KEYS {
        let arg = settings::find_arg(&cmd, key).expect("global keys are options");
        describe(&mut out, key, arg);
    }
    for section in SECTIONS {
        let sub = cmd.find_subcommand(section).expect("a command per section");
        let _ = writeln!(out, "\n[{section}]");
        for key in settings::keys(sub) {
            let arg = settings::find_arg(sub, &key).expect("listed by keys");
            describe(&mut out, &key, arg);
        }
    }
    out.push_str(OTHER_TABLES);
    out
}

/// The help of `arg`, commented, and `# key = default`.
fn describe(out: &mut String, key: &str, arg: &clap::Arg) {
    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    for line in wrap(&help, 88) {
        let _ = writeln!(out, "# {line}");
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    let switch = matches!(arg.get_action(), ArgAction::SetTrue);
    if !values.is_empty() && !switch {
        let _ = writeln!(out, "# One of: {}.", values.join(", "));
    }
    let _ = writeln!(out, "# {key} = {}\n", default_of(arg));
}

/// The default of `arg` as a TOML value, or a placeholder naming what goes there.
fn default_of(arg: &clap::Arg) -> String {
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let many = matches!(arg.get_action(), ArgAction::Append) || arg.is_positional();
    if matches!(arg.get_action(), ArgAction::SetTrue) {
        return "false".into();
    }
    let value = |v: &str| {
        if v.parse::<i64>().is_ok() || v.parse::<f64>().is_ok_and(f64::is_finite) {
            v.to_owned()
        } else {
            format!("{v:?}")
        }
    };
    match (defaults.first(), many) {
        (Some(d), false) => value(d),
        (_, true) => "[]".into(),
        (None, false) => {
            let name = arg.get_value_names().and_then(|n| n.first()).map_or_else(
                || arg.get_id().to_string().to_uppercase(),
                |n| n.to_string(),
            );
            format!("\"<{name}>\"  # no default")
        }
    }
}

/// `text` in lines of at most `width` characters (words are not split).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// `tailpulse config check FILE`: prints each mistake as `FILE:LINE: message`, or `FILE: ok`.
pub fn check(path: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mistakes = mistakes(&text, &path.display().to_string());
    if mistakes.is_empty() {
        println!("{}: ok", path.display());
        return Ok(());
    }
    for m in &mistakes {
        println!("{m}");
    }
    anyhow::bail!("{} has {} mistake(s)", path.display(), mistakes.len())
}

/// Every mistake in the configuration `text` (named `name`), each with its line.
pub fn mistakes(text: &str, name: &str) -> Vec<String> {
    let table = match toml::de::DeTable::parse(text) {
        Ok(t) => t,
        Err(e) => {
            let at = e.span().map_or(0, |s| s.start);
            return vec![at_line(text, name, at, e.message().trim())];
        }
    };
    let cmd = <super::Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    for (key, value) in table.get_ref() {
        let key_name = key.get_ref().as_ref();
        let line_of = |span: std::ops::Range<usize>| span.start;
        if GLOBAL_KEYS.contains(&key_name) {
            let arg = settings::find_arg(&cmd, key_name).expect("global keys are options");
            if let Some(why) = refused(&cmd, None, (key_name, arg), &text[value.span()]) {
                out.push(at_line(text, name, line_of(key.span()), &why));
            }
            continue;
        }
        if !SECTIONS.contains(&key_name) {
            continue;
        }
        let sub = cmd
            .find_subcommand(key_name)
            .expect("a command per section");
        let Some(entries) = value.get_ref().as_table() else {
            let why = format!("`{key_name}` must be a table ([{key_name}])");
            out.push(at_line(text, name, line_of(key.span()), &why));
            continue;
        };
        let mut all = vec!["tailpulse".into(), key_name.into()];
        let mut fine = true;
        for (k, v) in entries {
            let k_name = k.get_ref().as_ref();
            let why = match settings::find_arg(sub, k_name) {
                None => Some(unknown(key_name, k_name, sub)),
                Some(arg) => {
                    let words = words(k_name, arg, &text[v.span()]);
                    match words {
                        Ok(w) => {
                            let why = refused(&cmd, Some(key_name), (k_name, arg), &text[v.span()]);
                            all.extend(w);
                            why
                        }
                        Err(why) => Some(why),
                    }
                }
            };
            if let Some(why) = why {
                fine = false;
                out.push(at_line(text, name, line_of(k.span()), &why));
            }
        }
        // Options that need or exclude each other, once each alone is right.
        if fine && let Err(e) = cmd.clone().try_get_matches_from(all) {
            let why = format!("[{key_name}]: {}", first_line(&e.to_string()));
            out.push(at_line(text, name, line_of(key.span()), &why));
        }
    }
    // The other tables (and unknown top-level keys), with their rules.
    if let Err(e) = crate::config::Config::parse(text, name) {
        out.push(e.to_string());
    }
    out.sort_by_key(|m| line_number(m, name));
    out
}

/// The line a mistake (`name:LINE: …`) names, 0 when none.
fn line_number(mistake: &str, name: &str) -> usize {
    mistake
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix(':'))
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn unknown(section: &str, key: &str, sub: &Command) -> String {
    let hint = settings::nearest(key, settings::keys(sub))
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default();
    format!("[{section}] has no key `{key}`{hint}")
}

/// The command-line words for `key = value` (`value`: its TOML text) of the option `arg`.
fn words(key: &str, arg: &clap::Arg, value: &str) -> Result<Vec<std::ffi::OsString>, String> {
    let parsed: toml::Table =
        toml::from_str(&format!("v = {value}")).map_err(|e| format!("{key}: {}", e.message()))?;
    let values = settings::strings(&parsed["v"]).map_err(|why| format!("{key}: {why}"))?;
    Ok(if arg.is_positional() {
        let mut w = vec!["--".into()];
        w.extend(values.into_iter().map(Into::into));
        w
    } else {
        settings::flag_args(arg, key, values)
    })
}

/// Why the command line would refuse `key = value` (`value`: its TOML text) for the option
/// `arg` of the command `section` (`None`: a global option), if it would. That another option
/// is needed with it is not judged here.
fn refused(
    cmd: &Command,
    section: Option<&str>,
    (key, arg): (&str, &clap::Arg),
    value: &str,
) -> Option<String> {
    let words = match words(key, arg, value) {
        Ok(w) => w,
        Err(why) => return Some(why),
    };
    let mut argv: Vec<std::ffi::OsString> = vec!["tailpulse".into()];
    argv.extend(section.map(Into::into));
    // Positional values come last, after any section name.
    argv.extend(words);
    match cmd.clone().try_get_matches_from(argv) {
        Err(e) if e.kind() != clap::error::ErrorKind::MissingRequiredArgument => {
            Some(format!("{key}: {}", first_line(&e.to_string())))
        }
        _ => None,
    }
}

/// clap's message without its usage and tips, on one line.
fn first_line(s: &str) -> String {
    let s = s.trim_start_matches("error: ");
    s.lines()
        .take_while(|l| {
            !l.starts_with("Usage:")
                && !l.starts_with("For more information")
                && !l.trim_start().starts_with("tip:")
        })
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `name:LINE: message` for the byte offset `at` of `text`.
fn at_line(text: &str, name: &str, at: usize, message: &str) -> String {
    let line = text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    format!("{name}:{line}: {message}")
}
