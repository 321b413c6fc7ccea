//! Command-line interface: argument definitions and dispatch.

use crate::aggregate::Limits;
use crate::batch::{BatchOptions, aggregate_inputs};
use crate::format::{FormatKind, FormatOptions, TimeUnit};
use crate::lang::Lang;
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

mod choice;
pub mod live;

use choice::choice;

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
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Follow log files (no file: the demo), analyze continuously, write reports every few
    /// seconds.
    Run(RunArgs),
    /// Analyze log files once and print a report (text, JSON or self-contained HTML).
    Analyze(AnalyzeArgs),
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

/// Report output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The insights report with LLM prompts.
    Text,
    /// The full analysis as JSON (schema in docs/api.md).
    Json,
    /// A self-contained HTML page with charts.
    Html,
}

/// How log lines are read.
#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// Log format; detected from the first lines when not given.
    #[arg(long, value_parser = choice::<FormatKind>())]
    pub format: Option<FormatKind>,
    /// GoAccess-style format string, e.g. '%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T', or a
    /// GoAccess preset name (COMBINED, VCOMBINED, COMMON, W3C, CADDY, TRAEFIKCLF).
    #[arg(long)]
    pub log_format: Option<String>,
    /// strftime date format for %d in --log-format (default %d/%b/%Y).
    #[arg(long)]
    pub date_format: Option<String>,
    /// strftime time format for %t in --log-format (default %H:%M:%S).
    #[arg(long)]
    pub time_format: Option<String>,
    /// Unit of bare-integer response times in text logs (Apache %D is us, %T is s);
    /// guessed from the values when not given.
    #[arg(long, value_parser = choice::<TimeUnit>())]
    pub time_unit: Option<TimeUnit>,
    /// Map a request field to a JSON key: FIELD=KEY[:UNIT], e.g. response_time=latency:ms,
    /// path=req.url. Fields: time method path request protocol status bytes response_time
    /// client user_agent referer vhost. Repeatable.
    #[arg(long, value_parser = parse_json_field)]
    pub json_field: Vec<(String, String)>,
}

impl FormatArgs {
    /// The parser options these flags describe.
    pub fn options(&self) -> FormatOptions {
        FormatOptions {
            kind: self.format,
            log_format: self.log_format.clone(),
            date_format: self.date_format.clone(),
            time_format: self.time_format.clone(),
            time_unit: self.time_unit,
            json_fields: self.json_field.clone(),
        }
    }
}

fn parse_json_field(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("expected FIELD=KEY[:UNIT]")?;
    Ok((k.trim().to_owned(), v.trim().to_owned()))
}

pub use live::{GenerateArgs, RunArgs};

/// How paths become routes.
#[derive(Debug, Clone, Args)]
pub struct RouteArgs {
    /// How paths become routes: `normalized` replaces ids (numbers, UUIDs, hex hashes,
    /// random tokens; not slugs with words) by {id}; `raw` keeps paths as requested.
    #[arg(long, value_parser = choice::<crate::route::RouteMode>())]
    pub routes: Option<crate::route::RouteMode>,
    /// Keep query strings in routes: all of them (no value), or only these comma-separated
    /// keys, e.g. --keep-query flav,page.
    #[arg(long, num_args = 0..=1, default_missing_value = "*", value_name = "KEYS")]
    pub keep_query: Option<String>,
    /// Count paths that match PATTERN as one route named PATTERN (`*` within a segment, `**`
    /// any number of segments), e.g. '/presentations/**'. Repeatable; tried in order.
    #[arg(long = "route-rule", value_name = "PATTERN")]
    pub route_rules: Vec<String>,
}

impl RouteArgs {
    /// The route options from these flags over the configuration's `[routes]`.
    pub fn options(
        &self,
        config: &crate::config::Routes,
    ) -> Result<crate::route::RouteOptions, String> {
        use crate::route::{KeepQuery, RouteOptions, Rule};
        let keep_query = match (&self.keep_query, &config.keep_query) {
            (Some(k), _) => KeepQuery::parse(k),
            (None, Some(keys)) if keys.is_empty() => KeepQuery::None,
            (None, Some(keys)) => KeepQuery::parse(&keys.join(",")),
            (None, None) => KeepQuery::None,
        };
        let rules = self
            .route_rules
            .iter()
            .chain(&config.rules)
            .map(|r| Rule::new(r))
            .collect::<Result<_, _>>()?;
        Ok(RouteOptions {
            mode: self.routes.or(config.mode).unwrap_or_default(),
            keep_query,
            rules,
        })
    }
}

