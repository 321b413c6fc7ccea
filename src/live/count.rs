//! Counting what a reader read: a large piece of a log is split at line ends and counted on
//! several threads at once, each part into its own aggregate, records and rows, which are
//! then put together in the order of the log.

use super::sources::SourceConfig;
use crate::aggregate::Aggregate;
use crate::aggregate::recent::RecordBatch;
use crate::format::Parser;
use crate::ingest::ingest_block_at;
use crate::store::clickhouse::rows::RowBuf;

/// Below this size a part is not worth a thread of its own.
const MIN_PART: usize = 512 << 10;

/// Where a run of lines was read: the input's name, the byte offset of its first line, the
/// number of that line, and the input's id in a shared store.
#[derive(Debug, Clone, Copy)]
pub(super) struct At<'a> {
    /// The input's name.
    pub name: &'a str,
    /// The byte offset of the first line.
    pub offset: u64,
    /// The number of the first line (1-based).
    pub first_line: u64,
    /// The input's id in a shared store.
    pub source: u64,
}

/// Lines counted, for one batch to the aggregator.
#[derive(Debug)]
pub(super) struct Tally {
    /// The counted lines.
    pub agg: Aggregate,
    /// Compact copies of the requests, in the order of the log.
    pub records: Vec<RecordBatch>,
    /// The requests as rows for a shared store (empty without one).
    pub rows: RowBuf,
    /// Lines read.
    pub lines: u64,
}

impl Tally {
    /// Nothing counted yet.
    pub fn new(cfg: &SourceConfig) -> Tally {
        Tally {
            agg: cfg.aggregate(),
            records: Vec::new(),
            rows: RowBuf::default(),
            lines: 0,
        }
    }

    /// Counts the lines of `data` (whole lines), read at `at`, with `parser`: on up to
    /// `cfg.threads` threads when it is large.
    pub fn count(&mut self, cfg: &SourceConfig, parser: &mut Parser, data: &[u8], at: At<'_>) {
        let parts = split_at_lines(data, cfg.threads.min(data.len() / MIN_PART).max(1));
        if parts.len() == 1 {
            let (records, lines) = count_part(cfg, parser, &mut self.agg, &mut self.rows, data, at);
            self.add(None, records, None, lines);
            return;
        }
        let others = std::thread::scope(|scope| {
            let workers: Vec<_> = parts[1..]
                .iter()
                .map(|range| {
                    let mut parser = parser.clone();
                    let part = &data[range.clone()];
                    let at = At {
                        offset: at.offset + range.start as u64,
                        first_line: at.first_line
                            + memchr::memchr_iter(b'\n', &data[..range.start]).count() as u64,
                        ..at
                    };
                    scope.spawn(move || {
                        let (mut agg, mut rows) = (cfg.aggregate(), RowBuf::default());
                        let (records, lines) =
                            count_part(cfg, &mut parser, &mut agg, &mut rows, part, at);
                        (agg, records, rows, lines)
                    })
                })
                .collect();
            let first = &data[parts[0].clone()];
            let (records, lines) =
                count_part(cfg, parser, &mut self.agg, &mut self.rows, first, at);
            self.add(None, records, None, lines);
            workers
                .into_iter()
                .map(|w| w.join().expect("counting threads do not panic"))
                .collect::<Vec<_>>()
        });
        for (agg, records, rows, lines) in others {
            self.add(Some(agg), records, Some(rows), lines);
        }
    }

    /// The batch that sends these lines, with the read positions they reach and the backlog
    /// after them.
    pub fn into_batch(
        self,
        positions: Vec<(std::sync::Arc<str>, crate::follow::FilePos, bool)>,
        backlog: Option<(u64, u64)>,
    ) -> super::sources::Batch {
        super::sources::Batch {
            agg: self.agg,
            positions,
            lines: self.lines,
            records: self.records,
            backlog,
            prefill: false,
            rows: self.rows,
        }
    }

    fn add(
        &mut self,
        agg: Option<Aggregate>,
        records: RecordBatch,
        rows: Option<RowBuf>,
        lines: u64,
    ) {
        if let Some(agg) = agg {
            self.agg.merge(&agg);
        }
        if !records.is_empty() {
            self.records.push(records);
        }
        if let Some(rows) = rows {
            self.rows.append(rows);
        }
        self.lines += lines;
    }
}

/// Counts `data` into `agg` and `rows`; returns its records and the lines read.
fn count_part(
    cfg: &SourceConfig,
    parser: &mut Parser,
    agg: &mut Aggregate,
    rows: &mut RowBuf,
    data: &[u8],
    at: At<'_>,
) -> (RecordBatch, u64) {
    let mut records = cfg.records();
    let first_line = || at.first_line;
    let read = ingest_block_at(
        agg,
        at.name,
        parser,
        data,
        at.offset,
        first_line,
        |r, c, off| {
            cfg.keep_row(rows, r, &c, at.source, off);
            records.push_counted(r, c)
        },
    )
    .read;
    (records, read)
}

