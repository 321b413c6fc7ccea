//! `tailpulse run`: follow logs, keep the aggregate, publish snapshots, write reports and
//! save state, until told to stop.

mod aggregator;
mod count;
mod prefill;
pub mod progress;
mod reports;
pub mod sentinel;
pub mod sources;
mod state;

pub use progress::{Mode, Progress};
pub use reports::{PROMPT_LOG, REPORT_JSON, REPORT_TXT, write_reports};

use crate::aggregate::Limits;
use crate::aggregate::recent::{Filter, Recent};
use crate::aggregate::rollup::Rollups;
use crate::analysis::Analysis;
use crate::format::FormatOptions;
use crate::lang::Lang;
use crate::stats::Stats;
use crate::store::{Retention, StoreError};
use sources::{Batch, SourceConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How a live run works.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Paths, glob patterns or `-`.
    pub inputs: Vec<String>,
    /// The ingest spool files: literal paths, always read from their start, each with the
    /// format it is read in when that is fixed.
    pub spool: Vec<(String, Option<crate::format::FormatKind>)>,
    /// Start files found at startup at their end.
    pub from_end: bool,
    /// Format options.
    pub format: FormatOptions,
    /// Aggregate bounds.
    pub limits: Limits,
    /// Report language.
    pub lang: Lang,
    /// Where `analysis_report.{txt,json}` and `prompt_log.md` go.
    pub out_dir: PathBuf,
    /// The history database (rollups, reports, findings, and the state a restart resumes
    /// from); `None` keeps nothing across restarts.
    pub db: Option<PathBuf>,
    /// How long history is kept.
    pub retention: Retention,
    /// How often a report is added to the history.
    pub keep_report_every: Duration,
    /// How often reports and state are written.
    pub report_every: Duration,
    /// Shortest time between two snapshots.
    pub publish_every: Duration,
    /// File polling interval.
    pub poll: Duration,
    /// Newest requests kept in compact form for filtered views.
    pub filter_window: usize,
    /// Alert rules and channels, the LLM endpoint, prompt redaction.
    pub config: crate::config::Config,
    /// Anomaly detection thresholds.
    pub detector: crate::detect::DetectorConfig,
    /// Requests dated further than this ahead of the clock are rejected.
    pub max_skew: Duration,
    /// How paths become routes.
    pub routes: crate::route::RouteOptions,
    /// The host of lines that name none (files read here: this machine).
    pub host: String,
    /// With `--redact`: the secret key of the run's client pseudonyms; requests are redacted
    /// as they are read.
    pub redact: Option<crate::redact::Key>,
    /// With `--clickhouse`: every request also goes to ClickHouse.
    pub clickhouse: Option<crate::store::clickhouse::sink::SinkOptions>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            inputs: Vec::new(),
            spool: Vec::new(),
            from_end: false,
            format: FormatOptions::default(),
            limits: Limits::default(),
            lang: Lang::En,
            out_dir: PathBuf::from("."),
            db: Some(PathBuf::from("tailpulse.db")),
            retention: Retention::default(),
            keep_report_every: Duration::from_secs(3600),
            report_every: Duration::from_secs(5),
            publish_every: Duration::from_millis(250),
            poll: Duration::from_millis(250),
            filter_window: 200_000,
            config: crate::config::Config::default(),
            detector: crate::detect::DetectorConfig::default(),
            max_skew: DEFAULT_MAX_SKEW,
            routes: crate::route::RouteOptions::default(),
            host: "localhost".to_owned(),
            redact: None,
            clickhouse: None,
        }
    }
}

/// How far ahead of the clock a request may be dated before it is rejected.
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(86_400);

/// One published view of the live aggregate.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Counts up with every snapshot.
    pub generation: u64,
    /// The analysis.
    pub analysis: Analysis,
    /// Lines read per second over the last few seconds.
    pub lines_per_sec: f64,
    /// Language of the insights and prompts.
    pub lang: Lang,
    /// Per-minute response times, for percentiles over any time step.
    pub minute_latency: crate::aggregate::counts::Buckets<Arc<crate::aggregate::latency::Latency>>,
    /// Whether the data is live, a backlog being read, or old data replayed.
    pub progress: Progress,
    /// The same analysis with insights and prompts in the other language, while a page asks
    /// for it.
    pub alt: Option<Arc<Analysis>>,
}

/// The numbers of the requests that pass a filter, among the newest `window` requests.
#[derive(Debug, Clone)]
pub struct View {
    /// The numbers of the matching requests.
    pub stats: Stats,
    /// Their per-minute response times.
    pub minute_latency: crate::aggregate::counts::Buckets<Arc<crate::aggregate::latency::Latency>>,
    /// Requests the view was taken from.
    pub window: usize,
    /// Time of the oldest of them.
    pub window_from_ms: Option<i64>,
}

