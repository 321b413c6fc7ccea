//! How paths become routes, as the user chose: normalized or raw, with or without (some of)
//! the query string, and the user's own groupings.

use super::{MAX_ROUTE_LEN, normalize_path_into, query_start, route_of};

/// Whether identifier segments are replaced by `{id}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteMode {
    /// `/users/123` → `/users/{id}`: numbers, UUIDs, hex hashes and random tokens only.
    #[default]
    Normalized,
    /// Paths as they were requested.
    Raw,
    /// Names that are routes already, kept exactly (recounting stored routes).
    #[serde(skip)]
    Verbatim,
}

impl crate::choice::Choice for RouteMode {
    const CHOICES: &'static [(&'static str, &'static str, Self)] = &[
        (
            "normalized",
            "`/users/123` → `/users/{id}`: numbers, UUIDs, hex hashes and random tokens only",
            RouteMode::Normalized,
        ),
        ("raw", "Paths as they were requested", RouteMode::Raw),
    ];
}

/// Which part of the query string a route keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeepQuery {
    /// None: `/?flav=rss20` is `/`.
    #[default]
    None,
    /// All of it, as requested.
    All,
    /// Only these parameters, in the order they came (`/?flav=rss20&utm_source=x` →
    /// `/?flav=rss20` when `flav` is kept).
    Keys(Vec<String>),
}

impl KeepQuery {
    /// Reads `--keep-query`: empty or `*` keeps all, else a comma-separated list of keys.
    pub fn parse(s: &str) -> KeepQuery {
        let keys: Vec<String> = s
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        if keys.is_empty() || keys.iter().any(|k| k == "*") {
            KeepQuery::All
        } else {
            KeepQuery::Keys(keys)
        }
    }
}

/// A user grouping: paths that match `pattern` are counted under it. `*` matches within one
/// segment, `**` any number of whole segments (`/presentations/**`, `/files/*.jar`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pattern: String,
}

impl Rule {
    /// A rule for `pattern`; it must start with `/`, and have at most two `**`.
    pub fn new(pattern: &str) -> Result<Rule, String> {
        if !pattern.starts_with('/') {
            return Err(format!("a route rule starts with '/': {pattern:?}"));
        }
        if pattern.split('/').filter(|s| *s == "**").count() > 2 {
            return Err(format!("a route rule has at most two '**': {pattern:?}"));
        }
        if pattern.len() > MAX_ROUTE_LEN {
            return Err(format!("a route rule is at most {MAX_ROUTE_LEN} bytes"));
        }
        Ok(Rule {
            pattern: pattern.to_owned(),
        })
    }

    /// The rule as written, which is also the route it counts under.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// True when `path` (without its query) matches. Only the first [`MATCH_BYTES`] bytes
    /// and [`MATCH_SEGMENTS`] segments of a path are looked at, so that matching stays cheap
    /// whatever a log line holds.
    pub fn matches(&self, path: &str) -> bool {
        let mut cut = path.len().min(MATCH_BYTES);
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        let path = &path[..cut];
        let pat: Vec<&str> = self.pattern[1..].split('/').collect();
        let segs: Vec<&str> = path
            .strip_prefix('/')
            .unwrap_or(path)
            .split('/')
            .take(MATCH_SEGMENTS)
            .collect();
        match_segments(&pat, &segs)
    }
}

fn match_segments(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|i| match_segments(rest, &segs[i..])),
        Some((p, rest)) => segs.split_first().is_some_and(|(s, more)| {
            wildcard(p.as_bytes(), s.as_bytes()) && match_segments(rest, more)
        }),
    }
}

/// Bytes of a path a rule looks at.
pub const MATCH_BYTES: usize = 1024;
/// Segments of a path a rule looks at.
pub const MATCH_SEGMENTS: usize = 64;

