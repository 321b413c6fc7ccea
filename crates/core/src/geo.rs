//! Where clients are: country and network (AS) of an address, from MaxMind-format databases
//! (GeoLite2 / GeoIP2 Country or City and ASN, DB-IP's Lite databases) given as bytes — the
//! shell reads the files.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// One looked-up address: its country (ISO code, English name) and its network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// ISO 3166 code and English name.
    pub country: Option<(String, String)>,
    /// AS number and organization.
    pub asn: Option<(u32, String)>,
}

#[derive(Deserialize)]
struct CountryRecord<'a> {
    #[serde(borrow)]
    country: Option<CountryPart<'a>>,
    #[serde(borrow)]
    registered_country: Option<CountryPart<'a>>,
}

#[derive(Deserialize)]
struct CountryPart<'a> {
    iso_code: Option<&'a str>,
    #[serde(borrow)]
    names: Option<BTreeMap<&'a str, &'a str>>,
}

#[derive(Deserialize)]
struct AsnRecord<'a> {
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<&'a str>,
}

/// The databases of a run: any number of country/city databases and ASN databases, tried
/// in the order given.
pub struct Geo {
    countries: Vec<maxminddb::Reader<Vec<u8>>>,
    networks: Vec<maxminddb::Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Geo")
            .field("countries", &self.countries.len())
            .field("networks", &self.networks.len())
            .finish()
    }
}

impl Geo {
    /// The databases in `files` (name, bytes); an ASN database is told by its type.
    pub fn from_files(files: Vec<(String, Vec<u8>)>) -> Result<Geo, String> {
        let mut g = Geo {
            countries: Vec::new(),
            networks: Vec::new(),
        };
        for (name, bytes) in files {
            let r = maxminddb::Reader::from_source(bytes)
                .map_err(|e| format!("{name} is no MaxMind database: {e}"))?;
            if r.metadata
                .database_type
                .to_ascii_uppercase()
                .contains("ASN")
            {
                g.networks.push(r);
            } else {
                g.countries.push(r);
            }
        }
        Ok(g)
    }

    /// True when an ASN database was given.
    pub fn has_networks(&self) -> bool {
        !self.networks.is_empty()
    }

    /// Where `ip` is, as far as the databases know.
    pub fn lookup(&self, ip: IpAddr) -> Place {
        let country = self.countries.iter().find_map(|r| {
            let rec: CountryRecord = r.lookup(ip).ok()?.decode().ok()??;
            let part = rec.country.or(rec.registered_country)?;
            let code = part.iso_code?.to_owned();
            let name = (part.names.as_ref())
                .and_then(|n| n.get("en").copied())
                .unwrap_or(&code)
                .to_owned();
            Some((code, name))
        });
        let asn = self.networks.iter().find_map(|r| {
            let rec: AsnRecord = r.lookup(ip).ok()?.decode().ok()??;
            let org = rec.autonomous_system_organization.unwrap_or("").to_owned();
            Some((rec.autonomous_system_number?, org))
        });
        Place { country, asn }
    }
}

/// A run's databases, shared by its readers; compared by identity.
#[derive(Debug, Clone, Default)]
pub struct GeoHandle(pub Option<std::sync::Arc<Geo>>);

impl PartialEq for GeoHandle {
    fn eq(&self, o: &Self) -> bool {
        match (&self.0, &o.0) {
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for GeoHandle {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_no_database() {
        let err = Geo::from_files(vec![("x.mmdb".into(), b"not a database".to_vec())]).unwrap_err();
        assert!(err.starts_with("x.mmdb is no MaxMind database"), "{err}");
    }
}
