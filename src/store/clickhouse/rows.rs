//! Requests as `requests` rows: encoded in ClickHouse's RowBinary format by the readers,
//! framed with their source and offset for the disk queue, and decoded again when rows are
//! read back.

use crate::request::Request;
use std::borrow::Cow;
use std::io::{self, Read};

/// Where a row's line was read: the source's id (see [`source_id`]) and the line's byte
/// offset in it. Within a source, offsets only grow, so "stored up to offset N" says exactly
/// which of its rows a server has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The source.
    pub source: u64,
    /// The line's byte offset.
    pub offset: u64,
}

/// The id of one source: an instance's file (its label, device, inode and first bytes'
/// fingerprint), or a stream of one run.
pub fn source_id(instance: &str, label: &str, identity: &[u64]) -> u64 {
    let mut bytes = Vec::with_capacity(instance.len() + label.len() + 2 + identity.len() * 8);
    bytes.extend_from_slice(instance.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(label.as_bytes());
    bytes.push(0);
    for v in identity {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    crate::hash::stable(crate::hash::Purpose::Source, &bytes)
}

/// Rows waiting to be queued: each is `source u64, offset u64, length u32` (little endian)
/// and the RowBinary row.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RowBuf {
    buf: Vec<u8>,
    rows: u64,
}

impl RowBuf {
    /// Appends the rows of `other` after these.
    pub fn append(&mut self, other: RowBuf) {
        if self.buf.is_empty() {
            *self = other;
        } else {
            self.buf.extend_from_slice(&other.buf);
            self.rows += other.rows;
        }
    }

    /// Appends the row of `req`, read from `origin` by `instance`.
    pub fn push(
        &mut self,
        req: &Request<'_>,
        route: &str,
        bot: bool,
        instance: &str,
        origin: Origin,
    ) {
        let buf = &mut self.buf;
        buf.extend_from_slice(&origin.source.to_le_bytes());
        buf.extend_from_slice(&origin.offset.to_le_bytes());
        let len_at = buf.len();
        buf.extend_from_slice(&[0; 4]);
        let start = buf.len();
        encode(buf, req, route, bot, instance, origin);
        let len = (buf.len() - start) as u32;
        buf[len_at..start].copy_from_slice(&len.to_le_bytes());
        self.rows += 1;
    }

    /// The framed rows.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Whether it holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
}

/// One framed row of a queue segment.
pub struct Framed<'a> {
    /// Where its line was read.
    pub origin: Origin,
    /// The RowBinary row.
    pub row: &'a [u8],
}

/// The framed rows of `bytes`, up to the first incomplete one; also how many bytes they
/// take (a segment cut short by a crash ends at the last whole row).
pub fn framed(bytes: &[u8]) -> (Vec<Framed<'_>>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= 20 {
        let word =
            |i: usize| u64::from_le_bytes(bytes[at + i..at + i + 8].try_into().expect("8 bytes"));
        let (source, offset) = (word(0), word(8));
        let len = u32::from_le_bytes(bytes[at + 16..at + 20].try_into().expect("4 bytes")) as usize;
        let Some(row) = bytes.get(at + 20..at + 20 + len) else {
            break;
        };
        out.push(Framed {
            origin: Origin { source, offset },
            row,
        });
        at += 20 + len;
    }
    (out, at)
}

fn encode(buf: &mut Vec<u8>, req: &Request<'_>, route: &str, bot: bool, instance: &str, o: Origin) {
    let secs = req.ts_ms.div_euclid(1000).clamp(0, i64::from(u32::MAX)) as u32;
    buf.extend_from_slice(&secs.to_le_bytes());
    buf.extend_from_slice(&(req.ts_ms.rem_euclid(1000) as u16).to_le_bytes());
    let (path, query) = match req.path.find('?') {
        Some(i) => req.path.split_at(i),
        None => (&req.path[..], ""),
    };
    for s in [
        &req.host[..],
        &req.vhost,
        &req.method,
        path,
        query,
        &req.protocol,
        route,
    ] {
        string(buf, s);
    }
    buf.extend_from_slice(&req.status.to_le_bytes());
    buf.extend_from_slice(&req.bytes.to_le_bytes());
    match req.response_ms {
        Some(ms) => {
            buf.push(0);
            buf.extend_from_slice(&ms.to_le_bytes());
        }
        None => buf.push(1),
    }
    string(buf, &req.client);
    let ip = crate::sift::parse_addr(&req.client).map_or([0; 16], |ip| match ip {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v6) => v6.octets(),
    });
    buf.extend_from_slice(&ip);
    for s in [
        &req.user_agent[..],
        &req.referer,
        &req.remote_user,
        &req.cache_status,
        &req.mime,
        &req.tls,
    ] {
        string(buf, s);
    }
    buf.push(u8::from(bot));
    string(buf, instance);
    buf.extend_from_slice(&o.source.to_le_bytes());
    buf.extend_from_slice(&o.offset.to_le_bytes());
}

fn string(buf: &mut Vec<u8>, s: &str) {
    let mut n = s.len() as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            buf.push(byte);
            break;
        }
        buf.push(byte | 0x80);
    }
    buf.extend_from_slice(s.as_bytes());
}

