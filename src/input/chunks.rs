//! A regular file cut into chunks of whole lines that parser threads take on their own.

use super::{MAX_LINE, read_full_at};
use std::fs::File;
use std::io;
use std::ops::Range;
use std::sync::OnceLock;

/// How far past its byte range a chunk first looks for the end of its last line.
const TAIL: u64 = 4096;

/// The lines that start in one chunk of a [`FileChunks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkLines {
    /// Byte offset in the file of the first line.
    pub offset: u64,
    /// Where the lines are in [`ChunkBuf::bytes`].
    pub range: Range<usize>,
    /// Newlines between the chunk's start and its first line: 0 when the chunk starts with a
    /// line, 1 when it starts inside one.
    pub skipped_newlines: u64,
    /// Byte offset of a line that was left out for being longer than [`MAX_LINE`].
    pub overlong_at: Option<u64>,
}

/// Holds the bytes of one chunk at a time: mapped from the file (no copy), or read into
/// memory. A thread keeps one and reuses it from chunk to chunk.
pub struct ChunkBuf {
    map_file: bool,
    map: Option<memmap2::Mmap>,
    vec: Vec<u8>,
    /// File offset of the first byte held.
    from: u64,
    /// Bytes held.
    held: usize,
}

impl ChunkBuf {
    /// A buffer that positioned reads fill.
    pub fn read() -> Self {
        ChunkBuf {
            map_file: false,
            map: None,
            vec: Vec::new(),
            from: u64::MAX,
            held: 0,
        }
    }

    /// A buffer that maps the file; it falls back to reads where a file cannot be mapped.
    ///
    /// A mapped file that another process truncates while it is being read ends the program
    /// (`SIGBUS`); each chunk is mapped only up to the file's length at that moment, which
    /// leaves a window of a few milliseconds.
    pub fn mapped() -> Self {
        ChunkBuf {
            map_file: true,
            ..ChunkBuf::read()
        }
    }

    /// The bytes held.
    pub fn bytes(&self) -> &[u8] {
        match &self.map {
            Some(m) => &m[..self.held],
            None => &self.vec[..self.held],
        }
    }

    /// Holds bytes `from..to` of `file`, fewer when the file ends sooner; returns how many.
    /// Read bytes already held from `from` on are kept, not read again.
    fn load(&mut self, file: &File, from: u64, to: u64) -> io::Result<usize> {
        if self.map_file {
            // Never map past the end of the file as it is now: touching such a page would
            // kill the process.
            let to = to.min(file.metadata()?.len());
            let len = to.saturating_sub(from) as usize;
            self.from = from;
            self.held = 0;
            self.map = None;
            if len == 0 {
                return Ok(0);
            }
            // SAFETY: the map is only read, and only within the file's current length.
            // A file truncated by another process while mapped raises SIGBUS (see `mapped`).
            let map = unsafe {
                memmap2::MmapOptions::new()
                    .offset(from)
                    .len(len)
                    .populate()
                    .map(file)
            };
            match map {
                Ok(m) => {
                    self.map = Some(m);
                    self.held = len;
                    return Ok(len);
                }
                Err(_) => self.map_file = false,
            }
        }
        let keep = if self.from == from { self.held } else { 0 };
        let len = (to.saturating_sub(from) as usize).max(keep);
        // The buffer keeps its length between chunks, so its memory is not cleared each time.
        if self.vec.len() < len {
            self.vec.resize(len, 0);
        }
        let n = read_full_at(file, &mut self.vec[keep..len], from + keep as u64)?;
        self.from = from;
        self.held = keep + n;
        Ok(self.held)
    }
}

/// A regular file cut into chunks of whole lines that each parser thread reads on its own,
/// so no thread reads for the others and no chunk waits for another.
///
/// Chunk `k` covers bytes `k * size .. (k + 1) * size`, and holds the lines that start there;
/// its last line runs on past the end of the range to its newline.
pub struct FileChunks<'a> {
    file: &'a File,
    len: u64,
    size: u64,
    /// Newlines in each chunk's byte range, counted when a line number is asked for.
    newlines: Vec<OnceLock<u64>>,
}

impl<'a> FileChunks<'a> {
    /// Chunks of `size` bytes (1 KiB to [`MAX_LINE`]) of the first `len` bytes of `file`.
    pub fn new(file: &'a File, len: u64, size: usize) -> Self {
        let size = size.clamp(1024, MAX_LINE) as u64;
        let count = len.div_ceil(size) as usize;
        FileChunks {
            file,
            len,
            size,
            newlines: (0..count).map(|_| OnceLock::new()).collect(),
        }
    }

    /// How many chunks there are.
    pub fn count(&self) -> usize {
        self.newlines.len()
    }

    fn range(&self, k: usize) -> (u64, u64) {
        let start = k as u64 * self.size;
        (start, (start + self.size).min(self.len))
    }

