//! The way requests reach ClickHouse. Readers' rows are appended to the disk queue by one
//! thread and sent by another, in order, in inserts of at most [`INSERT_ROWS`] rows. Rows a
//! server may already hold (after a restart from older read positions, or an insert whose
//! answer was lost) are looked up by their source and offset first, so none is stored twice;
//! a segment leaves the disk only once the server has all of its rows.

use super::Client;
use super::queue::Queue;
use super::rows::RowBuf;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

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

pub(super) struct Shared {
    pub(super) queue: Queue,
    pub(super) durable: Mutex<u64>,
    pub(super) durable_cv: Condvar,
    pub(super) sync_wanted: AtomicBool,
    pub(super) pushed: AtomicU64,
    pub(super) stop: AtomicBool,
    pub(super) paused: Arc<AtomicBool>,
    pub(super) status: Mutex<SinkStatus>,
    pub(super) side: Mutex<VecDeque<SideInsert>>,
    pub(super) max_bytes: u64,
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
            .spawn(move || super::shipper::Shipper::new(s, client, instance, retention).run())?;
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