/// `*` in `p` matches any run of bytes of `s`: the usual greedy match with one point to go
/// back to, linear in practice and never exponential.
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            back = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((bp, bs)) = back {
            pi = bp + 1;
            si = bs + 1;
            back = Some((bp, bs + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// How paths become routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteOptions {
    /// Normalized or raw paths.
    pub mode: RouteMode,
    /// What of the query string is kept.
    pub keep_query: KeepQuery,
    /// User groupings, tried in order before anything else.
    pub rules: Vec<Rule>,
    /// Which paths are static files.
    pub statics: StaticFiles,
    /// What is left out or blurred as requests are read.
    pub sift: crate::sift::Sift,
    /// The geolocation databases, when the run has any (`--geoip-db`).
    pub geo: crate::geo::GeoHandle,
}

/// File extensions that make a path a static file, unless told otherwise.
pub const STATIC_EXTENSIONS: &[&str] = &[
    "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "bmp",
    "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "ogg", "wav", "pdf", "txt", "xml",
    "json", "zip", "gz", "tgz", "tar", "jar", "war", "deb", "rpm", "exe", "dmg", "iso",
];

/// The rule that tells static files from the dynamic rest: the extension of the path's last
/// segment (query string aside), compared without case, is in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticFiles(Vec<u64>);

impl Default for StaticFiles {
    fn default() -> Self {
        StaticFiles::new(STATIC_EXTENSIONS.iter().copied())
    }
}

/// Extensions longer than this are never static.
const MAX_EXT: usize = 8;

/// `ext` lowercased and packed into a number (it is asked for on every request).
fn packed(ext: &[u8]) -> Option<u64> {
    if ext.is_empty() || ext.len() > MAX_EXT {
        return None;
    }
    let mut b = [0u8; MAX_EXT];
    for (d, s) in b.iter_mut().zip(ext) {
        *d = s.to_ascii_lowercase();
    }
    Some(u64::from_le_bytes(b))
}

impl StaticFiles {
    /// Static files are those with one of `extensions` (without the dot).
    pub fn new<'a>(extensions: impl IntoIterator<Item = &'a str>) -> Self {
        let mut list: Vec<u64> = extensions
            .into_iter()
            .filter_map(|e| packed(e.trim().trim_start_matches('.').as_bytes()))
            .collect();
        list.sort_unstable();
        list.dedup();
        StaticFiles(list)
    }

    /// Whether `path` is a static file.
    pub fn matches(&self, path: &str) -> bool {
        self.matches_bare(super::without_query(path))
    }

    /// Whether `bare`, a path without its query string, is a static file.
    pub fn matches_bare(&self, bare: &str) -> bool {
        // Only the last bytes can hold the dot of an extension short enough to be known.
        let b = bare.as_bytes();
        let tail = &b[b.len().saturating_sub(MAX_EXT + 1)..];
        let Some(dot) = tail.iter().rposition(|&c| c == b'.') else {
            return false;
        };
        let ext = &tail[dot + 1..];
        !ext.contains(&b'/') && packed(ext).is_some_and(|k| self.0.binary_search(&k).is_ok())
    }
}

impl RouteOptions {
    /// The route of `path`: borrowed from it when nothing changes, else written to `scratch`.
    pub fn route_of<'a>(&'a self, path: &'a str, scratch: &'a mut String) -> &'a str {
        if self.mode == RouteMode::Verbatim {
            return path;
        }
        if self.rules.is_empty() && self.keep_query == KeepQuery::None {
            return match self.mode {
                RouteMode::Normalized => route_of(path, scratch),
                RouteMode::Raw | RouteMode::Verbatim => raw(&path[..query_start(path)], scratch),
            };
        }
        let q = query_start(path);
        let (bare, query) = (&path[..q], &path[q..]);
        if let Some(r) = self.rules.iter().find(|r| r.matches(bare)) {
            return r.pattern();
        }
        match self.mode {
            RouteMode::Normalized => normalize_path_into(bare, scratch),
            RouteMode::Raw | RouteMode::Verbatim => {
                let base = raw(bare, scratch).to_owned();
                *scratch = base;
            }
        }
        let query = query
            .strip_prefix('?')
            .map(|q| q.split('#').next().unwrap_or(q));
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            append_query(scratch, query, &self.keep_query);
        }
        if scratch.len() > MAX_ROUTE_LEN + 3 {
            let mut cut = MAX_ROUTE_LEN;
            while !scratch.is_char_boundary(cut) {
                cut -= 1;
            }
            scratch.truncate(cut);
            scratch.push('…');
        }
        scratch
    }
}

/// `path` as a route: `/` when empty, cut at [`MAX_ROUTE_LEN`].
fn raw<'a>(path: &'a str, scratch: &'a mut String) -> &'a str {
    if path.is_empty() {
        scratch.clear();
        scratch.push('/');
        return scratch;
    }
    if path.len() <= MAX_ROUTE_LEN {
        return path;
    }
    let mut cut = MAX_ROUTE_LEN;
    while !path.is_char_boundary(cut) {
        cut -= 1;
    }
    scratch.clear();
    scratch.push_str(&path[..cut]);
    scratch.push('…');
    scratch
}

