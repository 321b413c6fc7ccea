//! Turns a block of log bytes into aggregate updates (pure: no I/O).

use crate::aggregate::{Aggregate, LineStats, SampleKeys};
use crate::format::Parser;
use crate::request::{Line, Request};

/// Why a line dated too far ahead of the clock is rejected.
pub const FUTURE_TIMESTAMP: &str =
    "future_timestamp: dated further ahead of the clock than the allowed skew (--max-skew)";

/// Where a block sits in its input.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockPos {
    /// 1-based number of the block's first line.
    pub first_line: u64,
    /// Byte offset of the block in its input.
    pub offset: u64,
}

/// The `n` lines with the largest keys seen so far, kept in a small buffer: a line that
/// cannot make it is refused with one comparison.
struct Best<K> {
    n: usize,
    buf: Vec<(K, (usize, usize))>,
    floor: Option<K>,
}

impl<K: Ord + Copy> Best<K> {
    fn new(n: usize) -> Self {
        Best {
            n,
            buf: Vec::with_capacity(4 * n + 1),
            floor: None,
        }
    }

    fn offer(&mut self, k: K, range: (usize, usize)) {
        if self.n == 0 || self.floor.is_some_and(|f| k <= f) {
            return;
        }
        self.buf.push((k, range));
        if self.buf.len() >= 4 * self.n {
            self.keep_best();
            self.floor = self.buf.iter().map(|e| e.0).min();
        }
    }

    fn keep_best(&mut self) {
        let cut = self.buf.len().saturating_sub(self.n);
        if cut > 0 {
            self.buf.select_nth_unstable_by_key(cut, |e| e.0);
            self.buf.drain(..cut);
        }
    }

    fn ranges(mut self) -> impl Iterator<Item = (usize, usize)> {
        self.keep_best();
        self.buf.into_iter().map(|e| e.1)
    }
}

/// The `n` lines with the newest (time, position) keys. While times do not go back (the
/// usual log), those are the last `n` lines, kept in a ring; from the first step back on, a
/// [`Best`] ranks them.
struct Newest {
    n: usize,
    ring: std::collections::VecDeque<(i64, u64, (usize, usize))>,
    last_ts: i64,
    ranked: Option<Best<(i64, u64)>>,
}

impl Newest {
    fn new(n: usize) -> Self {
        Newest {
            n,
            ring: std::collections::VecDeque::with_capacity(n),
            last_ts: i64::MIN,
            ranked: None,
        }
    }

    /// Offers a line; keys come with growing positions.
    fn offer(&mut self, (ts, pos): (i64, u64), range: (usize, usize)) {
        if let Some(best) = &mut self.ranked {
            best.offer((ts, pos), range);
        } else if ts < self.last_ts {
            let mut best = Best::new(self.n);
            for (ts, pos, range) in self.ring.drain(..) {
                best.offer((ts, pos), range);
            }
            best.offer((ts, pos), range);
            self.ranked = Some(best);
        } else if self.n > 0 {
            self.last_ts = ts;
            if self.ring.len() == self.n {
                self.ring.pop_front();
            }
            self.ring.push_back((ts, pos, range));
        }
    }

    fn ranges(self) -> Vec<(usize, usize)> {
        match self.ranked {
            Some(best) => best.ranges().collect(),
            None => self.ring.into_iter().map(|e| e.2).collect(),
        }
    }
}

/// The lines that may enter the sample lists (slowest, most recent, recent failures), by
/// byte range in the block.
struct Candidates {
    slow: Best<(Option<u64>, i64, u64)>,
    recent: Newest,
    errors: Newest,
}

impl Candidates {
    fn new(n: usize) -> Self {
        Candidates {
            slow: Best::new(n),
            recent: Newest::new(n),
            errors: Newest::new(n),
        }
    }

    fn offer(&mut self, k: SampleKeys, range: (usize, usize)) {
        self.slow.offer(k.slow, range);
        self.recent.offer(k.recent, range);
        if k.error {
            self.errors.offer(k.recent, range);
        }
    }

