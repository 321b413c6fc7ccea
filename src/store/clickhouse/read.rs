//! Reading requests back: any time range, with the filters of the dashboard and the API
//! applied in the server where SQL can say them (time, host, virtual host, route, status,
//! path prefix, client network, user agent, response time) and on each row otherwise
//! (browser, operating system, device, referring site, a client logged as a name). The rows
//! are counted by the same [`Aggregate`] a log file is counted by.

use super::rows::decode;
use super::{ClickHouseError, Client, literal};
use crate::aggregate::Aggregate;
use crate::aggregate::filter::{ClientFilter, Filter, PathFilter, StatusFilter};
use std::collections::HashMap;
use std::io::BufReader;

/// The SQL condition for requests in `[from_ms, to_ms)` that pass `f` as far as SQL can
/// tell (the rest is checked by [`passes`]).
pub fn condition(f: &Filter, from_ms: Option<i64>, to_ms: Option<i64>) -> String {
    let mut c = vec!["1".to_owned()];
    let at = "(toUInt64(t) * 1000 + ms)";
    if let Some(from) = from_ms.or(f.since_ms) {
        c.push(format!(
            "t >= toDateTime({}) AND {at} >= {}",
            from.div_euclid(1000).max(0),
            from.max(0)
        ));
    }
    if let Some(to) = to_ms {
        c.push(format!(
            "t <= toDateTime({}) AND {at} < {}",
            to.div_euclid(1000).max(0),
            to.max(0)
        ));
    }
    if let Some(h) = &f.host {
        c.push(format!("host = {}", literal(h)));
    }
    if let Some(v) = &f.vhost {
        c.push(format!("vhost = {}", literal(v)));
    }
    if let Some(r) = &f.route {
        c.push(format!("position(route, {}) > 0", literal(r)));
    }
    match f.status {
        Some(StatusFilter::Class(k)) => c.push(format!("intDiv(status, 100) = {k}")),
        Some(StatusFilter::Code(k)) => c.push(format!("status = {k}")),
        None => {}
    }
    // A pattern is matched here, in Rust's syntax (see `passes`).
    if let Some(PathFilter::Prefix(p)) = &f.path {
        c.push(format!("substring(path, 1, {}) = {}", p.len(), literal(p)));
    }
    if let Some(ms) = f.min_ms {
        c.push(format!("rt_ms >= {ms:?}"));
    }
    if let Some(ClientFilter::Net(net)) = &f.client {
        let (lo, hi) = net_bounds(net);
        c.push(format!("ip BETWEEN unhex('{lo}') AND unhex('{hi}')"));
    }
    if let Some(ua) = &f.ua {
        c.push(format!(
            "positionCaseInsensitive(user_agent, {}) > 0",
            literal(ua)
        ));
    }
    if let Some(site) = &f.referer {
        c.push(format!("position(referer, {}) > 0", literal(site)));
    }
    c.join(" AND ")
}

/// The first and last address of `net`, as the hex of their 16-byte (IPv4-mapped) forms.
fn net_bounds(net: &crate::sift::IpNet) -> (String, String) {
    let v6 = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v6) => v6.octets(),
    };
    let hex = |b: [u8; 16]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    (hex(v6(net.network())), hex(v6(net.broadcast())))
}

/// Whether `req` passes the parts of `f` that SQL does not check.
pub fn passes(f: &Filter, req: &crate::request::Request<'_>, look: &mut Lookups) -> bool {
    if (f.browser.is_some() || f.os.is_some() || f.device.is_some())
        && !f.agent_passes(&req.user_agent, look.kind(&req.user_agent))
    {
        return false;
    }
    if let Some(code) = &f.country
        && look.country(&req.client) != code
    {
        return false;
    }
    if let Some(site) = &f.referer
        && crate::aggregate::origins::site_of(&req.referer) != site
    {
        return false;
    }
    if let Some(ClientFilter::Name(h)) = &f.client
        && crate::aggregate::recent::client_hash(req.client.trim()) != *h
    {
        return false;
    }
    if let Some(p @ PathFilter::Pattern(_)) = &f.path
        && !p.matches(crate::route::without_query(&req.path))
    {
        return false;
    }
    true
}

/// What the filters need to know of a row beyond its columns, found once per distinct value:
/// what each user agent is and, with a geolocation database, each client's country.
#[derive(Default)]
pub struct Lookups {
    kinds: HashMap<String, crate::aggregate::agents::Kind>,
    geo: crate::geo::GeoHandle,
    countries: HashMap<String, String>,
}

/// Distinct values each lookup table keeps before it starts again.
const LOOKUPS_KEPT: usize = 65_536;

impl Lookups {
    /// Lookups placing clients with `geo` (when it holds a database).
    pub fn new(geo: crate::geo::GeoHandle) -> Self {
        Lookups {
            geo,
            ..Lookups::default()
        }
    }

    fn kind(&mut self, ua: &str) -> &crate::aggregate::agents::Kind {
        if !self.kinds.contains_key(ua) {
            if self.kinds.len() > LOOKUPS_KEPT {
                self.kinds.clear();
            }
            let bot = crate::aggregate::agents::is_automated(ua);
            let kind = crate::aggregate::agents::classify(ua, bot);
            self.kinds.insert(ua.to_owned(), kind);
        }
        &self.kinds[ua]
    }