fn append_query(out: &mut String, query: &str, keep: &KeepQuery) {
    match keep {
        KeepQuery::None => {}
        KeepQuery::All => {
            out.push('?');
            out.push_str(query);
        }
        KeepQuery::Keys(keys) => {
            let mut first = true;
            for pair in query.split('&') {
                let key = pair.split('=').next().unwrap_or(pair);
                if keys.iter().any(|k| k == key) {
                    out.push(if first { '?' } else { '&' });
                    out.push_str(pair);
                    first = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(o: &RouteOptions, p: &str) -> String {
        let mut scratch = String::new();
        o.route_of(p, &mut scratch).to_owned()
    }

    /// Regression: on a content site, a slug with a year (`logstash-puppetconf-2012`) became
    /// `{id}` while its siblings stayed, and `/?flav=rss20` and `/?flav=atom` merged into `/`.
    #[test]
    fn content_site_paths_stay_as_users_know_them() {
        let d = RouteOptions::default();
        for (p, want) in [
            (
                "/presentations/logstash-puppetconf-2012/",
                "/presentations/logstash-puppetconf-2012/",
            ),
            (
                "/blog/geekery/xvfb-firefox.html",
                "/blog/geekery/xvfb-firefox.html",
            ),
            (
                "/articles/2013/05/17/why-logs",
                "/articles/{id}/{id}/{id}/why-logs",
            ),
            ("/archive/2015-05-17", "/archive/{id}"),
            (
                "/api/v1/users/42/orders/7f3a9c2e1b",
                "/api/v1/users/{id}/orders/{id}",
            ),
            (
                "/files/logstash-1.1.0-monolithic.jar",
                "/files/logstash-1.1.0-monolithic.jar",
            ),
            ("/t/abcDEF123ghiJKL456mnoP", "/t/{id}"),
            ("/?flav=rss20", "/"),
        ] {
            assert_eq!(route(&d, p), want, "{p}");
        }
        let q = RouteOptions {
            keep_query: KeepQuery::parse(""),
            ..RouteOptions::default()
        };
        assert_eq!(route(&q, "/?flav=rss20"), "/?flav=rss20");
        assert_eq!(route(&q, "/?flav=atom#top"), "/?flav=atom");
        assert_eq!(route(&q, "/users/9?x=1"), "/users/{id}?x=1");
        let keys = RouteOptions {
            keep_query: KeepQuery::parse("flav, page"),
            ..RouteOptions::default()
        };
        assert_eq!(
            route(&keys, "/?utm_source=x&flav=atom&page=2"),
            "/?flav=atom&page=2"
        );
        assert_eq!(route(&keys, "/?utm_source=x"), "/");
        let raw = RouteOptions {
            mode: RouteMode::Raw,
            ..RouteOptions::default()
        };
        assert_eq!(route(&raw, "/users/123?x=1"), "/users/123");
        assert_eq!(route(&raw, ""), "/");
        assert!(route(&raw, &"/a".repeat(300)).ends_with('…'));
    }

    #[test]
    fn user_rules_group_first() {
        let o = RouteOptions {
            rules: vec![
                Rule::new("/presentations/**").unwrap(),
                Rule::new("/files/*.jar").unwrap(),
                Rule::new("/u/*/settings").unwrap(),
            ],
            ..RouteOptions::default()
        };
        assert_eq!(
            route(&o, "/presentations/a-2012/images/x.png"),
            "/presentations/**"
        );
        assert_eq!(route(&o, "/presentations"), "/presentations/**");
        assert_eq!(route(&o, "/files/logstash-1.1.0.jar?x=1"), "/files/*.jar");
        assert_eq!(route(&o, "/files/logstash.zip"), "/files/logstash.zip");
        assert_eq!(route(&o, "/u/alice/settings"), "/u/*/settings");
        assert_eq!(route(&o, "/u/alice/settings/x"), "/u/alice/settings/x");
        assert!(Rule::new("no-slash").is_err());
        assert!(Rule::new("/**/a/**/b/**").is_err());
    }

    /// Review finding: backtracking matches could take quadratic or worse time on a long
    /// path made by an attacker; matching is now bounded.
    #[test]
    fn hostile_paths_match_quickly_and_wildcards_are_right() {
        let rule = Rule::new("/**/a*a*a*a*b/**").unwrap();
        let path = format!("/{}", "a/".repeat(50_000)) + &"a".repeat(5000);
        let start = std::time::Instant::now();
        assert!(!rule.matches(&path));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        for (p, s, want) in [
            ("*.jar", "x.jar", true),
            ("*.jar", "x.jar.gz", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("*", "", true),
            ("", "", true),
            ("**", "x", true),
        ] {
            assert_eq!(wildcard(p.as_bytes(), s.as_bytes()), want, "{p} {s}");
        }
    }

    #[test]
    fn the_default_matches_plain_normalization() {
        let d = RouteOptions::default();
        for p in [
            "/",
            "",
            "?a=1",
            "/api/users/5?x",
            "/static/app.css#f9",
            "/a//b/",
        ] {
            assert_eq!(route(&d, p), super::super::normalize(p), "{p:?}");
        }
    }

    #[test]
    fn static_files_by_extension() {
        let d = StaticFiles::default();
        for p in [
            "/style2.css",
            "/img/a.PNG?v=3",
            "/files/x-1.1.0-monolithic.jar",
        ] {
            assert!(d.matches(p), "{p}");
        }
        for p in [
            "/",
            "/blog/2015/post.html",
            "/api/v1.2/users",
            "/.env",
            "/css/",
            "/a.css/verylongname",
            "/a.png.backupcopy",
        ] {
            assert!(!d.matches(p), "{p}");
        }
        assert!(StaticFiles::new([".HTML"]).matches("/a/b.html"));
    }
}
