//! The progress of `tailpulse analyze` on a terminal: a bar with lines/s and the time left for
//! inputs of known size, a spinner with the count for pipes and `.gz`, and a last line with
//! the totals.

use crate::batch::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the display is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// A progress display on standard error, drawn by a thread of its own until dropped.
pub struct Display {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Display {
    /// Starts drawing what `progress` counts on standard error, when it is a terminal.
    pub fn start(progress: Arc<Progress>) -> Option<Display> {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("progress".into())
                .spawn(move || draw(&progress, &stop))
                .ok()?
        };
        Some(Display {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Redraws until `stop`, then leaves a line with the totals of the last input.
fn draw(progress: &Progress, stop: &AtomicBool) {
    let started = Instant::now();
    let mut shown: Option<(String, Option<u64>)> = None;
    let mut bar = ProgressBar::hidden();
    let mut lines_total = 0;
    loop {
        let done = stop.load(Ordering::Relaxed);
        let input = progress.input.lock().ok().and_then(|i| i.clone());
        if input != shown {
            bar.finish_and_clear();
            bar = new_bar(input.as_ref());
            shown = input;
        }
        let (bytes, lines) = (
            progress.bytes.load(Ordering::Relaxed),
            progress.lines.load(Ordering::Relaxed),
        );
        lines_total = lines_total.max(lines);
        bar.set_position(bytes);
        let secs = bar.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "{} lines, {}/s",
            count(lines),
            count_f(lines as f64 / secs)
        ));
        if done {
            break;
        }
        std::thread::park_timeout(TICK);
    }
    let secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if shown.is_some() {
        eprintln!(
            "read {} lines in {secs:.2} s ({} lines/s)",
            count(lines_total),
            count_f(lines_total as f64 / secs.max(1e-3))
        );
    }
}

/// A bar for an input of known length, a spinner otherwise.
fn new_bar(input: Option<&(String, Option<u64>)>) -> ProgressBar {
    let target = ProgressDrawTarget::stderr_with_hz(10);
    let Some((name, len)) = input else {
        return ProgressBar::hidden();
    };
    let (bar, template) = match len {
        Some(len) => (
            ProgressBar::with_draw_target(Some(*len), target),
            "{prefix} [{bar:30}] {percent:>3}% {msg}, {eta} left",
        ),
        None => (
            ProgressBar::with_draw_target(None, target),
            "{prefix} {spinner} {bytes} {msg}",
        ),
    };
    let style = ProgressStyle::with_template(template)
        .expect("the templates are valid")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(crate::text::clip(name, 40));
    bar
}

/// `n` with thousands separators.
fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate, shortened (`1.2 M`, `35 k`).
fn count_f(x: f64) -> String {
    match x {
        x if x >= 1e6 => format!("{:.1} M", x / 1e6),
        x if x >= 1e4 => format!("{:.0} k", x / 1e3),
        x => format!("{x:.0}"),
    }
}
