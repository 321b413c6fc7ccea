//! The disk queue in front of ClickHouse: rows are appended to numbered segment files as
//! they are read, synced before the read positions that include them are saved, and sent in
//! order; a segment is deleted once the server has all of its rows.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// A segment is sealed (handed to the sender) at this size or age.
const SEGMENT_BYTES: u64 = 16 << 20;
const SEGMENT_AGE: Duration = Duration::from_millis(500);

/// The segments on disk.
pub struct Queue {
    dir: PathBuf,
    /// The first segment of this run.
    first_new: u64,
    state: Mutex<State>,
    sealed_cv: Condvar,
}

struct State {
    /// The segment being written: its number, file, length and when it was opened.
    open: Option<(u64, File, u64, Instant)>,
    /// Sealed segments, oldest first, with their lengths.
    sealed: VecDeque<(u64, u64)>,
    next: u64,
    /// Bytes in every segment.
    bytes: u64,
}

impl Queue {
    /// Opens the queue in `dir` (created when missing); segments left by an earlier run are
    /// sealed and sent first.
    pub fn open(dir: &Path) -> std::io::Result<Queue> {
        std::fs::create_dir_all(dir)?;
        let mut found: Vec<(u64, u64)> = Vec::new();
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let name = e.file_name();
            let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".rows"))
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            found.push((seq, e.metadata()?.len()));
        }
        found.sort_unstable();
        let next = found.last().map_or(1, |(s, _)| s + 1);
        let bytes = found.iter().map(|(_, l)| l).sum();
        Ok(Queue {
            dir: dir.to_owned(),
            first_new: next,
            state: Mutex::new(State {
                open: None,
                sealed: found.into(),
                next,
                bytes,
            }),
            sealed_cv: Condvar::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The file of segment `seq`.
    pub fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:016}.rows"))
    }

    /// Appends framed rows (not yet synced).
    pub fn append(&self, rows: &[u8]) -> std::io::Result<()> {
        let mut st = self.lock();
        if st.open.is_none() {
            let seq = st.next;
            st.next += 1;
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(self.path(seq))?;
            crate::fsutil::sync_dir(&self.dir)?;
            st.open = Some((seq, file, 0, Instant::now()));
        }
        let (_, file, len, _) = st.open.as_mut().expect("opened above");
        file.write_all(rows)?;
        *len += rows.len() as u64;
        st.bytes += rows.len() as u64;
        Ok(())
    }

    /// Makes everything appended so far survive a crash; seals the open segment when it is
    /// big or old enough (or `seal`).
    pub fn sync(&self, seal: bool) -> std::io::Result<()> {
        let mut st = self.lock();
        let Some((seq, file, len, opened)) = st.open.as_ref() else {
            return Ok(());
        };
        file.sync_data()?;
        if seal || *len >= SEGMENT_BYTES || opened.elapsed() >= SEGMENT_AGE {
            let (seq, len) = (*seq, *len);
            st.open = None;
            st.sealed.push_back((seq, len));
            self.sealed_cv.notify_all();
        }
        Ok(())
    }

    /// The `n` oldest sealed segments, waiting up to `wait` for one.
    pub fn oldest(&self, n: usize, wait: Duration) -> Vec<u64> {
        let st = self.lock();
        let (st, _) = self
            .sealed_cv
            .wait_timeout_while(st, wait, |s| s.sealed.is_empty())
            .unwrap_or_else(|e| e.into_inner());
        st.sealed.iter().take(n).map(|(seq, _)| *seq).collect()
    }

    /// Whether segment `seq` was left by an earlier run.
    pub fn is_leftover(&self, seq: u64) -> bool {
        seq < self.first_new
    }

    /// Deletes segment `seq` (sent, or moved aside).
    pub fn remove(&self, seq: u64) -> std::io::Result<()> {
        std::fs::remove_file(self.path(seq))?;
        let mut st = self.lock();
        if let Some(i) = st.sealed.iter().position(|(s, _)| *s == seq) {
            let (_, len) = st.sealed.remove(i).expect("found");
            st.bytes -= len;
        }
        Ok(())
    }

    /// Bytes waiting on disk.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// Segments waiting (sealed or open).
    pub fn segments(&self) -> usize {
        let st = self.lock();
        st.sealed.len() + usize::from(st.open.is_some())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
