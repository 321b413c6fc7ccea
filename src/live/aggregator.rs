//! The one owner of the live aggregate: merges the readers' batches, publishes snapshots,
//! answers filtered views, writes reports and commits history.

use super::progress::{Mode, Progress, Rate, Tracker};
use super::sources::Batch;
use super::{Query, RunOptions, Snapshot, View, sentinel, write_reports};
use crate::aggregate::Aggregate;
use crate::aggregate::recent::Recent;
use crate::aggregate::rollup::Rollups;
use crate::analysis::Analysis;
use crate::follow::Checkpoints;
use crate::stats::Stats;
use crate::store::writer::Writer;
use crate::store::{Commit, InsightRecord, Saved, StoredReport};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

pub(super) struct Aggregator {
    pub(super) opts: RunOptions,
    pub(super) agg: Aggregate,
    pub(super) checkpoints: Checkpoints,
    pub(super) snap_tx: watch::Sender<Arc<Snapshot>>,
    pub(super) generation: u64,
    pub(super) rate: Rate,
    pub(super) recent: Recent,
    /// Rollups counted since the last commit to the history.
    pub(super) pending: Rollups,
    pub(super) writer: Option<Writer>,
    /// With `--clickhouse`: where the requests' rows go.
    pub(super) sink: Option<Arc<crate::store::clickhouse::sink::Sink>>,
    /// The number of the last rows handed to the sink.
    pub(super) rows_through: u64,
    pub(super) report_kept: Option<Instant>,
    pub(super) sentinel: sentinel::Sentinel,
    pub(super) health: Arc<crate::health::Health>,
    /// Live, catching up or replay.
    pub(super) tracker: Tracker,
    /// True once the end of the first backlog has been announced.
    pub(super) announced: bool,
    /// The mode as of the last tick.
    pub(super) last_progress: Progress,
    /// Until when a page wants the analysis in the other language too.
    pub(super) alt_wanted: Arc<std::sync::atomic::AtomicI64>,
}