/// `tailpulse analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Log files (plain or gzip); `-` reads standard input, as does no file when standard
    /// input is not a terminal.
    pub files: Vec<String>,
    /// Report over the history stored in this database (by `tailpulse run`) instead of log
    /// files.
    #[arg(long, conflicts_with = "files")]
    pub db: Option<PathBuf>,
    /// With --db: start of the range (RFC 3339 time, date, or a duration back from the newest
    /// stored minute such as 7d); default 30d.
    #[arg(long, requires = "db")]
    pub since: Option<String>,
    /// With --db: end of the range, exclusive (same forms); default: everything stored.
    #[arg(long, requires = "db")]
    pub until: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Report language.
    #[arg(long, value_parser = choice::<Lang>(), default_value = "en")]
    pub lang: Lang,
    /// Parser threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Read files instead of mapping them into memory. Mapping is faster, but a file that
    /// another process truncates while it is being analyzed stops the run (SIGBUS).
    #[arg(long)]
    pub no_mmap: bool,
    /// Routes shown (the heaviest; eight times as many are counted by name); the rest are
    /// one (other) row.
    #[arg(long, default_value_t = Limits::default().max_routes)]
    pub max_routes: usize,
    /// Lines dated further than this ahead of the clock are rejected (future_timestamp).
    #[arg(long, default_value = "1d", value_parser = crate::params::duration)]
    pub max_skew: std::time::Duration,
    /// Skip anomaly detection (by default the log is run through the detector of a live
    /// run, in log time: a replay of the same file finds the same incidents).
    #[arg(long)]
    pub no_detect: bool,
    /// Detection is on by default; kept so older command lines still work.
    #[arg(long, hide = true, conflicts_with = "no_detect")]
    pub detect: bool,
    /// How paths become routes.
    #[command(flatten)]
    pub route: RouteArgs,
    /// How lines are read.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Analyze(a)) => {
            crate::logging::init_stderr(cli.log_level.as_deref().unwrap_or("warn"), cli.color);
            analyze(a)
        }
        Some(Command::Run(a)) => {
            live::run(a, cli.log_level.as_deref().unwrap_or("info"), cli.color)
        }
        Some(Command::Db(DbCommand::Check { db })) => {
            crate::logging::init_stderr(cli.log_level.as_deref().unwrap_or("warn"), cli.color);
            db_check(&db)
        }
        Some(Command::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tailpulse", &mut out);
            print_out(&out)
        }
        Some(Command::Man) => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("cannot render the manual page")?;
            print_out(&out)
        }
        Some(Command::Generate(a)) => {
            live::generate(a, cli.log_level.as_deref().unwrap_or("info"), cli.color)
        }
        None => live::run(
            cli.run,
            cli.log_level.as_deref().unwrap_or("info"),
            cli.color,
        ),
    }
}

/// The files to read: those given, or standard input when it is not a terminal.
fn inputs_or_stdin(files: &[String]) -> Result<Vec<String>> {
    use std::io::IsTerminal;
    if !files.is_empty() {
        return Ok(files.to_vec());
    }
    anyhow::ensure!(
        !std::io::stdin().is_terminal(),
        "give the log files to analyze (or `-`, or pipe a log in): tailpulse analyze access.log"
    );
    Ok(vec!["-".into()])
}

