//! The long-running commands: `tailpulse run` (and the demo) and `tailpulse generate`.

use super::args::FormatArgs;
use crate::aggregate::Limits;
use crate::clock::now_ms;
use crate::demo_writer::{self as writer, WriterOptions};
use crate::generate::{GenFormat, Generator, IncidentPlan};
use crate::lang::Lang;
use crate::live::{self, RunOptions};
use anyhow::{Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `tailpulse run`.
#[derive(Debug, Parser)]
pub struct RunArgs {
    /// Log files or glob patterns to follow (`-` reads standard input). None: the demo, which
    /// writes generated traffic to --sample-log and follows it.
    pub files: Vec<String>,
    /// Start at the end of files that exist at startup instead of reading them whole.
    #[arg(long)]
    pub from_end: bool,
    /// How often the reports and the state are written.
    #[arg(long, default_value = "5s", value_parser = crate::params::positive_duration)]
    pub report_every: Duration,
    /// Where tailpulse keeps its history database, its own logs and (unless --out-dir says
    /// otherwise) its reports. Default: the working directory for the demo; otherwise the
    /// platform's data directory (~/.local/share/tailpulse on Linux).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Directory for analysis_report.txt, analysis_report.json and prompt_log.md (default:
    /// the data directory).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// History database (SQLite): per-minute and per-route rollups, reports, findings, and
    /// the read positions a restart resumes from (default: tailpulse.db in the data
    /// directory).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Keep no history: every start reads the logs again.
    #[arg(long)]
    pub no_db: bool,
    /// ClickHouse, the fleet's store.
    #[command(flatten)]
    pub clickhouse: super::args::ClickHouseArgs,
    /// Requests waiting for ClickHouse are queued on disk (clickhouse-queue/ in the data
    /// directory) up to this many bytes; past it, reading pauses until the server takes rows.
    #[arg(long, default_value_t = 1 << 30, value_name = "BYTES")]
    pub clickhouse_queue_max: u64,
    /// The dashboard answers a range holding more requests than this (filtered by host and
    /// route at most) from ClickHouse's per-minute rollups instead of its rows: faster, but
    /// without the panels that need each request (browsers, referrers, …).
    #[arg(long, default_value_t = 5_000_000, value_name = "ROWS")]
    pub clickhouse_scan_max: u64,
    /// How long history is kept (before the newest stored minute).
    #[arg(long, default_value = "30d", value_parser = crate::params::duration)]
    pub retention: Duration,
    /// Per-minute history older than this is merged into hours.
    #[arg(long, default_value = "7d", value_parser = crate::params::duration)]
    pub keep_minutes: Duration,
    /// Directory for tailpulse's own logs (default: logs/ in the data directory).
    #[arg(long)]
    pub logs: Option<PathBuf>,
    /// Replace client addresses by pseudonyms and drop query strings in everything the run
    /// shows and keeps: the page, the API, the reports, the history and the prompts (also
    /// set by `[prompts] redact = true`).
    #[arg(long)]
    pub redact: bool,
    /// Report language.
    #[arg(long, value_parser = super::choice::choice::<Lang>(), default_value = "en")]
    pub lang: Lang,
    /// Routes shown (the heaviest; eight times as many are counted by name); the rest are
    /// one (other) row.
    #[arg(long, default_value_t = Limits::default().max_routes, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_routes: usize,
    /// Address the dashboard listens on (loopback unless told otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Dashboard port (0 picks a free one).
    #[arg(long, default_value_t = 5000)]
    pub port: u16,
    /// A host name clients use to reach the dashboard (repeatable; `*` for any). Requests
    /// naming another host are refused, against DNS rebinding. Loopback names and the bound
    /// address are always allowed.
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
    /// Serve off loopback without authentication ([auth] in the configuration file): anyone
    /// who reaches the port reads everything. Warned about on every start.
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// Accept log lines on POST /api/ingest (newline-delimited JSON, JSON, or text lines;
    /// gzip too), kept in spool files in the data directory before they are answered. With
    /// no file given, no demo runs.
    #[arg(long)]
    pub ingest: bool,
    /// The largest ingest body accepted, compressed or not (413 above).
    #[arg(long, default_value_t = 16 << 20, value_name = "BYTES")]
    pub ingest_max_body: usize,
    /// Listen for syslog messages whose text is an access-log line (nginx's `access_log
    /// syslog:server=…`, rsyslog forwarding): udp://HOST:PORT or tcp://HOST:PORT
    /// (repeatable). RFC 3164 and 5424; TCP frames octet-counted or one a line.
    #[arg(long, value_name = "URL")]
    pub syslog: Vec<crate::syslog_listener::Listen>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// Open connections to the dashboard at most; past it, new ones get a 503.
    #[arg(long, default_value_t = 512, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
    /// Open event streams (live dashboards) at most; past it, new ones get a 503.
    #[arg(long, default_value_t = 64, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_streams: usize,
    /// Lines dated further than this ahead of the clock are rejected (future_timestamp).
    #[arg(long, default_value = "1d", value_parser = crate::params::duration)]
    pub max_skew: Duration,
    /// How paths become routes.
    #[command(flatten)]
    pub route: super::args::RouteArgs,
    /// Demo: the log file the generator writes.
    #[arg(long, default_value = "server_sample.log")]
    pub sample_log: PathBuf,
    /// Demo: generated requests per second (daily average).
    #[arg(long, default_value_t = 10.0)]
    pub demo_rate: f64,
    /// Demo: history written first when the sample log is empty (at most about 2 million
    /// lines: a high --demo-rate shortens it).
    #[arg(long, default_value = "2h", value_parser = crate::params::duration)]
    pub demo_backfill: Duration,
    /// How lines are read.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `tailpulse generate`.
#[derive(Debug, Parser)]
pub struct GenerateArgs {
    /// The log file to append to.
    #[arg(long, default_value = "server_sample.log")]
    pub out: PathBuf,
    /// Requests per second (daily average; the traffic follows a daily curve).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Time between appends.
    #[arg(long, default_value = "3s", value_parser = crate::params::positive_duration)]
    pub interval: Duration,
    /// Line format.
    #[arg(long, value_parser = super::choice::choice::<GenFormat>(), default_value = "combined")]
    pub format: GenFormat,
    /// Random seed, for reproducible traffic (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write this many lines (ending now) and exit.
    #[arg(long)]
    pub count: Option<u64>,
    /// Write this much history first (e.g. 24h) when the file is empty.
    #[arg(long, value_parser = crate::params::duration)]
    pub backfill: Option<Duration>,
    /// Mean time between incidents (e.g. 20m), or `off`.
    #[arg(long, default_value = "20m")]
    pub incidents_every: String,
    /// Mean incident length.
    #[arg(long, default_value = "4m", value_parser = crate::params::duration)]
    pub incident_length: Duration,
    /// Also append each incident as a JSON line to this file (ground truth).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Directory for the generator's own log (generator.log); none: warnings on the
    /// terminal only.
    #[arg(long)]
    pub logs: Option<PathBuf>,
}

fn plan(every: &str, length: Duration) -> Result<IncidentPlan> {
    let every_min = match every {
        "off" | "none" | "0" => None,
        s => Some(
            crate::params::duration(s)
                .context("--incidents-every")?
                .as_secs_f64()
                / 60.0,
        ),
    };
    Ok(IncidentPlan {
        every_min,
        length_min: length.as_secs_f64() / 60.0,
    })
}

/// `tailpulse generate`.
pub fn generate(a: GenerateArgs, level: &str, color: crate::logging::Color) -> Result<()> {
    let _guards = match &a.logs {
        Some(dir) => Some(
            crate::logging::init_files(dir, level, color)
                .context("cannot create the log directory")?,
        ),
        None => {
            crate::logging::init_stderr("warn", color);
            None
        }
    };
    let seed = a.seed.unwrap_or_else(|| now_ms() as u64);
    let mut g = Generator::new(
        seed,
        a.format,
        a.rate,
        plan(&a.incidents_every, a.incident_length)?,
        now_ms(),
    );
    let opts = WriterOptions {
        path: a.out.clone(),
        interval: a.interval,
        backfill: a.backfill,
        truth: a.truth.clone(),
    };
    if let Some(n) = a.count {
        writer::write_count(&mut g, &opts, n, a.rate)
            .with_context(|| format!("cannot write {}", a.out.display()))?;
        println!("tailpulse: wrote {n} lines to {}", a.out.display());
        return Ok(());
    }
    println!(
        "tailpulse: appending ~{} requests/s to {} every {} (seed {seed}); Ctrl-C to stop",
        a.rate,
        a.out.display(),
        humantime::format_duration(a.interval)
    );
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = writer::spawn(g, opts, stop);
    rt.block_on(shutdown_signal());
    flag.store(true, Ordering::SeqCst);
    let _ = handle.join();
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

/// Where a run keeps its files.
struct Places {
    data: PathBuf,
    out_dir: PathBuf,
    db: PathBuf,
    logs: PathBuf,
}

impl Places {
    /// The demo keeps everything in the working directory, as the original system did; a
    /// run on the user's logs keeps it in the platform's data directory, so that nothing
    /// lands where the command happened to be typed.
    fn of(a: &RunArgs) -> Result<Places> {
        let data = match &a.data_dir {
            Some(d) => d.clone(),
            None if a.files.is_empty() && !a.ingest && a.syslog.is_empty() => PathBuf::from("."),
            None => dirs::data_dir()
                .map(|d| d.join("tailpulse"))
                .context("no data directory on this system; pass --data-dir")?,
        };
        Ok(Places {
            out_dir: a.out_dir.clone().unwrap_or_else(|| data.clone()),
            db: a.db.clone().unwrap_or_else(|| data.join("tailpulse.db")),
            logs: a.logs.clone().unwrap_or_else(|| data.join("logs")),
            data,
        })
    }
}

/// How the dashboard server may be reached: refused off loopback without authentication
/// (unless --insecure-no-auth), and the host names it answers to.
fn exposure(
    a: &RunArgs,
    auth: &crate::web::auth::AuthConfig,
) -> Result<crate::web::server::Limits> {
    let loopback = a.bind.is_loopback();
    if !loopback && !auth.is_on() {
        anyhow::ensure!(
            a.insecure_no_auth,
            "--bind {} serves the dashboard off this machine, where anyone who reaches the port \
             reads every request: configure [auth] (tailpulse auth token / tailpulse auth \
             password) or accept that with --insecure-no-auth",
            a.bind
        );
        tracing::warn!(target: "web", bind = %a.bind, "serving off loopback WITHOUT authentication (--insecure-no-auth)");
        eprintln!(
            "tailpulse: WARNING: the dashboard on {} has no authentication (--insecure-no-auth)",
            a.bind
        );
    }
    // Syslog has no authentication: listening off loopback is the operator's explicit choice.
    let open_syslog =
        a.syslog.iter().any(|l| {
            let (crate::syslog_listener::Listen::Udp(addr)
            | crate::syslog_listener::Listen::Tcp(addr)) = l;
            !addr.ip().is_loopback()
        });
    anyhow::ensure!(
        !open_syslog || a.insecure_no_auth,
        "--syslog off loopback lets anyone who reaches the port add lines (syslog has no \
         authentication): keep it on 127.0.0.1 behind a relay, or accept that with \
         --insecure-no-auth"
    );
    anyhow::ensure!(
        !a.allowed_hosts.iter().any(|h| h == "*") || auth.is_on() || a.insecure_no_auth,
        "--allowed-host '*' answers pages of any site (DNS rebinding) and the dashboard has no \
         [auth]: configure [auth], or accept that with --insecure-no-auth"
    );
    let mut hosts: Vec<String> = crate::web::server::LOOPBACK_NAMES
        .iter()
        .map(|h| (*h).to_owned())
        .collect();
    if !a.bind.is_unspecified() {
        hosts.push(a.bind.to_string());
    }
    hosts.extend(a.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()));
    anyhow::ensure!(
        !a.bind.is_unspecified() || !a.allowed_hosts.is_empty(),
        "--bind {} answers on every address: name the host names clients use with \
         --allowed-host NAME (repeatable), or --allowed-host '*' to answer any",
        a.bind
    );
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => Some(crate::web::server::tls_acceptor(cert, key)?),
        _ => None,
    };
    Ok(crate::web::server::Limits {
        max_connections: a.max_connections,
        max_streams: a.max_streams,
        allowed_hosts: hosts,
        tls,
        ..Default::default()
    })
}

/// The secret of `--redact`'s pseudonyms in `dir` (`redact.key`, beside the history database,
/// readable by its owner only), made the first time.
fn redact_key(dir: &Path) -> Result<crate::redact::Key> {
    let path = dir.join("redact.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bytes: Vec<u8> = (0..text.trim().len() / 2)
            .filter_map(|i| u8::from_str_radix(text.trim().get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        return bytes.try_into().map_err(|_| {
            anyhow::anyhow!(
                "{} is not a key tailpulse wrote; delete it to make a new one",
                path.display()
            )
        });
    }
    let mut key = [0u8; 16];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(dir)?;
    let mut f = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?
    };
    std::io::Write::write_all(&mut f, hex.as_bytes())?;
    f.sync_all()?;
    Ok(key)
}

/// Lines of demo history written at most: a high `--demo-rate` shortens the backfill rather
/// than writing gigabytes before the first page.
const DEMO_BACKFILL_LINES: f64 = 2_000_000.0;

/// The demo's history: `asked`, shortened to about [`DEMO_BACKFILL_LINES`] at `rate`.
fn demo_backfill(asked: Duration, rate: f64) -> Duration {
    let most = Duration::from_secs_f64(DEMO_BACKFILL_LINES / rate.max(1e-3));
    if asked > most {
        tracing::info!(target: "generator", asked_s = asked.as_secs(), written_s = most.as_secs(), "demo history shortened to about 2 million lines");
    }
    asked.min(most)
}

/// `tailpulse run` and the demo.
pub fn run(
    a: RunArgs,
    config: Option<&Path>,
    level: &str,
    color: crate::logging::Color,
) -> Result<()> {
    crate::health::install_crash_only();
    let places = Places::of(&a)?;
    let _guards = crate::logging::init_files(&places.logs, level, color)
        .with_context(|| format!("cannot create the log directory {}", places.logs.display()))?;
    let network = a.ingest || !a.syslog.is_empty();
    let demo = a.files.is_empty() && !network;
    let inputs = if demo {
        vec![a.sample_log.to_string_lossy().into_owned()]
    } else {
        a.files.clone()
    };
    let spool = match network {
        true => {
            let dir = places.data.join("spool");
            let spool = crate::web::ingest::Spool::open(&dir, a.ingest_max_body)
                .with_context(|| format!("cannot create the ingest spool in {}", dir.display()))?;
            Some(Arc::new(spool))
        }
        false => None,
    };
    let mut config = match config {
        Some(p) => crate::config::Config::load(p)?,
        None => crate::config::Config::default(),
    };
    config.prompts.redact |= a.redact;
    // Pseudonyms keyed by a secret kept beside the history: the same across restarts (with
    // no history, a secret of this process).
    let redact = match (config.prompts.redact, a.no_db) {
        (false, _) => None,
        (true, false) => Some(redact_key(places.db.parent().unwrap_or(Path::new(".")))?),
        (true, true) => {
            let mut key = [0u8; 16];
            getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
            Some(key)
        }
    };
    let auth = config.auth.clone();
    let clickhouse = a.clickhouse.options(&config.clickhouse)?.map(|mut server| {
        server.scan_max = a.clickhouse_scan_max;
        crate::store::clickhouse::sink::SinkOptions {
            server,
            instance: a.format.host(),
            queue_dir: places.data.join("clickhouse-queue"),
            max_queue_bytes: a.clickhouse_queue_max,
            retention_ms: Some(a.retention.as_millis().min(i64::MAX as u128) as i64),
        }
    });
    let routes = a
        .route
        .options(&config.routes)
        .map_err(anyhow::Error::msg)?;
    let routes_for_web = routes.clone();
    let opts = RunOptions {
        config,
        inputs: inputs.clone(),
        spool: spool.as_ref().map(|s| s.inputs()).unwrap_or_default(),
        from_end: a.from_end,
        format: a.format.options(),
        limits: Limits {
            max_routes: a.max_routes,
            ..Limits::default()
        },
        lang: a.lang,
        out_dir: places.out_dir.clone(),
        db: (!a.no_db).then(|| places.db.clone()),
        retention: crate::store::Retention {
            keep_ms: a.retention.as_millis() as i64,
            minutes_ms: a.keep_minutes.as_millis() as i64,
        },
        report_every: a.report_every,
        max_skew: a.max_skew,
        routes,
        host: a.format.host(),
        redact,
        clickhouse,
        ..RunOptions::default()
    };
    let clickhouse_server = opts.clickhouse.as_ref().map(|c| c.server.clone());
    for dir in [
        &places.out_dir,
        places.db.parent().unwrap_or(Path::new(".")),
    ] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let stop_gen = Arc::new(AtomicBool::new(false));
        let generator = demo.then(|| {
            let g = Generator::new(
                now_ms() as u64,
                GenFormat::Combined,
                a.demo_rate,
                IncidentPlan::default(),
                now_ms(),
            );
            let w = WriterOptions {
                path: a.sample_log.clone(),
                interval: Duration::from_secs(3),
                backfill: Some(demo_backfill(a.demo_backfill, a.demo_rate)),
                truth: None,
            };
            writer::spawn(g, w, stop_gen.clone())
        });
        let limits = exposure(&a, &auth)?;
        let scheme = if limits.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let tls = limits.tls.is_some();
        let listener = tokio::net::TcpListener::bind((a.bind, a.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", a.bind, a.port))?;
        let addr = listener.local_addr()?;
        let db = opts.db.clone();
        let live = live::start(opts).context("cannot open the history database")?;
        let (web_stop, web_stopped) = tokio::sync::oneshot::channel::<()>();
        let mut state = crate::web::AppState::new(live.snapshots.clone())
            .with_queries(live.queries.clone())
            .with_health(live.health.clone())
            .with_languages(live.alt_wanted.clone())
            .with_auth(&auth, tls)
            .with_limits(limits);
        if let Some(spool) = &spool {
            spool.read_by(live.health.clone());
            if a.ingest {
                state = state.with_ingest(spool.clone());
            }
            for listen in &a.syslog {
                let bound = crate::syslog_listener::start(*listen, spool.clone())
                    .await
                    .with_context(|| format!("cannot listen for syslog on {listen:?}"))?;
                println!(
                    "tailpulse: syslog on {bound} ({})",
                    match listen {
                        crate::syslog_listener::Listen::Udp(_) => "udp, best effort",
                        crate::syslog_listener::Listen::Tcp(_) => "tcp",
                    }
                );
            }
        }
        if let Some(db) = &db {
            state = state
                .with_history(db)
                .context("cannot read the history database")?;
        }
        if let (Some(server), Some(sink)) = (&clickhouse_server, &live.sink) {
            let client = crate::store::clickhouse::Client::new(server.clone());
            state = state
                .with_clickhouse(client, Some(sink.clone()))
                .with_routes(Arc::new(routes_for_web.clone()));
        }
        let server = tokio::spawn(crate::web::serve(listener, state, async {
            let _ = web_stopped.await;
        }));
        tracing::info!(target: "web", %addr, "dashboard listening");
        println!("tailpulse: dashboard on {scheme}://{addr}/");
        if demo {
            println!(
                "tailpulse: demo — generating ~{} requests/s into {} and following it",
                a.demo_rate,
                a.sample_log.display()
            );
        } else {
            let followed: Vec<String> = inputs
                .iter()
                .cloned()
                .chain(spool.iter().flat_map(|s| s.inputs()).map(|(p, _)| p))
                .collect();
            println!("tailpulse: following {}", followed.join(", "));
        }
        println!(
            "  reports: {} every {} | history: {} | logs: {}/ | Ctrl-C to stop",
            places.out_dir.join(live::REPORT_TXT).display(),
            humantime::format_duration(a.report_every),
            if a.no_db {
                "none (--no-db)".to_owned()
            } else {
                places.db.display().to_string()
            },
            places.logs.display()
        );
        let mut snaps = live.snapshots.clone();
        let status = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(10));
            every.tick().await;
            loop {
                every.tick().await;
                let s = snaps.borrow_and_update().clone();
                println!("  {}", status_line(&s));
            }
        });
        shutdown_signal().await;
        stop_gen.store(true, Ordering::SeqCst);
        status.abort();
        let summary = live.shutdown().await;
        let _ = web_stop.send(());
        if let Ok(Err(e)) = server.await {
            tracing::error!(target: "web", error = %e, "dashboard server failed");
        }
        if let Some(g) = generator {
            let _ = g.join();
        }
        println!(
            "tailpulse: stopped after {} requests ({} lines rejected)",
            summary.stats.requests, summary.stats.lines.rejected
        );
        Ok::<(), anyhow::Error>(())
    })
}

