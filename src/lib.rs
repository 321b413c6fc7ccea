//! tailpulse: a real-time server log analyzer with a live web dashboard.
//!
//! The functional core — [`format`] (parsers), [`aggregate`] (mergeable streaming aggregates),
//! [`summary`], [`insights`] and [`report`] — does no I/O and reads no clock. The shell around
//! it — [`input`], [`batch`] and [`cli`] — reads files and talks to the user.

pub mod aggregate;
pub mod alert;
pub mod analysis;
pub mod batch;
pub mod cli;
pub mod cli_live;
pub mod clock;
pub mod config;
pub mod cursor;
pub mod detect;
pub mod follow;
pub mod format;
pub mod fsutil;
pub mod generate;
pub mod hash;
pub mod health;
pub mod ingest;
pub mod input;
pub mod insights;
pub mod lang;
pub mod live;
pub mod llm;
pub mod logging;
pub mod params;
pub mod report;
pub mod request;
pub mod retry;
pub mod route;
pub mod store;
pub mod summary;
pub mod text;
pub mod time;
pub mod web;
