//! The way requests reach ClickHouse. Readers' rows are appended to the disk queue by one
//! thread and sent by another, in order, in inserts of at most [`INSERT_ROWS`] rows. Rows a
//! server may already hold (after a restart from older read positions, or an insert whose
//! answer was lost) are looked up by their source and offset first, so none is stored twice;
//! a segment leaves the disk only once the server has all of its rows.

use super::queue::Queue;
use super::rows::{RowBuf, framed};
use super::{ClickHouseError, Client, ship};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Segments sent side by side.
const PARALLEL: usize = 2;
/// How often partitions past the retention are dropped.
const RETAIN_EVERY: Duration = Duration::from_secs(3600);
/// Side inserts (reports, findings, alerts) kept in memory while the server is away.
const MAX_SIDE: usize = 1000;

/// How the sink works.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// The server.
    pub server: super::ClickHouseOptions,
    /// This instance's name, written in every row.
    pub instance: String,
    /// The disk queue's directory.
    pub queue_dir: PathBuf,
    /// Above this many queued bytes, readers pause until the server catches up.
    pub max_queue_bytes: u64,
    /// Partitions wholly older than this (before the newest stored request) are dropped.
    pub retention_ms: Option<i64>,
}

/// What the sink is doing, for the dashboard, `/healthz` and the logs.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SinkStatus {
    /// Whether the last exchange with the server succeeded.
    pub available: bool,
    /// The last failure, while it lasts.
    pub error: Option<String>,
    /// Rows the server took.
    pub rows_sent: u64,
    /// Rows not sent again because the server already had them.
    pub rows_already_stored: u64,
    /// Bytes waiting in the disk queue.
    pub queued_bytes: u64,
    /// Segments moved aside because the server refused them.
    pub segments_refused: u64,
    /// Whether readers are paused because the queue is full.
    pub paused: bool,
}

/// An insert into one of the history tables (not queued on disk).
#[derive(Debug, Clone)]
pub struct SideInsert {
    /// The table (without database).
    pub table: &'static str,
    /// Rows in JSONEachRow.
    pub json_rows: String,
}

struct Shared {
    queue: Queue,
    durable: Mutex<u64>,
    durable_cv: Condvar,
    sync_wanted: AtomicBool,
    pushed: AtomicU64,
    stop: AtomicBool,
    paused: Arc<AtomicBool>,
    status: Mutex<SinkStatus>,
    side: Mutex<VecDeque<SideInsert>>,
    max_bytes: u64,
}

/// A running sink.
pub struct Sink {
    shared: Arc<Shared>,
    tx: Mutex<Option<Sender<(u64, RowBuf)>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    drain: Duration,
    instance: String,
}

impl Sink {
    /// Opens the disk queue and starts sending; the server need not be up yet.
    pub fn start(opts: SinkOptions) -> std::io::Result<Arc<Sink>> {
        let queue = Queue::open(&opts.queue_dir)?;
        let shared = Arc::new(Shared {
            queue,
            durable: Mutex::new(0),
            durable_cv: Condvar::new(),
            sync_wanted: AtomicBool::new(false),
            pushed: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            paused: Arc::new(AtomicBool::new(false)),
            status: Mutex::new(SinkStatus::default()),
            side: Mutex::new(VecDeque::new()),
            max_bytes: opts.max_queue_bytes,
        });
        let (tx, rx) = channel();
        let a = shared.clone();
        let appender = std::thread::Builder::new()
            .name("clickhouse queue".into())
            .spawn(move || append_loop(&a, rx))?;
        let s = shared.clone();
        let client = Client::new(opts.server.clone());
        let instance = opts.instance.clone();
        let retention = opts.retention_ms;
        let sender = std::thread::Builder::new()
            .name("clickhouse sender".into())
            .spawn(move || Shipper::new(s, client, instance, retention).run())?;
        Ok(Arc::new(Sink {
            shared,
            tx: Mutex::new(Some(tx)),
            threads: Mutex::new(vec![appender, sender]),
            drain: Duration::from_secs(10),
            instance: opts.instance,
        }))
    }

