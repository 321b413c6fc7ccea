//! Opening inputs (files, `.gz` files, standard input) and cutting them into blocks of whole
//! lines for the parsers.

use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// Size of the blocks handed to parser threads.
pub const BLOCK_SIZE: usize = 1 << 20;
/// Longest line read; a longer one is counted as rejected and skipped.
pub const MAX_LINE: usize = 16 << 20;

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened.
    #[error("cannot open {path}")]
    Open {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading failed part way.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// An opened input.
pub enum Input {
    /// A regular, uncompressed file, and its length when opened: read in chunks, in parallel.
    File(File, u64),
    /// Anything else (standard input, pipes, gzip data): read front to back.
    Stream(Box<dyn Read + Send>),
}

/// Opens `name` (`-` is standard input); gzip data is decompressed, whatever the name.
pub fn open(name: &str) -> Result<Input, InputError> {
    let read_error = |source| InputError::Read {
        path: name.into(),
        source,
    };
    if name == "-" {
        return stream(Box::new(io::stdin())).map_err(read_error);
    }
    let f = File::open(Path::new(name)).map_err(|source| InputError::Open {
        path: name.into(),
        source,
    })?;
    let meta = f.metadata().map_err(read_error)?;
    if meta.is_file() {
        let mut magic = [0u8; 2];
        let n = read_full_at(&f, &mut magic, 0).map_err(read_error)?;
        if magic[..n] != GZIP_MAGIC {
            return Ok(Input::File(f, meta.len()));
        }
    }
    stream(Box::new(f)).map_err(read_error)
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A reader of `raw`, decompressed when it starts like gzip data.
fn stream(raw: Box<dyn Read + Send>) -> io::Result<Input> {
    let mut buf = BufReader::with_capacity(256 << 10, raw);
    if buf.fill_buf()?.starts_with(&GZIP_MAGIC) {
        Ok(Input::Stream(Box::new(MultiGzDecoder::new(buf))))
    } else {
        Ok(Input::Stream(Box::new(buf)))
    }
}

/// A run of whole lines.
#[derive(Debug)]
pub struct Block {
    /// The bytes (ending with a newline, except maybe the input's last block).
    pub data: Vec<u8>,
    /// 1-based number of its first line.
    pub first_line: u64,
    /// Byte offset in the input.
    pub offset: u64,
}

/// Cuts a reader into blocks of whole lines.
pub struct Blocks<R> {
    reader: R,
    carry: Vec<u8>,
    next_line: u64,
    offset: u64,
    block_size: usize,
    eof: bool,
    /// Numbers of the lines skipped for being longer than [`MAX_LINE`].
    pub overlong: Vec<u64>,
    /// Buffers of blocks already read, handed back for the next blocks.
    spare: Vec<Vec<u8>>,
}

impl<R: Read> Blocks<R> {
    /// Blocks of about `block_size` bytes from `reader`.
    pub fn new(reader: R, block_size: usize) -> Self {
        Blocks {
            reader,
            carry: Vec::new(),
            next_line: 1,
            offset: 0,
            block_size: block_size.max(1024),
            eof: false,
            overlong: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The next block, `None` at the end of the input.
    pub fn next_block(&mut self) -> io::Result<Option<Block>> {
        loop {
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.emit(self.carry.len())));
            }
            let start = self.carry.len();
            let want = self.block_size.max(start + self.block_size / 4);
            self.carry.reserve(want - start);
            // Reads into the spare capacity (no zero-filling first), up to `want` bytes.
            let n = (&mut self.reader)
                .take((want - start) as u64)
                .read_to_end(&mut self.carry)?;
            if n == 0 {
                self.eof = true;
                continue;
            }
            // `carry` holds no newline before this read: its first line may have run too long.
            let line_end = memchr::memchr(b'\n', &self.carry[start..]).map(|i| start + i);
            if line_end.unwrap_or(self.carry.len()) > MAX_LINE {
                match line_end {
                    Some(end) => {
                        self.overlong.push(self.next_line);
                        self.next_line += 1;
                        self.offset += end as u64 + 1;
                        self.carry.drain(..=end);
                    }
                    None => self.skip_overlong()?,
                }
                continue;
            }
            if let Some(nl) = memchr::memrchr(b'\n', &self.carry[start..]) {
                return Ok(Some(self.emit(start + nl + 1)));
            }
        }
    }

    /// Takes back the buffer of a block that has been read, so that the next blocks reuse
    /// its memory instead of asking the system for fresh pages.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < 4 {
            buf.clear();
            self.spare.push(buf);
        }
    }

    fn emit(&mut self, len: usize) -> Block {
        let mut rest = self.spare.pop().unwrap_or_default();
        rest.extend_from_slice(&self.carry[len..]);
        self.carry.truncate(len);
        let data = std::mem::replace(&mut self.carry, rest);
        let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        let block = Block {
            first_line: self.next_line,
            offset: self.offset,
            data,
        };
        self.next_line += lines;
        self.offset += block.data.len() as u64;
        block
    }

    /// Drops the line being read up to and including its newline.
    fn skip_overlong(&mut self) -> io::Result<()> {
        self.overlong.push(self.next_line);
        self.offset += self.carry.len() as u64;
        self.carry.clear();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = read_full(&mut self.reader, &mut buf)?;
            if n == 0 {
                self.eof = true;
                self.next_line += 1;
                return Ok(());
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                self.offset += (i + 1) as u64;
                self.carry.extend_from_slice(&buf[i + 1..n]);
                self.next_line += 1;
                return Ok(());
            }
            self.offset += n as u64;
        }
    }
}

