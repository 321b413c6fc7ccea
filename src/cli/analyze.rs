//! `tailpulse analyze`: a log (or a stored range) to a text, JSON or HTML report.

use super::args::{FormatArgs, RouteArgs};
use super::choice::choice;
use crate::aggregate::Limits;
use crate::batch::{BatchOptions, aggregate_inputs};
use crate::lang::Lang;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

/// Report output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The insights report with LLM prompts.
    Text,
    /// The full analysis as JSON (schema in docs/api.md).
    Json,
    /// A self-contained HTML page with charts.
    Html,
    /// The panels as CSV tables: one with --panel, else all of them (to a directory given
    /// with --out, one file per panel).
    Csv,
}

/// `tailpulse analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Log files (plain or gzip); `-` reads standard input, as does no file when standard
    /// input is not a terminal.
    pub files: Vec<String>,
    /// Report over the history stored in this database (by `tailpulse run`) instead of log
    /// files.
    #[arg(long, conflicts_with = "files", group = "stored")]
    pub db: Option<PathBuf>,
    /// With --db or --clickhouse: start of the range (RFC 3339 time, date, or a duration back
    /// from the newest stored minute such as 7d); default 30d with --db, everything with
    /// --clickhouse.
    #[arg(long, requires = "stored")]
    pub since: Option<String>,
    /// With --db or --clickhouse: end of the range, exclusive (same forms); default:
    /// everything stored.
    #[arg(long, requires = "stored")]
    pub until: Option<String>,
    /// Report over the requests stored in ClickHouse (by `tailpulse run --clickhouse`).
    #[command(flatten)]
    pub clickhouse: super::args::ClickHouseArgs,
    /// With --clickhouse: only requests that pass KEY=VALUE, with the API's filters (host,
    /// vhost, route, path, status, client, ua, referer, browser, os, device, min_ms);
    /// repeat for more, combined with AND.
    #[arg(long = "where", value_name = "KEY=VALUE", value_parser = key_value)]
    pub filters: Vec<(String, String)>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// Write the report to this file instead of standard output (`-` is standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --output csv: only this panel (its JSON key: browsers, referrers, not_found, …).
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(crate::report::csv::PANELS))]
    pub panel: Option<String>,
    /// End the text report with the three LLM prompts (the JSON and HTML reports always
    /// carry them).
    #[arg(long)]
    pub prompts: bool,
    /// Fit the text report's tables in this many columns, cutting long names with `…`
    /// (default: the terminal's width when the report goes to a terminal; 0: no limit).
    #[arg(long, value_name = "COLS")]
    pub width: Option<usize>,
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
    #[arg(long, default_value_t = Limits::default().max_routes, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_routes: usize,
    /// Lines dated further than this ahead of the clock are rejected (future_timestamp).
    #[arg(long, default_value = "1d", value_parser = crate::params::duration)]
    pub max_skew: std::time::Duration,
    /// No progress display (it is shown only when standard error is a terminal).
    #[arg(long, short)]
    pub quiet: bool,
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

fn key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    Ok((k.trim().to_owned(), v.to_owned()))
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

/// `tailpulse analyze`; `config` is the configuration file, whose `[routes]` apply.
pub(super) fn analyze(a: AnalyzeArgs, config: Option<&std::path::Path>) -> Result<()> {
    // clap's `requires` is not enforced beside a positional list: said here, not ignored.
    let stored = a.db.is_some() || a.clickhouse.clickhouse.is_some();
    anyhow::ensure!(
        stored || (a.since.is_none() && a.until.is_none()),
        "--since and --until choose a range of the history in --db or --clickhouse; they do not filter log files"
    );
    anyhow::ensure!(
        a.clickhouse.clickhouse.is_some() || a.filters.is_empty(),
        "--where filters the requests stored in --clickhouse"
    );
    anyhow::ensure!(
        !stored || a.files.is_empty(),
        "give log files, --db or --clickhouse, not several"
    );
    anyhow::ensure!(
        a.panel.is_none() || matches!(a.output, Output::Csv),
        "--panel chooses a table of --output csv"
    );
    let file = match config {
        Some(p) => crate::config::Config::load(p)?,
        None => Default::default(),
    };
    let routes = file.routes.clone();
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
        routes: std::sync::Arc::new(a.route.options(&routes).map_err(anyhow::Error::msg)?),
        host: a.format.host(),
        ..defaults
    };
    let clickhouse = a.clickhouse.options(&file.clickhouse)?;
    let summary = match (&a.db, clickhouse) {
        (Some(db), _) => stored_history(db, &a, opts.limits)?,
        (None, Some(server)) => {
            let mut agg = opts.worker_aggregate();
            from_clickhouse(server, &a, &mut agg)?;
            detected(agg, a.lang)
        }
        (None, None) => {
            let files = inputs_or_stdin(&a.files)?;
            let progress = std::sync::Arc::new(crate::batch::Progress::default());
            let display = (!a.quiet)
                .then(|| super::progress::Display::start(progress.clone()))
                .flatten();
            let opts = BatchOptions {
                progress: display.is_some().then_some(progress),
                ..opts
            };
            let agg = aggregate_inputs(&files, &opts);
            drop(display);
            let agg = agg?;
            nothing_parsed(&agg)?;
            detected(agg, a.lang)
        }
    };
    let out = a.out.as_deref().filter(|p| *p != std::path::Path::new("-"));
    let rendered = match a.output {
        Output::Text => {
            let layout = crate::report::text::Layout {
                prompts: a.prompts,
                width: text_width(a.width, out.is_none()),
            };
            crate::report::text::render_laid_out(&summary, a.lang, layout)
        }
        Output::Json => serde_json::to_string_pretty(&summary)? + "\n",
        Output::Html => crate::report::html::render(&summary, a.lang),
        Output::Csv => match (&a.panel, out) {
            (Some(p), _) => crate::report::csv::panel(&summary.stats, p).unwrap_or_default(),
            (None, Some(dir))
                if dir.is_dir() || dir.as_os_str().to_string_lossy().ends_with('/') =>
            {
                return write_panels(&summary.stats, dir);
            }
            (None, _) => crate::report::csv::all(&summary.stats),
        },
    };
    match out {
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("cannot write {}", path.display())),
        None => print_out(rendered.as_bytes()),
    }
}

