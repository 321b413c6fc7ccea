//! A compact copy of the most recent requests, so that any view can be filtered (see
//! [`super::filter`]) — the numbers for one route, one host, one browser, one network or
//! the failures only — in bounded memory.

pub use super::filter::{Filter, StatusFilter};
use super::{Aggregate, Limits};
use crate::request::Request;
use std::borrow::Cow;
use std::collections::VecDeque;

/// Name and agent tables, looked up several times per request: a fast hash (the keys are
/// bounded, see [`MAX_NAMES`]).
type HashMap<K, V> = hashbrown::HashMap<K, V>;

/// Distinct route and host names kept; later ones share the `(other)` name.
const MAX_NAMES: usize = 20_000;
/// Distinct paths, user agents and referring sites kept; later ones share the `(other)` name
/// (such a request passes no path, agent or referrer filter).
const MAX_TEXTS: usize = 50_000;

/// One request, in 80 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record {
    /// UTC milliseconds.
    pub ts_ms: i64,
    /// Response bytes.
    pub bytes: u64,
    /// Hash of the client address (for unique visitors).
    pub client: u64,
    /// Response time in µs (`u32::MAX`: not logged).
    pub us: u32,
    /// Route name id.
    pub route: u32,
    /// Virtual host name id (0: none).
    pub vhost: u32,
    /// Host (server) name id (0: none).
    pub host: u32,
    /// Status code.
    pub status: u16,
    /// The user agent looked automated.
    pub bot: bool,
    /// Hash of the path without its query, for failed requests (4xx) only: how many
    /// distinct paths a client probes.
    pub path: u32,
    /// Path (without its query) id.
    pub page: u32,
    /// User agent id.
    pub agent: u32,
    /// Referring site id (0: none).
    pub site: u32,
    /// Country code id (0: not placed, no `--geoip-db`).
    pub country: u32,
    /// Client address as IPv6 (IPv4 mapped); 0 when the client is logged as a name.
    pub ip: u128,
}

impl Record {
    /// The compact form of `req` (route and host ids left 0), `bot` when its user agent
    /// looked automated.
    pub fn of(req: &Request<'_>, bot: bool) -> Record {
        Record {
            ts_ms: req.ts_ms,
            bytes: req.bytes,
            client: client_hash(&req.client),
            us: req.response_ms.map_or(u32::MAX, |ms| {
                super::latency::ms_to_us(ms).min(u64::from(u32::MAX - 1)) as u32
            }),
            route: 0,
            vhost: 0,
            host: 0,
            status: req.status,
            bot,
            path: if (400..500).contains(&req.status) {
                path_hash(&req.path)
            } else {
                0
            },
            page: 0,
            agent: 0,
            site: 0,
            country: 0,
            ip: crate::sift::parse_addr(&req.client).map_or(0, |ip| match ip {
                std::net::IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
                std::net::IpAddr::V6(v6) => u128::from(v6),
            }),
        }
    }

    /// The client's address, when it was logged as one.
    pub fn addr(&self) -> Option<std::net::IpAddr> {
        (self.ip != 0).then(|| {
            let v6 = std::net::Ipv6Addr::from(self.ip);
            v6.to_ipv4_mapped()
                .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4)
        })
    }
}

/// A stable 32-bit hash of `path` without its query string.
pub fn path_hash(path: &str) -> u32 {
    let bare = crate::route::without_query(path);
    crate::hash::stable(crate::hash::Purpose::Path, bare.as_bytes()) as u32
}

/// Names with ids: id 0 is the empty name, id 1 `(other)`, which every name past `CAP`
/// shares.
#[derive(Debug, Clone)]
struct Names<const CAP: usize = MAX_TEXTS> {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl<const CAP: usize> Default for Names<CAP> {
    fn default() -> Self {
        let names = vec![String::new(), super::capped::OTHER.to_owned()];
        let index = (names.iter().enumerate())
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        Names { names, index }
    }
}

impl<const CAP: usize> Names<CAP> {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        if self.names.len() >= CAP {
            return 1;
        }
        self.names.push(name.to_owned());
        let id = self.names.len() as u32 - 1;
        self.index.insert(name.to_owned(), id);
        id
    }

