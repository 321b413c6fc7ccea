//! The reading side of a live run: a thread that follows files (and one for standard input),
//! parses what they read into small aggregates and sends them to the aggregator.

use super::count::{At, Tally};
use crate::aggregate::recent::RecordBatch;
use crate::aggregate::{Aggregate, Limits};
use crate::follow::{Checkpoints, FileId, FilePos, Tailer};
use crate::format::{FormatOptions, Parser};
use crate::input::{BLOCK_SIZE, Blocks};
use crate::store::clickhouse::rows::{Origin, RowBuf, source_id};
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
    /// `(checkpoint key, position, finished)` for each file read.
    pub positions: Vec<(Arc<str>, FilePos, bool)>,
    /// Lines in this batch.
    pub lines: u64,
    /// Compact copies of its requests, for filtered views, in the order of the log.
    pub records: Vec<RecordBatch>,
    /// After this batch: bytes read of the followed files and their lengths (`None` from
    /// streams, whose length is unknown).
    pub backlog: Option<(u64, u64)>,
    /// Records of lines read before a restart, counted already: they only refill the
    /// window of recent requests.
    pub prefill: bool,
    /// Its requests as rows for a shared store (empty without one).
    pub rows: RowBuf,
}

/// Where the readers' requests also go as rows: a shared store, written by this instance.
#[derive(Debug, Clone)]
pub struct RowsOut {
    /// The instance's name, in every row and in the ids of its sources.
    pub instance: String,
    /// Set while the store's queue is full: readers wait.
    pub pause: Arc<std::sync::atomic::AtomicBool>,
}

impl RowsOut {
    fn paused(&self) -> bool {
        self.pause.load(Ordering::Relaxed)
    }
}

/// How the readers work.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Paths, glob patterns, or `-` for standard input.
    pub inputs: Vec<String>,
    /// The ingest spool files: literal paths (never patterns), read from their start even
    /// with `from_end` (what was acknowledged is counted), each with the format it is read
    /// in when that is fixed.
    pub spool: Vec<(String, Option<crate::format::FormatKind>)>,
    /// Start files found at startup at their end.
    pub from_end: bool,
    /// Format options.
    pub format: FormatOptions,
    /// Aggregate bounds.
    pub limits: Limits,
    /// Polling interval (file-system notifications wake the reader sooner).
    pub poll: Duration,
    /// Requests dated further than this ahead of the clock are rejected.
    pub max_skew: Duration,
    /// How paths become routes.
    pub routes: Arc<crate::route::RouteOptions>,
    /// The host of lines that name none.
    pub host: String,
    /// With `--redact`: the key of the run's client pseudonyms.
    pub redact: Option<crate::redact::Key>,
    /// Where the readers' heartbeats go.
    pub health: Arc<crate::health::Health>,
    /// With a shared store: where rows go.
    pub rows_out: Option<RowsOut>,
    /// Threads that count a large read at once.
    pub threads: usize,
}

impl SourceConfig {
    /// An empty aggregate for what is read now.
    pub(super) fn aggregate(&self) -> Aggregate {
        let skew = self.max_skew.as_millis().min(i64::MAX as u128 / 2) as i64;
        Aggregate::new(self.limits)
            .not_after(crate::clock::now_ms().saturating_add(skew))
            .with_routes(self.routes.clone())
            .with_host(&self.host)
            .with_host_latency()
            .with_redaction(self.redact)
    }

