//! `tailpulse run`: follow logs, keep the aggregate, publish snapshots, write reports and
//! save state, until told to stop.

pub mod sentinel;
pub mod sources;

use crate::aggregate::recent::{Filter, Recent};
use crate::aggregate::rollup::Rollups;
use crate::aggregate::{Aggregate, Limits};
use crate::follow::Checkpoints;
use crate::format::FormatOptions;
use crate::lang::Lang;
use crate::store::sqlite::SqliteStore;
use crate::store::writer::Writer;
use crate::store::{Commit, InsightRecord, Retention, Saved, Store, StoreError, StoredReport};
use crate::summary::Summary;
use sources::{Batch, SourceConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How a live run works.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Paths, glob patterns or `-`.
    pub inputs: Vec<String>,
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
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            inputs: Vec::new(),
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
    pub summary: Summary,
    /// Lines read per second over the last few seconds.
    pub lines_per_sec: f64,
    /// Language of the insights and prompts.
    pub lang: Lang,
    /// Per-minute response times, for percentiles over any time step.
    pub minute_latency: crate::aggregate::counts::Buckets<Arc<crate::aggregate::latency::Latency>>,
    /// Whether the data is live, a backlog being read, or old data replayed.
    pub progress: Progress,
}

/// How the data being shown relates to the clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// New lines arrive as they are written: "now" is the clock.
    #[default]
    Live,
    /// A backlog is being read (a file from its start, or after downtime).
    CatchingUp,
    /// Everything was read and the newest line is old: the data is history, and every
    /// rate and window is in log time.
    Replay,
}

/// What the page shows about reading: the mode, how far the backlog is, and rates in log
/// time.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Progress {
    /// Live, catching up, or replay.
    pub mode: Mode,
    /// Share of the followed files' bytes read (0–1), while catching up.
    pub progress: Option<f64>,
    /// How far the newest request is behind the clock, in seconds.
    pub lag_s: Option<i64>,
    /// Requests per second in log time: the newest complete minute of the data.
    pub log_rate: Option<f64>,
}

/// Data this close to the clock is live.
const LIVE_LAG_MS: i64 = 120_000;

/// The numbers of the requests that pass a filter, among the newest `window` requests.
#[derive(Debug, Clone)]
pub struct View {
    /// The analysis of the matching requests (numbers only: no samples, insights or prompts).
    pub summary: Summary,
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
    /// The parts' heartbeats.
    pub health: Arc<crate::health::Health>,
    /// The latest snapshot, updated as lines arrive.
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Filtered views on request.
    pub queries: mpsc::Sender<Query>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Summary>,
}

impl Live {
    /// Stops reading, counts what was read, writes the final report and state, and returns
    /// the final analysis.
    pub async fn shutdown(self) -> Summary {
        let _ = self.stop.send(true);
        self.task.await.expect("the aggregator does not panic")
    }
}

/// File names of the reports in `out_dir`.
pub const REPORT_TXT: &str = "analysis_report.txt";
/// JSON report.
pub const REPORT_JSON: &str = "analysis_report.json";
/// Prompts as Markdown.
pub const PROMPT_LOG: &str = "prompt_log.md";

/// Opens the history database and loads the saved state, or starts empty.
fn initial_state(
    opts: &RunOptions,
    health: &Arc<crate::health::Health>,
) -> Result<(Saved, Option<Writer>), StoreError> {
    let fresh = || Saved {
        aggregate: Aggregate::new(opts.limits),
        checkpoints: Checkpoints::default(),
        detection: None,
    };
    let Some(path) = &opts.db else {
        return Ok((fresh(), None));
    };
    let (store, saved) = open_history(path)?;
    let saved = match saved {
        Some(s) => {
            tracing::info!(target: "runner", path = %path.display(), requests = s.aggregate.totals.requests, "resuming from the saved state");
            s
        }
        None => fresh(),
    };
    let writer = Writer::spawn(Box::new(store), opts.retention, health.clone());
    Ok((saved, Some(writer)))
}