impl Aggregator {
    pub(super) async fn run(
        mut self,
        mut rx: mpsc::Receiver<Batch>,
        mut queries: mpsc::Receiver<Query>,
        mut stop: watch::Receiver<bool>,
        stop_sources: Arc<AtomicBool>,
        threads: Vec<std::thread::JoinHandle<()>>,
    ) -> Analysis {
        let mut publish = tokio::time::interval(self.opts.publish_every);
        let mut report = tokio::time::interval(self.opts.report_every);
        publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut dirty, mut open, mut stopping) = (true, true, false);
        // After a stop request, readers get this long to send their last lines (standard
        // input may never close).
        let mut deadline = tokio::time::Instant::now();
        loop {
            tokio::select! {
                b = rx.recv(), if open => match b {
                    Some(b) => {
                        self.apply(b);
                        dirty = true;
                    }
                    None => {
                        open = false;
                        if stopping {
                            break;
                        }
                    }
                },
                _ = publish.tick() => {
                    let now = crate::clock::now_ms();
                    self.last_progress = self.tracker.progress(&self.agg, now);
                    self.sentinel.set_quiet(self.last_progress.mode != Mode::Live);
                    dirty |= self.sentinel.tick(now, &self.agg, self.opts.lang);
                    // A page asked for the other language: publish it even with nothing new.
                    dirty |= now < self.alt_wanted.load(Ordering::Relaxed)
                        && self.snap_tx.borrow().alt.is_none();
                    if dirty {
                        self.publish();
                        dirty = false;
                    }
                },
                _ = report.tick() => self.save(false).await,
                Some(q) = queries.recv() => self.answer(q),
                r = stop.changed(), if !stopping => {
                    stopping = true;
                    stop_sources.store(true, Ordering::SeqCst);
                    deadline = tokio::time::Instant::now() + Duration::from_secs(2);
                    if r.is_err() || !open {
                        break;
                    }
                }
                _ = tokio::time::sleep_until(deadline), if stopping => break,
            }
        }
        drop(threads);
        while let Ok(b) = rx.try_recv() {
            self.apply(b);
        }
        self.publish();
        self.save(true).await;
        if let Some(sink) = self.sink.take() {
            let _ = tokio::task::spawn_blocking(move || sink.finish()).await;
        }
        self.snap_tx.borrow().analysis.clone()
    }

    /// Computes a filtered view off the async threads, from a copy of the compact store.
    fn answer(&self, q: Query) {
        let (recent, limits) = (self.recent.clone(), self.opts.limits);
        tokio::task::spawn_blocking(move || {
            let agg = recent.aggregate(&q.filter, limits);
            let view = View {
                stats: Stats::of(&agg),
                minute_latency: agg.minute_latency.clone(),
                window: recent.len(),
                window_from_ms: recent.oldest_ms(),
            };
            let _ = q.reply.send(view);
        });
    }

    fn apply(&mut self, b: Batch) {
        if b.prefill {
            for r in &b.records {
                self.recent.extend(r);
            }
            return;
        }
        self.agg.merge(&b.agg);
        if let Some(sink) = &self.sink
            && !b.rows.is_empty()
        {
            self.rows_through = sink.push(b.rows);
        }
        for r in &b.records {
            self.recent.extend(r);
            self.sentinel.add_batch(r);
            if self.writer.is_some() {
                self.pending.add_batch(r);
            }
        }
        for (path, pos, finished) in &b.positions {
            self.checkpoints.update(path, *pos, *finished);
        }
        self.rate.add(b.lines);
        self.health.counted(b.lines);
        if b.backlog.is_some() {
            self.tracker.backlog = b.backlog;
        }
        self.tracker.read_any |= b.lines > 0;
    }

    fn publish(&mut self) {
        crate::health::fault_point("aggregator");
        self.generation += 1;
        let extras = self.sentinel.extras(&self.agg, self.opts.lang);
        let stats = crate::stats::Stats::of(&self.agg);
        let now = crate::clock::now_ms();
        // The other language's analysis starts from the same numbers (not redacted twice).
        let alt = (now < self.alt_wanted.load(Ordering::Relaxed)).then(|| {
            let other = self.opts.lang.other();
            let extras = self.sentinel.extras(&self.agg, other);
            Arc::new(Analysis::of(stats.clone(), &self.agg, other, &extras))
        });
        let analysis = Analysis::of(stats, &self.agg, self.opts.lang, &extras);
        self.sentinel.after_publish(&analysis);
        let progress = self.last_progress;
        if progress.mode != Mode::CatchingUp && !self.announced && self.agg.totals.requests > 0 {
            self.announced = true;
            let replay = progress.mode == Mode::Replay;
            if let Some(line) = self.sentinel.replay_summary(&self.agg, replay) {
                println!("{line}");
            }
        }
        let snap = Snapshot {
            generation: self.generation,
            analysis,
            lines_per_sec: self.rate.per_sec(),
            lang: self.opts.lang,
            minute_latency: self.agg.minute_latency.clone(),
            progress,
            alt,
        };
        self.snap_tx.send_replace(Arc::new(snap));
        self.health.published();
    }

    /// Writes the reports of the latest snapshot, and commits the history with the state
    /// that includes it, off the async threads.
    async fn save(&mut self, last: bool) {
        let snap = self.snap_tx.borrow().clone();
        let (dir, lang) = (self.opts.out_dir.clone(), self.opts.lang);
        let reports = snap.clone();
        let done = tokio::task::spawn_blocking(move || {
            crate::health::as_part("aggregator", || {
                write_reports(&dir, &reports.analysis, lang)
            })
        });
        let _ = done.await;
        if self.writer.is_some() {
            let commit = self.commit(&snap, last);
            if last {
                let w = self.writer.take().expect("checked above");
                let _ = tokio::task::spawn_blocking(move || w.finish(commit)).await;
            } else if let Some(back) = self.writer.as_ref().and_then(|w| w.offer(commit)) {
                tracing::debug!(target: "analysis", "history writer busy; keeping rollups for the next commit");
                self.pending.merge(back.rollups);
            }
        }
        if last {
            tracing::info!(target: "analysis", requests = self.agg.totals.requests, "final report written");
        }
    }

    /// The rollups since the last commit, the state that includes them, the findings, and
    /// (hourly and at the end) the report.
    fn commit(&mut self, snap: &Snapshot, last: bool) -> Commit {
        let t_ms = self.agg.period().map_or(0, |(_, b)| b);
        let keep = last
            || self
                .report_kept
                .is_none_or(|t| t.elapsed() >= self.opts.keep_report_every);
        let report = (keep && snap.analysis.stats.requests > 0).then(|| {
            self.report_kept = Some(Instant::now());
            StoredReport {
                t_ms,
                requests: snap.analysis.stats.requests,
                text: crate::report::text::render(&snap.analysis, self.opts.lang),
                json: serde_json::to_string(&snap.analysis).expect("summary serializes"),
            }
        });
        let insights = snap
            .analysis
            .insights
            .iter()
            .map(|i| InsightRecord {
                kind: crate::insights::kind_name(i.kind),
                subject: i.subject.clone().unwrap_or_default(),
                severity: crate::insights::severity_name(i.severity),
                message: i.message.clone(),
                first_ms: i.window.map_or(t_ms, |w| w.start_ms),
                last_ms: i.window.map_or(t_ms, |w| w.last_ms),
            })
            .collect();
        let limit = self.opts.limits.max_routes;
        Commit {
            rollups: std::mem::replace(&mut self.pending, Rollups::new(limit)),
            saved: Some(Box::new(Saved {
                aggregate: self.agg.clone(),
                checkpoints: self.checkpoints.clone(),
                detection: Some(self.sentinel.state()),
            })),
            report,
            insights,
            alerts: {
                let done = self.sentinel.take_alert_records();
                self.health
                    .alerts_done(done.iter().map(|r| (r.channel.as_str(), r.delivered)));
                done
            },
            rows_through: self.rows_through,
        }
    }
}
