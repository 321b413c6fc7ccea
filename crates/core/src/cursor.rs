//! A borrowing cursor over one log line: each field is taken with one call, no copies.

/// Reads fields from the front of a byte slice.
#[derive(Debug, Clone, Copy)]
pub struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `line`.
    pub fn new(line: &'a [u8]) -> Self {
        Cursor { rest: line }
    }

    /// What has not been read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// True when everything has been read (spaces aside).
    pub fn is_done(&self) -> bool {
        self.rest.iter().all(|b| b.is_ascii_whitespace())
    }

    /// Skips spaces and tabs.
    pub fn skip_spaces(&mut self) {
        let n = self
            .rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        self.rest = &self.rest[n..];
    }

    /// The bytes before the next `delim`, consuming the delimiter; `None` if there is none.
    pub fn until(&mut self, delim: u8) -> Option<&'a [u8]> {
        let i = memchr::memchr(delim, self.rest)?;
        let field = &self.rest[..i];
        self.rest = &self.rest[i + 1..];
        Some(field)
    }

    /// The next space-separated word (after skipping spaces); `None` at the end of the line.
    pub fn word(&mut self) -> Option<&'a [u8]> {
        self.skip_spaces();
        if self.rest.is_empty() {
            return None;
        }
        match find_blank(self.rest) {
            Some(i) => {
                let w = &self.rest[..i];
                self.rest = &self.rest[i + 1..];
                Some(w)
            }
            None => Some(std::mem::take(&mut self.rest)),
        }
    }

    /// Consumes `byte` if it is next (after skipping spaces).
    pub fn eat(&mut self, byte: u8) -> bool {
        self.skip_spaces();
        match self.rest.first() {
            Some(&b) if b == byte => {
                self.rest = &self.rest[1..];
                true
            }
            _ => false,
        }
    }

    /// Consumes `prefix` if the rest starts with it (spaces are not skipped).
    pub fn eat_prefix(&mut self, prefix: &[u8]) -> bool {
        match self.rest.strip_prefix(prefix) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// The content between `open` and `close` (after skipping spaces), consuming both.
    pub fn between(&mut self, open: u8, close: u8) -> Option<&'a [u8]> {
        let save = self.rest;
        if !self.eat(open) {
            return None;
        }
        match self.until(close) {
            Some(f) => Some(f),
            None => {
                self.rest = save;
                None
            }
        }
    }

    /// A `[...]` field holding a time (after skipping spaces), consuming both brackets.
    ///
    /// Same as `between(b'[', b']')`, with the usual CLF time
    /// (`10/Oct/2000:13:55:36 -0700`, 26 bytes) taken without a search.
    pub fn bracketed_time(&mut self) -> Option<&'a [u8]> {
        const CLF_TIME: usize = 26;
        self.skip_spaces();
        match self.rest.get(CLF_TIME + 1) {
            Some(b']')
                if self.rest[0] == b'['
                    && find_either(&self.rest[1..=CLF_TIME], b']', b']').is_none() =>
            {
                let field = &self.rest[1..=CLF_TIME];
                self.rest = &self.rest[CLF_TIME + 2..];
                Some(field)
            }
            _ => self.between(b'[', b']'),
        }
    }

    /// A double-quoted field; `\"` inside does not close it. Returns the raw content.
    ///
    /// With `lenient`, a field whose closing quote is missing (a truncated line) takes the
    /// rest of the line instead of failing.
    pub fn quoted(&mut self, lenient: bool) -> Option<&'a [u8]> {
        let save = self.rest;
        if !self.eat(b'"') {
            return None;
        }
        let body = self.rest;
        // Empty and one-byte fields (`""`, `"-"`) are common enough to skip the search.
        match body {
            [b'"', ..] => {
                self.rest = &body[1..];
                return Some(&[]);
            }
            [b, b'"', ..] if *b != b'\\' => {
                self.rest = &body[2..];
                return Some(&body[..1]);
            }
            _ => {}
        }
        let mut from = 0;
        while let Some(i) = memchr::memchr(b'"', &body[from..]) {
            let at = from + i;
            let backslashes = body[..at].iter().rev().take_while(|&&b| b == b'\\').count();
            if backslashes % 2 == 0 {
                self.rest = &body[at + 1..];
                return Some(&body[..at]);
            }
            from = at + 1;
        }
        if lenient {
            self.rest = &[];
            Some(body)
        } else {
            self.rest = save;
            None
        }
    }
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Marks the zero bytes of `w` with their high bit; marks above the lowest one can be wrong,
/// the lowest is exact.
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