/// A row read back: the request, with where it was read.
#[derive(Debug, Clone)]
pub struct StoredRow {
    /// The request.
    pub request: Request<'static>,
    /// Its route as stored.
    pub route: String,
    /// The instance that read it.
    pub instance: String,
    /// Where its line was read.
    pub origin: Origin,
}

/// Reads one RowBinary row of [`super::schema::REQUEST_COLUMNS`]; `None` at the end.
pub fn decode(r: &mut impl Read) -> io::Result<Option<StoredRow>> {
    let mut first = [0u8; 4];
    match r.read(&mut first[..1])? {
        0 => return Ok(None),
        _ => r.read_exact(&mut first[1..])?,
    }
    let secs = u32::from_le_bytes(first);
    let ms = u16::from_le_bytes(fixed(r)?);
    let host = text(r)?;
    let vhost = text(r)?;
    let method = text(r)?;
    let mut path = text(r)?;
    path.push_str(&text(r)?);
    let protocol = text(r)?;
    let route = text(r)?;
    let status = u16::from_le_bytes(fixed(r)?);
    let bytes = u64::from_le_bytes(fixed(r)?);
    let response_ms = match fixed::<1>(r)?[0] {
        0 => Some(f64::from_le_bytes(fixed(r)?)),
        _ => None,
    };
    let client = text(r)?;
    let _ip: [u8; 16] = fixed(r)?;
    let (user_agent, referer, remote_user) = (text(r)?, text(r)?, text(r)?);
    let (cache_status, mime, tls) = (text(r)?, text(r)?, text(r)?);
    let _bot: [u8; 1] = fixed(r)?;
    let instance = text(r)?;
    let source = u64::from_le_bytes(fixed(r)?);
    let offset = u64::from_le_bytes(fixed(r)?);
    let request = Request {
        ts_ms: i64::from(secs) * 1000 + i64::from(ms),
        method: Cow::Owned(method),
        path: Cow::Owned(path),
        protocol: Cow::Owned(protocol),
        status,
        bytes,
        response_ms,
        client: Cow::Owned(client),
        user_agent: Cow::Owned(user_agent),
        referer: Cow::Owned(referer),
        vhost: Cow::Owned(vhost),
        host: Cow::Owned(host),
        remote_user: Cow::Owned(remote_user),
        cache_status: Cow::Owned(cache_status),
        mime: Cow::Owned(mime),
        tls: Cow::Owned(tls),
    };
    Ok(Some(StoredRow {
        request,
        route,
        instance,
        origin: Origin { source, offset },
    }))
}

fn fixed<const N: usize>(r: &mut impl Read) -> io::Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn text(r: &mut impl Read) -> io::Result<String> {
    let mut len = 0u64;
    for shift in (0..64).step_by(7) {
        let b = fixed::<1>(r)?[0];
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    if len > 1 << 30 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a string longer than 1 GiB",
        ));
    }
    let mut b = vec![0u8; len as usize];
    r.read_exact(&mut b)?;
    // Rows are written from checked text; anything else is replaced, not trusted.
    Ok(String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_back_as_written() {
        let req = Request {
            ts_ms: 1_764_500_000_123,
            method: "GET".into(),
            path: "/a/b?x=1&y=é".into(),
            protocol: "HTTP/1.1".into(),
            status: 503,
            bytes: 1234,
            response_ms: Some(12.5),
            client: "2001:db8::1".into(),
            user_agent: "curl/8".into(),
            referer: "https://ex.org/".into(),
            vhost: "ex.org".into(),
            host: "web-2".into(),
            ..Request::default()
        };
        let mut b = RowBuf::default();
        let origin = Origin {
            source: 7,
            offset: 99,
        };
        b.push(&req, "/a/:id", false, "i1", origin);
        b.push(
            &Request {
                response_ms: None,
                ..req.clone()
            },
            "/a/:id",
            true,
            "i1",
            origin,
        );
        let (rows, used) = framed(b.bytes());
        assert_eq!((rows.len(), used), (2, b.bytes().len()));
        assert_eq!(rows[0].origin, origin);
        let mut r = rows[0].row;
        let back = decode(&mut r).unwrap().unwrap();
        assert!(r.is_empty(), "the whole row is read");
        assert_eq!(back.request, req);
        assert_eq!((back.route.as_str(), back.origin), ("/a/:id", origin));
        let mut r = rows[1].row;
        assert_eq!(decode(&mut r).unwrap().unwrap().request.response_ms, None);
    }

    #[test]
    fn a_segment_cut_short_ends_at_its_last_whole_row() {
        let mut b = RowBuf::default();
        let req = Request {
            path: "/".into(),
            ..Request::default()
        };
        b.push(
            &req,
            "/",
            false,
            "i",
            Origin {
                source: 1,
                offset: 0,
            },
        );
        let whole = b.bytes().len();
        b.push(
            &req,
            "/",
            false,
            "i",
            Origin {
                source: 1,
                offset: 10,
            },
        );
        let cut = &b.bytes()[..b.bytes().len() - 3];
        let (rows, used) = framed(cut);
        assert_eq!((rows.len(), used), (1, whole));
    }
}