/// The lines that start in one chunk of a [`FileChunks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkLines {
    /// Byte offset in the file of the first line.
    pub offset: u64,
    /// Where the lines are in the buffer they were read into.
    pub range: std::ops::Range<usize>,
    /// Newlines between the chunk's start and its first line: 0 when the chunk starts with a
    /// line, 1 when it starts inside one.
    pub skipped_newlines: u64,
    /// Byte offset of a line that was left out for being longer than [`MAX_LINE`].
    pub overlong_at: Option<u64>,
}

/// A regular file cut into chunks of whole lines that each parser thread reads on its own
/// (positioned reads), so no thread reads for the others and no chunk waits for another.
///
/// Chunk `k` covers bytes `k * size .. (k + 1) * size`, and holds the lines that start there;
/// its last line runs on past the end of the range to its newline.
pub struct FileChunks<'a> {
    file: &'a File,
    len: u64,
    size: u64,
    /// Newlines in each chunk's byte range, counted when a line number is asked for.
    newlines: Vec<std::sync::OnceLock<u64>>,
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
            newlines: (0..count).map(|_| std::sync::OnceLock::new()).collect(),
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

    /// Reads the lines that start in chunk `k` into `buf`, which is reused from chunk to
    /// chunk (it keeps its length, so its memory is not cleared each time).
    ///
    /// A line longer than [`MAX_LINE`] is left out and reported. A file that shrinks while
    /// it is read ends where it ends.
    pub fn read(&self, k: usize, buf: &mut Vec<u8>) -> io::Result<ChunkLines> {
        let (start, end) = self.range(k);
        // One byte before the range tells whether the range starts with a line.
        let from = start.saturating_sub(1);
        let mut filled = self.read_at(from, (end - from) as usize, buf, 0)?;
        let first = if k == 0 {
            0
        } else {
            match memchr::memchr(b'\n', &buf[..filled]) {
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
            range: first..filled,
            skipped_newlines: u64::from(offset > start),
            overlong_at: None,
        };
        if filled < (end - from) as usize || buf[..filled].last() == Some(&b'\n') {
            return Ok(lines);
        }
        // The last line runs on past the range: read on to its newline.
        let last = memchr::memrchr(b'\n', &buf[first..filled]).map_or(first, |i| first + i + 1);
        let mut pos = end;
        loop {
            let want = (filled - last).clamp(64 << 10, 1 << 20);
            let n = self.read_at(pos, want, buf, filled)?;
            pos += n as u64;
            let newline = memchr::memchr(b'\n', &buf[filled..filled + n]).map(|i| filled + i);
            filled += n;
            if newline.unwrap_or(filled) - last > MAX_LINE {
                lines.range.end = last;
                lines.overlong_at = Some(from + last as u64);
                return Ok(lines);
            }
            if let Some(i) = newline {
                filled = i + 1;
                break;
            }
            if n < want {
                break;
            }
        }
        lines.range.end = filled;
        Ok(lines)
    }

    /// Reads up to `len` bytes from `offset` (fewer at the end of the file) into `buf` at
    /// `at`, growing `buf` when it is too short; returns how many.
    fn read_at(&self, offset: u64, len: usize, buf: &mut Vec<u8>, at: usize) -> io::Result<usize> {
        let len = len.min(self.len.saturating_sub(offset) as usize);
        if buf.len() < at + len {
            buf.resize(at + len, 0);
        }
        read_full_at(self.file, &mut buf[at..at + len], offset)
    }

    /// The 1-based number of the first line of chunk `k`, read as `lines`: counts the
    /// newlines of the chunks before it (each counted once, whichever thread asks first).
    pub fn first_line(&self, k: usize, lines: &ChunkLines) -> io::Result<u64> {
        let mut n = 1 + lines.skipped_newlines;
        let mut buf = Vec::new();
        for j in 0..k {
            n += match self.newlines[j].get() {
                Some(&c) => c,
                None => {
                    let (start, end) = self.range(j);
                    let n = self.read_at(start, (end - start) as usize, &mut buf, 0)?;
                    let c = memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
                    *self.newlines[j].get_or_init(|| c)
                }
            };
        }
        Ok(n)
    }
}