/// Position of the first `a` or `b` in `bytes`, for short fields.
///
/// Eight bytes are tested at a time in a register, which ends sooner than a vector search
/// starts and takes no branch per byte.
pub fn find_either(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        let hits = zero_bytes(w ^ (ONES * u64::from(a))) | zero_bytes(w ^ (ONES * u64::from(b)));
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == a || c == b)
        .map(|i| at + i)
}

/// Position of the first space or tab in `bytes` (words are short: addresses, statuses,
/// sizes).
pub fn find_blank(bytes: &[u8]) -> Option<usize> {
    find_either(bytes, b' ', b'\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_prefix_is_two_words() {
        for text in [
            "- - [x", "- -  [x", "-  - [x", "-\t- [x", "- bob [x", "- - ", "- -", "",
        ] {
            let (mut fast, mut slow) = (Cursor::new(text.as_bytes()), Cursor::new(text.as_bytes()));
            if fast.eat_prefix(b"- - ") {
                assert_eq!(
                    (slow.word(), slow.word()),
                    (Some(&b"-"[..]), Some(&b"-"[..]))
                );
                assert_eq!(fast.rest(), slow.rest(), "{text:?}");
            } else {
                assert_eq!(fast.rest(), text.as_bytes());
                assert!(!text.starts_with("- - "), "{text:?}");
            }
        }
    }

    #[test]
    fn bracketed_times_match_between() {
        for text in [
            "[10/Oct/2000:13:55:36 -0700] x",
            "  [10/Oct/2000:13:55:36 +0000]",
            "[10/Oct/2000:13:55:36 -070] ]",
            "[10/Oct/2000]13:55:36 -0700] ]",
            "[10/Oct/2000:13:55:36.123 -0700] x",
            "10/Oct/2000:13:55:36 -0700] ]",
            "[10/Oct/2000:13:55:36 -0700",
            "",
        ] {
            let (mut fast, mut slow) = (Cursor::new(text.as_bytes()), Cursor::new(text.as_bytes()));
            assert_eq!(fast.bracketed_time(), slow.between(b'[', b']'), "{text}");
            assert_eq!(fast.rest(), slow.rest(), "{text}");
        }
    }

    #[test]
    fn blanks_are_found_at_every_position() {
        for len in 0..40 {
            for at in 0..=len {
                for blank in [b' ', b'\t'] {
                    // Bytes around the blank that a careless bit trick could take for one.
                    let mut bytes: Vec<u8> = (0..len)
                        .map(|i| [b'!', 0x1f, 0xa0, 0x08, b'a'][i % 5])
                        .collect();
                    let want = (at < len).then(|| {
                        bytes[at] = blank;
                        if at + 1 < len {
                            bytes[at + 1] = b' ';
                        }
                        at
                    });
                    assert_eq!(find_blank(&bytes), want, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn reads_fields_in_order() {
        let mut c = Cursor::new(br#"1.2.3.4 - - [t] "GET / HTTP/1.1" 200 "a \"q\" b" "x"#);
        assert_eq!(c.word(), Some(&b"1.2.3.4"[..]));
        assert_eq!(c.word(), Some(&b"-"[..]));
        assert_eq!(c.word(), Some(&b"-"[..]));
        assert_eq!(c.between(b'[', b']'), Some(&b"t"[..]));
        assert_eq!(c.quoted(false), Some(&b"GET / HTTP/1.1"[..]));
        assert_eq!(c.word(), Some(&b"200"[..]));
        assert_eq!(c.quoted(false), Some(&br#"a \"q\" b"#[..]));
        assert_eq!(
            c.quoted(false),
            None,
            "unterminated quote fails when strict"
        );
        assert_eq!(
            c.quoted(true),
            Some(&b"x"[..]),
            "and takes the rest when lenient"
        );
        assert!(c.is_done());
        assert_eq!(c.word(), None);
    }

    #[test]
    fn escaped_backslash_before_quote_closes() {
        let mut c = Cursor::new(br#""a\\" rest"#);
        assert_eq!(c.quoted(false), Some(&br"a\\"[..]));
        assert_eq!(c.word(), Some(&b"rest"[..]));
    }
}
