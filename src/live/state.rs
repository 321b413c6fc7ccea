//! Opening the history database and reading the state a restart resumes from.

use super::RunOptions;
use crate::aggregate::Aggregate;
use crate::follow::Checkpoints;
use crate::store::sqlite::SqliteStore;
use crate::store::writer::Writer;
use crate::store::{Saved, Store, StoreError};
use std::path::Path;
use std::sync::Arc;

/// Opens the history database and loads the saved state, or starts empty.
pub(super) fn initial_state(
    opts: &RunOptions,
    health: &Arc<crate::health::Health>,
    sink: Option<Arc<crate::store::clickhouse::sink::Sink>>,
) -> Result<(Saved, Option<Writer>), StoreError> {
    let fresh = || Saved {
        aggregate: Aggregate::new(opts.limits),
        checkpoints: Checkpoints::default(),
        detection: None,
    };
    let Some(path) = &opts.db else {
        return Ok((fresh(), None));
    };
    let (store, saved) = open_history(path)?;
    let saved = match saved {
        Some(s) => {
            tracing::info!(target: "runner", path = %path.display(), requests = s.aggregate.totals.requests, "resuming from the saved state");
            s
        }
        None => fresh(),
    };
    let writer = Writer::spawn(Box::new(store), opts.retention, health.clone(), sink);
    Ok((saved, Some(writer)))
}

/// Opens the history database and reads the saved state. A database that cannot be read
/// (damaged, or written by a newer tailpulse) is moved aside with an error naming what was
/// lost, and a new one is started: the logs are then read again from their start.
fn open_history(path: &Path) -> Result<(SqliteStore, Option<Saved>), StoreError> {
    let opened = SqliteStore::open(path).and_then(|mut s| {
        let saved = s.load()?;
        Ok((s, saved))
    });
    match opened {
        Ok((store, saved)) => {
            if let Some(r) = &store.recovery {
                tracing::error!(target: "runner", "{r}");
                eprintln!("tailpulse: ERROR {r}");
            }
            Ok((store, saved))
        }
        Err(e) if crate::store::sqlite::is_unreadable(&e) => {
            let aside = crate::store::sqlite::move_aside(path).map_err(|io| StoreError::Moved {
                path: path.display().to_string(),
                source: io,
            })?;
            let msg = "the history database cannot be read: it was moved aside, its history and read positions are not used, and the logs are read again from their start";
            tracing::error!(target: "runner", path = %path.display(), moved_to = %aside.display(), error = %format!("{e:#}"), "{msg}");
            eprintln!(
                "tailpulse: ERROR {msg} ({} -> {}): {e:#}",
                path.display(),
                aside.display()
            );
            Ok((SqliteStore::open(path)?, None))
        }
        other => other,
    }
}