/// A request for a filtered [`View`].
#[derive(Debug)]
pub struct Query {
    /// Which requests.
    pub filter: Filter,
    /// Where the answer goes.
    pub reply: tokio::sync::oneshot::Sender<View>,
}

/// A running pipeline.
pub struct Live {
    /// Until when (UTC ms) a page has asked for the other language.
    pub alt_wanted: Arc<std::sync::atomic::AtomicI64>,
    /// The parts' heartbeats.
    pub health: Arc<crate::health::Health>,
    /// The latest snapshot, updated as lines arrive.
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Filtered views on request.
    pub queries: mpsc::Sender<Query>,
    /// With `--clickhouse`: the sink the requests go through.
    pub sink: Option<Arc<crate::store::clickhouse::sink::Sink>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Analysis>,
}

impl Live {
    /// Stops reading, counts what was read, writes the final report and state, and returns
    /// the final analysis.
    pub async fn shutdown(self) -> Analysis {
        let _ = self.stop.send(true);
        self.task.await.expect("the aggregator does not panic")
    }
}

/// Why a live run cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The history database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The format options (`--log-format`, `--json-field`).
    #[error(transparent)]
    Format(#[from] crate::format::FormatError),
    /// An input that cannot be followed (a directory, a socket, a compressed file).
    #[error("{0}")]
    Inputs(String),
    /// The ClickHouse queue's directory cannot be used.
    #[error("the ClickHouse queue in {dir} cannot be used: {source}")]
    Queue {
        /// The directory.
        dir: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Starts following `opts.inputs`; fails when the history database, the configuration or
/// the format options cannot be used.
pub fn start(opts: RunOptions) -> Result<Live, StartError> {
    // Unusable format options are an error now, not a surprise in a reader thread.
    crate::format::detect::detect_in(b"", &opts.format)?;
    sources::check_inputs(&opts.inputs).map_err(StartError::Inputs)?;
    let health = crate::health::Health::new();
    let sink = match &opts.clickhouse {
        Some(o) => Some(
            crate::store::clickhouse::sink::Sink::start(o.clone()).map_err(|e| {
                StartError::Queue {
                    dir: o.queue_dir.display().to_string(),
                    source: e,
                }
            })?,
        ),
        None => None,
    };
    let (saved, writer) = state::initial_state(&opts, &health, sink.clone())?;
    let sentinel = sentinel::Sentinel::new(&opts.config, opts.detector, saved.detection)?;
    let (agg, checkpoints) = (saved.aggregate, saved.checkpoints);
    let (tx, rx) = mpsc::channel::<Batch>(64);
    let stop_sources = Arc::new(AtomicBool::new(false));
    let cfg = SourceConfig {
        inputs: opts.inputs.clone(),
        spool: opts.spool.clone(),
        from_end: opts.from_end,
        format: opts.format.clone(),
        limits: opts.limits,
        poll: opts.poll,
        max_skew: opts.max_skew,
        routes: Arc::new(opts.routes.clone()),
        host: opts.host.clone(),
        redact: opts.redact,
        health: health.clone(),
        rows_out: sink.as_ref().map(|s| sources::RowsOut {
            instance: s.instance().to_owned(),
            pause: s.pause_flag(),
        }),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
    };
    let threads = sources::spawn(cfg, &checkpoints, tx, stop_sources.clone());
    let first = Arc::new(Snapshot {
        generation: 0,
        analysis: crate::analysis::analyze(&agg, opts.lang),
        lines_per_sec: 0.0,
        lang: opts.lang,
        minute_latency: agg.minute_latency.clone(),
        progress: Progress::default(),
        alt: None,
    });
    let (snap_tx, snap_rx) = watch::channel(first);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (query_tx, query_rx) = mpsc::channel::<Query>(16);
    let recent = Recent::new(opts.filter_window);
    let live_sink = sink.clone();
    let aggregator = aggregator::Aggregator {
        pending: Rollups::new(opts.limits.max_routes),
        sentinel,
        writer,
        sink,
        rows_through: 0,
        report_kept: None,
        opts,
        agg,
        checkpoints,
        snap_tx,
        generation: 0,
        rate: progress::Rate::default(),
        recent,
        health: health.clone(),
        tracker: progress::Tracker::default(),
        announced: false,
        last_progress: progress::Progress::default(),
        alt_wanted: Arc::default(),
    };
    let alt_wanted = aggregator.alt_wanted.clone();
    let run = aggregator.run(rx, query_rx, stop_rx, stop_sources, threads);
    let task = tokio::spawn(crate::health::part("aggregator", run));
    Ok(Live {
        alt_wanted,
        health,
        snapshots: snap_rx,
        queries: query_tx,
        sink: live_sink,
        stop: stop_tx,
        task,
    })
}
