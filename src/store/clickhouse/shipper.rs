//! The sending side of the sink: the oldest queue segments, two at a time (one at a time
//! while segments of an earlier run are left), the side inserts, and the hourly retention.

use super::rows::framed;
use super::sink::Shared;
use super::{ClickHouseError, Client, ship};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Segments sent side by side.
const PARALLEL: usize = 2;
/// How often partitions past the retention are dropped.
const RETAIN_EVERY: Duration = Duration::from_secs(3600);

/// The sending side: one segment at a time, oldest first.
pub(super) struct Shipper {
    s: Arc<Shared>,
    client: Client,
    instance: String,
    ready: bool,
    /// Per source, the highest offset the server held when last asked: rows at or below it
    /// are looked up before they are sent.
    horizon: Option<HashMap<u64, u64>>,
    backoff: Duration,
    refusals: HashMap<u64, u32>,
    retention_ms: Option<i64>,
    retained: Option<Instant>,
}

impl Shipper {
    pub(super) fn new(
        s: Arc<Shared>,
        client: Client,
        instance: String,
        retention_ms: Option<i64>,
    ) -> Self {
        Shipper {
            s,
            client,
            instance,
            ready: false,
            horizon: None,
            backoff: Duration::from_millis(200),
            refusals: HashMap::new(),
            retention_ms,
            retained: None,
        }
    }

    pub(super) fn run(mut self) {
        while !self.s.stop.load(Ordering::SeqCst) {
            match self.step() {
                Ok(()) => {
                    self.backoff = Duration::from_millis(200);
                }
                Err(e) => {
                    self.failed(&e);
                    let until = Instant::now() + self.backoff;
                    while Instant::now() < until && !self.s.stop.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    self.backoff = (self.backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    fn failed(&mut self, e: &ClickHouseError) {
        let mut st = self.s.status.lock().unwrap_or_else(|e| e.into_inner());
        if st.available || st.error.is_none() {
            tracing::warn!(target: "analysis", error = %e, "ClickHouse unavailable; rows wait in the disk queue");
        }
        st.available = false;
        st.error = Some(e.to_string());
        // Whatever was in flight may have been applied: ask again before sending.
        self.horizon = None;
    }

    fn ok(&self, sent: u64, skipped: u64) {
        let mut st = self.s.status.lock().unwrap_or_else(|e| e.into_inner());
        if !st.available && st.error.is_some() {
            tracing::info!(target: "analysis", "ClickHouse reachable again");
        }
        st.available = true;
        st.error = None;
        st.rows_sent += sent;
        st.rows_already_stored += skipped;
    }

    fn step(&mut self) -> Result<(), ClickHouseError> {
        if !self.ready {
            super::schema::migrate(&self.client).map_err(|e| match e {
                super::schema::SchemaError::Server(e) => e,
                other => ClickHouseError::Answer {
                    url: self.client.options().url.clone(),
                    message: other.to_string(),
                },
            })?;
            self.ready = true;
            self.ok(0, 0);
        }
        if self.horizon.is_none() {
            self.horizon = Some(ship::horizon(&self.client, &self.instance)?);
        }
        self.send_side()?;
        self.retain();
        let seqs = self.s.queue.oldest(PARALLEL, Duration::from_millis(100));
        // Segments left by an earlier run may hold rows a later one holds again (read again
        // from older positions): those go one at a time, the run's own ones side by side.
        let seqs: Vec<u64> = match seqs.first() {
            Some(&first) if self.s.queue.is_leftover(first) => vec![first],
            _ => seqs,
        };
        let horizon = self.horizon.as_ref().expect("loaded above");
        let (client, instance, queue) = (&self.client, self.instance.as_str(), &self.s.queue);
        let results: Vec<(u64, Result<ship::Shipped, ClickHouseError>)> =
            std::thread::scope(|sc| {
                let handles: Vec<_> = (seqs.iter())
                    .map(|&seq| {
                        sc.spawn(move || {
                            let bytes = std::fs::read(queue.path(seq)).unwrap_or_default();
                            let (rows, _) = framed(&bytes);
                            (seq, ship::ship(client, instance, horizon, &rows))
                        })
                    })
                    .collect();
                (handles.into_iter())
                    .map(|h| h.join().expect("shipping does not panic"))
                    .collect()
            });
        let mut failure = None;
        for (seq, result) in results {
            if let Err(e) = self.shipped(seq, result) {
                failure.get_or_insert(e);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// Records what shipping segment `seq` did: deletes it once sent, or counts a refusal.
    fn shipped(
        &mut self,
        seq: u64,
        result: Result<ship::Shipped, ClickHouseError>,
    ) -> Result<(), ClickHouseError> {
        match result {
            Ok(done) => {
                self.ok(done.sent, done.skipped);
                self.refusals.remove(&seq);
                let horizon = self.horizon.get_or_insert_with(HashMap::new);
                for (source, offset) in done.reached {
                    let h = horizon.entry(source).or_insert(0);
                    *h = (*h).max(offset);
                }
                if let Err(e) = self.s.queue.remove(seq) {
                    tracing::error!(target: "analysis", error = %e, "cannot delete a sent ClickHouse queue segment");
                }
                Ok(())
            }
            Err(ClickHouseError::Server {
                status,
                message,
                url,
            }) if status < 500 => {
                let n = self.refusals.entry(seq).or_insert(0);
                *n += 1;
                if *n >= 5 {
                    self.refuse(seq, &message);
                }
                Err(ClickHouseError::Server {
                    status,
                    message,
                    url,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Drops the partitions past the retention, hourly.
    fn retain(&mut self) {
        let Some(keep) = self.retention_ms else {
            return;
        };
        if self.retained.is_some_and(|t| t.elapsed() < RETAIN_EVERY) {
            return;
        }
        self.retained = Some(Instant::now());
        match super::retention::retain(&self.client, keep, crate::clock::now_ms()) {
            Ok(n) => {
                tracing::info!(target: "analysis", partitions = n, "ClickHouse retention applied")
            }
            Err(e) => {
                tracing::warn!(target: "analysis", error = %e, "ClickHouse retention failed; tried again in an hour")
            }
        }
    }

    /// Moves a segment the server keeps refusing out of the way (kept for the operator).
    fn refuse(&mut self, seq: u64, message: &str) {
        let aside = self.s.queue.dir().join("refused");
        let from = self.s.queue.path(seq);
        let moved = std::fs::create_dir_all(&aside)
            .and_then(|()| std::fs::copy(&from, aside.join(format!("{seq:016}.rows"))))
            .and_then(|_| self.s.queue.remove(seq));
        tracing::error!(target: "analysis", segment = seq, dir = %aside.display(), moved = moved.is_ok(), error = %message, "ClickHouse refuses a queue segment five times; it is moved aside and its rows are not stored");
        self.s
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .segments_refused += 1;
        self.refusals.remove(&seq);
    }

    fn send_side(&mut self) -> Result<(), ClickHouseError> {
        loop {
            let next = self
                .s
                .side
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .front()
                .cloned();
            let Some(ins) = next else {
                return Ok(());
            };
            let table = format!("{}.{}", self.client.db(), ins.table);
            self.client
                .insert(&table, "JSONEachRow", ins.json_rows.as_bytes(), &[])?;
            self.s
                .side
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
        }
    }
}
