//! The reading side of a live run: a thread that follows files (and one for standard input),
//! parses what they read into small aggregates and sends them to the aggregator.

use crate::aggregate::recent::RecordBatch;
use crate::aggregate::{Aggregate, Limits};
use crate::follow::{Checkpoints, FileId, FilePos, Tailer};
use crate::format::{FormatOptions, Parser, detect, detect::SAMPLE_LINES};
use crate::ingest::{BlockPos, ingest_block_with};
use crate::input::{BLOCK_SIZE, Blocks};
use notify::Watcher;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Sender;

/// What the readers send: lines already counted into an aggregate, and the read positions
/// they reach.
#[derive(Debug)]
pub struct Batch {
    /// The counted lines.
    pub agg: Aggregate,
    /// `(path, position, finished)` for each file read.
    pub positions: Vec<(Arc<str>, FilePos, bool)>,
    /// Lines in this batch.
    pub lines: u64,
    /// Compact copies of its requests, for filtered views.
    pub records: RecordBatch,
}

/// How the readers work.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Paths, glob patterns, or `-` for standard input.
    pub inputs: Vec<String>,
    /// Start files found at startup at their end.
    pub from_end: bool,
    /// Format options.
    pub format: FormatOptions,
    /// Aggregate bounds.
    pub limits: Limits,
    /// Polling interval (file-system notifications wake the reader sooner).
    pub poll: Duration,
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Starts the reader threads. They stop after a last read once `stop` is set.
pub fn spawn(
    cfg: SourceConfig,
    checkpoints: &Checkpoints,
    tx: Sender<Batch>,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    let mut threads = Vec::new();
    if cfg.inputs.iter().any(|i| i == "-") {
        let (cfg, tx) = (cfg.clone(), tx.clone());
        threads.push(std::thread::spawn(move || read_stdin(&cfg, &tx)));
    }
    let files: Vec<String> = cfg.inputs.iter().filter(|i| *i != "-").cloned().collect();
    if !files.is_empty() {
        let checkpoints = checkpoints.clone();
        threads.push(std::thread::spawn(move || {
            Follower::new(cfg, files, checkpoints, tx, stop).run()
        }));
    }
    threads
}