    fn get(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// The id of `name`, when it has one.
    fn id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The id of each of `o`'s names in this table.
    fn map<const C: usize>(&mut self, o: &Names<C>) -> Vec<u32> {
        o.names.iter().map(|n| self.intern(n)).collect()
    }
}

/// Records with their own names, as a reader sends them.
#[derive(Debug, Default)]
pub struct RecordBatch {
    /// Routes, virtual hosts and hosts.
    names: Names<MAX_NAMES>,
    /// Paths, user agents, referring sites and countries.
    pages: Names,
    agents: Names,
    sites: Names,
    countries: Names,
    records: Vec<Record>,
    scratch: String,
    /// User-agent hash → automated, so the pattern match runs once per distinct agent.
    bots: HashMap<u64, bool>,
    /// How paths become routes.
    routing: std::sync::Arc<crate::route::RouteOptions>,
}

/// The hash a [`Record`] keeps of a client address.
pub fn client_hash(client: &str) -> u64 {
    crate::hash::stable(crate::hash::Purpose::Client, client.as_bytes())
}

impl RecordBatch {
    /// An empty batch that turns paths into routes as `routing` says.
    pub fn with_routes(routing: std::sync::Arc<crate::route::RouteOptions>) -> Self {
        RecordBatch {
            routing,
            ..RecordBatch::default()
        }
    }

    /// Keeps a compact copy of `req`.
    pub fn push(&mut self, req: &Request<'_>) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let routing = self.routing.clone();
        let route = routing.route_of(&req.path, &mut scratch);
        let hash = foldhash::fast::FixedState::with_seed(1);
        let bot = *self
            .bots
            .entry(std::hash::BuildHasher::hash_one(
                &hash,
                req.user_agent.as_bytes(),
            ))
            .or_insert_with(|| super::agents::is_automated(&req.user_agent));
        let country = None;
        self.push_counted(
            req,
            super::Counted {
                route,
                bot,
                country,
            },
        );
        self.scratch = scratch;
    }

    /// Keeps a compact copy of `req`, whose route and automation an aggregate found out
    /// while counting it.
    pub fn push_counted(&mut self, req: &Request<'_>, counted: super::Counted<'_>) {
        let route = self.names.intern(counted.route);
        let vhost = self.names.intern(&req.vhost);
        let host = self.names.intern(&req.host);
        let page = self.pages.intern(crate::route::without_query(&req.path));
        let agent = self.agents.intern(&req.user_agent);
        let site = if req.referer.is_empty() {
            0
        } else {
            self.sites.intern(super::origins::site_of(&req.referer))
        };
        let country = counted.country.map_or(0, |c| self.countries.intern(&c));
        self.records.push(Record {
            route,
            vhost,
            host,
            page,
            agent,
            site,
            country,
            ..Record::of(req, counted.bot)
        });
    }

    /// Number of records held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// The user agent of id `id`.
    pub fn agent(&self, id: u32) -> &str {
        self.agents.get(id)
    }

    /// The referring site of id `id`.
    pub fn site(&self, id: u32) -> &str {
        self.sites.get(id)
    }

    /// The route, virtual host or host name of id `id`.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id)
    }

    /// The path (without its query) of id `id`.
    pub fn page(&self, id: u32) -> &str {
        self.pages.get(id)
    }

    /// How this batch's paths became routes (and which are static files).
    pub fn routing(&self) -> &crate::route::RouteOptions {
        &self.routing
    }