    /// Byte ranges of the candidate lines, in block order, each once.
    fn ranges(self) -> Vec<(usize, usize)> {
        let mut out: Vec<_> = self
            .slow
            .ranges()
            .chain(self.recent.ranges())
            .chain(self.errors.ranges())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Parses every line of `block` (newline-separated; the last line may lack its newline) and
/// counts it into `agg` under `source`. Returns the line counts of the block.
///
/// Only the lines that can enter the sample lists are copied into samples, which keeps
/// per-line work to counting.
pub fn ingest_block(
    agg: &mut Aggregate,
    source: &str,
    parser: &mut Parser,
    block: &[u8],
    pos: BlockPos,
) -> LineStats {
    ingest_block_with(agg, source, parser, block, pos, |_, _, _| {})
}

/// [`ingest_block`], also handing every parsed request to `each` with the byte offset of its
/// line in the input (the live path keeps a compact copy for filtered views, and the row a
/// shared store is sent).
pub fn ingest_block_with(
    agg: &mut Aggregate,
    source: &str,
    parser: &mut Parser,
    block: &[u8],
    pos: BlockPos,
    each: impl FnMut(&crate::request::Request<'_>, crate::aggregate::Counted<'_>, u64),
) -> LineStats {
    let first_line = || pos.first_line;
    ingest_block_at(agg, source, parser, block, pos.offset, first_line, each)
}

/// [`ingest_block_with`] for a block at byte `offset` whose line numbers are not known yet:
/// `first_line` gives the number of its first line, and is called only when a line is
/// rejected (at most once), since only rejected lines are reported by number.
pub fn ingest_block_at(
    agg: &mut Aggregate,
    source: &str,
    parser: &mut Parser,
    block: &[u8],
    offset: u64,
    first_line: impl FnOnce() -> u64,
    mut each: impl FnMut(&crate::request::Request<'_>, crate::aggregate::Counted<'_>, u64),
) -> LineStats {
    let first_line = std::cell::LazyCell::new(first_line);
    let mut stats = LineStats::default();
    let mut candidates = Candidates::new(agg.limits().samples);
    // A block that is text as a whole (the usual case) is checked once, not field by field.
    let block_text = simdutf8::basic::from_utf8(block).ok();
    let line_at = |start: usize, end: usize| {
        block_text
            .and_then(|t| t.get(start..end))
            .map_or_else(|| Line::from(&block[start..end]), Line::from_text)
    };
    let not_after = agg.not_after_ms();
    // Lines that name no server are counted under the input's host.
    let host = agg.host_label();
    let redact = agg.redaction();
    let anonymize = agg.anonymizes();
    let mut start = 0usize;
    // Two requests, filled in place in turn: a line is counted once the next one is parsed,
    // so that meanwhile its client's table entry is fetched into the cache.
    let mut reqs = [Request::default(), Request::default()];
    let mut pending: Option<(usize, usize, usize)> = None;
    let mut finish = |agg: &mut Aggregate, req: &Request<'_>, start: usize, end: usize| {
        let counted = agg.count(req);
        each(req, counted, offset + start as u64);
        candidates.offer(SampleKeys::of(req, offset + start as u64), (start, end));
    };
    let ends = memchr::memchr_iter(b'\n', block).chain(std::iter::once(block.len()));
    for (index, end) in (0u64..).zip(ends) {
        if start >= block.len() && end == block.len() {
            break;
        }
        let raw = &block[start..end];
        stats.read += 1;
        let slot = pending.map_or(0, |p| 1 - p.0);
        match parser.parse_into(line_at(start, end), &mut reqs[slot]) {
            Ok(true) if reqs[slot].ts_ms > not_after => {
                stats.rejected += 1;
                stats.future += 1;
                let line_no = *first_line + index;
                agg.reject_sample(source, line_no, raw, FUTURE_TIMESTAMP);
            }
            Ok(true) if !agg.keeps(&mut reqs[slot]) => stats.excluded += 1,
            Ok(true) => {
                stats.parsed += 1;
                if reqs[slot].host.is_empty() {
                    reqs[slot].host = std::borrow::Cow::Borrowed(&host);
                }
                if let Some(key) = redact {
                    crate::redact::request(&mut reqs[slot], &key);
                }
                agg.clients.prefetch(&reqs[slot].client);
                if let Some((s, from, to)) = pending.replace((slot, start, end)) {
                    finish(agg, &reqs[s], from, to);
                }
            }
            Ok(false) => stats.skipped += 1,
            Err(e) => {
                stats.rejected += 1;
                let line_no = *first_line + index;
                tracing::debug!(source, line = line_no, error = %e, "rejected line");
                agg.reject_sample(source, line_no, raw, &e.to_string());
            }
        }
        start = end + 1;
    }
    if let Some((s, from, to)) = pending {
        finish(agg, &reqs[s], from, to);
    }
    for (start, end) in candidates.ranges() {
        let raw = &block[start..end];
        if let Ok(Some(mut req)) = parser.parse(line_at(start, end)) {
            if req.host.is_empty() {
                req.host = std::borrow::Cow::Borrowed(&host);
            }
            // Only counted requests are candidates: this one is kept, and its client is
            // anonymized again when the run anonymizes.
            agg.keeps(&mut req);
            // The line shown is the log line itself, or with --redact (or anonymized
            // addresses) a line made of its fields.
            let shown = match redact {
                Some(key) => {
                    crate::redact::request(&mut req, &key);
                    std::borrow::Cow::Owned(crate::redact::line(&req).into_bytes())
                }
                None if anonymize => {
                    std::borrow::Cow::Owned(crate::redact::line(&req).into_bytes())
                }
                None => crate::format::envelope::inner_line(raw),
            };
            agg.sample(&req, &shown, offset + start as u64);
        }
    }
    agg.record_lines(source, Some(parser.kind()), stats);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{FormatOptions, detect};

    #[test]
    fn counts_every_kind_of_line() {
        let block = b"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1\n\ngarbage\n\xff\xfe\x00\n1.1.1.1 - - [10/Oct/2000:13:55:37 +0000] \"GET /x HTTP/1.1\" 404 1";
        let mut parser = detect(&[&block[..63]], &FormatOptions::default()).unwrap();
        let mut agg = Aggregate::default();
        let s = ingest_block(
            &mut agg,
            "f",
            &mut parser,
            block,
            BlockPos {
                first_line: 1,
                offset: 0,
            },
        );
        assert_eq!(
            s,
            LineStats {
                read: 5,
                parsed: 2,
                rejected: 2,
                skipped: 1,
                future: 0,
                excluded: 0,
            }
        );
        let src = &agg.sources()["f"];
        let rejected: Vec<u64> = src.rejected_samples().iter().map(|r| r.line).collect();
        assert_eq!(rejected, vec![3, 4]);
        assert_eq!(agg.totals.requests, 2);
    }

    #[test]
    fn newest_lines_are_ranked_like_best() {
        // In order, with equal times, and with steps back at different points.
        let series: Vec<Vec<i64>> = vec![
            (0..100).collect(),
            (0..100).map(|i| i / 7).collect(),
            (0..100).map(|i| if i == 60 { 5 } else { i }).collect(),
            (0..100).map(|i| (i * 37) % 101).collect(),
            (0..100).map(|i| 100 - i).collect(),
            vec![3, 3, 3],
            vec![],
        ];
        for times in series {
            for n in [0, 1, 5, 20] {
                let (mut newest, mut best) = (Newest::new(n), Best::new(n));
                for (i, &t) in times.iter().enumerate() {
                    newest.offer((t, i as u64), (i, i + 1));
                    best.offer((t, i as u64), (i, i + 1));
                }
                let mut a = newest.ranges();
                let mut b: Vec<_> = best.ranges().collect();
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b, "{n} of {times:?}");
            }
        }
    }

    #[test]
    fn empty_block_and_trailing_newline() {
        let mut parser = detect(&[], &FormatOptions::default()).unwrap();
        let mut agg = Aggregate::default();
        let s = ingest_block(&mut agg, "f", &mut parser, b"", BlockPos::default());
        assert_eq!(s.read, 0);
        let s = ingest_block(&mut agg, "f", &mut parser, b"x\n", BlockPos::default());
        assert_eq!(s.read, 1);
    }
}
