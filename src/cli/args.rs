//! Argument groups shared by `analyze`, `run` and `generate`: how lines are read and how
//! paths become routes.

use super::choice::choice;
use crate::format::{FormatKind, FormatOptions, TimeUnit};
use clap::Args;

/// How log lines are read.
#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// Log format; detected from the first lines when not given.
    #[arg(long, value_parser = choice::<FormatKind>())]
    pub format: Option<FormatKind>,
    /// GoAccess-style format string, e.g. '%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T', or a
    /// GoAccess preset name (COMBINED, VCOMBINED, COMMON, W3C, CADDY, TRAEFIKCLF).
    #[arg(long)]
    pub log_format: Option<String>,
    /// strftime date format for %d in --log-format (default %d/%b/%Y).
    #[arg(long)]
    pub date_format: Option<String>,
    /// strftime time format for %t in --log-format (default %H:%M:%S).
    #[arg(long)]
    pub time_format: Option<String>,
    /// Unit of bare-integer response times in text logs (Apache %D is us, %T is s);
    /// guessed from the values when not given.
    #[arg(long, value_parser = choice::<TimeUnit>())]
    pub time_unit: Option<TimeUnit>,
    /// Map a request field to a JSON key: FIELD=KEY[:UNIT], e.g. response_time=latency:ms,
    /// path=req.url. Fields: time method path request protocol status bytes response_time
    /// client user_agent referer vhost host. Repeatable.
    #[arg(long, value_parser = parse_json_field)]
    pub json_field: Vec<(String, String)>,
    /// The host (server) that lines naming none are counted under; default: this machine's
    /// name. Syslog headers and ingest envelopes name their own.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
}

impl FormatArgs {
    /// The parser options these flags describe.
    pub fn options(&self) -> FormatOptions {
        FormatOptions {
            kind: self.format,
            log_format: self.log_format.clone(),
            date_format: self.date_format.clone(),
            time_format: self.time_format.clone(),
            time_unit: self.time_unit,
            json_fields: self.json_field.clone(),
        }
    }

    /// The host of lines that name none: `--host`, or else this machine's name.
    pub fn host(&self) -> String {
        self.host.clone().unwrap_or_else(this_host)
    }
}

/// This machine's name (`localhost` when it has none that reads as text).
pub fn this_host() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn parse_json_field(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("expected FIELD=KEY[:UNIT]")?;
    Ok((k.trim().to_owned(), v.trim().to_owned()))
}

/// How requests are counted: how paths become routes, which are static files, and what is
/// left out.
#[derive(Debug, Clone, Args)]
pub struct RouteArgs {
    /// How paths become routes: `normalized` replaces ids (numbers, UUIDs, hex hashes,
    /// random tokens; not slugs with words) by {id}; `raw` keeps paths as requested.
    #[arg(long, value_parser = choice::<crate::route::RouteMode>())]
    pub routes: Option<crate::route::RouteMode>,
    /// Keep query strings in routes: all of them (no value), or only these comma-separated
    /// keys, e.g. --keep-query flav,page.
    #[arg(long, num_args = 0..=1, default_missing_value = "*", value_name = "KEYS")]
    pub keep_query: Option<String>,
    /// Count paths that match PATTERN as one route named PATTERN (`*` within a segment, `**`
    /// any number of segments), e.g. '/presentations/**'. Repeatable; tried in order.
    #[arg(long = "route-rule", value_name = "PATTERN")]
    pub route_rules: Vec<String>,
    /// File extensions that make a request a static file (comma-separated, replacing the
    /// default list: css, js, images, fonts, media, archives, …).
    #[arg(long, value_name = "EXTS", value_delimiter = ',')]
    pub static_ext: Option<Vec<String>>,
    /// Leave out requests from these clients: addresses or networks (CIDR), comma-separated
    /// or repeated, e.g. --exclude-ip 10.0.0.0/8,192.0.2.7.
    #[arg(long, value_name = "CIDR", value_delimiter = ',', value_parser = crate::sift::parse_net)]
    pub exclude_ip: Vec<crate::sift::IpNet>,
    /// Leave out requests from crawlers, scripts and scanners.
    #[arg(long)]
    pub ignore_crawlers: bool,
    /// Leave out requests for static files (see --static-ext).
    #[arg(long)]
    pub ignore_static: bool,
    /// Count and show client addresses without their last part (IPv4: the last octet;
    /// IPv6: all past the /48).
    #[arg(long)]
    pub anonymize_ip: bool,
    /// The site's own host names (comma-separated or repeated): referrers on them are not
    /// counted among the referring pages and sites.
    #[arg(long, value_name = "HOST", value_delimiter = ',')]
    pub site_host: Vec<String>,
    /// A MaxMind-format database (GeoLite2/GeoIP2 Country, City or ASN, DB-IP Lite) for the
    /// countries and networks of the clients. Repeatable: one for countries, one for networks.
    #[arg(long, value_name = "FILE")]
    pub geoip_db: Vec<std::path::PathBuf>,
}

