//! Where requests come from and how they are made: referring pages and sites, methods and
//! protocols.

use super::capped::{Capped, Merge, OTHER};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// Referring URLs and sites kept apart (the panels show the heaviest 50).
const KEPT: usize = 1000;

fn urls() -> Capped<u64> {
    Capped::new(KEPT)
}

/// Referring pages and the sites they are on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Referrers {
    /// Requests per referring URL, without its query string.
    pub urls: Capped<u64>,
    /// Requests per referring site (the URL's host).
    pub sites: Capped<u64>,
}

impl Default for Referrers {
    fn default() -> Self {
        Referrers {
            urls: urls(),
            sites: urls(),
        }
    }
}

impl Referrers {
    /// Counts a request referred by `referer` (empty: none), unless it comes from one of the
    /// site's own hosts.
    pub fn add(&mut self, referer: &str, own: &crate::sift::Sift) {
        if referer.is_empty() {
            return;
        }
        let site = site_of(referer);
        if own.is_own_site(site) {
            return;
        }
        *self.urls.entry(crate::route::without_query(referer)) += 1;
        *self.sites.entry(site) += 1;
    }

    /// Adds the referrers of `o`.
    pub fn merge(&mut self, o: &Referrers) {
        self.urls.merge(&o.urls);
        self.sites.merge(&o.sites);
    }
}

/// What formats that log them say of the requests: the authenticated user, the cache's
/// verdict, the content type and the TLS session (GoAccess's `%e %C %M %K`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Extras {
    /// Requests per authenticated user.
    pub remote_users: Capped<u64>,
    /// Requests per cache verdict.
    pub cache_status: Few,
    /// Requests per content type (without its parameters).
    pub mime_types: Capped<u64>,
    /// Requests per TLS version and cipher.
    pub tls: Capped<u64>,
}

impl Default for Extras {
    fn default() -> Self {
        Extras {
            remote_users: urls(),
            cache_status: Few::default(),
            mime_types: urls(),
            tls: urls(),
        }
    }
}

impl Extras {
    /// Counts what `req` logged of these (nothing, for most formats).
    pub fn add(&mut self, req: &crate::request::Request<'_>) {
        if !req.remote_user.is_empty() {
            *self.remote_users.entry(&req.remote_user) += 1;
        }
        if !req.cache_status.is_empty() {
            self.cache_status.add(&req.cache_status, 1);
        }
        if !req.mime.is_empty() {
            let bare = req.mime.split(';').next().unwrap_or("").trim();
            *self.mime_types.entry(bare) += 1;
        }
        if !req.tls.is_empty() {
            *self.tls.entry(&req.tls) += 1;
        }
    }

    /// Adds the counts of `o`.
    pub fn merge(&mut self, o: &Extras) {
        self.remote_users.merge(&o.remote_users);
        self.cache_status.merge(&o.cache_status);
        self.mime_types.merge(&o.mime_types);
        self.tls.merge(&o.tls);
    }
}

/// What a referrer that names no host (`not a url`, `?q=x`) is counted under.
pub const NOT_A_URL: &str = "(not a URL)";

/// The host of a referring URL (`www.example.com` of `https://www.example.com:8443/a`, also
/// without a scheme: `www.example.com/a`), lowercased only if it had to be; [`NOT_A_URL`]
/// when it names no host (a host has a dot, or is `localhost` or a bracketed address, and
/// only letters, digits, `-`, `_` and dots).
pub fn site_of(referer: &str) -> &str {
    let rest = referer.split_once("://").map_or(referer, |(scheme, rest)| {
        if scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            rest
        } else {
            referer
        }
    });
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let bracketed = host.starts_with('[') && host.ends_with(']') && host.len() > 2;
    let named = host.contains('.') || host.eq_ignore_ascii_case("localhost");
    let clean = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if bracketed || (named && clean && !host.starts_with('.')) {
        host
    } else {
        NOT_A_URL
    }
}

/// Distinct names a [`Few`] table keeps; the rest are counted as `(other)`.
const FEW: usize = 24;
/// Longest name a [`Few`] table keeps.
const FEW_LEN: usize = 24;

/// Requests per name where names are few (methods, protocols): a short list searched in
/// order, each name's first eight bytes kept as one word so that the usual names (`GET`,
/// `HTTP/1.1`) compare as two integers, not as strings; a hostile line's garbage beyond
/// [`FEW`] names, or longer than a name can be, is counted as `(other)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<(CompactString, u64)>", into = "Vec<(CompactString, u64)>")]
pub struct Few(Vec<FewEntry>);

/// One name of a [`Few`] table and its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FewEntry {
    word: u64,
    len: usize,
    name: CompactString,
    requests: u64,
}

/// The first eight bytes of `b`, zero-padded, as one word.
fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let k = b.len().min(8);
    w[..k].copy_from_slice(&b[..k]);
    u64::from_le_bytes(w)
}

