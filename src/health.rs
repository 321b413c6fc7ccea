//! Crash-only parts and what `/healthz` reports about them.
//!
//! A live run is made of parts: the readers, the aggregator, the store writer and the web
//! server. A panic in the readers, the aggregator or the store ends the process with an
//! ERROR naming the part and exit code [`CRASH_EXIT`]: the state on disk lets a restart go on
//! exactly where the last commit stopped, which is safer than running on without a part.
//! A panic while answering one web request closes that connection and is counted; the
//! server goes on. Every part beats a heart [`Health`] keeps, and `/healthz` answers 503
//! when the analysis is not advancing while input is.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The exit code of a run stopped because one of its parts failed.
pub const CRASH_EXIT: i32 = 70;

/// How long the aggregator may leave read lines uncounted before the run is unhealthy.
pub const STALL_MS: i64 = 10_000;

thread_local! {
    static PART: Cell<&'static str> = const { Cell::new("") };
}

/// Runs `f` as part `name`: a panic inside is reported under that name.
pub fn as_part<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    /// Puts the previous name back, also when `f` unwinds.
    struct Restore(&'static str);
    impl Drop for Restore {
        fn drop(&mut self) {
            PART.set(self.0);
        }
    }
    let _restore = Restore(PART.replace(name));
    f()
}

/// A future polled as part `name` (see [`as_part`]).
pub struct Part<F> {
    name: &'static str,
    fut: std::pin::Pin<Box<F>>,
}

impl<F: Future> Future for Part<F> {
    type Output = F::Output;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let name = self.name;
        as_part(name, || self.fut.as_mut().poll(cx))
    }
}

/// `fut`, polled as part `name`.
pub fn part<F: Future>(name: &'static str, fut: F) -> Part<F> {
    Part {
        name,
        fut: Box::pin(fut),
    }
}

/// Web requests whose handler panicked since the start.
pub static WEB_PANICS: AtomicU64 = AtomicU64::new(0);

/// Installs the panic handling of a live run (see the module documentation).
pub fn install_crash_only() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let part = match PART.get() {
            "" => thread.name().unwrap_or("unnamed thread"),
            p => p,
        };
        let what = panic_text(info);
        if part == "web" {
            WEB_PANICS.fetch_add(1, Ordering::Relaxed);
            tracing::error!(target: "web", part, panic = %what, "a request handler failed; its connection was closed and the server goes on");
            return;
        }
        default(info);
        tracing::error!(target: "runner", part, panic = %what, "a part of tailpulse failed; stopping (a restart resumes from the saved state)");
        eprintln!(
            "tailpulse: ERROR the {part} failed ({what}); stopping with exit code {CRASH_EXIT} — a restart resumes from the saved state"
        );
        std::process::exit(CRASH_EXIT);
    }));
}

fn panic_text(info: &std::panic::PanicHookInfo<'_>) -> String {
    let msg = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into());
    match info.location() {
        Some(l) => format!("{msg} at {}:{}", l.file(), l.line()),
        None => msg,
    }
}

/// Fails on purpose in part `name` when the test hook asks for it (debug builds only:
/// `TAILPULSE_FAULT=panic:<part>`), so that tests can check how each failure ends.
pub fn fault_point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("TAILPULSE_FAULT").is_ok_and(|v| v == format!("panic:{name}")) {
        panic!("fault injected into the {name} (TAILPULSE_FAULT)");
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// The heartbeats of a live run's parts.
#[derive(Debug, Default)]
pub struct Health {
    /// Lines the readers have sent.
    pub lines_read: AtomicU64,
    /// Lines the aggregator has counted.
    pub lines_counted: AtomicU64,
    /// When the aggregator last counted lines (UTC ms).
    counted_ms: AtomicI64,
    /// When read lines last started waiting uncounted (UTC ms; 0: none wait).
    waiting_since_ms: AtomicI64,
    /// When the last snapshot was published (UTC ms).
    published_ms: AtomicI64,
    /// When the readers last went round their loop (UTC ms).
    readers_ms: AtomicI64,
    /// When the store writer last committed (UTC ms).
    store_ms: AtomicI64,
    /// Commits that failed since the start.
    pub store_failures: AtomicU64,
    /// Commits tried since the start, and the time they took in all (µs).
    store_commits: AtomicU64,
    store_commit_us: AtomicU64,
    /// Alert deliveries finished since the start, by channel kind and whether delivered.
    alerts: std::sync::Mutex<std::collections::BTreeMap<(String, bool), u64>>,
    /// Bytes of each followed file not read yet, as of the readers' last round.
    files_behind: std::sync::Mutex<Vec<(std::sync::Arc<str>, u64)>>,
}

/// What [`Health`] has counted, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Store commits tried, failed, and the seconds they took in all.
    pub store_commits: u64,
    /// See `store_commits`.
    pub store_failures: u64,
    /// See `store_commits`.
    pub store_commit_seconds: f64,
    /// Seconds since the last snapshot was published.
    pub snapshot_age_seconds: Option<f64>,
    /// Alert deliveries by channel kind and whether delivered.
    pub alerts: Vec<(String, bool, u64)>,
    /// Bytes of each followed file not read yet.
    pub files_behind: Vec<(std::sync::Arc<str>, u64)>,
}