impl RouteArgs {
    /// The geolocation databases of `--geoip-db`, read.
    fn geo(&self) -> Result<crate::geo::GeoHandle, String> {
        if self.geoip_db.is_empty() {
            return Ok(crate::geo::GeoHandle::default());
        }
        let files = (self.geoip_db.iter())
            .map(|p| {
                let bytes =
                    std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                Ok((p.display().to_string(), bytes))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let geo = crate::geo::Geo::from_files(files)?;
        Ok(crate::geo::GeoHandle(Some(std::sync::Arc::new(geo))))
    }

    /// The route options from these flags over the configuration's `[routes]`.
    pub fn options(
        &self,
        config: &crate::config::Routes,
    ) -> Result<crate::route::RouteOptions, String> {
        use crate::route::{KeepQuery, RouteOptions, Rule};
        let keep_query = match (&self.keep_query, &config.keep_query) {
            (Some(k), _) => KeepQuery::parse(k),
            (None, Some(keys)) if keys.is_empty() => KeepQuery::None,
            (None, Some(keys)) => KeepQuery::parse(&keys.join(",")),
            (None, None) => KeepQuery::None,
        };
        let rules = self
            .route_rules
            .iter()
            .chain(&config.rules)
            .map(|r| Rule::new(r))
            .collect::<Result<_, _>>()?;
        let statics = match &self.static_ext {
            Some(list) => crate::route::StaticFiles::new(list.iter().map(String::as_str)),
            None => crate::route::StaticFiles::default(),
        };
        Ok(RouteOptions {
            mode: self.routes.or(config.mode).unwrap_or_default(),
            keep_query,
            rules,
            statics,
            geo: self.geo()?,
            sift: crate::sift::Sift {
                exclude: self.exclude_ip.clone(),
                ignore_crawlers: self.ignore_crawlers,
                ignore_static: self.ignore_static,
                anonymize: self.anonymize_ip,
                site_hosts: self.site_host.clone(),
            },
        })
    }
}

/// Where ClickHouse is, for `run` (the fleet's store) and `analyze` (reading it).
#[derive(Debug, Clone, clap::Args)]
pub struct ClickHouseArgs {
    /// ClickHouse's HTTP interface (e.g. http://127.0.0.1:8123). `run` keeps every request
    /// there too, and `analyze` reads requests from it. User and password come from
    /// [clickhouse] in the configuration file or TAILPULSE_CLICKHOUSE_USER and
    /// TAILPULSE_CLICKHOUSE_PASSWORD, never from the command line.
    #[arg(long, value_name = "URL", group = "stored")]
    pub clickhouse: Option<String>,
    /// The ClickHouse database (created when missing).
    #[arg(long, default_value = "tailpulse", value_name = "NAME")]
    pub clickhouse_db: String,
    /// A ClickHouse cluster (its name in the servers' remote_servers): each node keeps its
    /// share in `_local` tables, and rows are written and read through Distributed tables.
    #[arg(long, value_name = "NAME", requires = "clickhouse")]
    pub clickhouse_cluster: Option<String>,
    /// With --clickhouse-cluster: the HTTP interface of another node of the cluster, where
    /// tailpulse makes the tables too (repeatable).
    #[arg(long, value_name = "URL", requires = "clickhouse_cluster")]
    pub clickhouse_shard: Vec<String>,
}

impl ClickHouseArgs {
    /// The server's options, with the credentials of `login`; `None` without `--clickhouse`.
    pub fn options(
        &self,
        login: &crate::config::ClickHouseLogin,
    ) -> anyhow::Result<Option<crate::store::clickhouse::ClickHouseOptions>> {
        let Some(url) = &self.clickhouse else {
            return Ok(None);
        };
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--clickhouse wants the server's HTTP interface, like http://127.0.0.1:8123 (got {url})"
        );
        anyhow::ensure!(
            !url.contains('@'),
            "--clickhouse must not carry a user or password; put them in [clickhouse] of the configuration file or in TAILPULSE_CLICKHOUSE_USER and TAILPULSE_CLICKHOUSE_PASSWORD"
        );
        let login = login.resolved();
        let mut o = crate::store::clickhouse::ClickHouseOptions::new(url, &self.clickhouse_db);
        o.user = login.user;
        o.password = login.password;
        o.cluster = self.clickhouse_cluster.clone();
        o.shards = self.clickhouse_shard.clone();
        Ok(Some(o))
    }
}