    /// The ISO code of the country of `client`, `--` when no database places it.
    fn country(&mut self, client: &str) -> &str {
        if !self.countries.contains_key(client) {
            if self.countries.len() > LOOKUPS_KEPT {
                self.countries.clear();
            }
            let place = (self.geo.0.as_ref())
                .zip(crate::sift::parse_addr(client))
                .and_then(|(geo, ip)| geo.lookup(ip).country);
            let code = place.map_or_else(|| "--".to_owned(), |(code, _)| code);
            self.countries.insert(client.to_owned(), code);
        }
        &self.countries[client]
    }
}

/// Why a filter cannot be answered from ClickHouse.
pub fn unsupported(f: &Filter, geo: &crate::geo::GeoHandle) -> Option<&'static str> {
    (f.country.is_some() && geo.0.is_none()).then_some(
        "country= needs a geolocation database (--geoip-db): ClickHouse keeps addresses, not places",
    )
}

/// Counts every stored request in `[from_ms, to_ms)` that passes `f` into `agg`, oldest
/// first, as a log file's lines are counted; returns how many were counted.
pub fn count_into(
    client: &Client,
    agg: &mut Aggregate,
    f: &Filter,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<u64, ClickHouseError> {
    let sql = format!(
        "SELECT {} FROM {}.requests WHERE {} ORDER BY t, ms, source, offset FORMAT RowBinary",
        super::schema::REQUEST_COLUMNS,
        client.db(),
        condition(f, from_ms, to_ms)
    );
    let mut look = Lookups::new(agg.geo());
    let mut n = 0u64;
    each_row(client, &sql, |row| {
        let req = &row.request;
        if passes(f, req, &mut look) {
            agg.count(req);
            n += 1;
            agg.sample(req, combined_line(req).as_bytes(), n);
        }
    })?;
    let stats = crate::aggregate::LineStats {
        read: n,
        parsed: n,
        ..Default::default()
    };
    agg.record_lines(
        &format!("clickhouse:{}", client.options().database),
        None,
        stats,
    );
    Ok(n)
}

/// The newest `limit` stored requests that pass `f` (as far as SQL can say: time, host,
/// virtual host, route, status, path, client network, user agent, referrer, response time),
/// newest first.
pub fn newest(
    client: &Client,
    f: &Filter,
    limit: usize,
) -> Result<Vec<crate::request::Request<'static>>, ClickHouseError> {
    let sql = format!(
        "SELECT {} FROM {}.requests WHERE {} ORDER BY t DESC, ms DESC, source, offset DESC LIMIT {limit} FORMAT RowBinary",
        super::schema::REQUEST_COLUMNS,
        client.db(),
        condition(f, None, None)
    );
    let mut out = Vec::new();
    each_row(client, &sql, |row| out.push(row.request))?;
    Ok(out)
}

/// Runs `sql` (a RowBinary query of [`super::schema::REQUEST_COLUMNS`]) and hands each row
/// to `each` as it arrives.
fn each_row(
    client: &Client,
    sql: &str,
    mut each: impl FnMut(super::rows::StoredRow),
) -> Result<(), ClickHouseError> {
    let mut failure = None;
    client.stream(sql, |r| {
        let mut r = BufReader::with_capacity(1 << 16, r);
        loop {
            match decode(&mut r) {
                Ok(Some(row)) => each(row),
                Ok(None) => return Ok(()),
                Err(e) => {
                    failure = Some(e.to_string());
                    return Ok(());
                }
            }
        }
    })?;
    match failure {
        Some(message) => Err(ClickHouseError::Answer {
            url: client.options().url.clone(),
            message,
        }),
        None => Ok(()),
    }
}

/// A stored request as a line of the combined log format (with its response time last,
/// when it has one), for the sample lines of a report.
pub fn combined_line(req: &crate::request::Request<'_>) -> String {
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_owned()
        } else {
            s.to_owned()
        }
    };
    let protocol = match req.protocol.is_empty() {
        true => String::new(),
        false => format!(" {}", req.protocol),
    };
    let ms = req.response_ms.map_or(String::new(), |m| format!(" {m}"));
    format!(
        "{} - {} [{}] \"{} {}{protocol}\" {} {} \"{}\" \"{}\"{ms}",
        dash(&req.client),
        dash(&req.remote_user),
        crate::time::format_clf(req.ts_ms),
        req.method,
        req.path,
        req.status,
        req.bytes,
        dash(&req.referer),
        dash(&req.user_agent),
    )
}

/// The end of the newest minute holding a stored request (from the per-minute rollups,
/// which are far smaller than the rows), `None` when none is stored.
pub fn newest_minute_end_ms(client: &Client) -> Result<Option<i64>, ClickHouseError> {
    let newest = stored_max(client, "minutes", "toUInt64(minute)")?;
    Ok(newest.map(|s| s * 1000 + 59_999))
}

/// The time of the newest stored request (UTC ms), `None` when none is stored.
pub fn newest_ms(client: &Client) -> Result<Option<i64>, ClickHouseError> {
    stored_max(client, "requests", "toUInt64(t) * 1000 + ms")
}

/// The largest `expr` over the rows of `table`, `None` when it has none (ClickHouse answers
/// 0 for the maximum of no rows, so the rows are counted too).
fn stored_max(client: &Client, table: &str, expr: &str) -> Result<Option<i64>, ClickHouseError> {
    let text = client.query_text(&format!(
        "SELECT count(), max({expr}) FROM {}.{table} FORMAT TabSeparated",
        client.db()
    ))?;
    let mut parts = text.trim().split('\t');
    let n: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let max: Option<i64> = parts.next().and_then(|v| v.parse().ok());
    Ok(max.filter(|_| n > 0))
}
