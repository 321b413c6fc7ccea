//! Requests per country and per network (AS) of the client, when the run has geolocation
//! databases (`--geoip-db`).

use super::Visitors;
use super::capped::{Capped, Merge, Weight};
use crate::geo::Geo;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// The country key of an address no database places (or a client logged as a name).
pub const UNKNOWN_COUNTRY: &str = "--";
/// Countries and networks kept apart.
const KEPT: usize = 1000;
/// Addresses whose place is cached; the cache starts over past this.
const CACHE: usize = 1 << 16;

/// One country's requests and visitors.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Country {
    /// Its English name.
    pub name: CompactString,
    /// Requests.
    pub requests: u64,
    /// Distinct (client, user agent) pairs.
    pub visitors: Visitors,
}

impl Merge for Country {
    fn merge(&mut self, o: &Self) {
        if self.name.is_empty() {
            self.name.clone_from(&o.name);
        }
        self.requests += o.requests;
        self.visitors.merge(&o.visitors);
    }
}

impl Weight for Country {
    fn weight(&self) -> u64 {
        self.requests
    }
}

/// One network's requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Network {
    /// The organization that holds it.
    pub org: CompactString,
    /// Requests.
    pub requests: u64,
}

impl Merge for Network {
    fn merge(&mut self, o: &Self) {
        if self.org.is_empty() {
            self.org.clone_from(&o.org);
        }
        self.requests += o.requests;
    }
}

impl Weight for Network {
    fn weight(&self) -> u64 {
        self.requests
    }
}

/// Where an address is, as cached: country code and name, AS number and organization.
type Cached = (
    Option<(CompactString, CompactString)>,
    Option<(u32, CompactString)>,
);

/// Requests per country (keyed by ISO code) and per network (keyed by AS number).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Places {
    /// Countries.
    pub countries: Capped<Country>,
    /// Networks.
    pub networks: Capped<Network>,
    #[serde(skip)]
    cache: hashbrown::HashMap<std::net::IpAddr, Cached>,
}

impl Default for Places {
    fn default() -> Self {
        Places {
            countries: Capped::new(KEPT),
            networks: Capped::new(KEPT),
            cache: hashbrown::HashMap::new(),
        }
    }
}

impl Places {
    /// Counts a request from `client` (the visitor hashed `visitor`), placed by `geo`; gives
    /// its country code ([`UNKNOWN_COUNTRY`] where none).
    pub fn add(&mut self, geo: &Geo, client: &str, visitor: u64) -> CompactString {
        let Some(ip) = crate::sift::parse_addr(client) else {
            return self.count(&(None, None), visitor, geo.has_networks());
        };
        if self.cache.len() >= CACHE {
            self.cache.clear();
        }
        let place = self.cache.entry(ip).or_insert_with(|| {
            let p = geo.lookup(ip);
            (
                p.country.map(|(c, n)| (c.into(), n.into())),
                p.asn.map(|(a, o)| (a, o.into())),
            )
        });
        let place = place.clone();
        self.count(&place, visitor, geo.has_networks())
    }

    /// Counts a request of the visitor hashed `visitor` from the country `code`, whose name
    /// is not known here (a filtered view of the newest requests).
    pub fn add_code(&mut self, code: &str, visitor: u64) {
        let c = self.countries.entry(code);
        if c.name.is_empty() {
            c.name = code.into();
        }
        c.requests += 1;
        c.visitors.insert_hash(visitor);
    }

    fn count(&mut self, place: &Cached, visitor: u64, networks: bool) -> CompactString {
        let (code, name) = match &place.0 {
            Some((c, n)) => (c.as_str(), n.as_str()),
            None => (UNKNOWN_COUNTRY, "Unknown"),
        };
        let c = self.countries.entry(code);
        if c.name.is_empty() {
            c.name = name.into();
        }
        c.requests += 1;
        c.visitors.insert_hash(visitor);
        if networks {
            let (key, org) = match &place.1 {
                Some((asn, org)) => (asn.to_string(), org.as_str()),
                None => ("0".to_owned(), "Unknown"),
            };
            let n = self.networks.entry(&key);
            if n.org.is_empty() {
                n.org = org.into();
            }
            n.requests += 1;
        }
        code.into()
    }

    /// Adds the places of `o`.
    pub fn merge(&mut self, o: &Places) {
        self.countries.merge(&o.countries);
        self.networks.merge(&o.networks);
    }
}