/// Opens the history database and reads the saved state. A database that cannot be read
/// (damaged, or written by a newer tailpulse) is moved aside with an error naming what was
/// lost, and a new one is started: the logs are then read again from their start.
fn open_history(path: &Path) -> Result<(SqliteStore, Option<Saved>), StoreError> {
    let opened = SqliteStore::open(path).and_then(|mut s| {
        let saved = s.load()?;
        Ok((s, saved))
    });
    match opened {
        Ok((store, saved)) => {
            if let Some(r) = &store.recovery {
                tracing::error!(target: "runner", "{r}");
                eprintln!("tailpulse: ERROR {r}");
            }
            Ok((store, saved))
        }
        Err(e) if crate::store::sqlite::is_unreadable(&e) => {
            let aside = crate::store::sqlite::move_aside(path).map_err(|io| StoreError::Moved {
                path: path.display().to_string(),
                source: io,
            })?;
            let msg = "the history database cannot be read: it was moved aside, its history and read positions are not used, and the logs are read again from their start";
            tracing::error!(target: "runner", path = %path.display(), moved_to = %aside.display(), error = %format!("{e:#}"), "{msg}");
            eprintln!(
                "tailpulse: ERROR {msg} ({} -> {}): {e:#}",
                path.display(),
                aside.display()
            );
            Ok((SqliteStore::open(path)?, None))
        }
        other => other,
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
}

/// Starts following `opts.inputs`; fails when the history database or the configuration
/// cannot be used.
pub fn start(opts: RunOptions) -> Result<Live, StartError> {
    let health = crate::health::Health::new();
    let (saved, writer) = initial_state(&opts, &health)?;
    let sentinel = sentinel::Sentinel::new(&opts.config, opts.detector, saved.detection)?;
    let (agg, checkpoints) = (saved.aggregate, saved.checkpoints);
    let (tx, rx) = mpsc::channel::<Batch>(64);
    let stop_sources = Arc::new(AtomicBool::new(false));
    let cfg = SourceConfig {
        inputs: opts.inputs.clone(),
        from_end: opts.from_end,
        format: opts.format.clone(),
        limits: opts.limits,
        poll: opts.poll,
        max_skew: opts.max_skew,
        routes: Arc::new(opts.routes.clone()),
        health: health.clone(),
    };
    let threads = sources::spawn(cfg, &checkpoints, tx, stop_sources.clone());
    let first = Arc::new(Snapshot {
        generation: 0,
        summary: crate::analysis::analyze(&agg, opts.lang),
        lines_per_sec: 0.0,
        lang: opts.lang,
        minute_latency: agg.minute_latency.clone(),
        progress: Progress::default(),
    });
    let (snap_tx, snap_rx) = watch::channel(first);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (query_tx, query_rx) = mpsc::channel::<Query>(16);
    let recent = Recent::new(opts.filter_window);
    let aggregator = Aggregator {
        pending: Rollups::new(opts.limits.max_routes),
        sentinel,
        writer,
        report_kept: None,
        opts,
        agg,
        checkpoints,
        snap_tx,
        generation: 0,
        rate: Rate::default(),
        recent,
        health: health.clone(),
        backlog: None,
        live_seen: false,
        announced: false,
        last_progress: Progress::default(),
    };
    let run = aggregator.run(rx, query_rx, stop_rx, stop_sources, threads);
    let task = tokio::spawn(crate::health::part("aggregator", run));
    Ok(Live {
        health,
        snapshots: snap_rx,
        queries: query_tx,
        stop: stop_tx,
        task,
    })
}

/// Lines per second over a sliding window of a few seconds.
#[derive(Default)]
struct Rate {
    window: std::collections::VecDeque<(Instant, u64)>,
}

impl Rate {
    fn add(&mut self, lines: u64) {
        let now = Instant::now();
        self.window.push_back((now, lines));
        while self
            .window
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(5))
        {
            self.window.pop_front();
        }
    }

    fn per_sec(&self) -> f64 {
        let Some((first, _)) = self.window.front() else {
            return 0.0;
        };
        let span = first.elapsed().as_secs_f64().max(1.0);
        self.window.iter().map(|(_, n)| *n).sum::<u64>() as f64 / span
    }
}

struct Aggregator {
    opts: RunOptions,
    agg: Aggregate,
    checkpoints: Checkpoints,
    snap_tx: watch::Sender<Arc<Snapshot>>,
    generation: u64,
    rate: Rate,
    recent: Recent,
    /// Rollups counted since the last commit to the history.
    pending: Rollups,
    writer: Option<Writer>,
    report_kept: Option<Instant>,
    sentinel: sentinel::Sentinel,
    health: Arc<crate::health::Health>,
    /// Bytes read of the followed files and their lengths, as of the latest batch.
    backlog: Option<(u64, u64)>,
    /// True once the data has been within [`LIVE_LAG_MS`] of the clock.
    live_seen: bool,
    /// True once the end of the first backlog has been announced.
    announced: bool,
    /// The mode as of the last tick.
    last_progress: Progress,
}