fn status_line(s: &live::Snapshot) -> String {
    let m = &s.analysis.stats;
    let p95 = m
        .response_time_ms
        .map_or("–".into(), |r| crate::lang::ms(Lang::En, r.p95));
    let e5 = m.error_rate_5xx.map_or("–".into(), crate::lang::pct);
    let mode = match s.progress.mode {
        live::Mode::Live => String::new(),
        live::Mode::CatchingUp => match s.progress.progress {
            Some(p) => format!(" | catching up: {:.0}% read", (p * 100.0).floor()),
            None => " | catching up".to_owned(),
        },
        live::Mode::Replay => " | replay (log time)".to_owned(),
    };
    format!(
        "{} requests | {:.1} lines/s | p95 {p95} | 5xx {e5} | rejected {}{mode}",
        m.requests, s.lines_per_sec, m.lines.rejected
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(progress: live::Progress) -> live::Snapshot {
        let agg = crate::aggregate::Aggregate::default();
        live::Snapshot {
            generation: 1,
            analysis: crate::analysis::analyze(&agg, Lang::En),
            lines_per_sec: 12.0,
            lang: Lang::En,
            minute_latency: agg.minute_latency.clone(),
            progress,
            alt: None,
        }
    }

    #[test]
    fn the_status_line_says_how_far_a_backlog_is_read() {
        let catching = live::Progress {
            mode: live::Mode::CatchingUp,
            progress: Some(0.427),
            ..Default::default()
        };
        let line = status_line(&snapshot(catching));
        assert!(line.ends_with("| catching up: 42% read"), "{line}");
        let replay = live::Progress {
            mode: live::Mode::Replay,
            ..Default::default()
        };
        assert!(status_line(&snapshot(replay)).ends_with("| replay (log time)"));
        let plain = status_line(&snapshot(live::Progress::default()));
        assert!(plain.ends_with("rejected 0"), "{plain}");
    }

    #[test]
    fn a_high_demo_rate_shortens_the_history() {
        let two_hours = Duration::from_secs(7200);
        assert_eq!(demo_backfill(two_hours, 10.0), two_hours);
        assert_eq!(
            demo_backfill(two_hours, 2000.0),
            Duration::from_secs(1000),
            "2 million lines at 2,000 a second"
        );
    }
}
