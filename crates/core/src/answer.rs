//! What an LLM said about the analysis, and the state of the loop that asks it, as reports
//! and the dashboard show them. The asking itself is the shell's (`tailpulse::llm`).

use serde::Serialize;

/// Why a question was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// The schedule.
    Schedule,
    /// An incident opened.
    Incident,
}

/// The latest machine-written analysis and the state of the loop.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LlmStatus {
    /// The model asked.
    pub model: String,
    /// The last answer, if any.
    pub answer: Option<String>,
    /// When it came (UTC ms).
    pub answered_ms: Option<i64>,
    /// Why it was asked.
    pub reason: Option<Reason>,
    /// The last failure, if the last question failed.
    pub last_error: Option<String>,
    /// Calls made in the last hour.
    pub calls_last_hour: u32,
    /// Always true: the answer was written by a machine.
    pub machine_written: bool,
}
