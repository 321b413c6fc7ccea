//! Where each option's value comes from: the command line, then the environment
//! (`TAILPULSE_REPORT_EVERY` for `--report-every`), then the configuration file (`--config`:
//! its `[run]`, `[analyze]` or `[generate]` table, keys named as the long flags), then the
//! default.

use super::Cli;
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::path::Path;

/// The commands whose options a configuration file can set, by the name of their table.
pub const SECTIONS: [&str; 3] = ["run", "analyze", "generate"];
/// Options of every command, set at the top of the file.
pub const GLOBAL_KEYS: [&str; 2] = ["log-level", "color"];

/// The command line `argv` parsed, with the environment's and the configuration file's
/// values for the options it does not give. Help, version and usage errors exit as clap's do.
pub fn parse(argv: Vec<OsString>) -> anyhow::Result<Cli> {
    let cmd = command();
    let m = cmd
        .clone()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| e.exit());
    let Some(path) = m.get_one::<std::path::PathBuf>("config").cloned() else {
        return Ok(Cli::from_arg_matches(&m).unwrap_or_else(|e| e.exit()));
    };
    let file = crate::config::Config::load(&path)?;
    let argv = with_file_values(argv, &cmd, &m, &file, &path)?;
    let m = cmd.try_get_matches_from(&argv).unwrap_or_else(|e| e.exit());
    Ok(Cli::from_arg_matches(&m).unwrap_or_else(|e| e.exit()))
}

/// The command-line definition, every long option also read from `TAILPULSE_<NAME>`.
pub fn command() -> Command {
    with_env(Cli::command())
}

fn with_env(cmd: Command) -> Command {
    let cmd = cmd.mut_args(|a| match a.get_long() {
        Some(long) if !matches!(long, "help" | "version") => {
            let name = format!("TAILPULSE_{}", long.to_uppercase().replace('-', "_"));
            a.env(name)
        }
        _ => a,
    });
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    names
        .iter()
        .fold(cmd, |cmd, name| cmd.mut_subcommand(name, with_env))
}

/// The subcommand a table of the file is for (`run` is also the command-less default).
fn subcommand<'a>(cmd: &'a Command, section: &str) -> &'a Command {
    cmd.find_subcommand(section)
        .expect("every section names a subcommand")
}

/// `argv` with `--key=value` added for each value of the file that neither the command line
/// nor the environment gave.
fn with_file_values(
    mut argv: Vec<OsString>,
    cmd: &Command,
    m: &ArgMatches,
    file: &crate::config::Config,
    path: &Path,
) -> anyhow::Result<Vec<OsString>> {
    let (section, sub_m, at) = match m.subcommand() {
        Some((name, sub_m)) => {
            let at = argv
                .iter()
                .skip(1)
                .position(|a| a == name)
                .map_or(argv.len(), |i| i + 2);
            (name, sub_m, at)
        }
        None => ("run", m, 1),
    };
    let table = file.section(section);
    let sub = subcommand(cmd, section);
    let mut flags = Vec::new();
    let mut positional = Vec::new();
    for (key, value) in table.iter() {
        let arg = find_arg(sub, key).ok_or_else(|| unknown_key(path, section, key, sub))?;
        if given(sub_m, arg.get_id().as_str()) {
            continue;
        }
        let values = strings(value)
            .map_err(|why| anyhow::anyhow!("{}: [{section}] {key}: {why}", path.display()))?;
        if arg.is_positional() {
            positional.extend(values.into_iter().map(OsString::from));
        } else {
            flags.extend(flag_args(arg, key, values));
        }
    }
    let global: Vec<OsString> = file
        .globals()
        .filter(|(id, _)| !given(m, id))
        .map(|(_, (key, v))| format!("--{key}={v}").into())
        .collect();
    argv.splice(at..at, flags);
    if !positional.is_empty() {
        if !argv.iter().any(|a| a == "--") {
            argv.push("--".into());
        }
        argv.extend(positional);
    }
    argv.splice(1..1, global);
    Ok(argv)
}

/// Whether the command line or the environment gave the option `id`.
fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// The option of `cmd` whose long name (or, for the files, id) is `key`.
pub fn find_arg<'a>(cmd: &'a Command, key: &str) -> Option<&'a clap::Arg> {
    cmd.get_arguments().find(|a| {
        !a.is_hide_set()
            && match a.get_long() {
                Some(long) => long == key && !matches!(long, "help" | "version" | "config"),
                None => a.is_positional() && a.get_id() == key,
            }
    })
}

/// An unknown key, with the nearest known one.
pub fn unknown_key(path: &Path, section: &str, key: &str, cmd: &Command) -> anyhow::Error {
    let hint = nearest(key, keys(cmd))
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default();
    anyhow::anyhow!(
        "{}: [{section}] has no key `{key}`{hint}; `tailpulse config example` lists them all",
        path.display()
    )
}

/// The keys a table for `cmd` takes.
pub fn keys(cmd: &Command) -> impl Iterator<Item = String> + '_ {
    cmd.get_arguments().filter_map(|a| {
        if a.is_hide_set() {
            return None;
        }
        match a.get_long() {
            Some("help" | "version" | "config") => None,
            Some(long) => Some(long.to_owned()),
            None => a.is_positional().then(|| a.get_id().to_string()),
        }
    })
}

/// The candidate closest to `key`, when close enough to be a typo.
pub fn nearest(key: &str, candidates: impl Iterator<Item = String>) -> Option<String> {
    candidates
        .map(|c| (strsim::jaro(key, &c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A value of the file as the command line would spell it (arrays: one per element).
pub fn strings(v: &toml::Value) -> Result<Vec<String>, String> {
    match v {
        toml::Value::String(s) => Ok(vec![s.clone()]),
        toml::Value::Integer(i) => Ok(vec![i.to_string()]),
        toml::Value::Float(f) => Ok(vec![f.to_string()]),
        toml::Value::Boolean(b) => Ok(vec![b.to_string()]),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                toml::Value::Array(_) | toml::Value::Table(_) => {
                    Err("an array of plain values is expected".to_owned())
                }
                other => strings(other).map(|mut v| v.remove(0)),
            })
            .collect(),
        toml::Value::Datetime(_) => Err("write dates as strings (\"2024-03-01T00:00\")".into()),
        toml::Value::Table(_) => Err("a value is expected, not a table".into()),
    }
}

/// The command-line words that give `arg` (named `key`) the values `values`.
pub fn flag_args(arg: &clap::Arg, key: &str, values: Vec<String>) -> Vec<OsString> {
    let switch = matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
    values
        .into_iter()
        .filter_map(|v| match (switch, v.as_str()) {
            // A switch is on or off; `false` leaves it at its default. Anything else goes
            // to clap as a value, which a switch refuses.
            (true, "true") => Some(format!("--{key}").into()),
            (true, "false") => None,
            _ => Some(format!("--{key}={v}").into()),
        })
        .collect()
}
