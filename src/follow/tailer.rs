//! One followed path.

use super::checkpoint::{FileId, FilePos, HEAD_LEN, HeadHash, head_hash};
use crate::input::{MAX_LINE, read_full_at};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most bytes read from one file in one poll.
pub const MAX_CHUNK: usize = 4 << 20;
/// How long a rotated or deleted file is still read after it stopped growing, for writers
/// that keep writing to it until they reopen.
pub const ROTATE_GRACE: Duration = Duration::from_secs(2);

/// Whole lines read from one file.
#[derive(Debug)]
pub struct Chunk {
    /// The followed path.
    pub path: Arc<str>,
    /// The lines (each ends with a newline).
    pub data: Vec<u8>,
    /// Byte offset of `data` in the file.
    pub start: u64,
    /// 1-based number of the first line.
    pub first_line: u64,
    /// Position after these lines, to checkpoint once they are counted.
    pub pos: FilePos,
    /// True when this file is done (rotated away or deleted, and drained).
    pub finished: bool,
    /// Numbers of the lines skipped before `data` for being longer than
    /// [`crate::input::MAX_LINE`].
    pub overlong: Vec<u64>,
}

#[derive(Debug)]
struct Open {
    file: File,
    id: FileId,
    offset: u64,
    lines: u64,
    partial: Vec<u8>,
    head: u64,
    head_len: u32,
    idle_since: Option<Instant>,
    /// While a line longer than the cap is being skipped: where it started.
    skipping: Option<u64>,
    /// Over-long lines skipped since the last chunk.
    overlong: Vec<u64>,
}

impl Open {
    fn new(file: File, id: FileId) -> io::Result<Self> {
        let mut o = Open {
            file,
            id,
            offset: 0,
            lines: 0,
            partial: Vec::new(),
            head: 0,
            head_len: 0,
            idle_since: None,
            skipping: None,
            overlong: Vec::new(),
        };
        o.refresh_head()?;
        Ok(o)
    }

    /// Re-reads the fingerprint; false when the bytes it covered have changed.
    fn refresh_head(&mut self) -> io::Result<bool> {
        let mut buf = [0u8; HEAD_LEN];
        let n = read_full_at(&self.file, &mut buf, 0)?;
        let old_len = self.head_len as usize;
        let same = n >= old_len && head_hash(&buf[..old_len]) == self.head;
        if same || old_len == 0 {
            self.head = head_hash(&buf[..n]);
            self.head_len = n as u32;
        }
        Ok(same || old_len == 0)
    }

    fn pos(&self) -> FilePos {
        let consumed = self
            .skipping
            .unwrap_or(self.offset - self.partial.len() as u64);
        FilePos {
            id: self.id,
            offset: consumed,
            lines: self.lines,
            head: self.head,
            head_len: self.head_len,
            hash: HeadHash::Xxh3,
        }
    }

    /// Reads what was appended; returns a chunk of whole lines, if any, and whether the end
    /// of the file was reached. A line longer than [`MAX_LINE`] is skipped to its newline
    /// without being held in memory, and reported in the next chunk.
    fn read(&mut self, path: &Arc<str>) -> io::Result<(Option<Chunk>, bool)> {
        let avail = self.file.metadata()?.len().saturating_sub(self.offset);
        let want = avail.min(MAX_CHUNK as u64) as usize;
        if want == 0 {
            return Ok((None, true));
        }
        if self.skipping.is_some() {
            return self.skip(path, want, avail);
        }
        let mut buf = std::mem::take(&mut self.partial);
        let start = self.offset - buf.len() as u64;
        let had = buf.len();
        buf.resize(had + want, 0);
        let n = read_full_at(&self.file, &mut buf[had..], self.offset)?;
        buf.truncate(had + n);
        self.offset += n as u64;
        let at_eof = (n as u64) == avail || n < want;
        let Some(nl) = memchr::memrchr(b'\n', &buf) else {
            if buf.len() > MAX_LINE {
                self.skipping = Some(start);
            } else {
                self.partial = buf;
            }
            return Ok((None, at_eof));
        };
        self.partial = buf.split_off(nl + 1);
        let partial_start = start + nl as u64 + 1;
        // Only the first line can be longer than the cap: it began in the last read.
        let first_end = memchr::memchr(b'\n', &buf).unwrap_or(nl);
        let (buf, start) = if first_end > MAX_LINE {
            self.lines += 1;
            self.overlong.push(self.lines);
            (buf[first_end + 1..].to_vec(), start + first_end as u64 + 1)
        } else {
            (buf, start)
        };
        if self.partial.len() > MAX_LINE {
            self.skipping = Some(partial_start);
            self.partial = Vec::new();
        }
        Ok((Some(self.chunk(path, buf, start, false)), at_eof))
    }

