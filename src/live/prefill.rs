//! After a restart, the window of recent requests that the dashboard's filters count is
//! filled again from the end of what was read before the stop: those lines are parsed once
//! more into compact records, and counted nowhere else (the restored aggregate, the
//! detection state and the stored history hold them already).

use super::sources::SourceConfig;
use crate::aggregate::recent::RecordBatch;
use crate::follow::FilePos;
use crate::ingest::{BlockPos, ingest_block_with};
use std::path::Path;

/// At most this much of a file, before its read position, is read again.
pub const PREFILL_BYTES: u64 = 48 << 20;

/// The requests in the last [`PREFILL_BYTES`] before `pos` in the file at `path`, when it is
/// still the file `pos` was taken in; `None` when there is nothing to read or it cannot be.
pub fn recent_records(path: &Path, pos: &FilePos, cfg: &SourceConfig) -> Option<RecordBatch> {
    if pos.offset == 0 {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if crate::follow::FileId::of(&meta) != pos.id || meta.len() < pos.offset {
        return None;
    }
    let start = pos.offset.saturating_sub(PREFILL_BYTES);
    let mut buf = vec![0u8; (pos.offset - start) as usize];
    let n = crate::input::read_full_at(&file, &mut buf, start).ok()?;
    buf.truncate(n);
    // From the first whole line on (the position itself is always at a line's end).
    let from = if start == 0 {
        0
    } else {
        memchr::memchr(b'\n', &buf).map_or(buf.len(), |i| i + 1)
    };
    let data = &buf[from..];
    let mut parser =
        crate::format::detect::detect_in(data, &cfg.format_for(&path.to_string_lossy())).ok()?;
    let mut scratch = cfg.aggregate();
    let mut records = cfg.records();
    let name = path.to_string_lossy();
    let at = BlockPos {
        first_line: 0,
        offset: start + from as u64,
    };
    ingest_block_with(&mut scratch, &name, &mut parser, data, at, |r, c, _| {
        records.push_counted(r, c)
    });
    tracing::debug!(target: "runner", path = %path.display(), requests = records.len(), "recent requests read again for the dashboard's filters");
    Some(records)
}