/// `data` cut into `n` parts of about equal size, each ending at a line's end (the last at
/// the end of `data`); fewer when the lines are long.
fn split_at_lines(data: &[u8], n: usize) -> Vec<std::ops::Range<usize>> {
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    for k in 1..n {
        let aim = (data.len() * k / n).max(start);
        let Some(nl) = memchr::memchr(b'\n', &data[aim..]) else {
            break;
        };
        let end = aim + nl + 1;
        if end >= data.len() {
            break;
        }
        parts.push(start..end);
        start = end;
    }
    parts.push(start..data.len());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_end_at_line_ends_and_cover_the_whole() {
        let data = b"aaaa\nbb\ncccccc\nd\neeeeeeeee\nf".as_slice();
        for n in 1..8 {
            let parts = split_at_lines(data, n);
            assert!(parts.len() <= n);
            assert_eq!(parts[0].start, 0);
            assert_eq!(parts.last().unwrap().end, data.len());
            for w in parts.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(data[w[0].end - 1], b'\n', "{n}: {parts:?}");
            }
        }
    }

    fn config(threads: usize) -> SourceConfig {
        SourceConfig {
            inputs: Vec::new(),
            spool: Vec::new(),
            from_end: false,
            format: crate::format::FormatOptions::default(),
            limits: crate::aggregate::Limits::default(),
            poll: std::time::Duration::from_millis(100),
            max_skew: std::time::Duration::from_secs(3600),
            routes: std::sync::Arc::default(),
            host: "here".into(),
            redact: None,
            health: crate::health::Health::new(),
            rows_out: Some(super::super::sources::RowsOut {
                instance: "test".into(),
                pause: std::sync::Arc::default(),
            }),
            threads,
        }
    }

    /// 3 MiB of combined lines, one of them (line `bad`, 1-based) not a log line.
    fn log(bad: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut n = 0u64;
        while out.len() < 3 << 20 {
            n += 1;
            if n == bad {
                out.extend_from_slice(b"this is not a log line\n");
                continue;
            }
            let (status, path) = [(200, "/a"), (404, "/missing"), (500, "/b/7")][(n % 3) as usize];
            out.extend_from_slice(
                format!(
                    "10.0.{}.{} - - [01/Mar/2024:10:{:02}:{:02} +0000] \"GET {path}?n={n} HTTP/1.1\" {status} {n} \"-\" \"agent-{}\"\n",
                    n % 7, n % 250, (n / 60) % 60, n % 60, n % 5
                )
                .as_bytes(),
            );
        }
        out
    }

    #[test]
    fn counting_on_several_threads_gives_what_one_thread_gives() {
        let bad = 15_000;
        let data = log(bad);
        let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        assert!(bad < lines && data.len() / MIN_PART >= 4);
        let at = At {
            name: "access.log",
            offset: 1000,
            first_line: 1,
            source: 7,
        };
        let tally = |threads| {
            let cfg = config(threads);
            let mut parser = crate::format::detect::detect_in(&data, &cfg.format).unwrap();
            let mut t = Tally::new(&cfg);
            t.count(&cfg, &mut parser, &data, at);
            t
        };
        let (one, four) = (tally(1), tally(4));
        assert_eq!(one.records.len(), 1);
        assert_eq!(four.records.len(), 4, "split in four parts");
        assert_eq!((one.lines, four.lines), (lines, lines));
        assert_eq!(four.agg.totals.requests, lines - 1);
        assert_eq!(
            one.agg.status_counts().collect::<Vec<_>>(),
            four.agg.status_counts().collect::<Vec<_>>()
        );
        let rejected = |t: &Tally| -> Vec<u64> {
            t.agg.sources()["access.log"]
                .rejected_samples()
                .iter()
                .map(|r| r.line)
                .collect()
        };
        assert_eq!(
            rejected(&four),
            vec![bad],
            "line numbers run on across parts"
        );
        assert_eq!(rejected(&one), vec![bad]);
        let times = |t: &Tally| -> Vec<i64> {
            t.records
                .iter()
                .flat_map(|b| b.iter().map(|(r, _)| r.ts_ms))
                .collect()
        };
        assert_eq!(times(&one), times(&four), "records in the order of the log");
        assert_eq!(
            one.rows, four.rows,
            "rows and their offsets in the order of the log"
        );
    }

    #[test]
    fn one_long_line_is_one_part() {
        let data = vec![b'x'; 10_000];
        assert_eq!(split_at_lines(&data, 4), vec![0..10_000]);
    }
}
