//! Sending one queue segment: the rows a server may already hold are looked up by their
//! source and offset first, the others are inserted in RowBinary, at most [`INSERT_ROWS`]
//! per insert.

use super::rows::Framed;
use super::schema::REQUEST_COLUMNS;
use super::{ClickHouseError, Client, literal};
use std::collections::{HashMap, HashSet};

/// Rows per insert: well under a server block, so every insert is applied whole.
pub const INSERT_ROWS: usize = 100_000;

/// What sending a segment did.
#[derive(Debug, Default)]
pub struct Shipped {
    /// Rows inserted.
    pub sent: u64,
    /// Rows the server had already.
    pub skipped: u64,
    /// The highest offset inserted per source.
    pub reached: HashMap<u64, u64>,
}

/// Per source of `instance`, the highest offset the server holds.
pub fn horizon(client: &Client, instance: &str) -> Result<HashMap<u64, u64>, ClickHouseError> {
    let sql = format!(
        "SELECT source, max(offset) FROM {}.requests WHERE instance = {} GROUP BY source FORMAT TabSeparated",
        client.db(),
        literal(instance)
    );
    Ok(pairs(&client.query_text(&sql)?).collect())
}

/// Sends the rows of `rows` the server lacks. Rows at or below `horizon` are looked up
/// first; rows above it cannot be there.
pub fn ship(
    client: &Client,
    instance: &str,
    horizon: &HashMap<u64, u64>,
    rows: &[Framed<'_>],
) -> Result<Shipped, ClickHouseError> {
    let stored = stored(client, instance, horizon, rows)?;
    let table = format!("{}.requests ({REQUEST_COLUMNS})", client.db());
    let fresh: Vec<&Framed<'_>> = rows
        .iter()
        .filter(|r| !stored.contains(&(r.origin.source, r.origin.offset)))
        .collect();
    let mut done = Shipped {
        skipped: (rows.len() - fresh.len()) as u64,
        ..Shipped::default()
    };
    let mut body = Vec::new();
    for chunk in fresh.chunks(INSERT_ROWS) {
        body.clear();
        for r in chunk {
            body.extend_from_slice(r.row);
        }
        client.insert(&table, "RowBinary", &body, &[])?;
        done.sent += chunk.len() as u64;
        for r in chunk {
            let h = done.reached.entry(r.origin.source).or_insert(0);
            *h = (*h).max(r.origin.offset);
        }
    }
    Ok(done)
}

/// The rows among `rows` at or below the horizon that the server has.
fn stored(
    client: &Client,
    instance: &str,
    horizon: &HashMap<u64, u64>,
    rows: &[Framed<'_>],
) -> Result<HashSet<(u64, u64)>, ClickHouseError> {
    let mut ranges: HashMap<u64, (u64, u64)> = HashMap::new();
    for r in rows {
        let o = r.origin;
        if horizon.get(&o.source).is_some_and(|h| o.offset <= *h) {
            let e = ranges.entry(o.source).or_insert((o.offset, o.offset));
            e.0 = e.0.min(o.offset);
            e.1 = e.1.max(o.offset);
        }
    }
    if ranges.is_empty() {
        return Ok(HashSet::new());
    }
    let cond: Vec<String> = ranges
        .iter()
        .map(|(s, (lo, hi))| format!("(source = {s} AND offset BETWEEN {lo} AND {hi})"))
        .collect();
    let sql = format!(
        "SELECT source, offset FROM {}.requests WHERE instance = {} AND ({}) FORMAT TabSeparated",
        client.db(),
        literal(instance),
        cond.join(" OR ")
    );
    Ok(pairs(&client.query_text(&sql)?).collect())
}

/// The rows of a two-number TabSeparated answer.
fn pairs(text: &str) -> impl Iterator<Item = (u64, u64)> + '_ {
    text.lines().filter_map(|l| {
        let (a, b) = l.split_once('\t')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    })
}
