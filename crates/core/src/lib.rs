//! The pure core of tailpulse: everything that turns log lines into numbers, incidents,
//! insights and reports, and nothing that touches the world. No module here opens a file,
//! a socket or a database, reads the clock, sleeps or spawns a thread: times come in as
//! arguments and results go out as values. The `tailpulse` crate is the shell around it.
//!
//! The pipeline, in the order data moves through it:
//! - [`format`] reads a line of a known log format into a [`request::Request`];
//! - [`ingest`] feeds blocks of lines into an [`aggregate::Aggregate`] (mergeable counters,
//!   latency sketches, visitor sketches, capped maps) and, for detection, per-minute
//!   [`detect::frame`]s;
//! - [`detect`] finds incidents in those minutes against baselines learnt from the data;
//! - [`summary`] and [`analysis`] turn aggregates into the numbers and findings a report
//!   shows, [`insights`] into words, [`report`] into text, HTML and LLM prompts;
//! - [`alert`] decides when a rule fires; [`generate`] is the seeded traffic model of the
//!   demo; [`params`] and [`choice`] read the values users write; [`sift`] is what the user
//!   leaves out as requests are read; [`hash`] is the pinned hash of
//!   everything stored.

pub mod aggregate;
pub mod alert;
pub mod analysis;
pub mod answer;
pub mod choice;
pub mod cursor;
pub mod detect;
pub mod format;
pub mod generate;
pub mod geo;
pub mod hash;
pub mod ingest;
pub mod insights;
pub mod lang;
pub mod messages;
pub mod params;
pub mod prompts;
pub mod redact;
pub mod report;
pub mod request;
pub mod route;
pub mod severity;
pub mod sift;
pub mod stats;
pub mod syslog;
pub mod text;
pub mod time;
