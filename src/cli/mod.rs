//! Command-line interface: argument definitions and dispatch.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

mod analyze;
mod args;
mod choice;
mod config_cmd;
pub mod live;
mod progress;
pub mod settings;

pub use analyze::{AnalyzeArgs, Output};
pub use args::{FormatArgs, RouteArgs};
pub use live::{GenerateArgs, RunArgs};

/// Real-time server log analyzer with a live web dashboard.
///
/// With no command, runs the demo: generated traffic written to server_sample.log and followed
/// live (the same as `tailpulse run`).
#[derive(Debug, Parser)]
#[command(
    name = "tailpulse",
    version = env!("TAILPULSE_VERSION"),
    about,
    long_about = None,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: `run`; with no file, the demo).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command: every option of `tailpulse run`.
    #[command(flatten)]
    pub run: RunArgs,
    /// Log level for tailpulse's own messages (error, warn, info, debug, trace; default warn
    /// for `analyze`, info for the log files of `run` and `generate`); RUST_LOG wins.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// Colour in tailpulse's messages on the terminal: auto (only when standard error is a
    /// terminal and NO_COLOR is not set), always, never. Log files never have colour.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: crate::logging::Color,
    /// Configuration file (TOML): any option of any command (`[run]`, `[analyze]`,
    /// `[generate]`), alert rules, webhooks, email, the LLM endpoint. The command line wins
    /// over the environment (TAILPULSE_<OPTION>), which wins over the file.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Follow log files (no file: the demo), analyze continuously, write reports every few
    /// seconds.
    Run(Box<RunArgs>),
    /// Analyze log files once and print a report (text, JSON or self-contained HTML).
    Analyze(Box<AnalyzeArgs>),
    /// Append realistic synthetic traffic, with incidents, to a log file.
    Generate(GenerateArgs),
    /// Look after the history database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Print a shell completion script: `tailpulse completions bash > /etc/bash_completion.d/tailpulse`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `tailpulse man | man -l -`.
    Man,
    /// The configuration file: a full example, or a check of one.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Credentials for [auth] in the configuration file.
    #[command(subcommand)]
    Auth(AuthCommand),
}

/// `tailpulse auth …`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Make a new bearer token: prints the token (give it to its holder; it is not kept) and
    /// the [[auth.tokens]] entry with its hash.
    Token {
        /// Who holds it (named in the logs).
        #[arg(long)]
        name: String,
        /// viewer (page, API, metrics), ingest (sending lines) or metrics (/metrics only).
        #[arg(long, value_parser = ["viewer", "ingest", "metrics"], default_value = "viewer")]
        role: String,
    },
    /// Hash a password read from standard input: prints the [[auth.users]] entry.
    Password {
        /// The name typed on the login page.
        #[arg(long)]
        name: String,
    },
}

/// `tailpulse config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example with every key: `tailpulse config example > tailpulse.toml`.
    Example,
    /// Check a configuration file; every mistake is named with its line. Exits 1 on any.
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// `tailpulse db …`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Check the history database for damage (SQLite's integrity check); exits 1 when it is
    /// damaged.
    Check {
        /// The database file.
        #[arg(long, default_value = "tailpulse.db")]
        db: PathBuf,
    },
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Analyze(a)) => {
            crate::logging::init_stderr(cli.log_level.as_deref().unwrap_or("warn"), cli.color);
            analyze::analyze(*a, cli.config.as_deref())
        }
        Some(Command::Run(a)) => live::run(
            *a,
            cli.config.as_deref(),
            cli.log_level.as_deref().unwrap_or("info"),
            cli.color,
        ),
        Some(Command::Config(ConfigCommand::Example)) => {
            analyze::print_out(config_cmd::example().as_bytes())
        }
        Some(Command::Config(ConfigCommand::Check { file })) => config_cmd::check(&file),
        Some(Command::Auth(AuthCommand::Token { name, role })) => {
            let token = crate::web::auth::new_secret();
            println!("token (give it to {name}; it is not kept anywhere): {token}");
            println!();
            println!("[[auth.tokens]]");
            println!("name = {}", toml_string(&name));
            println!("role = \"{role}\"");
            println!("sha256 = \"{}\"", crate::web::auth::token_hash(&token));
            Ok(())
        }
        Some(Command::Auth(AuthCommand::Password { name })) => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(
                password.chars().count() >= 8,
                "the password on standard input is shorter than 8 characters"
            );
            println!("[[auth.users]]");
            println!("name = {}", toml_string(&name));
            println!(
                "password = \"{}\"",
                crate::web::auth::password_hash(password)
            );
            Ok(())
        }
        Some(Command::Db(DbCommand::Check { db })) => {
            crate::logging::init_stderr(cli.log_level.as_deref().unwrap_or("warn"), cli.color);
            db_check(&db)
        }
        Some(Command::Completions { shell }) => {
            let mut cmd = settings::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tailpulse", &mut out);
            analyze::print_out(&out)
        }
        Some(Command::Man) => {
            let cmd = settings::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("cannot render the manual page")?;
            analyze::print_out(&out)
        }
        Some(Command::Generate(a)) => {
            live::generate(a, cli.log_level.as_deref().unwrap_or("info"), cli.color)
        }
        None => live::run(
            cli.run,
            cli.config.as_deref(),
            cli.log_level.as_deref().unwrap_or("info"),
            cli.color,
        ),
    }
}

/// `s` as a TOML basic string (whose escapes are JSON's).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn db_check(db: &std::path::Path) -> Result<()> {
    anyhow::ensure!(db.exists(), "{} does not exist", db.display());
    let findings = crate::store::sqlite::integrity_check(db)?;
    if findings == ["ok"] {
        println!("{}: ok", db.display());
        return Ok(());
    }
    for f in findings.iter().take(20) {
        println!("{}: {f}", db.display());
    }
    anyhow::bail!("{} is damaged ({} findings)", db.display(), findings.len())
}