impl Aggregator {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Batch>,
        mut queries: mpsc::Receiver<Query>,
        mut stop: watch::Receiver<bool>,
        stop_sources: Arc<AtomicBool>,
        threads: Vec<std::thread::JoinHandle<()>>,
    ) -> Summary {
        let mut publish = tokio::time::interval(self.opts.publish_every);
        let mut report = tokio::time::interval(self.opts.report_every);
        publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut dirty, mut open, mut stopping) = (true, true, false);
        // After a stop request, readers get this long to send their last lines (standard
        // input may never close).
        let mut deadline = tokio::time::Instant::now();
        loop {
            tokio::select! {
                b = rx.recv(), if open => match b {
                    Some(b) => {
                        self.apply(b);
                        dirty = true;
                    }
                    None => {
                        open = false;
                        if stopping {
                            break;
                        }
                    }
                },
                _ = publish.tick() => {
                    let now = crate::clock::now_ms();
                    self.last_progress = self.progress(now);
                    self.sentinel.set_quiet(self.last_progress.mode != Mode::Live);
                    dirty |= self.sentinel.tick(now, &self.agg, self.opts.lang);
                    if dirty {
                        self.publish();
                        dirty = false;
                    }
                },
                _ = report.tick() => self.save(false).await,
                Some(q) = queries.recv() => self.answer(q),
                r = stop.changed(), if !stopping => {
                    stopping = true;
                    stop_sources.store(true, Ordering::SeqCst);
                    deadline = tokio::time::Instant::now() + Duration::from_secs(2);
                    if r.is_err() || !open {
                        break;
                    }
                }
                _ = tokio::time::sleep_until(deadline), if stopping => break,
            }
        }
        drop(threads);
        while let Ok(b) = rx.try_recv() {
            self.apply(b);
        }
        self.publish();
        self.save(true).await;
        self.snap_tx.borrow().summary.clone()
    }

    /// Computes a filtered view off the async threads, from a copy of the compact store.
    fn answer(&self, q: Query) {
        let (recent, limits) = (self.recent.clone(), self.opts.limits);
        tokio::task::spawn_blocking(move || {
            let agg = recent.aggregate(&q.filter, limits);
            let view = View {
                summary: Summary::numbers(&agg),
                minute_latency: agg.minute_latency.clone(),
                window: recent.len(),
                window_from_ms: recent.oldest_ms(),
            };
            let _ = q.reply.send(view);
        });
    }

    fn apply(&mut self, b: Batch) {
        self.agg.merge(&b.agg);
        self.recent.extend(&b.records);
        self.sentinel.add_batch(&b.records);
        if self.writer.is_some() {
            self.pending.add_batch(&b.records);
        }
        for (path, pos, finished) in &b.positions {
            self.checkpoints.update(path, *pos, *finished);
        }
        self.rate.add(b.lines);
        self.health.counted(b.lines);
        if b.backlog.is_some() {
            self.backlog = b.backlog;
        }
    }

    /// Live, catching up or replay, with the figures the page shows for each.
    fn progress(&mut self, now_ms: i64) -> Progress {
        let newest = self.agg.period().map(|(_, b)| b);
        let lag = newest.map(|n| now_ms - n);
        self.live_seen |= lag.is_some_and(|l| l < LIVE_LAG_MS);
        let pending = self.backlog.filter(|(read, total)| read < total);
        let mode = match pending {
            Some(_) => Mode::CatchingUp,
            None if !self.live_seen && newest.is_some() => Mode::Replay,
            None => Mode::Live,
        };
        let log_rate = newest.map(|n| {
            let minute = n - n.rem_euclid(60_000) - 60_000;
            let requests: u64 = self
                .agg
                .minutes
                .range(minute, minute + 60_000)
                .map(|(_, c)| c.requests)
                .sum();
            requests as f64 / 60.0
        });
        Progress {
            mode,
            progress: pending.map(|(r, t)| r as f64 / t.max(1) as f64),
            lag_s: lag.map(|l| l / 1000),
            log_rate,
        }
    }

    fn publish(&mut self) {
        crate::health::fault_point("aggregator");
        self.generation += 1;
        let extras = self.sentinel.extras(&self.agg, self.opts.lang);
        let summary = crate::analysis::analyze_live(&self.agg, self.opts.lang, &extras);
        self.sentinel.after_publish(&summary);
        let progress = self.last_progress;
        if progress.mode != Mode::CatchingUp && !self.announced && self.agg.totals.requests > 0 {
            self.announced = true;
            if progress.mode == Mode::Replay {
                println!("{}", self.sentinel.replay_summary(&self.agg));
            }
        }
        let snap = Snapshot {
            generation: self.generation,
            summary,
            lines_per_sec: self.rate.per_sec(),
            lang: self.opts.lang,
            minute_latency: self.agg.minute_latency.clone(),
            progress,
        };
        self.snap_tx.send_replace(Arc::new(snap));
        self.health.published();
    }

    /// Writes the reports of the latest snapshot, and commits the history with the state
    /// that includes it, off the async threads.
    async fn save(&mut self, last: bool) {
        let snap = self.snap_tx.borrow().clone();
        let (dir, lang) = (self.opts.out_dir.clone(), self.opts.lang);
        let reports = snap.clone();
        let done = tokio::task::spawn_blocking(move || {
            crate::health::as_part("aggregator", || write_reports(&dir, &reports.summary, lang))
        });
        let _ = done.await;
        if self.writer.is_some() {
            let commit = self.commit(&snap, last);
            if last {
                let w = self.writer.take().expect("checked above");
                let _ = tokio::task::spawn_blocking(move || w.finish(commit)).await;
            } else if let Some(back) = self.writer.as_ref().and_then(|w| w.offer(commit)) {
                tracing::debug!(target: "analysis", "history writer busy; keeping rollups for the next commit");
                self.pending.merge(back.rollups);
            }
        }
        if last {
            tracing::info!(target: "analysis", requests = self.agg.totals.requests, "final report written");
        }
    }

    /// The rollups since the last commit, the state that includes them, the findings, and
    /// (hourly and at the end) the report.
    fn commit(&mut self, snap: &Snapshot, last: bool) -> Commit {
        let t_ms = self.agg.period().map_or(0, |(_, b)| b);
        let keep = last
            || self
                .report_kept
                .is_none_or(|t| t.elapsed() >= self.opts.keep_report_every);
        let report = (keep && snap.summary.requests > 0).then(|| {
            self.report_kept = Some(Instant::now());
            StoredReport {
                t_ms,
                requests: snap.summary.requests,
                text: crate::report::text::render(&snap.summary, self.opts.lang),
                json: serde_json::to_string(&snap.summary).expect("summary serializes"),
            }
        });
        let insights = snap
            .summary
            .insights
            .iter()
            .map(|i| InsightRecord {
                kind: crate::insights::kind_name(i.kind),
                subject: i.subject.clone().unwrap_or_default(),
                severity: crate::insights::severity_name(i.severity),
                message: i.message.clone(),
                first_ms: i.window.map_or(t_ms, |w| w.start_ms),
                last_ms: i.window.map_or(t_ms, |w| w.last_ms),
            })
            .collect();
        let limit = self.opts.limits.max_routes;
        Commit {
            rollups: std::mem::replace(&mut self.pending, Rollups::new(limit)),
            saved: Some(Box::new(Saved {
                aggregate: self.agg.clone(),
                checkpoints: self.checkpoints.clone(),
                detection: Some(self.sentinel.state()),
            })),
            report,
            insights,
            alerts: self.sentinel.take_alert_records(),
        }
    }
}

/// Writes `analysis_report.txt`, `analysis_report.json` and `prompt_log.md` atomically; a
/// failure keeps the last good files and is logged.
pub fn write_reports(dir: &Path, s: &Summary, lang: Lang) {
    let json = serde_json::to_vec_pretty(s).expect("summary serializes");
    let files: [(&str, Vec<u8>); 3] = [
        (
            REPORT_TXT,
            crate::report::text::render(s, lang).into_bytes(),
        ),
        (REPORT_JSON, json),
        (
            PROMPT_LOG,
            crate::report::text::prompt_log(s, lang).into_bytes(),
        ),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        if let Err(e) = crate::fsutil::atomic_write(&path, &bytes) {
            tracing::error!(target: "analysis", path = %path.display(), error = %e, "cannot write report; keeping the last good one");
        }
    }
    tracing::debug!(target: "analysis", requests = s.requests, "reports written");
}
