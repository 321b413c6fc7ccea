//! History kept for `--retention`: whole partitions (days of requests, months of rollups and
//! history) older than the retention, counted back from the newest stored request or the
//! clock, whichever is earlier, are dropped on every node.

use super::schema::{LOCAL, PARTITIONED};
use super::{ClickHouseError, Client, literal};

/// Drops the partitions wholly older than `keep_ms`; returns how many were dropped.
pub fn retain(client: &Client, keep_ms: i64, now_ms: i64) -> Result<u64, ClickHouseError> {
    let Some(newest) = super::read::newest_ms(client)? else {
        return Ok(0);
    };
    let cutoff = newest.min(now_ms).saturating_sub(keep_ms);
    // The partition keys are toYYYYMMDD(t) and toYYYYMM(t) of UTC times.
    let day: u64 = crate::time::format_utc(cutoff)[..10]
        .replace('-', "")
        .parse()
        .unwrap_or(0);
    let month = day / 100;
    let mut nodes = vec![client.clone()];
    for url in &client.options().shards {
        let mut o = client.options().clone();
        o.url = url.trim_end_matches('/').to_owned();
        nodes.push(Client::new(o));
    }
    let local = if client.options().cluster.is_some() {
        LOCAL
    } else {
        ""
    };
    let mut dropped = 0;
    for node in &nodes {
        for (table, by_day) in PARTITIONED {
            let name = format!("{table}{local}");
            let text = node.query_text(&format!(
                "SELECT DISTINCT partition FROM system.parts WHERE active AND database = {} AND table = {} FORMAT TabSeparated",
                literal(&node.options().database),
                literal(&name)
            ))?;
            let limit = if by_day { day } else { month };
            for p in text.lines().filter_map(|l| l.trim().parse::<u64>().ok()) {
                if p < limit {
                    node.query(&format!(
                        "ALTER TABLE {}.{name} DROP PARTITION {p}",
                        node.db()
                    ))?;
                    dropped += 1;
                }
            }
        }
    }
    Ok(dropped)
}