/// Lines were read but none could be parsed: the report would be empty, so this is an
/// error that shows the first rejected line and why (and, for JSON, how to map its keys).
fn nothing_parsed(agg: &crate::aggregate::Aggregate) -> Result<()> {
    if agg.lines.parsed > 0 || agg.lines.rejected == 0 {
        return Ok(());
    }
    let first = agg.sources().iter().find_map(|(name, s)| {
        Some((
            name,
            s.format,
            s.rejected_samples().first().cloned().cloned()?,
        ))
    });
    let Some((name, format, line)) = first else {
        anyhow::bail!("none of the {} lines could be read", agg.lines.rejected);
    };
    let format = format.map_or("the detected format", |f| f.name());
    let mut msg = format!(
        "none of the {} lines could be read as {format}; {name} line {}: {}: {}",
        agg.lines.rejected,
        line.line,
        line.error,
        crate::text::clip(&line.text, 200)
    );
    if let Some(hint) = crate::format::json::mapping_hint(line.text.as_bytes()) {
        msg.push('\n');
        msg.push_str(&hint);
    } else {
        msg.push_str("\nhint: choose the format with --format, or describe it with --log-format");
    }
    anyhow::bail!(msg)
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

fn analyze(a: AnalyzeArgs) -> Result<()> {
    let defaults = BatchOptions::default();
    let opts = BatchOptions {
        format: a.format.options(),
        limits: Limits {
            max_routes: a.max_routes,
            ..Limits::default()
        },
        threads: a.threads.unwrap_or(defaults.threads),
        mmap: !a.no_mmap,
        detect: !a.no_detect,
        not_after_ms: crate::clock::now_ms()
            .saturating_add(a.max_skew.as_millis().min(i64::MAX as u128 / 2) as i64),
        routes: std::sync::Arc::new(
            a.route
                .options(&Default::default())
                .map_err(anyhow::Error::msg)?,
        ),
        ..defaults
    };
    let summary = match &a.db {
        Some(db) => stored_history(db, &a, opts.limits)?,
        None => {
            let files = inputs_or_stdin(&a.files)?;
            let mut agg = aggregate_inputs(&files, &opts)?;
            nothing_parsed(&agg)?;
            // Detection runs beside the counting of the numbers: both are serial work.
            let frames = agg.take_frames();
            let (found, stats) = std::thread::scope(|s| {
                let found = s.spawn(|| {
                    frames
                        .map(|f| {
                            crate::detect::find_all(f, crate::detect::DetectorConfig::default())
                        })
                        .unwrap_or_default()
                });
                let stats = crate::stats::Stats::of(&agg);
                (found.join().expect("detection does not panic"), stats)
            });
            let extras = crate::analysis::Extras {
                incidents: crate::insights::anomaly::incidents(&agg, &found, a.lang),
                ..Default::default()
            };
            crate::analysis::Analysis::of(stats, &agg, a.lang, &extras)
        }
    };
    let rendered = match a.output {
        Output::Text => crate::report::text::render(&summary, a.lang),
        Output::Json => serde_json::to_string_pretty(&summary)? + "\n",
        Output::Html => crate::report::html::render(&summary, a.lang),
    };
    match &a.out {
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("cannot write {}", path.display())),
        None => print_out(rendered.as_bytes()),
    }
}

/// Writes `bytes` to standard output; a reader that stopped early (`| head`) is no error.
fn print_out(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let written = out.write_all(bytes).and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

/// The analysis of the range `--since`..`--until` stored in `db`, with the incidents
/// detected in it.
fn stored_history(
    db: &std::path::Path,
    a: &AnalyzeArgs,
    limits: Limits,
) -> Result<crate::analysis::Analysis> {
    use crate::store::Store;
    if !db.exists() {
        anyhow::bail!(
            "{} does not exist (tailpulse run --db creates it)",
            db.display()
        );
    }
    let store = crate::store::sqlite::SqliteStore::open_read_only(db)?;
    let Some((_, newest)) = store.span()? else {
        anyhow::bail!("{} holds no history yet", db.display());
    };
    let (since, until) = crate::params::range(
        a.since.as_deref(),
        a.until.as_deref(),
        newest,
        newest - crate::store::Retention::default().keep_ms,
    )
    .context("--since/--until")?;
    let agg = crate::store::history(&store, since, until, limits)?;
    let extras = crate::analysis::Extras {
        incidents: crate::store::stored_incidents(&store, since, until)?,
        ..Default::default()
    };
    Ok(crate::analysis::analyze_with(&agg, a.lang, &extras))
}
