//! `tailpulse analyze`: reads inputs on every core and merges the per-thread aggregates.

use crate::aggregate::{Aggregate, Limits, LineStats};
use crate::format::{FormatError, FormatOptions, detect::detect_in};
use crate::ingest::{BlockPos, ingest_block, ingest_block_at};
use crate::input::{BLOCK_SIZE, Block, Blocks, ChunkBuf, FileChunks, Input, InputError, open};
use std::fs::File;
use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;

/// Why a batch analysis failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// An input could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The format options are unusable.
    #[error(transparent)]
    Format(#[from] FormatError),
}

/// How to read the inputs.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Format options (detection when empty).
    pub format: FormatOptions,
    /// Memory bounds of the aggregate.
    pub limits: Limits,
    /// Parser threads.
    pub threads: usize,
    /// Bytes per block.
    pub block_size: usize,
    /// Map regular files into memory instead of reading them (see [`ChunkBuf::mapped`]).
    pub mmap: bool,
    /// Requests dated after this (UTC ms) are rejected as `future_timestamp`.
    pub not_after_ms: i64,
    /// How paths become routes.
    pub routes: std::sync::Arc<crate::route::RouteOptions>,
    /// Also keep per-minute frames for anomaly detection (see [`Aggregate::take_frames`]).
    pub detect: bool,
    /// The host of lines that name none (see [`Aggregate::with_host`]).
    pub host: String,
    /// Where the work done so far is counted, for a progress display.
    pub progress: Option<std::sync::Arc<Progress>>,
}

impl BatchOptions {
    /// An empty aggregate for one parser thread (or another reader of requests).
    pub fn worker_aggregate(&self) -> Aggregate {
        let agg = Aggregate::new(self.limits)
            .not_after(self.not_after_ms)
            .with_routes(self.routes.clone())
            .with_host(&self.host);
        if self.detect {
            agg.with_detection()
        } else {
            agg
        }
    }
}

/// The work done so far on the input being read, for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// The input being read and its length, when known (a file's; not a pipe's, nor the
    /// uncompressed length of a `.gz`).
    pub input: Mutex<Option<(String, Option<u64>)>>,
    /// Bytes of that input read so far (of the file, or of the uncompressed stream).
    pub bytes: AtomicU64,
    /// Lines of that input read so far.
    pub lines: AtomicU64,
}

impl Progress {
    /// Starts counting the input `name`, of `len` bytes when known.
    fn start(&self, name: &str, len: Option<u64>) {
        if let Ok(mut input) = self.input.lock() {
            *input = Some((name.to_owned(), len));
        }
        self.bytes.store(0, Ordering::Relaxed);
        self.lines.store(0, Ordering::Relaxed);
    }

    /// Counts `bytes` bytes holding `lines` lines, read.
    fn add(&self, bytes: usize, lines: u64) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.lines.fetch_add(lines, Ordering::Relaxed);
    }
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            format: FormatOptions::default(),
            limits: Limits::default(),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            block_size: BLOCK_SIZE,
            mmap: true,
            not_after_ms: i64::MAX,
            routes: Default::default(),
            detect: false,
            host: "localhost".to_owned(),
            progress: None,
        }
    }
}

/// The display name of an input (`-` is standard input).
pub fn source_name(input: &str) -> String {
    if input == "-" {
        "(stdin)".into()
    } else {
        input.into()
    }
}

/// Aggregates every input, one after another, each on all threads.
pub fn aggregate_inputs(inputs: &[String], opts: &BatchOptions) -> Result<Aggregate, BatchError> {
    let mut total: Option<Aggregate> = None;
    for input in inputs {
        let name = source_name(input);
        let agg = match open(input)? {
            Input::File(file, len) => {
                if let Some(p) = &opts.progress {
                    p.start(&name, Some(len));
                }
                aggregate_file(&name, &file, len, opts)?
            }
            Input::Stream(reader) => {
                if let Some(p) = &opts.progress {
                    p.start(&name, None);
                }
                aggregate_reader(&name, reader, opts)?
            }
        };
        log_rejections(&agg);
        total = Some(merged(total, agg));
    }
    Ok(total.unwrap_or_else(|| opts.worker_aggregate()))
}

/// `total` with `agg` added; an aggregate is not copied into an empty one.
fn merged(total: Option<Aggregate>, agg: Aggregate) -> Aggregate {
    match total {
        None => agg,
        Some(mut total) => {
            total.merge_owned(agg);
            total
        }
    }
}

fn log_rejections(agg: &Aggregate) {
    for (name, s) in agg.sources() {
        if let Some(first) = s.rejected_samples().first() {
            tracing::warn!(
                source = %name,
                rejected = s.lines.rejected,
                first_line = first.line,
                error = %first.error,
                "lines could not be parsed"
            );
            if s.lines.parsed == 0
                && let Some(hint) = crate::format::json::mapping_hint(first.text.as_bytes())
            {
                tracing::warn!(source = %name, "{hint}");
            }
        }
    }
}

/// The aggregate of an empty input: `source` is listed, with no lines.
fn nothing_read(source: &str, opts: &BatchOptions) -> Aggregate {
    let mut empty = opts.worker_aggregate();
    empty.record_lines(source, opts.format.kind, LineStats::default());
    empty
}