/// The analysis of `agg` with the incidents its frames show (none without detection).
fn detected(mut agg: crate::aggregate::Aggregate, lang: Lang) -> crate::analysis::Analysis {
    // Detection runs beside the counting of the numbers: both are serial work.
    let frames = agg.take_frames();
    let (found, stats) = std::thread::scope(|s| {
        let found = s.spawn(|| {
            frames
                .map(|f| {
                    let f = f.finish();
                    crate::detect::find_all(f, crate::detect::DetectorConfig::default())
                })
                .unwrap_or_default()
        });
        let stats = crate::stats::Stats::of(&agg);
        (found.join().expect("detection does not panic"), stats)
    });
    let extras = crate::analysis::Extras {
        incidents: crate::insights::anomaly::incidents(&agg, &found, lang),
        ..Default::default()
    };
    crate::analysis::Analysis::of(stats, &agg, lang, &extras)
}

/// Counts the requests of `--since`..`--until` stored in ClickHouse that pass `--where`.
fn from_clickhouse(
    server: crate::store::clickhouse::ClickHouseOptions,
    a: &AnalyzeArgs,
    agg: &mut crate::aggregate::Aggregate,
) -> Result<()> {
    use crate::store::clickhouse::{Client, read};
    let params = crate::web::api::ViewParams::from_pairs(&a.filters).map_err(anyhow::Error::msg)?;
    let filter = params.filter_only().map_err(anyhow::Error::msg)?;
    if let Some(why) = read::unsupported(&filter, &agg.geo()) {
        anyhow::bail!("--where {why}");
    }
    let client = Client::new(server);
    let newest = read::newest_ms(&client)?;
    let Some(newest) = newest else {
        anyhow::bail!(
            "ClickHouse database {} holds no requests yet",
            client.options().database
        );
    };
    let since = match a.since.as_deref() {
        Some(s) => Some(crate::params::bound(s, newest).context("--since")?),
        None => None,
    };
    let until = match a.until.as_deref() {
        Some(s) => Some(crate::params::bound(s, newest).context("--until")?),
        None => None,
    };
    read::count_into(&client, agg, &filter, since, until)?;
    Ok(())
}

/// Writes every panel of `s` to `DIR/<panel>.csv`.
/// The width the text report's tables fit in: `asked` (0: no limit), or else the
/// terminal's when the report goes to standard output and that is a terminal (`COLUMNS`
/// first, as shells set it).
fn text_width(asked: Option<usize>, to_stdout: bool) -> Option<usize> {
    use std::io::IsTerminal;
    match asked {
        Some(0) => None,
        Some(n) => Some(n),
        None if to_stdout && std::io::stdout().is_terminal() => std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse().ok())
            .or_else(|| {
                console::Term::stdout()
                    .size_checked()
                    .map(|(_, c)| c.into())
            }),
        None => None,
    }
}

fn write_panels(s: &crate::stats::Stats, dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for name in crate::report::csv::PANELS {
        let path = dir.join(format!("{name}.csv"));
        let table = crate::report::csv::panel(s, name).unwrap_or_default();
        std::fs::write(&path, table).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Writes `bytes` to standard output; a reader that stopped early (`| head`) is no error.
pub(super) fn print_out(bytes: &[u8]) -> Result<()> {
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