fn read_stdin(cfg: &SourceConfig, tx: &Sender<Batch>) {
    let mut blocks = Blocks::new(std::io::stdin(), BLOCK_SIZE);
    let mut parser: Option<Parser> = None;
    loop {
        match blocks.next_block() {
            Ok(Some(b)) => {
                let p = parser.get_or_insert_with(|| detect_from(&b.data, &cfg.format));
                let mut agg = Aggregate::new(cfg.limits);
                let mut records = RecordBatch::default();
                let pos = BlockPos {
                    first_line: b.first_line,
                    offset: b.offset,
                };
                let stats =
                    ingest_block_with(&mut agg, "(stdin)", p, &b.data, pos, |r| records.push(r));
                if tx
                    .blocking_send(Batch {
                        agg,
                        positions: Vec::new(),
                        lines: stats.read,
                        records,
                    })
                    .is_err()
                {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                tracing::error!(target: "runner", error = %e, "cannot read standard input");
                return;
            }
        }
    }
}

fn detect_from(data: &[u8], fmt: &FormatOptions) -> Parser {
    let sample: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .take(SAMPLE_LINES)
        .collect();
    detect(&sample, fmt).unwrap_or_else(|e| {
        tracing::error!(target: "runner", error = %e, "unusable format options; reading as combined");
        detect(&sample, &FormatOptions::default()).expect("default options are valid")
    })
}

struct Follower {
    cfg: SourceConfig,
    patterns: Vec<String>,
    checkpoints: Checkpoints,
    tx: Sender<Batch>,
    stop: Arc<AtomicBool>,
    tailers: Vec<Tailer>,
    known: BTreeSet<PathBuf>,
    parsers: HashMap<(Arc<str>, FileId), Parser>,
    last_glob: Option<Instant>,
}

impl Follower {
    fn new(
        cfg: SourceConfig,
        patterns: Vec<String>,
        checkpoints: Checkpoints,
        tx: Sender<Batch>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Follower {
            cfg,
            patterns,
            checkpoints,
            tx,
            stop,
            tailers: Vec::new(),
            known: BTreeSet::new(),
            parsers: HashMap::new(),
            last_glob: None,
        }
    }

    /// Adds tailers for plain paths and for new glob matches.
    fn discover(&mut self) -> Vec<PathBuf> {
        let due = self
            .last_glob
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if !due {
            return Vec::new();
        }
        let first = self.last_glob.is_none();
        self.last_glob = Some(Instant::now());
        let mut found = Vec::new();
        for p in &self.patterns {
            if is_glob(p) {
                match glob::glob(p) {
                    Ok(paths) => found.extend(paths.flatten().filter(|p| p.is_file())),
                    Err(e) => {
                        tracing::error!(target: "runner", pattern = %p, error = %e, "bad glob pattern")
                    }
                }
            } else {
                found.push(PathBuf::from(p));
            }
        }
        let mut added = Vec::new();
        for path in found {
            if self.known.insert(path.clone()) {
                let resume = self.checkpoints.for_path(&path.to_string_lossy());
                // Files matched later by a glob are new: read them whole.
                self.tailers
                    .push(Tailer::new(&path, resume, self.cfg.from_end && first));
                added.push(path);
            }
        }
        added
    }

    fn run(mut self) {
        let (wake_tx, wake_rx) = std::sync::mpsc::channel::<()>();
        let mut watcher = notify::recommended_watcher(move |_res: notify::Result<notify::Event>| {
            let _ = wake_tx.send(());
        })
        .map_err(|e| tracing::warn!(target: "runner", error = %e, "no file-system notifications; polling"))
        .ok();
        let mut watched = BTreeSet::new();
        loop {
            let stopping = self.stop.load(Ordering::SeqCst);
            for path in self.discover() {
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf();
                if let Some(w) = watcher.as_mut()
                    && watched.insert(dir.clone())
                    && let Err(e) = w.watch(&dir, notify::RecursiveMode::NonRecursive)
                {
                    tracing::warn!(target: "runner", dir = %dir.display(), error = %e, "cannot watch; polling");
                }
            }
            let Some(more) = self.read_once() else { return };
            if stopping {
                return;
            }
            if !more {
                let _ = wake_rx.recv_timeout(self.cfg.poll);
                while wake_rx.try_recv().is_ok() {}
            }
        }
    }

    /// Polls every file once and sends what was read. Returns whether more is waiting, or
    /// `None` when the aggregator is gone.
    fn read_once(&mut self) -> Option<bool> {
        let now = Instant::now();
        let mut chunks = Vec::new();
        for t in &mut self.tailers {
            if let Err(e) = t.poll(now, &mut chunks) {
                tracing::warn!(target: "runner", path = %t.name(), error = %e, "read failed; will retry");
            }
        }
        if chunks.is_empty() {
            return Some(false);
        }
        let full = chunks
            .iter()
            .any(|c| c.data.len() >= crate::follow::tailer::MAX_CHUNK / 2);
        let mut agg = Aggregate::new(self.cfg.limits);
        let mut positions = Vec::new();
        let mut lines = 0;
        let mut records = RecordBatch::default();
        for c in chunks {
            if !c.data.is_empty() {
                let key = (c.path.clone(), c.pos.id);
                let fmt = &self.cfg.format;
                let parser = self
                    .parsers
                    .entry(key)
                    .or_insert_with(|| detect_from(&c.data, fmt));
                let pos = BlockPos {
                    first_line: c.first_line,
                    offset: c.start,
                };
                lines +=
                    ingest_block_with(&mut agg, &c.path, parser, &c.data, pos, |r| records.push(r))
                        .read;
            }
            if c.finished {
                self.parsers.remove(&(c.path.clone(), c.pos.id));
            }
            self.checkpoints.update(&c.path, c.pos, c.finished);
            positions.push((c.path, c.pos, c.finished));
        }
        self.tx
            .blocking_send(Batch {
                agg,
                positions,
                lines,
                records,
            })
            .ok()?;
        Some(full)
    }
}