#[cfg(unix)]
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(windows)]
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::windows::fs::FileExt;
    let mut n = 0;
    while n < buf.len() {
        match file.seek_read(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_blocks(data: &[u8], size: usize) -> (Vec<Block>, Vec<u64>) {
        let mut b = Blocks::new(data, size);
        let mut out = Vec::new();
        while let Some(x) = b.next_block().unwrap() {
            out.push(x);
        }
        (out, b.overlong)
    }

    #[test]
    fn blocks_hold_whole_lines_and_number_them() {
        let data: Vec<u8> = (0..1000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .chain(*b"tail")
            .collect();
        let (blocks, _) = all_blocks(&data, 1024);
        assert!(blocks.len() > 3);
        let joined: Vec<u8> = blocks.iter().flat_map(|b| b.data.clone()).collect();
        assert_eq!(joined, data);
        for b in &blocks[..blocks.len() - 1] {
            assert_eq!(b.data.last(), Some(&b'\n'));
            let first = String::from_utf8_lossy(
                &b.data[..b.data.iter().position(|&c| c == b'\n').unwrap()],
            )
            .to_string();
            assert_eq!(first, format!("line {}", b.first_line - 1));
            assert_eq!(
                &data[b.offset as usize..b.offset as usize + 4],
                &b.data[..4]
            );
        }
    }

    #[test]
    fn file_chunks_hold_each_line_once_with_its_number() {
        let mut data = Vec::new();
        for i in 0..3000 {
            data.extend_from_slice(format!("{i} {}\n", "x".repeat(i % 700)).as_bytes());
        }
        data.extend_from_slice(b"last");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        for size in [1024, 1025, 4096, 100_000] {
            let chunks = FileChunks::new(&file, data.len() as u64, size);
            let mut joined = Vec::new();
            let mut buf = Vec::new();
            // Asked from the last chunk back, so line numbers are counted before being read.
            let mut read: Vec<_> = (0..chunks.count())
                .rev()
                .map(|k| {
                    let lines = chunks.read(k, &mut buf).unwrap();
                    let first_line = chunks.first_line(k, &lines).unwrap();
                    (k, buf[lines.range.clone()].to_vec(), lines, first_line)
                })
                .collect();
            read.reverse();
            for (k, bytes, lines, first_line) in read {
                assert_eq!(lines.overlong_at, None);
                assert_eq!(&data[lines.offset as usize..][..bytes.len()], &bytes[..]);
                if !bytes.is_empty() {
                    let number: u64 = String::from_utf8_lossy(
                        &bytes[..bytes.iter().position(|&b| b == b' ').unwrap_or(4)],
                    )
                    .parse()
                    .unwrap_or(3000);
                    assert_eq!(first_line, number + 1, "chunk {k} of {size}");
                }
                joined.extend_from_slice(&bytes);
            }
            assert_eq!(joined, data, "chunks of {size}");
        }
    }

    #[test]
    fn a_file_shorter_than_its_length_ends_where_it_ends() {
        let data = b"one\ntwo\nthree".repeat(200);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let chunks = FileChunks::new(&file, data.len() as u64 + 5000, 1024);
        let mut joined = Vec::new();
        let mut buf = Vec::new();
        for k in 0..chunks.count() {
            let lines = chunks.read(k, &mut buf).unwrap();
            joined.extend_from_slice(&buf[lines.range]);
        }
        assert_eq!(joined, data);
    }

    #[test]
    fn long_lines_grow_the_block() {
        let long = vec![b'x'; 10_000];
        let mut data = long.clone();
        data.push(b'\n');
        data.extend_from_slice(b"next\n");
        let (blocks, overlong) = all_blocks(&data, 1024);
        assert!(overlong.is_empty());
        let joined: Vec<u8> = blocks.iter().flat_map(|b| b.data.clone()).collect();
        assert_eq!(joined, data);
    }

    #[test]
    fn gzip_is_detected_by_content() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(b"hello\n").unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        let mut s = String::new();
        let Ok(Input::Stream(mut r)) = open(path.to_str().unwrap()) else {
            panic!("gzip data is read as a stream");
        };
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello\n");
        std::fs::write(&path, b"plain\n").unwrap();
        assert!(matches!(
            open(path.to_str().unwrap()),
            Ok(Input::File(_, 6))
        ));
        assert!(matches!(
            open("/nonexistent/x"),
            Err(InputError::Open { .. })
        ));
    }
}
