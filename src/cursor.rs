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
        // Words are short (addresses, statuses, sizes): a plain loop ends sooner than a
        // vector search starts.
        match self.rest.iter().position(|&b| b == b' ' || b == b'\t') {
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

#[cfg(test)]
mod tests {
    use super::*;

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