    /// Reads on through an over-long line, keeping none of it; at its newline, counts it and
    /// returns an empty chunk that reports it.
    fn skip(
        &mut self,
        path: &Arc<str>,
        want: usize,
        avail: u64,
    ) -> io::Result<(Option<Chunk>, bool)> {
        let mut buf = vec![0u8; want.min(1 << 20)];
        let n = read_full_at(&self.file, &mut buf, self.offset)?;
        let Some(i) = memchr::memchr(b'\n', &buf[..n]) else {
            self.offset += n as u64;
            return Ok((None, n == 0 || n as u64 >= avail));
        };
        self.offset += i as u64 + 1;
        self.end_skip();
        let start = self.offset;
        Ok((Some(self.chunk(path, Vec::new(), start, false)), false))
    }

    /// The over-long line being skipped has ended: it is counted and reported.
    fn end_skip(&mut self) {
        if self.skipping.take().is_some() {
            self.lines += 1;
            self.overlong.push(self.lines);
        }
    }

    fn chunk(&mut self, path: &Arc<str>, data: Vec<u8>, start: u64, finished: bool) -> Chunk {
        let first_line = self.lines + 1;
        self.lines += memchr::memchr_iter(b'\n', &data).count() as u64;
        Chunk {
            path: path.clone(),
            data,
            start,
            first_line,
            pos: self.pos(),
            finished,
            overlong: std::mem::take(&mut self.overlong),
        }
    }

    /// Emits the unterminated last line (the file will not grow any more) and marks it done.
    fn finish(mut self, path: &Arc<str>) -> Chunk {
        self.end_skip();
        let mut data = std::mem::take(&mut self.partial);
        let start = self.offset - data.len() as u64;
        if !data.is_empty() {
            data.push(b'\n');
        }
        let mut c = self.chunk(path, data, start, true);
        c.pos.offset = self.offset;
        c
    }
}

/// Follows one path across rotations.
#[derive(Debug)]
pub struct Tailer {
    path: PathBuf,
    name: Arc<str>,
    current: Option<Open>,
    retired: Vec<Open>,
    resume: Vec<FilePos>,
    from_end: bool,
    started: bool,
    first_id: Option<FileId>,
}

impl Tailer {
    /// Follows `path`. `resume` holds saved positions (from a checkpoint); without one for the
    /// file found there, reading starts at its beginning, or its end with `from_end`.
    pub fn new(path: impl Into<PathBuf>, resume: Vec<FilePos>, from_end: bool) -> Self {
        let path = path.into();
        let name: Arc<str> = path.to_string_lossy().into();
        // A file found at startup is read from its end only with `--from-end`, and only when
        // no checkpoint names the path.
        let from_end = from_end && resume.is_empty();
        Tailer {
            path,
            name,
            current: None,
            retired: Vec::new(),
            resume,
            from_end,
            started: false,
            first_id: None,
        }
    }

    /// Notes the identity of the file at the path when it was found, before it is opened.
    pub fn with_first_id(mut self, id: Option<FileId>) -> Self {
        self.first_id = id;
        self
    }

    /// Every file this tailer holds: the current one, those rotated away and still being
    /// finished, and the one found at the path at first.
    pub fn ids(&self) -> Vec<FileId> {
        self.current
            .iter()
            .chain(&self.retired)
            .map(|o| o.id)
            .chain(self.first_id)
            .collect()
    }

    /// The followed path as reported.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// Bytes consumed of the current file, and its length now (`None` before it is opened).
    pub fn progress(&self) -> Option<(u64, u64)> {
        let cur = self.current.as_ref()?;
        let len = cur.file.metadata().ok()?.len();
        Some((cur.offset.min(len), len))
    }

