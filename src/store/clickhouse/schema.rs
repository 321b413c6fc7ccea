//! The tables tailpulse keeps in ClickHouse, created and migrated in numbered steps like the
//! SQLite schema. Each step is applied once per database and recorded in `migrations`; a
//! database written by a newer tailpulse is refused.

use super::{ClickHouseError, Client};

/// The columns of `requests`, in the order rows are written (see [`super::rows`]).
pub const REQUEST_COLUMNS: &str = "t, ms, host, vhost, method, path, query, protocol, route, \
    status, bytes, rt_ms, client, ip, user_agent, referer, remote_user, cache_status, mime, \
    tls, bot, instance, source, offset";

/// The schema steps, oldest first: statements where `{db}` is the database and `{local}`
/// the suffix of a node's own tables (`_local` on a cluster, where the plain names are
/// `Distributed` tables over them), and the tables the step creates.
const STEPS: &[(&[&str], &[&str])] = &[
    // 1: every request, and the histories that SQLite keeps too.
    (
        &[
            "CREATE TABLE IF NOT EXISTS {db}.requests{local} (
            t DateTime, ms UInt16, host String, vhost String, method String, path String,
            query String, protocol String, route String, status UInt16, bytes UInt64,
            rt_ms Nullable(Float64), client String, ip FixedString(16), user_agent String,
            referer String, remote_user String, cache_status String, mime String, tls String,
            bot UInt8, instance String, source UInt64, offset UInt64
        ) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(t)
          ORDER BY (toStartOfHour(t), host, route, t)",
            "CREATE TABLE IF NOT EXISTS {db}.reports{local} (
            t DateTime, t_ms Int64, instance String, requests UInt64, text String, json String
        ) ENGINE = MergeTree() PARTITION BY toYYYYMM(t) ORDER BY (t, instance)",
            "CREATE TABLE IF NOT EXISTS {db}.insights{local} (
            first DateTime, first_ms Int64, last_ms Int64, instance String, kind String,
            subject String, severity String, message String
        ) ENGINE = ReplacingMergeTree(last_ms) PARTITION BY toYYYYMM(first)
          ORDER BY (first, instance, kind, subject)",
            "CREATE TABLE IF NOT EXISTS {db}.alerts{local} (
            t DateTime, t_ms Int64, instance String, rule String, state String,
            channel String, delivered UInt8, message String
        ) ENGINE = MergeTree() PARTITION BY toYYYYMM(t) ORDER BY (t, instance)",
        ],
        &["requests", "reports", "insights", "alerts"],
    ),
    // 2: per-minute rollups per host and route, kept up to date by a materialized view.
    (
        &[
            "CREATE TABLE IF NOT EXISTS {db}.minutes{local} (
            minute DateTime, host String, route String,
            requests AggregateFunction(count),
            status AggregateFunction(sumMap, Array(UInt16), Array(UInt64)),
            bytes AggregateFunction(sum, UInt64),
            bots AggregateFunction(sum, UInt64),
            timed AggregateFunction(sum, UInt64),
            time_us AggregateFunction(sum, UInt64),
            latency AggregateFunction(sumMap, Array(UInt16), Array(UInt64)),
            visitors AggregateFunction(uniq, String)
        ) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(minute)
          ORDER BY (minute, host, route)",
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.minutes_mv TO {db}.minutes{local} AS
         SELECT toStartOfMinute(t) AS minute, host, route,
            countState() AS requests,
            sumMapState([status], [toUInt64(1)]) AS status,
            sumState(bytes) AS bytes,
            sumState(toUInt64(bot)) AS bots,
            sumState(toUInt64(isNotNull(rt_ms))) AS timed,
            sumState(toUInt64(round(ifNull(rt_ms, 0) * 1000))) AS time_us,
            sumMapState([toUInt16(if(isNull(rt_ms), 0,
                1 + greatest(0, floor(log(ifNull(rt_ms, 0) * 1000 + 1) / log(1.02)))))],
                [toUInt64(1)]) AS latency,
            uniqState(client) AS visitors
         FROM {db}.requests{local} GROUP BY minute, host, route",
        ],
        &["minutes"],
    ),
];

/// The latest schema step this tailpulse knows.
pub const VERSION: u32 = STEPS.len() as u32;

/// Why the schema cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The server failed.
    #[error(transparent)]
    Server(#[from] ClickHouseError),
    /// Written by a newer tailpulse.
    #[error("ClickHouse database {db} has schema step {found}; this tailpulse knows up to {known}")]
    TooNew {
        /// The database.
        db: String,
        /// Its step.
        found: u32,
        /// Ours.
        known: u32,
    },
}

/// Creates the database and applies the steps it lacks, on the server and, with a cluster,
/// on each of its other nodes (`--clickhouse-shard`), where the `Distributed` tables are
/// also made; returns the steps applied to the first.
pub fn migrate(client: &Client) -> Result<u32, SchemaError> {
    let mut applied = migrate_node(client)?;
    for url in &client.options().shards {
        let mut o = client.options().clone();
        o.url = url.trim_end_matches('/').to_owned();
        o.shards.clear();
        applied = applied.max(migrate_node(&Client::new(o))?);
    }
    Ok(applied)
}

fn migrate_node(client: &Client) -> Result<u32, SchemaError> {
    let db = client.db();
    client.query(&format!("CREATE DATABASE IF NOT EXISTS {db}"))?;
    client.query(&format!(
        "CREATE TABLE IF NOT EXISTS {db}.migrations (version UInt32, at DateTime) \
         ENGINE = MergeTree() ORDER BY version"
    ))?;
    let found = current(client)?;
    if found > VERSION {
        return Err(SchemaError::TooNew {
            db: client.options().database.clone(),
            found,
            known: VERSION,
        });
    }
    let cluster = client.options().cluster.as_deref();
    let local = if cluster.is_some() { LOCAL } else { "" };
    for (i, (statements, tables)) in STEPS.iter().enumerate().skip(found as usize) {
        for sql in *statements {
            client.query(&sql.replace("{db}", &db).replace("{local}", local))?;
        }
        if let Some(cluster) = cluster {
            for t in *tables {
                client.query(&format!(
                    "CREATE TABLE IF NOT EXISTS {db}.{t} AS {db}.{t}{LOCAL} \
                     ENGINE = Distributed({}, {}, {t}{LOCAL}, rand())",
                    super::ident(cluster),
                    super::ident(&client.options().database),
                ))?;
            }
        }
        client.query(&format!(
            "INSERT INTO {db}.migrations (version, at) VALUES ({}, now())",
            i + 1
        ))?;
    }
    Ok(VERSION - found)
}

/// The suffix of a node's own tables on a cluster.
pub const LOCAL: &str = "_local";

/// The tables that hold rows (not views), each with how its partitions are named: by day
/// (`YYYYMMDD`) or by month (`YYYYMM`).
pub const PARTITIONED: [(&str, bool); 5] = [
    ("requests", true),
    ("minutes", false),
    ("reports", false),
    ("insights", false),
    ("alerts", false),
];

/// The newest step applied to the database.
pub fn current(client: &Client) -> Result<u32, ClickHouseError> {
    let text = client.query_text(&format!(
        "SELECT max(version) FROM {}.migrations FORMAT TabSeparated",
        client.db()
    ))?;
    Ok(text.trim().parse().unwrap_or(0))
}
