//! The panels of who visits and from where: browsers, operating systems, devices and
//! crawlers, referring pages and sites, methods and protocols.

use crate::aggregate::Aggregate;
use crate::aggregate::agents::Tally;
use crate::aggregate::agents::Visitors;
use crate::aggregate::capped::{Capped, OTHER};
use serde::Serialize;
use std::collections::BTreeMap;

/// Rows shown per panel; the rest are summed into one `(other)` row.
pub const SHOWN: usize = 50;

/// A browser, an operating system, a device class or a crawler.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentRow {
    /// Its name.
    pub name: String,
    /// Requests.
    pub requests: u64,
    /// Distinct (client, user agent) pairs, estimated; `null` where they are not known (a
    /// range of stored history, which keeps no user agents).
    pub visitors: Option<u64>,
}

/// A referring page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReferrerRow {
    /// The URL, without its query string.
    pub url: String,
    /// Requests it referred.
    pub requests: u64,
}

/// A referring site.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SiteRow {
    /// The host of the referring URLs.
    pub site: String,
    /// Requests it referred.
    pub requests: u64,
}

/// A name and its requests (a method, a protocol).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CountRow {
    /// The name.
    pub name: String,
    /// Requests.
    pub requests: u64,
}

/// A country.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CountryRow {
    /// ISO 3166 code (`--` where no database placed the client).
    pub code: String,
    /// English name.
    pub name: String,
    /// Requests.
    pub requests: u64,
    /// Distinct (client, user agent) pairs, estimated.
    pub visitors: u64,
}

/// A network (autonomous system).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AsnRow {
    /// AS number (0 where no database placed the client).
    pub asn: u32,
    /// The organization that holds it.
    pub org: String,
    /// Requests.
    pub requests: u64,
}

/// Who visits and from where.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Audience {
    /// Browser families, most requests first; automated clients as `Crawlers`.
    pub browsers: Vec<AgentRow>,
    /// Operating systems.
    pub os: Vec<AgentRow>,
    /// Device classes: desktop, mobile, tablet, bot, other.
    pub devices: Vec<AgentRow>,
    /// Automated clients by name (`Googlebot`, `curl`).
    pub crawlers: Vec<AgentRow>,
    /// Referring pages (without query strings), the site's own excluded with `--site-host`.
    pub referrers: Vec<ReferrerRow>,
    /// Referring sites.
    pub referring_sites: Vec<SiteRow>,
    /// Requests per HTTP method.
    pub methods: Vec<CountRow>,
    /// Requests per protocol (`HTTP/1.1`, `HTTP/2.0`).
    pub protocols: Vec<CountRow>,
    /// Authenticated users, from formats that log them (`%u` of combined logs).
    pub remote_users: Vec<CountRow>,
    /// Cache verdicts (`HIT`, `MISS`), from formats that log them.
    pub cache_status: Vec<CountRow>,
    /// Content types, from formats that log them.
    pub mime_types: Vec<CountRow>,
    /// TLS versions and ciphers, from formats that log them.
    pub tls: Vec<CountRow>,
    /// Countries of the clients (with `--geoip-db`; empty without).
    pub countries: Vec<CountryRow>,
    /// Networks of the clients (with an ASN database; empty without).
    pub asns: Vec<AsnRow>,
}

impl Audience {
    /// The panels that are names and their requests, with their titles: methods,
    /// protocols, users, cache verdicts, content types and TLS sessions.
    pub fn counted(&self) -> [(crate::messages::Text, &Vec<CountRow>); 6] {
        use crate::messages::Text;
        [
            (Text::Methods, &self.methods),
            (Text::Protocols, &self.protocols),
            (Text::RemoteUsers, &self.remote_users),
            (Text::CacheStatus, &self.cache_status),
            (Text::MimeTypes, &self.mime_types),
            (Text::Tls, &self.tls),
        ]
    }

