//! Which requests a filtered view counts: by route, status, virtual host, server, time, and
//! by who made them — browser, operating system, device, client address or network, user
//! agent, referring site, path prefix and response time — combined with AND.

use super::agents::{Device, Kind};
use crate::sift::IpNet;

/// Which requests a view counts; every field given must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Substring of the route.
    pub route: Option<String>,
    /// Status class (`5` for 5xx) or exact code.
    pub status: Option<StatusFilter>,
    /// Exact virtual host.
    pub vhost: Option<String>,
    /// Exact host (the server that logged the request).
    pub host: Option<String>,
    /// Only requests at or after this time (UTC ms).
    pub since_ms: Option<i64>,
    /// Browser family, as the Browsers panel names it (ASCII case ignored).
    pub browser: Option<String>,
    /// Operating system, as the panel names it (ASCII case ignored).
    pub os: Option<String>,
    /// Device class.
    pub device: Option<Device>,
    /// Client address or network.
    pub client: Option<ClientFilter>,
    /// Substring of the user agent (ASCII case ignored).
    pub ua: Option<String>,
    /// Referring site, exactly (as the Referring sites panel names it).
    pub referer: Option<String>,
    /// Country code of the client (`--` where the databases do not place it).
    pub country: Option<String>,
    /// The path (query string aside): a prefix, or a pattern.
    pub path: Option<PathFilter>,
    /// Only requests that took at least this long (ms); untimed requests never pass.
    pub min_ms: Option<f64>,
}

impl Filter {
    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// True when an agent of kind `k` with user agent `ua` passes the agent filters.
    pub fn agent_passes(&self, ua: &str, k: &Kind) -> bool {
        self.browser
            .as_deref()
            .is_none_or(|b| k.browser.eq_ignore_ascii_case(b))
            && self
                .os
                .as_deref()
                .is_none_or(|o| k.os.eq_ignore_ascii_case(o))
            && self.device.is_none_or(|d| k.device == d)
            && self
                .ua
                .as_deref()
                .is_none_or(|q| contains_ignore_case(ua, q))
    }
}

/// A client filter: a network (one address is a /32 or /128), or a client logged as a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFilter {
    /// Addresses in this network.
    Net(IpNet),
    /// The client logged exactly so (a host name), by its hash.
    Name(u64),
}

impl ClientFilter {
    /// Reads an address, a network, or else a client name.
    pub fn parse(s: &str) -> ClientFilter {
        match crate::sift::parse_net(s) {
            Ok(net) => ClientFilter::Net(net),
            Err(_) => ClientFilter::Name(super::recent::client_hash(s.trim())),
        }
    }
}

/// A path filter, the query string left aside: a prefix of the path, or (written
/// `~PATTERN`) a regular expression found anywhere in it (`~^/api/v[0-9]+/`, `~\.php$`).
#[derive(Debug, Clone)]
pub enum PathFilter {
    /// Paths that start so.
    Prefix(String),
    /// Paths in which the expression matches.
    Pattern(regex::Regex),
}

impl PathFilter {
    /// The longest pattern taken.
    pub const MAX_PATTERN: usize = 512;

    /// Reads a prefix, or `~` and a regular expression; `Err` says why a pattern is refused.
    pub fn parse(s: &str) -> Result<PathFilter, String> {
        let Some(pattern) = s.strip_prefix('~') else {
            return Ok(PathFilter::Prefix(s.to_owned()));
        };
        if pattern.len() > Self::MAX_PATTERN {
            return Err(format!(
                "the path pattern is longer than {} bytes",
                Self::MAX_PATTERN
            ));
        }
        regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 20)
            .build()
            .map(PathFilter::Pattern)
            .map_err(|e| match e {
                // The parser's message draws the pattern over several lines; its last says why.
                regex::Error::Syntax(m) => format!(
                    "bad path pattern: {}",
                    m.lines()
                        .last()
                        .unwrap_or_default()
                        .trim_start_matches("error: ")
                ),
                other => format!("bad path pattern: {other}"),
            })
    }

    /// True when `path` (without its query string) passes.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathFilter::Prefix(p) => path.starts_with(p.as_str()),
            PathFilter::Pattern(r) => r.is_match(path),
        }
    }
}

impl PartialEq for PathFilter {
    fn eq(&self, o: &Self) -> bool {
        match (self, o) {
            (PathFilter::Prefix(a), PathFilter::Prefix(b)) => a == b,
            (PathFilter::Pattern(a), PathFilter::Pattern(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

/// A status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// `2xx`-style class: the hundreds digit.
    Class(u16),
    /// One code.
    Code(u16),
}

impl StatusFilter {
    /// Reads `5xx` or `404`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.as_bytes() {
            [c @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => {
                Some(StatusFilter::Class(u16::from(c - b'0')))
            }
            _ => s
                .parse()
                .ok()
                .filter(|c| (100..600).contains(c))
                .map(StatusFilter::Code),
        }
    }

    /// True when `status` passes.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusFilter::Class(c) => status / 100 == c,
            StatusFilter::Code(c) => status == c,
        }
    }
}

/// True when `hay` contains `needle`, ASCII letters compared without case.
pub fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_by_network_or_name() {
        assert_eq!(
            ClientFilter::parse("10.0.0.0/8"),
            ClientFilter::Net("10.0.0.0/8".parse().unwrap())
        );
        assert!(matches!(
            ClientFilter::parse("crawler.example"),
            ClientFilter::Name(_)
        ));
        assert!(contains_ignore_case("Mozilla/5.0 Firefox/120", "firefox"));
        assert!(!contains_ignore_case("curl/8", "firefox"));
    }

    #[test]
    fn paths_by_prefix_or_pattern() {
        let prefix = PathFilter::parse("/api/").unwrap();
        assert!(prefix.matches("/api/users") && !prefix.matches("/v2/api/"));
        let re = PathFilter::parse("~^/api/v[0-9]+/").unwrap();
        assert!(re.matches("/api/v12/users") && !re.matches("/api/vx/users"));
        assert!(
            PathFilter::parse("~\\.php$")
                .unwrap()
                .matches("/wp-login.php")
        );
        assert!(
            PathFilter::parse("~(unclosed")
                .unwrap_err()
                .contains("bad path pattern")
        );
        let long = format!("~{}", "a".repeat(PathFilter::MAX_PATTERN + 1));
        assert!(PathFilter::parse(&long).is_err());
        // A pattern whose program would be huge is refused, not compiled.
        assert!(PathFilter::parse("~(\\w{100}){100}").is_err());
    }
}