    /// The records with their route names.
    pub fn iter(&self) -> impl Iterator<Item = (&Record, &str)> {
        self.records.iter().map(|r| (r, self.names.get(r.route)))
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// The newest `cap` requests.
#[derive(Debug, Clone)]
pub struct Recent {
    cap: usize,
    names: Names<MAX_NAMES>,
    pages: Names,
    agents: Names,
    /// What each user agent is, by agent id.
    kinds: Vec<super::agents::Kind>,
    sites: Names,
    countries: Names,
    records: VecDeque<Record>,
}

impl Recent {
    /// Keeps at most `cap` requests.
    pub fn new(cap: usize) -> Self {
        Recent {
            cap,
            names: Names::default(),
            pages: Names::default(),
            agents: Names::default(),
            kinds: Vec::new(),
            sites: Names::default(),
            countries: Names::default(),
            records: VecDeque::new(),
        }
    }

    /// Adds a reader's records (their names mapped to this store's).
    pub fn extend(&mut self, batch: &RecordBatch) {
        let ids = self.names.map(&batch.names);
        let pages = self.pages.map(&batch.pages);
        let agents = self.agents.map(&batch.agents);
        let sites = self.sites.map(&batch.sites);
        let countries = self.countries.map(&batch.countries);
        while self.kinds.len() < self.agents.names.len() {
            let ua = &self.agents.names[self.kinds.len()];
            self.kinds
                .push(super::agents::classify(ua, super::is_bot(ua)));
        }
        for r in &batch.records {
            self.records.push_back(Record {
                route: ids[r.route as usize],
                vhost: ids[r.vhost as usize],
                host: ids[r.host as usize],
                page: pages[r.page as usize],
                agent: agents[r.agent as usize],
                site: sites[r.site as usize],
                country: countries[r.country as usize],
                ..*r
            });
        }
        while self.records.len() > self.cap {
            self.records.pop_front();
        }
    }

    /// Requests held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Time of the oldest request held.
    pub fn oldest_ms(&self) -> Option<i64> {
        self.records.iter().map(|r| r.ts_ms).min()
    }

    /// Counts the requests that pass `f` into an aggregate (numbers only: no samples, no
    /// user agents; unique visitors are distinct clients).
    pub fn aggregate(&self, f: &Filter, limits: Limits) -> Aggregate {
        let name_ok: Vec<bool> = (self.names.names.iter())
            .map(|n| f.route.as_deref().is_none_or(|q| n.contains(q)))
            .collect();
        let vhost_id = f.vhost.as_deref().map(|v| self.names.id(v));
        let host_id = f.host.as_deref().map(|h| self.names.id(h));
        // Per agent, path and site: whether it passes (the `(other)` ids never do).
        let by_agent =
            f.browser.is_some() || f.os.is_some() || f.device.is_some() || f.ua.is_some();
        let agent_ok: Vec<bool> = (self.kinds.iter().enumerate())
            .map(|(i, k)| !by_agent || (i != 1 && f.agent_passes(self.agents.get(i as u32), k)))
            .collect();
        let page_ok: Vec<bool> = self
            .pages
            .names
            .iter()
            .enumerate()
            .map(|(i, p)| f.path.as_ref().is_none_or(|q| i != 1 && q.matches(p)))
            .collect();
        let site_id = f.referer.as_deref().map(|s| self.sites.id(s));
        let country_id = (f.country.as_deref()).map(|c| self.countries.id(c));
        let min_us = f
            .min_ms
            .map(|ms| super::latency::ms_to_us(ms).min(u64::from(u32::MAX - 1)) as u32);
        // The names are routes already: counted as they are.
        let verbatim = crate::route::RouteOptions {
            mode: crate::route::RouteMode::Verbatim,
            ..Default::default()
        };
        let mut agg = Aggregate::new(limits).with_routes(std::sync::Arc::new(verbatim));
        let mut client = String::new();
        for r in &self.records {
            let pass = name_ok[r.route as usize]
                && f.status.is_none_or(|s| s.matches(r.status))
                && vhost_id.is_none_or(|id| id == Some(r.vhost))
                && host_id.is_none_or(|id| id == Some(r.host))
                && f.since_ms.is_none_or(|t| r.ts_ms >= t)
                && agent_ok[r.agent as usize]
                && page_ok[r.page as usize]
                && site_id.is_none_or(|id| id == Some(r.site))
                && country_id.is_none_or(|id| id == Some(r.country))
                && min_us.is_none_or(|m| r.us != u32::MAX && r.us >= m)
                && f.client.as_ref().is_none_or(|c| match c {
                    super::filter::ClientFilter::Net(net) => {
                        r.addr().is_some_and(|a| net.contains(&a))
                    }
                    super::filter::ClientFilter::Name(h) => r.client == *h,
                });
            if !pass {
                continue;
            }
            client.clear();
            use std::fmt::Write;
            let _ = match r.addr() {
                Some(a) => write!(client, "{a}"),
                None => write!(client, "{:016x}", r.client),
            };
            let req = Request {
                ts_ms: r.ts_ms,
                path: Cow::Borrowed(self.names.get(r.route)),
                status: r.status,
                bytes: r.bytes,
                response_ms: (r.us != u32::MAX).then(|| f64::from(r.us) / 1000.0),
                client: Cow::Borrowed(&client),
                user_agent: Cow::Borrowed(self.agents.get(r.agent)),
                referer: Cow::Borrowed(self.sites.get(r.site)),
                vhost: Cow::Borrowed(self.names.get(r.vhost)),
                host: Cow::Borrowed(self.names.get(r.host)),
                ..Request::default()
            };
            agg.count(&req);
            if r.country != 0 {
                agg.places.add_code(self.countries.get(r.country), r.client);
            }
        }
        agg.record_lines(
            "(filtered)",
            None,
            super::LineStats {
                read: agg.totals.requests,
                parsed: agg.totals.requests,
                ..Default::default()
            },
        );
        agg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ts: i64, path: &'static str, status: u16, vhost: &'static str) -> Request<'static> {
        Request {
            ts_ms: ts,
            path: Cow::Borrowed(path),
            status,
            response_ms: Some(10.0),
            client: Cow::Borrowed("1.2.3.4"),
            vhost: Cow::Borrowed(vhost),
            ..Request::default()
        }
    }

    #[test]
    /// Review finding: filtered views counted the stored route names through the default
    /// normalization again, so with `--keep-query` or `--routes raw` a filter showed other
    /// routes than the main table.
    fn filtered_views_keep_the_route_names() {
        let routing = crate::route::RouteOptions {
            mode: crate::route::RouteMode::Raw,
            keep_query: crate::route::KeepQuery::All,
            ..Default::default()
        };
        let mut b = RecordBatch::with_routes(std::sync::Arc::new(routing));
        b.push(&req(1000, "/users/123?flav=rss20", 200, "a.example"));
        let mut r = Recent::new(10);
        r.extend(&b);
        let agg = r.aggregate(&Filter::default(), Limits::default());
        let names: Vec<&str> = agg.routes.iter().map(|(k, _)| k).collect();
        assert_eq!(names, vec!["/users/123?flav=rss20"]);
    }

    #[test]
    fn filters_by_route_status_host_and_time() {
        let mut b = RecordBatch::default();
        b.push(&req(1000, "/api/users/1", 200, "a.example"));
        b.push(&req(2000, "/api/users/2", 503, "b.example"));
        b.push(&req(3000, "/health", 503, "a.example"));
        let mut r = Recent::new(10);
        r.extend(&b);
        let count = |f: Filter| r.aggregate(&f, Limits::default()).totals.requests;
        assert_eq!(count(Filter::default()), 3);
        assert_eq!(
            count(Filter {
                route: Some("/api/users".into()),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            count(Filter {
                status: StatusFilter::parse("5xx"),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            count(Filter {
                status: StatusFilter::parse("503"),
                vhost: Some("a.example".into()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            count(Filter {
                vhost: Some("nowhere".into()),
                ..Default::default()
            }),
            0
        );
        assert_eq!(
            count(Filter {
                since_ms: Some(2000),
                ..Default::default()
            }),
            2
        );
        let agg = r.aggregate(
            &Filter {
                route: Some("users".into()),
                ..Default::default()
            },
            Limits::default(),
        );
        assert_eq!(agg.routes.iter().next().unwrap().0, "/api/users/{id}");
    }

    #[test]
    fn keeps_only_the_newest() {
        let mut b = RecordBatch::default();
        for i in 0..10 {
            b.push(&req(i, "/", 200, ""));
        }
        let mut r = Recent::new(4);
        r.extend(&b);
        assert_eq!((r.len(), r.oldest_ms()), (4, Some(6)));
        assert_eq!(StatusFilter::parse("6xx"), None);
        assert_eq!(StatusFilter::parse("999"), None);
    }
}