fn read_error(source: &str) -> impl Fn(std::io::Error) -> BatchError {
    move |e| {
        BatchError::Input(InputError::Read {
            path: source.into(),
            source: e,
        })
    }
}

/// Aggregates the first `len` bytes of the regular file `file`, named `source`: every thread
/// reads and counts chunks of it on its own.
pub fn aggregate_file(
    source: &str,
    file: &File,
    len: u64,
    opts: &BatchOptions,
) -> Result<Aggregate, BatchError> {
    let chunks = FileChunks::new(file, len, opts.block_size);
    if chunks.count() == 0 {
        return Ok(nothing_read(source, opts));
    }
    // The format is detected from the first chunk that holds lines.
    let new_buf = || match opts.mmap {
        true => ChunkBuf::mapped(),
        false => ChunkBuf::read(),
    };
    let mut buf = new_buf();
    let mut sample = 0..0;
    for k in 0..chunks.count() {
        sample = chunks.read(k, &mut buf).map_err(read_error(source))?.range;
        if !sample.is_empty() {
            break;
        }
    }
    let parser = detect_in(&buf.bytes()[sample], &opts.format)?;
    drop(buf);
    tracing::info!(source, format = parser.kind().name(), "reading");
    let next = AtomicUsize::new(0);
    let threads = opts.threads.clamp(1, chunks.count());
    let results: Vec<std::io::Result<Aggregate>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (chunks, next, mut parser) = (&chunks, &next, parser.clone());
                scope.spawn(move || {
                    let mut agg = opts.worker_aggregate();
                    let mut buf = new_buf();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= chunks.count() {
                            break;
                        }
                        let lines = match chunks.read(k, &mut buf) {
                            Ok(lines) => lines,
                            Err(e) => {
                                next.store(chunks.count(), Ordering::Relaxed);
                                return Err(e);
                            }
                        };
                        let first_line = || chunks.first_line(k, &lines).unwrap_or(0);
                        let block = &buf.bytes()[lines.range.clone()];
                        let counted = ingest_block_at(
                            &mut agg,
                            source,
                            &mut parser,
                            block,
                            lines.offset,
                            first_line,
                            |_, _, _| {},
                        );
                        if let Some(p) = &opts.progress {
                            p.add(block.len(), counted.read);
                        }
                        if lines.overlong_at.is_some() {
                            let before = memchr::memchr_iter(b'\n', block).count() as u64;
                            let line_no = chunks.first_line(k, &lines).map_or(0, |n| n + before);
                            agg.record_overlong(source, line_no);
                        }
                    }
                    Ok(agg)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("parser threads do not panic"))
            .collect()
    });
    let mut total = None;
    for agg in results {
        total = Some(merged(total, agg.map_err(read_error(source))?));
    }
    Ok(total.expect("at least one thread"))
}

/// Aggregates one reader named `source`.
pub fn aggregate_reader(
    source: &str,
    reader: impl Read + Send,
    opts: &BatchOptions,
) -> Result<Aggregate, BatchError> {
    let read_error = read_error(source);
    let mut blocks = Blocks::new(reader, opts.block_size);
    let Some(first) = blocks.next_block().map_err(&read_error)? else {
        return Ok(nothing_read(source, opts));
    };
    let parser = detect_in(&first.data, &opts.format)?;
    tracing::info!(source, format = parser.kind().name(), "reading");
    let threads = opts.threads.max(1);
    let (tx, rx) = sync_channel::<Block>(threads * 2);
    let rx = Mutex::new(rx);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let (mut total, read_result) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (rx, mut parser, done) = (&rx, parser.clone(), done_tx.clone());
                scope.spawn(move || {
                    let mut agg = opts.worker_aggregate();
                    loop {
                        let next = rx.lock().map(|r| r.recv());
                        let Ok(Ok(b)) = next else { break };
                        let pos = BlockPos {
                            first_line: b.first_line,
                            offset: b.offset,
                        };
                        let counted = ingest_block(&mut agg, source, &mut parser, &b.data, pos);
                        if let Some(p) = &opts.progress {
                            p.add(b.data.len(), counted.read);
                        }
                        let _ = done.send(b.data);
                    }
                    agg
                })
            })
            .collect();
        let mut read_result = Ok(());
        let mut next = Some(first);
        while let Some(b) = next {
            if tx.send(b).is_err() {
                break;
            }
            for buf in done_rx.try_iter() {
                blocks.recycle(buf);
            }
            next = match blocks.next_block() {
                Ok(n) => n,
                Err(e) => {
                    read_result = Err(e);
                    None
                }
            };
        }
        drop(tx);
        let mut total = None;
        for w in workers {
            total = Some(merged(
                total,
                w.join().expect("parser threads do not panic"),
            ));
        }
        (total.expect("at least one thread"), read_result)
    });
    for &line_no in &blocks.overlong {
        total.record_overlong(source, line_no);
    }
    read_result.map_err(read_error)?;
    if let Some(e) = blocks.take_error() {
        tracing::warn!(source, error = %e, "reading stopped early; the lines before are counted");
        total.record_read_error(source, e.to_string());
    }
    Ok(total)
}
