//! Opening inputs (files, `.gz` files, standard input) and cutting them into blocks of whole
//! lines for the parsers.

use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

mod chunks;
pub use chunks::{ChunkBuf, ChunkLines, FileChunks};

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
    /// Why reading stopped before the end, once it has (see [`Blocks::take_error`]).
    error: Option<io::Error>,
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
            error: None,
        }
    }

    /// Why the input ended early (a truncated gzip stream, a failing disk), when it did: the
    /// blocks before it, up to the last whole line, were handed out first; the incomplete
    /// line at the break was not.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// The next block, `None` at the end of the input (or where reading failed: see
    /// [`Blocks::take_error`]).
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
            let read = (&mut self.reader)
                .take((want - start) as u64)
                .read_to_end(&mut self.carry);
            let n = match read {
                Ok(n) => n,
                Err(e) => {
                    // What was read before the failure is kept, up to its last whole line.
                    let whole = memchr::memrchr(b'\n', &self.carry).map_or(0, |i| i + 1);
                    self.carry.truncate(whole);
                    self.error = Some(e);
                    self.eof = true;
                    continue;
                }
            };
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

/// Reads into `buf` from `offset` until it is full or the file ends; returns the bytes read.
pub(crate) fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
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
