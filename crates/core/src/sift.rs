//! What is left out or blurred as requests are read, as GoAccess's exclusions do it:
//! clients in given networks, automated clients, static files, the last part of every
//! address, and the site's own pages among the referrers.

pub use ipnet::IpNet;
use std::net::IpAddr;

/// Read-time exclusions and anonymization, set by `--exclude-ip`, `--ignore-crawlers`,
/// `--ignore-static`, `--anonymize-ip` and `--site-host`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sift {
    /// Requests from clients in these networks are left out.
    pub exclude: Vec<IpNet>,
    /// Requests from automated clients are left out.
    pub ignore_crawlers: bool,
    /// Requests for static files are left out.
    pub ignore_static: bool,
    /// Client addresses lose their last part: an IPv4 address its last octet, an IPv6
    /// address everything after its /48.
    pub anonymize: bool,
    /// The site's own host names: referrers on them are not counted as referring sites.
    pub site_hosts: Vec<String>,
}

impl Sift {
    /// True when nothing is left out or changed (the usual case, checked once per block).
    pub fn is_noop(&self) -> bool {
        self.exclude.is_empty() && !self.ignore_crawlers && !self.ignore_static && !self.anonymize
    }

    /// True when `client` is an address in one of the excluded networks.
    pub fn excludes_client(&self, client: &str) -> bool {
        if self.exclude.is_empty() {
            return false;
        }
        parse_addr(client).is_some_and(|ip| self.exclude.iter().any(|n| n.contains(&ip)))
    }

    /// True when `host` (a referrer's site) is one of the site's own: named exactly, or under
    /// a `*.example.com` entry (which also covers `example.com`).
    pub fn is_own_site(&self, host: &str) -> bool {
        self.site_hosts.iter().any(|h| match h.strip_prefix("*.") {
            Some(domain) => {
                host.eq_ignore_ascii_case(domain)
                    || host.len() > domain.len()
                        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
                        && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
            }
            None => h.eq_ignore_ascii_case(host),
        })
    }
}

/// An address as logged: bare, bracketed IPv6, or IPv4 with a port.
pub fn parse_addr(client: &str) -> Option<IpAddr> {
    let s = client.trim();
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    let s = s
        .strip_prefix('[')
        .map_or(s, |r| r.split(']').next().unwrap_or(r));
    s.parse()
        .ok()
        .or_else(|| s.rsplit_once(':').and_then(|(h, _)| h.parse().ok()))
}

/// `client` with its last part zeroed (`192.0.2.0`, `2001:db8:1::`); `None` when it is no
/// address (a host name is kept as it is).
pub fn anonymize(client: &str) -> Option<String> {
    Some(match parse_addr(client)? {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            std::net::Ipv4Addr::new(a, b, c, 0).to_string()
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string()
        }
    })
}

/// Reads a network (`10.0.0.0/8`, `2001:db8::/32`) or one address (`192.0.2.7`).
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("not an address or network (CIDR): {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_addresses() {
        let sift = Sift {
            exclude: vec![
                parse_net("10.0.0.0/8").unwrap(),
                parse_net("192.0.2.7").unwrap(),
                parse_net("2001:db8::/32").unwrap(),
            ],
            ..Default::default()
        };
        assert!(sift.excludes_client("10.200.3.4"));
        assert!(sift.excludes_client("192.0.2.7"));
        assert!(!sift.excludes_client("192.0.2.8"), "one address is a /32");
        assert!(sift.excludes_client("[2001:db8::5]:443"));
        assert!(sift.excludes_client("10.1.1.1:5000"));
        assert!(!sift.excludes_client("crawler.example.com"));
        assert!(!sift.excludes_client("11.0.0.1"));
        assert_eq!(parse_net("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert!(parse_net("10.0.0.0/33").is_err());
        assert!(parse_net("example.com").is_err());
    }

    #[test]
    fn own_sites_by_name_or_domain() {
        let sift = Sift {
            site_hosts: vec!["*.example.com".into(), "shop.example.net".into()],
            ..Default::default()
        };
        for (host, own) in [
            ("www.example.com", true),
            ("EXAMPLE.com", true),
            ("a.b.example.com", true),
            ("badexample.com", false),
            ("shop.example.net", true),
            ("www.shop.example.net", false),
        ] {
            assert_eq!(sift.is_own_site(host), own, "{host}");
        }
    }

    #[test]
    fn anonymized_addresses() {
        assert_eq!(anonymize("203.0.113.77").as_deref(), Some("203.0.113.0"));
        assert_eq!(
            anonymize("2001:db8:abcd:12::1").as_deref(),
            Some("2001:db8:abcd::")
        );
        assert_eq!(anonymize("host.example"), None);
    }
}