fn now() -> i64 {
    crate::clock::now_ms()
}

impl Health {
    /// Shared heartbeats, started now.
    pub fn new() -> Arc<Health> {
        let h = Health::default();
        let t = now();
        for a in [&h.counted_ms, &h.published_ms, &h.readers_ms] {
            a.store(t, Ordering::Relaxed);
        }
        Arc::new(h)
    }

    /// The readers sent `lines`.
    pub fn read(&self, lines: u64) {
        let before = self.lines_read.fetch_add(lines, Ordering::Relaxed);
        if before <= self.lines_counted.load(Ordering::Relaxed) {
            let _ = self.waiting_since_ms.compare_exchange(
                0,
                now(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        self.readers_ms.store(now(), Ordering::Relaxed);
    }

    /// The readers went round their loop.
    pub fn reader_beat(&self) {
        self.readers_ms.store(now(), Ordering::Relaxed);
    }

    /// The aggregator counted `lines`.
    pub fn counted(&self, lines: u64) {
        let counted = self.lines_counted.fetch_add(lines, Ordering::Relaxed) + lines;
        self.counted_ms.store(now(), Ordering::Relaxed);
        if counted >= self.lines_read.load(Ordering::Relaxed) {
            self.waiting_since_ms.store(0, Ordering::Relaxed);
        }
    }

    /// A snapshot was published.
    pub fn published(&self) {
        self.published_ms.store(now(), Ordering::Relaxed);
    }

    /// The store committed (or failed to), in `took`.
    pub fn stored(&self, ok: bool, took: std::time::Duration) {
        self.store_ms.store(now(), Ordering::Relaxed);
        self.store_commits.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.store_commit_us.fetch_add(us, Ordering::Relaxed);
        if !ok {
            self.store_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Alert deliveries finished: `(channel kind, delivered)` each.
    pub fn alerts_done<'a>(&self, done: impl IntoIterator<Item = (&'a str, bool)>) {
        if let Ok(mut m) = self.alerts.lock() {
            for (channel, delivered) in done {
                *m.entry((channel.to_owned(), delivered)).or_default() += 1;
            }
        }
    }

    /// The bytes of each followed file not read yet.
    pub fn files_behind(&self, files: Vec<(std::sync::Arc<str>, u64)>) {
        if let Ok(mut f) = self.files_behind.lock() {
            *f = files;
        }
    }

    /// What has been counted so far.
    pub fn counters(&self) -> Counters {
        let published = self.published_ms.load(Ordering::Relaxed);
        Counters {
            store_commits: self.store_commits.load(Ordering::Relaxed),
            store_failures: self.store_failures.load(Ordering::Relaxed),
            store_commit_seconds: self.store_commit_us.load(Ordering::Relaxed) as f64 / 1e6,
            snapshot_age_seconds: (published > 0).then(|| (now() - published) as f64 / 1e3),
            alerts: self
                .alerts
                .lock()
                .map(|m| m.iter().map(|((c, d), n)| (c.clone(), *d, *n)).collect())
                .unwrap_or_default(),
            files_behind: self
                .files_behind
                .lock()
                .map(|f| f.clone())
                .unwrap_or_default(),
        }
    }

    /// What `/healthz` says, and whether the run is healthy.
    pub fn report(&self) -> (bool, serde_json::Value) {
        let t = now();
        let age = |a: &AtomicI64| {
            let v = a.load(Ordering::Relaxed);
            (v > 0).then(|| t - v)
        };
        let read = self.lines_read.load(Ordering::Relaxed);
        let counted = self.lines_counted.load(Ordering::Relaxed);
        let backlog = read.saturating_sub(counted);
        let stalled = backlog > 0
            && age(&self.counted_ms).is_some_and(|a| a > STALL_MS)
            && age(&self.waiting_since_ms).is_some_and(|a| a > STALL_MS);
        let v = serde_json::json!({
            "status": if stalled { "stalled" } else { "ok" },
            "lines_read": read,
            "lines_counted": counted,
            "backlog_lines": backlog,
            "snapshot_age_ms": age(&self.published_ms),
            "parts": {
                "readers": { "last_beat_ms_ago": age(&self.readers_ms) },
                "aggregator": { "last_count_ms_ago": age(&self.counted_ms) },
                "store": {
                    "last_commit_ms_ago": age(&self.store_ms),
                    "failures": self.store_failures.load(Ordering::Relaxed),
                },
                "web": { "handler_panics": WEB_PANICS.load(Ordering::Relaxed) },
            },
        });
        (!stalled, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backlog_that_does_not_move_is_unhealthy() {
        let h = Health::new();
        h.read(10);
        assert!(h.report().0, "a fresh backlog is fine");
        h.counted_ms.store(now() - STALL_MS - 1, Ordering::Relaxed);
        assert!(h.report().0, "lines read a moment ago are not a stall");
        h.waiting_since_ms
            .store(now() - STALL_MS - 1, Ordering::Relaxed);
        let (ok, v) = h.report();
        assert!(!ok);
        assert_eq!(v["backlog_lines"], 10);
        h.counted(10);
        assert!(h.report().0);
    }

    #[test]
    fn parts_are_named_while_they_run() {
        assert_eq!(as_part("store", || PART.get()), "store");
        assert_eq!(PART.get(), "");
    }
}
