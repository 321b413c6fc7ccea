//! tailpulse's own logs: one file per component under `logs/` (`runner.log`, `generator.log`,
//! `analysis.log`, `web.log`), rotated daily and by size, plus warnings on the terminal.

use rolling_file::{BasicRollingFileAppender, RollingConditionBasic};
use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::prelude::*;

/// The components that get a log file each.
pub const COMPONENTS: [&str; 4] = ["runner", "generator", "analysis", "web"];
/// Largest log file before it is rotated.
pub const MAX_LOG_BYTES: u64 = 10 << 20;
/// Rotated files kept per component.
pub const KEEP_LOGS: usize = 7;

/// Which component's file an event with `target` goes to.
pub fn component_of(target: &str) -> &'static str {
    if target == "generator" || target.starts_with("tailpulse::generate") {
        "generator"
    } else if target == "analysis"
        || target.starts_with("tailpulse::ingest")
        || target.starts_with("tailpulse::batch")
        || target.starts_with("tailpulse::analysis")
    {
        "analysis"
    } else if target == "web"
        || target.starts_with("tailpulse::web")
        || target.starts_with("tower_http")
        || target.starts_with("axum")
    {
        "web"
    } else {
        "runner"
    }
}

/// When tailpulse's messages on the terminal are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// When standard error is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl Color {
    /// Whether to colour standard error.
    pub fn on_stderr(self) -> bool {
        use std::io::IsTerminal;
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        }
    }
}

/// Keeps the log writers flushing; drop it last.
pub struct LogGuards(#[allow(dead_code)] Vec<WorkerGuard>);

fn env_filter(level: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level))
}

/// Logs to standard error only (for one-shot commands).
pub fn init_stderr(level: &str, color: Color) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter(level))
        .with_writer(std::io::stderr)
        .with_ansi(color.on_stderr())
        .try_init();
}

/// Logs each component to its file in `dir` at `level` (`RUST_LOG` wins), and warnings and
/// errors to standard error.
pub fn init_files(dir: &Path, level: &str, color: Color) -> std::io::Result<LogGuards> {
    std::fs::create_dir_all(dir)?;
    let mut guards = Vec::new();
    let mut layers = Vec::new();
    for name in COMPONENTS {
        let appender = BasicRollingFileAppender::new(
            dir.join(format!("{name}.log")),
            RollingConditionBasic::new().daily().max_size(MAX_LOG_BYTES),
            KEEP_LOGS,
        )?;
        let (writer, guard) = tracing_appender::non_blocking(appender);
        guards.push(guard);
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(false)
            .with_filter(filter_fn(move |m| component_of(m.target()) == name))
            .boxed();
        layers.push(layer);
    }
    let terminal = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color.on_stderr())
        .with_filter(tracing_subscriber::filter::LevelFilter::WARN)
        .boxed();
    layers.push(terminal);
    let _ = tracing_subscriber::registry()
        .with(env_filter(level))
        .with(layers)
        .try_init();
    Ok(LogGuards(guards))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_map_to_components() {
        assert_eq!(component_of("generator"), "generator");
        assert_eq!(component_of("tailpulse::ingest"), "analysis");
        assert_eq!(component_of("tailpulse::follow::tailer"), "runner");
        assert_eq!(component_of("web"), "web");
        assert_eq!(component_of("hyper::proto"), "runner");
    }
}
