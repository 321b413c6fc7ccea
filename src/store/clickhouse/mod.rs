//! ClickHouse as the fleet's store: every request kept in a `requests` table (partitioned by
//! day), per-minute rollups kept by materialized views, and the report, finding and alert
//! history, shared by any number of tailpulse instances. Requests reach it through a
//! [`sink::Sink`] that queues them on disk first, so a slow or stopped server never stalls the
//! analysis and nothing acknowledged by the local checkpoints is lost.
//!
//! Only features of ClickHouse 18.16 (Debian's package) are used: `DateTime` with a separate
//! millisecond column, partitions for retention, RowBinary and TabSeparated over HTTP.

pub mod history;
pub mod queue;
pub mod read;
pub mod retention;
pub mod rollups;
pub mod rows;
pub mod schema;
pub mod ship;
mod shipper;
pub mod sink;

use std::io::Read;
use std::time::Duration;

/// Where the ClickHouse server is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickHouseOptions {
    /// The HTTP interface, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// The database (created when missing).
    pub database: String,
    /// The user, if not `default`.
    pub user: Option<String>,
    /// Its password.
    pub password: Option<String>,
    /// How long a request to the server may take.
    pub timeout: Duration,
    /// A cluster (its name in the servers' `remote_servers`): rows are written and read
    /// through `Distributed` tables over each node's `_local` tables.
    pub cluster: Option<String>,
    /// With a cluster: the HTTP interfaces of its other nodes, where the tables are made too.
    pub shards: Vec<String>,
    /// Ranges that hold more requests than this, filtered by host and route at most, are
    /// answered from the per-minute rollups rather than from the rows.
    pub scan_max: u64,
}

impl ClickHouseOptions {
    /// Options for the server at `url`, database `database`, as user `default`.
    pub fn new(url: &str, database: &str) -> Self {
        ClickHouseOptions {
            url: url.trim_end_matches('/').to_owned(),
            database: database.to_owned(),
            user: None,
            password: None,
            timeout: Duration::from_secs(30),
            cluster: None,
            shards: Vec::new(),
            scan_max: 5_000_000,
        }
    }
}

/// Why a ClickHouse request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// The server could not be reached, or the connection broke.
    #[error("ClickHouse at {url} cannot be reached: {message}")]
    Unreachable {
        /// The server.
        url: String,
        /// The cause.
        message: String,
    },
    /// The server answered with an error.
    #[error("ClickHouse at {url} answered HTTP {status}: {message}")]
    Server {
        /// The server.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's message (first line).
        message: String,
    },
    /// The server's answer cannot be read.
    #[error("ClickHouse at {url} sent an answer that cannot be read: {message}")]
    Answer {
        /// The server.
        url: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A connection to one ClickHouse server's HTTP interface.
#[derive(Clone)]
pub struct Client {
    opts: ClickHouseOptions,
    agent: ureq::Agent,
    auth: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.opts.url)
            .field("database", &self.opts.database)
            .finish_non_exhaustive()
    }
}

/// Longest error message kept from the server.
const MAX_MESSAGE: usize = 500;

impl Client {
    /// A client for `opts` (nothing is sent yet).
    pub fn new(opts: ClickHouseOptions) -> Client {
        use base64::Engine;
        let auth = opts.user.as_ref().map(|u| {
            let pair = format!("{u}:{}", opts.password.as_deref().unwrap_or(""));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Client { opts, agent, auth }
    }

    /// The options it was made with.
    pub fn options(&self) -> &ClickHouseOptions {
        &self.opts
    }

    /// The database's name, quoted for SQL.
    pub fn db(&self) -> String {
        ident(&self.opts.database)
    }

    /// Runs `sql` (a statement, or a query with its `FORMAT`) and returns the answer.
    pub fn query(&self, sql: &str) -> Result<Vec<u8>, ClickHouseError> {
        let mut out = Vec::new();
        self.stream(sql, |r| r.read_to_end(&mut out).map(|_| ()))?;
        Ok(out)
    }

    /// Runs `sql` and returns the answer as text.
    pub fn query_text(&self, sql: &str) -> Result<String, ClickHouseError> {
        let bytes = self.query(sql)?;
        String::from_utf8(bytes).map_err(|e| self.answer(e.to_string()))
    }

    /// Runs `sql` and hands the answer to `read` as it arrives.
    pub fn stream(
        &self,
        sql: &str,
        read: impl FnOnce(&mut dyn Read) -> std::io::Result<()>,
    ) -> Result<(), ClickHouseError> {
        let mut res = self.send(sql, &[], &[])?;
        let mut body = res.body_mut().with_config().limit(u64::MAX).reader();
        read(&mut body).map_err(|e| ClickHouseError::Unreachable {
            url: self.opts.url.clone(),
            message: e.to_string(),
        })
    }

    /// Sends `body` as the data of `INSERT INTO {table} FORMAT {format}`, with `settings`.
    pub fn insert(
        &self,
        table: &str,
        format: &str,
        body: &[u8],
        settings: &[(&str, &str)],
    ) -> Result<(), ClickHouseError> {
        let sql = format!("INSERT INTO {table} FORMAT {format}");
        // On a cluster an insert is acknowledged once every shard has its rows.
        let sync = [("insert_distributed_sync", "1")];
        let settings: Vec<(&str, &str)> = match self.opts.cluster {
            Some(_) => settings.iter().chain(&sync).copied().collect(),
            None => settings.to_vec(),
        };
        let mut res = self.send(&sql, body, &settings)?;
        let _ = res.body_mut().read_to_vec();
        Ok(())
    }

    fn send(
        &self,
        sql: &str,
        body: &[u8],
        settings: &[(&str, &str)],
    ) -> Result<ureq::http::Response<ureq::Body>, ClickHouseError> {
        let mut req = self.agent.post(&self.opts.url).query("query", sql);
        for (k, v) in settings {
            req = req.query(*k, *v);
        }
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let mut res = req.send(body).map_err(|e| ClickHouseError::Unreachable {
            url: self.opts.url.clone(),
            message: e.to_string(),
        })?;
        let status = res.status().as_u16();
        if status == 200 {
            return Ok(res);
        }
        let text = res
            .body_mut()
            .with_config()
            .limit(64 << 10)
            .read_to_string()
            .unwrap_or_default();
        let message: String = text.trim().chars().take(MAX_MESSAGE).collect();
        Err(ClickHouseError::Server {
            url: self.opts.url.clone(),
            status,
            message,
        })
    }

    fn answer(&self, message: String) -> ClickHouseError {
        ClickHouseError::Answer {
            url: self.opts.url.clone(),
            message,
        }
    }
}

/// `name` quoted as a SQL identifier.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// `s` quoted as a SQL string literal.
pub fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}