    /// The format options for the input at `path`: a spool file of a fixed format is read
    /// in it.
    pub(super) fn format_for(&self, path: &str) -> std::borrow::Cow<'_, FormatOptions> {
        match self.spool.iter().find(|(p, _)| p == path) {
            Some((_, Some(kind))) => std::borrow::Cow::Owned(FormatOptions {
                kind: Some(*kind),
                log_format: None,
                ..self.format.clone()
            }),
            _ => std::borrow::Cow::Borrowed(&self.format),
        }
    }

    /// Whether `path` is a spool file.
    fn is_spool(&self, path: &str) -> bool {
        self.spool.iter().any(|(p, _)| p == path)
    }

    /// Whether reading waits for the shared store's queue.
    fn paused(&self) -> bool {
        self.rows_out.as_ref().is_some_and(RowsOut::paused)
    }

    /// Keeps `req` (read at `offset` of `source`) as a row, when rows are kept.
    pub(super) fn keep_row(
        &self,
        rows: &mut RowBuf,
        req: &crate::request::Request<'_>,
        c: &crate::aggregate::Counted<'_>,
        source: u64,
        offset: u64,
    ) {
        if let Some(o) = &self.rows_out {
            rows.push(req, c.route, c.bot, &o.instance, Origin { source, offset });
        }
    }

    /// The id of the source `label` with `identity` in the shared store.
    fn source_id(&self, label: &str, identity: &[u64]) -> u64 {
        self.rows_out
            .as_ref()
            .map_or(0, |o| source_id(&o.instance, label, identity))
    }

    /// An empty batch of compact records.
    pub(super) fn records(&self) -> RecordBatch {
        RecordBatch::with_routes(self.routes.clone())
    }
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
    let mut files = Vec::new();
    for input in &cfg.inputs {
        let (cfg, tx, stop) = (cfg.clone(), tx.clone(), stop.clone());
        if input == "-" {
            threads.push(named("stdin", move || {
                read_stream("(stdin)", std::io::stdin(), &cfg, &tx);
            }));
        } else if !is_glob(input) && InputKind::of(Path::new(input)) == InputKind::Stream {
            let path = PathBuf::from(input);
            threads.push(named("pipe", move || read_pipe(&path, &cfg, &tx, &stop)));
        } else {
            files.push(input.clone());
        }
    }
    files.extend(cfg.spool.iter().map(|(p, _)| p.clone()));
    if !files.is_empty() {
        let checkpoints = checkpoints.clone();
        threads.push(named("files", move || {
            Follower::new(cfg, files, checkpoints, tx, stop).run()
        }));
    }
    threads
}

fn named(name: &str, f: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("reader-{name}"))
        .spawn(move || crate::health::as_part("reader", f))
        .expect("a reader thread starts")
}

/// What a path given on the command line is, for reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A regular file (or one that does not exist yet): followed, with checkpoints.
    File,
    /// A FIFO or a character device: read front to back as it comes, no positions kept.
    Stream,
    /// A directory.
    Directory,
    /// Anything else (a socket, a block device).
    Other,
}

impl InputKind {
    /// The kind of `path` now (following links).
    pub fn of(path: &Path) -> InputKind {
        use std::os::unix::fs::FileTypeExt;
        match std::fs::metadata(path) {
            Err(_) => InputKind::File,
            Ok(m) if m.is_file() => InputKind::File,
            Ok(m) if m.is_dir() => InputKind::Directory,
            Ok(m) if m.file_type().is_fifo() || m.file_type().is_char_device() => InputKind::Stream,
            Ok(_) => InputKind::Other,
        }
    }
}

/// True when the file at `path` starts like gzip data (compressed logs cannot be followed).
fn is_gzip(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == [0x1f, 0x8b])
}

/// Checks the inputs of a live run before it starts: a directory, a socket, or a file that
/// cannot be opened is an error with one clear message. A file that does not exist yet is
/// waited for.
pub fn check_inputs(inputs: &[String]) -> Result<(), String> {
    for input in inputs.iter().filter(|i| *i != "-" && !is_glob(i)) {
        let path = Path::new(input);
        match InputKind::of(path) {
            InputKind::Directory => {
                return Err(format!(
                    "{input} is a directory; name the log files in it, or a pattern such as '{}/*.log'",
                    input.trim_end_matches('/')
                ));
            }
            InputKind::Other => {
                return Err(format!(
                    "{input} is neither a file nor a pipe; tailpulse reads files, FIFOs and standard input"
                ));
            }
            InputKind::File if path.exists() => {
                std::fs::File::open(path).map_err(|e| format!("cannot open {input}: {e}"))?;
                if is_gzip(path) {
                    return Err(format!(
                        "{input} is gzip-compressed: a live run follows plain-text logs; read it with `tailpulse analyze {input}`"
                    ));
                }
            }
            InputKind::File | InputKind::Stream => {}
        }
    }
    Ok(())
}

