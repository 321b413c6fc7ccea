//! tailpulse: a real-time server log analyzer with a live web dashboard.
//!
//! This crate is the shell: it reads files, follows them, listens on sockets, keeps history
//! in SQLite, serves the dashboard, delivers alerts and calls the LLM. Everything it computes
//! comes from [`tailpulse_core`], the pure core, whose modules are re-exported here under
//! their own names so both sides read as one API.

pub use tailpulse_core::{
    aggregate, alert, analysis, cursor, detect, format, generate, geo, hash, ingest, insights,
    lang, params, prompts, redact, report, request, route, sift, stats, syslog, text, time,
};

pub mod batch;
pub mod cli;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod demo_writer;
pub mod follow;
pub mod fsutil;
pub mod health;
pub mod input;
pub mod live;
pub mod llm;
pub mod logging;
pub mod retry;
pub mod store;
pub mod syslog_listener;
pub mod web;
