//! The store's writer thread: commits arrive over a bounded channel and are applied in
//! order, so the analysis never waits on the disk. A failed commit is logged and its rollups
//! ride along with the next one, so history loses nothing while the state stays consistent.

use super::clickhouse::sink::Sink;
use super::{Commit, Retention, Store};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// How often history is downsampled and trimmed.
const RETAIN_EVERY: Duration = Duration::from_secs(3600);
/// How long a state waits for the rows it includes to reach the disk queue.
const DURABLE_WAIT: Duration = Duration::from_secs(30);

/// A handle on the writer thread.
pub struct Writer {
    tx: SyncSender<Commit>,
    thread: std::thread::JoinHandle<()>,
}

impl Writer {
    /// Starts a thread that owns `store`; with `sink`, the history also goes to ClickHouse,
    /// and a state is saved only once the rows it includes are queued on disk.
    pub fn spawn(
        store: Box<dyn Store>,
        retention: Retention,
        health: std::sync::Arc<crate::health::Health>,
        sink: Option<Arc<Sink>>,
    ) -> Writer {
        let (tx, rx) = sync_channel(2);
        let thread = std::thread::Builder::new()
            .name("store writer".into())
            .spawn(move || {
                crate::health::as_part("store writer", || {
                    run(store, retention, rx, &health, sink.as_deref())
                })
            })
            .expect("the store thread starts");
        Writer { tx, thread }
    }

    /// Queues `c`; gives it back when the writer is still busy with earlier commits.
    pub fn offer(&self, c: Commit) -> Option<Commit> {
        match self.tx.try_send(c) {
            Ok(()) => None,
            Err(TrySendError::Full(c) | TrySendError::Disconnected(c)) => Some(c),
        }
    }

    /// Applies `last` after everything queued, then stops the thread (blocks).
    pub fn finish(self, last: Commit) {
        let _ = self.tx.send(last);
        drop(self.tx);
        let _ = self.thread.join();
    }
}

fn run(
    mut store: Box<dyn Store>,
    retention: Retention,
    rx: Receiver<Commit>,
    health: &crate::health::Health,
    sink: Option<&Sink>,
) {
    let mut carry: Option<Commit> = None;
    let mut retained: Option<Instant> = None;
    for mut c in rx {
        if let Some(old) = carry.take() {
            c.rollups.merge(old.rollups);
            let mut alerts = old.alerts;
            alerts.append(&mut c.alerts);
            c.alerts = alerts;
        }
        if let Some(sink) = sink
            && c.saved.is_some()
            && !sink.wait_durable(c.rows_through, DURABLE_WAIT)
        {
            tracing::warn!(target: "analysis", "the ClickHouse queue is not on disk yet; the read positions are saved with a later commit");
            c.saved = None;
        }
        let started = Instant::now();
        crate::health::fault_point("store");
        let result = store.commit(&c);
        health.stored(result.is_ok(), started.elapsed());
        match result {
            Ok(()) => {
                if let Some(sink) = sink {
                    for side in super::clickhouse::history::side_inserts(&c, sink.instance()) {
                        sink.side(side);
                    }
                }
                tracing::debug!(target: "analysis", minutes = c.rollups.minutes.len(), ms = started.elapsed().as_millis() as u64, "history committed");
            }
            Err(e) => {
                tracing::error!(target: "analysis", error = %format!("{e:#}"), "cannot write history; retrying with the next commit");
                carry = Some(Commit {
                    rollups: c.rollups,
                    alerts: c.alerts,
                    ..Commit::default()
                });
                continue;
            }
        }
        if retained.is_none_or(|t| t.elapsed() >= RETAIN_EVERY) {
            retained = Some(Instant::now());
            match store.retain(&retention, crate::clock::now_ms()) {
                Ok(r) => {
                    tracing::info!(target: "analysis", downsampled = r.downsampled, deleted = r.deleted, "history retention applied")
                }
                Err(e) => {
                    tracing::error!(target: "analysis", error = %format!("{e:#}"), "history retention failed")
                }
            }
        }
    }
    if carry.is_some() {
        tracing::error!(target: "analysis", "history lost the rollups of commits that kept failing");
    }
    if let Err(e) = store.close() {
        tracing::error!(target: "analysis", error = %format!("{e:#}"), "cannot fold the write-ahead log into the database at exit; it stays beside it");
    }
}