    /// Loads chunk `k` into `buf` and tells where its lines are.
    ///
    /// A line longer than [`MAX_LINE`] is left out and reported. A file that shrinks while
    /// it is read ends where it ends.
    pub fn read(&self, k: usize, buf: &mut ChunkBuf) -> io::Result<ChunkLines> {
        let (start, end) = self.range(k);
        // One byte before the range tells whether the range starts with a line.
        let from = start.saturating_sub(1);
        let mut to = (end + TAIL).min(self.len);
        let mut held = buf.load(self.file, from, to)?;
        let in_range = ((end - from) as usize).min(held);
        let first = if k == 0 {
            0
        } else {
            match memchr::memchr(b'\n', &buf.bytes()[..in_range]) {
                Some(i) if from + (i as u64) + 1 < end => i + 1,
                // No line starts in this chunk.
                _ => {
                    return Ok(ChunkLines {
                        offset: end,
                        range: 0..0,
                        skipped_newlines: 0,
                        overlong_at: None,
                    });
                }
            }
        };
        let offset = from + first as u64;
        let mut lines = ChunkLines {
            offset,
            range: first..in_range,
            skipped_newlines: u64::from(offset > start),
            overlong_at: None,
        };
        if in_range < (end - from) as usize {
            // The file was cut short.
            return Ok(lines);
        }
        // The last line starts in the range and ends at the first newline from the range's
        // last byte on.
        let tail = in_range - 1;
        let bytes = buf.bytes();
        let last = memchr::memrchr(b'\n', &bytes[first..tail]).map_or(first, |i| first + i + 1);
        let line_end = loop {
            let bytes = buf.bytes();
            if let Some(i) = memchr::memchr(b'\n', &bytes[tail..]) {
                break tail + i;
            }
            if held < (to - from) as usize || to >= self.len || held - last > MAX_LINE {
                break held;
            }
            to = (from + 2 * (to - from)).min(self.len);
            held = buf.load(self.file, from, to)?;
        };
        if line_end - last > MAX_LINE {
            lines.range.end = last;
            lines.overlong_at = Some(from + last as u64);
        } else {
            lines.range.end = (line_end + 1).min(held);
        }
        Ok(lines)
    }

    /// The 1-based number of the first line of chunk `k`, loaded as `lines`: counts the
    /// newlines of the chunks before it (each counted once, whichever thread asks first).
    pub fn first_line(&self, k: usize, lines: &ChunkLines) -> io::Result<u64> {
        let mut n = 1 + lines.skipped_newlines;
        let mut buf = ChunkBuf::read();
        for (j, count) in self.newlines[..k].iter().enumerate() {
            n += match count.get() {
                Some(&c) => c,
                None => {
                    let (start, end) = self.range(j);
                    buf.load(self.file, start, end)?;
                    let c = memchr::memchr_iter(b'\n', buf.bytes()).count() as u64;
                    *count.get_or_init(|| c)
                }
            };
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(data: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, data).unwrap();
        let file = File::open(&path).unwrap();
        (dir, file)
    }

    fn both() -> [ChunkBuf; 2] {
        [ChunkBuf::read(), ChunkBuf::mapped()]
    }

    #[test]
    fn chunks_hold_each_line_once_with_its_number() {
        let mut data = Vec::new();
        for i in 0..3000 {
            data.extend_from_slice(format!("{i} {}\n", "x".repeat(i % 700)).as_bytes());
        }
        data.extend_from_slice(b"last");
        let (_dir, file) = write(&data);
        for size in [1024, 1025, 4096, 100_000] {
            for mut buf in both() {
                let chunks = FileChunks::new(&file, data.len() as u64, size);
                let mut joined = Vec::new();
                // Asked from the last chunk back, so line numbers are counted before being read.
                let mut read: Vec<_> = (0..chunks.count())
                    .rev()
                    .map(|k| {
                        let lines = chunks.read(k, &mut buf).unwrap();
                        let first_line = chunks.first_line(k, &lines).unwrap();
                        let bytes = buf.bytes()[lines.range.clone()].to_vec();
                        (k, bytes, lines, first_line)
                    })
                    .collect();
                read.reverse();
                for (k, bytes, lines, first_line) in read {
                    assert_eq!(lines.overlong_at, None);
                    assert_eq!(&data[lines.offset as usize..][..bytes.len()], &bytes[..]);
                    if !bytes.is_empty() {
                        let word = bytes.split(|&b| b == b' ').next().unwrap();
                        let number: u64 = String::from_utf8_lossy(word).parse().unwrap_or(3000);
                        assert_eq!(first_line, number + 1, "chunk {k} of {size}");
                    }
                    joined.extend_from_slice(&bytes);
                }
                assert_eq!(joined, data, "chunks of {size}");
            }
        }
    }

    #[test]
    fn a_file_shorter_than_its_length_ends_where_it_ends() {
        let data = b"one\ntwo\nthree".repeat(200);
        let (_dir, file) = write(&data);
        for mut buf in both() {
            let chunks = FileChunks::new(&file, data.len() as u64 + 5000, 1024);
            let mut joined = Vec::new();
            for k in 0..chunks.count() {
                let lines = chunks.read(k, &mut buf).unwrap();
                joined.extend_from_slice(&buf.bytes()[lines.range]);
            }
            assert_eq!(joined, data);
        }
    }

    #[test]
    fn a_line_longer_than_the_limit_is_left_out() {
        let mut data = b"a\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        data.extend_from_slice(b"\nb\n");
        let (_dir, file) = write(&data);
        for mut buf in both() {
            let chunks = FileChunks::new(&file, data.len() as u64, 1 << 20);
            let mut joined = Vec::new();
            let mut overlong = Vec::new();
            for k in 0..chunks.count() {
                let lines = chunks.read(k, &mut buf).unwrap();
                joined.extend_from_slice(&buf.bytes()[lines.range]);
                overlong.extend(lines.overlong_at);
            }
            assert_eq!(joined, b"a\nb\n");
            assert_eq!(overlong, vec![2]);
        }
    }
}