    /// Reads everything new; appends whole-line chunks to `out`.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<Chunk>) -> io::Result<()> {
        if !self.started {
            self.reopen_rotated_from_checkpoint()?;
        }
        self.poll_retired(now, out)?;
        loop {
            let opened = self.current.is_some() || self.open_current()?;
            self.started = true;
            if !opened {
                return Ok(());
            }
            self.check_rewritten(out)?;
            let cur = self.current.as_mut().expect("opened above");
            let (chunk, at_eof) = cur.read(&self.name)?;
            let got = chunk.is_some();
            out.extend(chunk);
            if !at_eof {
                // One chunk per call: a backlog reaches the analysis chunk by chunk (the
                // caller polls again at once after a full chunk), not in one piece at its end.
                if got {
                    return Ok(());
                }
                continue;
            }
            match self.check_path(now)? {
                PathState::Same => return Ok(()),
                PathState::Replaced => continue,
            }
        }
    }

    /// After a restart, rotated files from the checkpoint are found by identity next to the
    /// path (e.g. `access.log.1`) and finished.
    fn reopen_rotated_from_checkpoint(&mut self) -> io::Result<()> {
        let current_id = std::fs::metadata(&self.path).ok().map(|m| FileId::of(&m));
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        for pos in self.resume.clone() {
            if Some(pos.id) == current_id {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(meta) = e.metadata() else { continue };
                if meta.is_file() && FileId::of(&meta) == pos.id {
                    if let Ok(mut open) = Open::new(File::open(e.path())?, pos.id)
                        && resume_at(&mut open, &pos)?
                    {
                        tracing::info!(path = %self.name, rotated = %e.path().display(), offset = pos.offset, "finishing rotated file");
                        open.idle_since = Some(Instant::now());
                        self.retired.push(open);
                    }
                    break;
                }
            }
        }
        Ok(())
    }

    fn open_current(&mut self) -> io::Result<bool> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        let id = FileId::of(&meta);
        let mut open = Open::new(file, id)?;
        let saved = self.resume.iter().find(|p| p.id == id).copied();
        if let Some(pos) = saved {
            if !resume_at(&mut open, &pos)? {
                tracing::warn!(path = %self.name, "file changed since the checkpoint; reading it from the start");
            }
        } else if self.from_end && !self.started {
            open.offset = meta.len();
            open.lines = count_lines(&open.file, meta.len())?;
        }
        tracing::info!(path = %self.name, offset = open.offset, "following");
        self.resume.clear();
        self.current = Some(open);
        Ok(true)
    }

    fn poll_retired(&mut self, now: Instant, out: &mut Vec<Chunk>) -> io::Result<()> {
        let mut keep = Vec::new();
        for mut r in std::mem::take(&mut self.retired) {
            let before = r.offset;
            loop {
                let (chunk, at_eof) = r.read(&self.name)?;
                out.extend(chunk);
                if at_eof {
                    break;
                }
            }
            if r.offset > before {
                r.idle_since = Some(now);
            }
            if r.idle_since
                .is_some_and(|t| now.duration_since(t) >= ROTATE_GRACE)
            {
                out.push(r.finish(&self.name));
            } else {
                keep.push(r);
            }
        }
        self.retired = keep;
        Ok(())
    }

    /// Before reading: was the current file truncated (copytruncate) or rewritten in place?
    /// Then it is read again from its start; an unterminated last line is emitted as it is.
    fn check_rewritten(&mut self, out: &mut Vec<Chunk>) -> io::Result<()> {
        let cur = self.current.as_mut().expect("called with a current file");
        let size = cur.file.metadata()?.len();
        if size < cur.offset || !cur.refresh_head()? {
            tracing::info!(path = %self.name, size, offset = cur.offset, "file truncated; reading from the start");
            let mut partial = std::mem::take(&mut cur.partial);
            *cur = Open::new(cur.file.try_clone()?, cur.id)?;
            if !partial.is_empty() {
                partial.push(b'\n');
                let mut c = cur.chunk(&self.name, partial, 0, false);
                cur.lines = 0;
                c.pos = cur.pos();
                out.push(c);
            }
        }
        Ok(())
    }

    /// At the end of the current file: has the path moved on to another file?
    fn check_path(&mut self, now: Instant) -> io::Result<PathState> {
        let cur = self.current.as_mut().expect("called with a current file");
        match std::fs::metadata(&self.path) {
            Ok(meta) if FileId::of(&meta) == cur.id => Ok(PathState::Same),
            Ok(_) => {
                if still_linked(&cur.file) {
                    tracing::info!(path = %self.name, "file rotated (renamed, a new file in its place); finishing the old one");
                } else {
                    tracing::info!(path = %self.name, "file deleted and created again; finishing the old one");
                }
                let mut old = self.current.take().expect("checked above");
                old.idle_since = Some(now);
                self.retired.push(old);
                Ok(PathState::Replaced)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if still_linked(&cur.file) {
                    tracing::info!(path = %self.name, "file renamed away; finishing it and waiting for a new one");
                } else {
                    tracing::info!(path = %self.name, "file deleted; finishing it and waiting for a new one");
                }
                let mut old = self.current.take().expect("checked above");
                old.idle_since = Some(now);
                self.retired.push(old);
                Ok(PathState::Same)
            }
            Err(e) => Err(e),
        }
    }
}

/// True while the open file still has a name somewhere (renamed, not deleted).
fn still_linked(file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    file.metadata().is_ok_and(|m| m.nlink() > 0)
}

enum PathState {
    Same,
    Replaced,
}

/// Moves `open` to a saved position if the file is still the one the checkpoint saw.
fn resume_at(open: &mut Open, pos: &FilePos) -> io::Result<bool> {
    let len = open.file.metadata()?.len();
    let mut buf = vec![0u8; pos.head_len as usize];
    let n = read_full_at(&open.file, &mut buf, 0)?;
    if len < pos.offset || n < buf.len() || !pos.head_matches(&buf) {
        return Ok(false);
    }
    open.offset = pos.offset;
    open.lines = pos.lines;
    Ok(true)
}

fn count_lines(file: &File, upto: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let (mut off, mut lines) = (0u64, 0u64);
    while off < upto {
        let want = ((upto - off) as usize).min(buf.len());
        let n = read_full_at(file, &mut buf[..want], off)?;
        if n == 0 {
            break;
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        off += n as u64;
    }
    Ok(lines)
}