    /// The panels of `agg`.
    pub fn of(agg: &Aggregate) -> Audience {
        let few = |f: &crate::aggregate::origins::Few| {
            f.rows()
                .into_iter()
                .map(|(name, requests)| CountRow {
                    name: name.to_owned(),
                    requests,
                })
                .collect()
        };
        Audience {
            browsers: agent_rows(agg, |t| Some(t.kind.browser.as_str())),
            os: agent_rows(agg, |t| Some(t.kind.os.as_str())),
            devices: agent_rows(agg, |t| Some(t.kind.device.name())),
            crawlers: agent_rows(agg, |t| t.kind.crawler.as_deref()),
            referrers: capped_rows(&agg.referrers.urls, |url, requests| ReferrerRow {
                url,
                requests,
            }),
            referring_sites: capped_rows(&agg.referrers.sites, |site, requests| SiteRow {
                site,
                requests,
            }),
            methods: few(&agg.methods),
            protocols: few(&agg.protocols),
            remote_users: capped_rows(&agg.extras.remote_users, count_row),
            cache_status: few(&agg.extras.cache_status),
            mime_types: capped_rows(&agg.extras.mime_types, count_row),
            tls: capped_rows(&agg.extras.tls, count_row),
            countries: country_rows(agg),
            asns: (agg.places.networks.top().rows.iter().take(SHOWN))
                .map(|(asn, n)| AsnRow {
                    asn: asn.parse().unwrap_or(0),
                    org: n.org.to_string(),
                    requests: n.requests,
                })
                .collect(),
        }
    }
}

/// The kinds of agent grouped by `name`, most requests first (ties by name), past
/// [`SHOWN`] summed into `(other)`.
fn agent_rows<'a>(
    agg: &'a Aggregate,
    name: impl Fn(&'a Tally) -> Option<&'a str>,
) -> Vec<AgentRow> {
    let mut groups: BTreeMap<&str, (u64, Visitors)> = BTreeMap::new();
    // Agents looked at but left out (`--ignore-crawlers`) have kinds with no requests.
    for t in agg.agents.iter().filter(|t| t.requests > 0) {
        if let Some(n) = name(t) {
            let g = groups.entry(n).or_insert_with(|| (0, Visitors::new()));
            g.0 += t.requests;
            g.1.merge(&t.visitors);
        }
    }
    let mut rows: Vec<(&str, (u64, Visitors))> = groups.into_iter().collect();
    rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    // Every request counted live adds its visitor: a sketch left empty holds requests
    // from stored history, whose visitors are not known.
    let row = |name: &str, (requests, visitors): &(u64, Visitors)| AgentRow {
        name: name.to_owned(),
        requests: *requests,
        visitors: Some(visitors.estimate() as u64).filter(|v| *v > 0 || *requests == 0),
    };
    let mut out: Vec<AgentRow> = rows.iter().take(SHOWN).map(|(n, g)| row(n, g)).collect();
    if rows.len() > SHOWN {
        let mut rest = (0, Visitors::new());
        for (_, g) in &rows[SHOWN..] {
            rest.0 += g.0;
            rest.1.merge(&g.1);
        }
        out.push(row(OTHER, &rest));
    }
    out
}

fn count_row(name: String, requests: u64) -> CountRow {
    CountRow { name, requests }
}

/// The heaviest [`SHOWN`] countries, and `(other)` with the rest.
fn country_rows(agg: &Aggregate) -> Vec<CountryRow> {
    let top = agg.places.countries.top();
    let row = |code: &str, c: &crate::aggregate::places::Country| CountryRow {
        code: code.to_owned(),
        name: c.name.to_string(),
        requests: c.requests,
        visitors: c.visitors.estimate() as u64,
    };
    let mut out: Vec<CountryRow> = top
        .rows
        .iter()
        .take(SHOWN)
        .map(|(k, c)| row(k, c))
        .collect();
    let mut rest = top.other.unwrap_or_default();
    for (_, c) in top.rows.iter().skip(SHOWN) {
        crate::aggregate::capped::Merge::merge(&mut rest, *c);
    }
    if rest.requests > 0 {
        rest.name = OTHER.into();
        out.push(row(OTHER, &rest));
    }
    out
}

/// The heaviest [`SHOWN`] keys of `table`, and `(other)` with the rest.
fn capped_rows<T>(table: &Capped<u64>, row: impl Fn(String, u64) -> T) -> Vec<T> {
    let top = table.top();
    let rest: u64 =
        top.rows.iter().skip(SHOWN).map(|(_, n)| **n).sum::<u64>() + top.other.unwrap_or(0);
    let mut out: Vec<T> = top
        .rows
        .iter()
        .take(SHOWN)
        .map(|(k, n)| row((*k).to_owned(), **n))
        .collect();
    if rest > 0 {
        out.push(row(OTHER.to_owned(), rest));
    }
    out
}