/// Reads a FIFO or a character device as a stream; a FIFO is opened again after each writer
/// closes it, until the run stops.
fn read_pipe(path: &Path, cfg: &SourceConfig, tx: &Sender<Batch>, stop: &AtomicBool) {
    let name = path.to_string_lossy().into_owned();
    while !stop.load(Ordering::SeqCst) {
        match std::fs::File::open(path) {
            Ok(f) => {
                if !read_stream(&name, f, cfg, tx) {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(target: "runner", path = %name, error = %e, "cannot open the pipe; no more lines are read from it");
                return;
            }
        }
    }
}

/// Reads `reader` to its end, sending what it parses; false when the aggregator is gone.
fn read_stream(
    name: &str,
    reader: impl std::io::Read,
    cfg: &SourceConfig,
    tx: &Sender<Batch>,
) -> bool {
    let mut blocks = Blocks::new(reader, BLOCK_SIZE);
    let mut parser: Option<Parser> = None;
    // A stream is read once: its rows are told apart from another run's by the start time.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let source = cfg.source_id(name, &[started]);
    loop {
        while cfg.paused() {
            std::thread::sleep(cfg.poll);
        }
        match blocks.next_block() {
            Ok(Some(b)) => {
                let p = parser.get_or_insert_with(|| detect_from(&b.data, &cfg.format));
                let mut tally = Tally::new(cfg);
                let at = At {
                    name,
                    offset: b.offset,
                    first_line: b.first_line,
                    source,
                };
                tally.count(cfg, p, &b.data, at);
                for line_no in blocks.overlong.drain(..) {
                    tally.agg.record_overlong(name, line_no);
                    tally.lines += 1;
                }
                crate::health::fault_point("reader");
                let lines = tally.lines;
                if tx
                    .blocking_send(tally.into_batch(Vec::new(), None))
                    .is_err()
                {
                    return false;
                }
                cfg.health.read(lines);
            }
            Ok(None) => {
                if let Some(e) = blocks.take_error() {
                    tracing::error!(target: "runner", source = name, error = %e, "reading stopped early; the lines before were counted, no more are read from it");
                }
                return true;
            }
            Err(e) => {
                tracing::error!(target: "runner", source = name, error = %e, "cannot read; no more lines are read from it");
                return false;
            }
        }
    }
}

fn detect_from(data: &[u8], fmt: &FormatOptions) -> Parser {
    crate::format::detect::detect_in(data, fmt)
        .expect("format options are checked when the run starts (live::start)")
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
    /// Followed path → the key its positions are kept under.
    keys: HashMap<Arc<str>, Arc<str>>,
    /// Paths whose last read failed, with the error logged (logged once until it changes).
    failing: HashMap<Arc<str>, String>,
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
            keys: HashMap::new(),
            failing: HashMap::new(),
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
            if is_glob(p) && !self.cfg.is_spool(p) {
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
            if !self.known.insert(path.clone()) {
                continue;
            }
            if is_gzip(&path) {
                tracing::warn!(target: "runner", path = %path.display(), "gzip-compressed: not followed (a live run reads plain-text logs; `tailpulse analyze` reads this one)");
                continue;
            }
            let current = std::fs::metadata(&path).ok().map(|m| FileId::of(&m));
            // Another name of a file already followed, or a rotated file a tailer is still
            // finishing (a pattern such as `app*` that matches `app.log.1`).
            let same = self
                .tailers
                .iter()
                .find(|t| current.is_some_and(|id| t.ids().contains(&id)));
            if let Some(t) = same {
                tracing::warn!(target: "runner", path = %path.display(), same_as = %t.name(), "the same file under another name; it is read once");
                continue;
            }
            let key: Arc<str> = crate::follow::checkpoint::path_key(&path).into();
            let resume = self.checkpoints.for_file(&key, current);
            let before = resume
                .iter()
                .filter(|p| Some(p.id) == current)
                .max_by_key(|p| p.offset);
            if let Some(records) =
                before.and_then(|p| super::prefill::recent_records(&path, p, &self.cfg))
            {
                let batch = Batch {
                    agg: self.cfg.aggregate(),
                    positions: Vec::new(),
                    lines: 0,
                    records: vec![records],
                    backlog: None,
                    prefill: true,
                    rows: RowBuf::default(),
                };
                if self.tx.blocking_send(batch).is_err() {
                    return added;
                }
            }
            // Files matched later by a glob are new: read them whole; so is the spool.
            let spooled = self.cfg.is_spool(&path.to_string_lossy());
            let from_end = self.cfg.from_end && first && !spooled;
            let tailer = Tailer::new(&path, resume, from_end).with_first_id(current);
            self.keys.insert(tailer.name().clone(), key);
            self.tailers.push(tailer);
            added.push(path);
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
        self.cfg.health.reader_beat();
        if self.cfg.paused() {
            return Some(false);
        }
        let mut chunks = Vec::new();
        for t in &mut self.tailers {
            match t.poll(now, &mut chunks) {
                Ok(()) => {
                    if self.failing.remove(t.name()).is_some() {
                        tracing::info!(target: "runner", path = %t.name(), "readable again");
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    if self.failing.get(t.name()) != Some(&msg) {
                        tracing::warn!(target: "runner", path = %t.name(), error = %msg, "cannot read; trying again quietly until it can be read");
                        self.failing.insert(t.name().clone(), msg);
                    }
                }
            }
        }
        if chunks.is_empty() {
            return Some(false);
        }
        let full = chunks
            .iter()
            .any(|c| c.data.len() >= crate::follow::tailer::MAX_CHUNK / 2);
        let mut tally = Tally::new(&self.cfg);
        let mut positions = Vec::new();
        for c in chunks {
            let label = self
                .keys
                .get(&c.path)
                .cloned()
                .unwrap_or_else(|| c.path.clone());
            for &line_no in &c.overlong {
                tally.agg.record_overlong(&c.path, line_no);
                tally.lines += 1;
            }
            if !c.data.is_empty() {
                let key = (c.path.clone(), c.pos.id);
                let cfg = &self.cfg;
                let parser = self
                    .parsers
                    .entry(key)
                    .or_insert_with(|| detect_from(&c.data, &cfg.format_for(&c.path)));
                let at = At {
                    name: &c.path,
                    offset: c.start,
                    first_line: c.first_line,
                    source: cfg.source_id(&label, &[c.pos.id.dev, c.pos.id.ino, c.pos.head]),
                };
                tally.count(cfg, parser, &c.data, at);
            }
            if c.finished {
                self.parsers.remove(&(c.path.clone(), c.pos.id));
            }
            self.checkpoints.update(&label, c.pos, c.finished);
            positions.push((label, c.pos, c.finished));
        }
        crate::health::fault_point("reader");
        let progress: Vec<_> = self
            .tailers
            .iter()
            .filter_map(|t| Some((t.name().clone(), t.progress()?)))
            .collect();
        let backlog = progress
            .iter()
            .fold((0, 0), |(r, t), (_, (a, b))| (r + a, t + b));
        self.cfg.health.files_behind(
            progress
                .into_iter()
                .map(|(name, (read, len))| (name, len.saturating_sub(read)))
                .collect(),
        );
        let lines = tally.lines;
        self.tx
            .blocking_send(tally.into_batch(positions, Some(backlog)))
            .ok()?;
        self.cfg.health.read(lines);
        Some(full)
    }
}