    /// Queues `rows`; returns the number to wait for with [`Sink::wait_durable`].
    pub fn push(&self, rows: RowBuf) -> u64 {
        let seq = self.shared.pushed.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(tx) = self.tx.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = tx.send((seq, rows));
        }
        seq
    }

    /// The instance's name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The number of the last rows pushed.
    pub fn pushed(&self) -> u64 {
        self.shared.pushed.load(Ordering::SeqCst)
    }

    /// Waits until the rows numbered up to `seq` are on disk; false after `timeout`.
    pub fn wait_durable(&self, seq: u64, timeout: Duration) -> bool {
        let s = &self.shared;
        s.sync_wanted.store(true, Ordering::SeqCst);
        let guard = s.durable.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = s
            .durable_cv
            .wait_timeout_while(guard, timeout, |d| *d < seq)
            .unwrap_or_else(|e| e.into_inner());
        *guard >= seq
    }

    /// Set while the disk queue is full: readers wait before reading more.
    pub fn pause_flag(&self) -> Arc<AtomicBool> {
        self.shared.paused.clone()
    }

    /// Sends a history row when the server is reachable (kept in memory, bounded).
    pub fn side(&self, insert: SideInsert) {
        let mut side = self.shared.side.lock().unwrap_or_else(|e| e.into_inner());
        if side.len() >= MAX_SIDE {
            side.pop_front();
            tracing::warn!(target: "analysis", "ClickHouse unreachable for long: the oldest unsent report or finding is dropped");
        }
        side.push_back(insert);
    }

    /// What it is doing.
    pub fn status(&self) -> SinkStatus {
        let mut st = self
            .shared
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        st.queued_bytes = self.shared.queue.bytes();
        st.paused = self.shared.paused.load(Ordering::Relaxed);
        st
    }

    /// Writes what is queued to disk, gives the sender a few seconds to empty the queue
    /// (what is left is sent by the next run), and stops both threads.
    pub fn finish(&self) {
        drop(self.tx.lock().unwrap_or_else(|e| e.into_inner()).take());
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        let mut threads = threads.into_iter();
        if let Some(appender) = threads.next() {
            let _ = appender.join();
        }
        let deadline = Instant::now() + self.drain;
        while self.shared.queue.segments() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.shared.stop.store(true, Ordering::SeqCst);
        for t in threads {
            let _ = t.join();
        }
    }
}

fn append_loop(s: &Shared, rx: Receiver<(u64, RowBuf)>) {
    let mut written = 0u64;
    let mut failed: VecDeque<(u64, RowBuf)> = VecDeque::new();
    let mut last_sync = Instant::now();
    let mut open = true;
    while open || !failed.is_empty() {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(item) => failed.push_back(item),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        failed.extend(rx.try_iter());
        while let Some((seq, rows)) = failed.front() {
            if let Err(e) = s.queue.append(rows.bytes()) {
                tracing::error!(target: "analysis", dir = %s.queue.dir().display(), error = %e, "cannot write the ClickHouse queue; reading waits until it can");
                s.paused.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(500));
                break;
            }
            written = *seq;
            failed.pop_front();
        }
        let wanted = s.sync_wanted.swap(false, Ordering::SeqCst);
        if wanted || !open || last_sync.elapsed() >= Duration::from_millis(200) {
            match s.queue.sync(!open) {
                Ok(()) => {
                    *s.durable.lock().unwrap_or_else(|e| e.into_inner()) = written;
                    s.durable_cv.notify_all();
                }
                Err(e) => {
                    tracing::error!(target: "analysis", error = %e, "cannot sync the ClickHouse queue")
                }
            }
            last_sync = Instant::now();
        }
        let full = s.queue.bytes() > s.max_bytes;
        if s.paused.swap(full, Ordering::SeqCst) != full {
            match full {
                true => {
                    tracing::warn!(target: "analysis", bytes = s.queue.bytes(), "the ClickHouse queue is full; reading pauses until the server takes rows again")
                }
                false => {
                    tracing::info!(target: "analysis", "the ClickHouse queue has room again; reading goes on")
                }
            }
        }
    }
}

/// The sending side: one segment at a time, oldest first.
struct Shipper {
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
    fn new(s: Arc<Shared>, client: Client, instance: String, retention_ms: Option<i64>) -> Self {
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

    fn run(mut self) {
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
