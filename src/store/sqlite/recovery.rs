//! What happens around a damaged database: the marker that notices lost commits, moving an
//! unreadable file aside, and SQLite's integrity check.

use super::{SqliteStore, StoreError, classify};
use std::path::Path;

/// `path` with `suffix` appended to its name.
pub(super) fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    std::path::PathBuf::from(s)
}

/// The commit count and newest minute written beside the database after every commit, so
/// that a lost write-ahead log or an emptied file can be noticed and named.
pub(super) fn read_marker(path: &Path) -> Option<(i64, i64)> {
    let text = std::fs::read_to_string(with_suffix(path, ".commits")).ok()?;
    let mut it = text.split_whitespace().map(|w| w.parse::<i64>().ok());
    Some((it.next()??, it.next()??))
}

pub(super) fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `PRAGMA integrity_check` of the database at `path`: `Ok` with SQLite's findings (`["ok"]`
/// when sound).
pub fn integrity_check(path: &Path) -> Result<Vec<String>, StoreError> {
    let store = SqliteStore::open_read_only(path)?;
    let mut st = store
        .conn
        .prepare("PRAGMA integrity_check")
        .map_err(|e| store.sql(e))?;
    st.query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| classify(&store.path, e))
}

/// Moves the database at `path` and its `-wal` and `-shm` files aside, to
/// `<path>.unreadable-<unix seconds>`, so that a new one can start; returns the new name.
pub fn move_aside(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let aside = with_suffix(path, &format!(".unreadable-{}", unix_secs()));
    std::fs::rename(path, &aside)?;
    for side in ["-wal", "-shm", ".commits"] {
        let from = with_suffix(path, side);
        if from.exists() {
            let mut to = aside.as_os_str().to_owned();
            to.push(side);
            std::fs::rename(&from, to)?;
        }
    }
    Ok(aside)
}

/// True when the store cannot read what the file holds (damaged, not a database, or written
/// by a newer tailpulse), as opposed to a failure of the disk or the file system.
pub fn is_unreadable(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Decode { .. } | StoreError::NotADatabase { .. } | StoreError::TooNew { .. }
    )
}