impl Few {
    /// Counts `n` requests of `name` (empty names are not counted).
    pub fn add(&mut self, name: &str, n: u64) {
        if name.is_empty() {
            return;
        }
        if let Some(e) = self.find(name) {
            e.requests += n;
            return;
        }
        let name = if self.0.len() >= FEW || name.len() > FEW_LEN {
            OTHER
        } else {
            name
        };
        match self.find(name) {
            Some(e) => e.requests += n,
            None => self.0.push(FewEntry {
                word: word(name.as_bytes()),
                len: name.len(),
                name: name.into(),
                requests: n,
            }),
        }
    }

    fn find(&mut self, name: &str) -> Option<&mut FewEntry> {
        let b = name.as_bytes();
        let w = word(b);
        self.0
            .iter_mut()
            .find(|e| e.word == w && e.len == b.len() && (b.len() <= 8 || e.name == name))
    }

    /// Names and requests, most first (ties by name), `(other)` last.
    pub fn rows(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self
            .0
            .iter()
            .map(|e| (e.name.as_str(), e.requests))
            .collect();
        v.sort_by(|a, b| {
            (a.0 == OTHER)
                .cmp(&(b.0 == OTHER))
                .then(b.1.cmp(&a.1))
                .then(a.0.cmp(b.0))
        });
        v
    }
}

impl From<Vec<(CompactString, u64)>> for Few {
    fn from(rows: Vec<(CompactString, u64)>) -> Self {
        let mut f = Few::default();
        for (k, n) in rows {
            f.add(&k, n);
        }
        f
    }
}

impl From<Few> for Vec<(CompactString, u64)> {
    fn from(f: Few) -> Self {
        f.0.into_iter().map(|e| (e.name, e.requests)).collect()
    }
}

impl Merge for Few {
    fn merge(&mut self, o: &Few) {
        for e in &o.0 {
            self.add(&e.name, e.requests);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_of_urls() {
        for (url, site) in [
            ("https://www.example.com/a?b=1", "www.example.com"),
            ("http://user:pw@example.org:8080/x", "example.org"),
            ("https://[2001:db8::1]:443/", "[2001:db8::1]"),
            (
                "android-app://com.google.android.gm/",
                "com.google.android.gm",
            ),
            ("example.net/page", "example.net"),
            ("http://localhost:3000/x", "localhost"),
        ] {
            assert_eq!(site_of(url), site, "{url}");
        }
    }

    /// Regression (a user's trial on a real log): a referrer that was no URL was shown as a
    /// referring site under its whole text.
    #[test]
    fn referrers_that_name_no_host_are_one_row() {
        for text in [
            "-garbage",
            "not a url",
            "?q=x",
            "http://",
            "..",
            "a b.com/x",
        ] {
            assert_eq!(site_of(text), NOT_A_URL, "{text}");
        }
    }

    #[test]
    fn referrers_leave_out_the_sites_own_pages() {
        let own = crate::sift::Sift {
            site_hosts: vec!["www.example.com".into()],
            ..Default::default()
        };
        let mut r = Referrers::default();
        r.add("https://www.example.com/blog", &own);
        r.add("https://WWW.example.com/blog", &own);
        r.add("https://news.example.net/item?id=1", &own);
        r.add("https://news.example.net/item?id=2", &own);
        r.add("", &own);
        let urls: Vec<_> = r.urls.iter().map(|(k, n)| (k.to_owned(), *n)).collect();
        assert_eq!(urls, [("https://news.example.net/item".to_owned(), 2)]);
        assert_eq!(r.sites.iter().count(), 1);
    }

    #[test]
    fn few_names_bounded_against_garbage() {
        let mut f = Few::default();
        f.add("GET", 3);
        f.add("POST", 1);
        for i in 0..100 {
            f.add(&format!("M{i}"), 1);
        }
        f.add(&"X".repeat(500), 1);
        let rows = f.rows();
        assert_eq!(rows[0], ("GET", 3));
        assert_eq!(rows.len(), FEW + 1);
        assert_eq!(*rows.last().unwrap(), (OTHER, 100 - (FEW - 2) as u64 + 1));
        let mut g = Few::default();
        g.merge(&f);
        assert_eq!(g.rows(), rows);
        let back: Few = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back.rows(), rows);
        let mut z = Few::default();
        z.add("GET", 1);
        z.add("GET\0", 1);
        z.add("HTTP/1.1x", 1);
        z.add("HTTP/1.1y", 1);
        assert_eq!(
            z.rows(),
            [("GET", 1), ("GET\0", 1), ("HTTP/1.1x", 1), ("HTTP/1.1y", 1)],
            "names equal in their first eight bytes, or but for padding, are apart"
        );
    }
}
