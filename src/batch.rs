//! `tailpulse analyze`: reads inputs on every core and merges the per-thread aggregates.

use crate::aggregate::{Aggregate, Limits, LineStats};
use crate::format::{FormatError, FormatOptions, Parser, detect, detect::SAMPLE_LINES};
use crate::ingest::{BlockPos, ingest_block};
use crate::input::{BLOCK_SIZE, Block, Blocks, InputError, open};
use std::io::Read;
use std::sync::Mutex;
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
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            format: FormatOptions::default(),
            limits: Limits::default(),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            block_size: BLOCK_SIZE,
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
    let mut total = Aggregate::new(opts.limits);
    for input in inputs {
        let agg = aggregate_reader(&source_name(input), open(input)?, opts)?;
        log_rejections(&agg);
        total.merge(&agg);
    }
    Ok(total)
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
        }
    }
}

/// Detects the format from the first lines of `first`.
fn detect_block(first: &[u8], fmt: &FormatOptions) -> Result<Parser, FormatError> {
    let sample: Vec<&[u8]> = first
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .take(SAMPLE_LINES)
        .collect();
    detect(&sample, fmt)
}

/// Aggregates one reader named `source`.
pub fn aggregate_reader(
    source: &str,
    reader: impl Read + Send,
    opts: &BatchOptions,
) -> Result<Aggregate, BatchError> {
    let read_error = |e| {
        BatchError::Input(InputError::Read {
            path: source.into(),
            source: e,
        })
    };
    let mut blocks = Blocks::new(reader, opts.block_size);
    let mut total = Aggregate::new(opts.limits);
    let Some(first) = blocks.next_block().map_err(read_error)? else {
        total.record_lines(source, opts.format.kind, LineStats::default());
        return Ok(total);
    };
    let parser = detect_block(&first.data, &opts.format)?;
    tracing::info!(source, format = parser.kind().name(), "reading");
    let threads = opts.threads.max(1);
    let (tx, rx) = sync_channel::<Block>(threads * 2);
    let rx = Mutex::new(rx);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let result = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (rx, mut parser, done) = (&rx, parser.clone(), done_tx.clone());
                scope.spawn(move || {
                    let mut agg = Aggregate::new(opts.limits);
                    loop {
                        let next = rx.lock().map(|r| r.recv());
                        let Ok(Ok(b)) = next else { break };
                        let pos = BlockPos {
                            first_line: b.first_line,
                            offset: b.offset,
                        };
                        ingest_block(&mut agg, source, &mut parser, &b.data, pos);
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
        for w in workers {
            total.merge(&w.join().expect("parser threads do not panic"));
        }
        read_result
    });
    if blocks.overlong > 0 {
        let n = blocks.overlong;
        total.record_lines(
            source,
            None,
            LineStats {
                read: n,
                rejected: n,
                ..LineStats::default()
            },
        );
        total.reject_sample(
            source,
            0,
            b"(line longer than 16 MiB, skipped)",
            "line too long",
        );
    }
    result.map_err(read_error)?;
    Ok(total)
}
