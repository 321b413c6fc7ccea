//! The LLM loop: with an OpenAI-compatible chat-completions endpoint configured (OpenAI,
//! Ollama, vLLM, llama.cpp's server, …), the summary prompt is sent on a schedule and when an
//! incident opens, and the answer is kept for the report and the dashboard, marked as
//! machine-written. A worker thread does the calls, with a time limit, retries and a spend
//! limit; the analysis only offers it work. Without configuration nothing is sent.

use crate::clock::now_ms;
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `[llm]` section of the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// Base URL up to `/v1` (e.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`).
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Environment variable with the API key (none needed for local servers).
    #[serde(default = "default_key_env")]
    pub api_key_env: String,
    /// How often the summary is sent (default `1h`).
    #[serde(with = "crate::params::serde_duration", default = "default_every")]
    pub every: Duration,
    /// Also send when an incident opens (default true).
    #[serde(default = "yes")]
    pub on_incident: bool,
    /// Most calls in any hour (default 6).
    #[serde(default = "default_calls")]
    pub max_calls_per_hour: u32,
    /// Time limit of one call (default `60s`).
    #[serde(with = "crate::params::serde_duration", default = "default_timeout")]
    pub timeout: Duration,
    /// Attempts per question (default 3).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Wait before the second attempt, doubled after each failure (default `2s`).
    #[serde(with = "crate::params::serde_duration", default = "default_backoff")]
    pub backoff: Duration,
}

fn default_key_env() -> String {
    "OPENAI_API_KEY".into()
}
fn default_every() -> Duration {
    Duration::from_secs(3600)
}
fn yes() -> bool {
    true
}
fn default_calls() -> u32 {
    6
}
fn default_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_attempts() -> u32 {
    3
}
fn default_backoff() -> Duration {
    Duration::from_secs(2)
}

pub use tailpulse_core::answer::{LlmStatus, Reason};

/// A running loop.
pub struct Llm {
    tx: SyncSender<(String, Reason)>,
    /// What the worker last reported.
    pub status: Arc<Mutex<LlmStatus>>,
    every: Duration,
    on_incident: bool,
    last_asked: Option<Instant>,
}

/// The system message sent with every prompt.
const SYSTEM: &str = "You are a site reliability engineer. Answer briefly and concretely, using only the numbers given.";

impl Llm {
    /// Starts the worker for `cfg`.
    pub fn start(cfg: &LlmConfig) -> Llm {
        let every = cfg.every;
        let worker = Worker {
            url: format!("{}/chat/completions", cfg.base_url.trim_end_matches('/')),
            model: cfg.model.clone(),
            key: std::env::var(&cfg.api_key_env)
                .ok()
                .filter(|k| !k.is_empty()),
            max_per_hour: cfg.max_calls_per_hour,
            retry: crate::retry::Retry {
                attempts: cfg.attempts,
                backoff: cfg.backoff,
                timeout: cfg.timeout,
            },
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(cfg.timeout))
                .http_status_as_error(false)
                .build()
                .into(),
            calls: VecDeque::new(),
        };
        let status = Arc::new(Mutex::new(LlmStatus {
            model: cfg.model.clone(),
            machine_written: true,
            ..LlmStatus::default()
        }));
        let (tx, rx) = sync_channel(1);
        let st = status.clone();
        std::thread::Builder::new()
            .name("llm".into())
            .spawn(move || worker.run(rx, st))
            .expect("the llm thread starts");
        Llm {
            tx,
            status,
            every,
            on_incident: cfg.on_incident,
            last_asked: None,
        }
    }

    /// Asks with `prompt` when the schedule says so (or an incident opened); never waits.
    pub fn offer(&mut self, incident: bool, prompt: impl FnOnce() -> String) {
        let due = self.last_asked.is_none_or(|t| t.elapsed() >= self.every);
        let reason = if incident && self.on_incident {
            Reason::Incident
        } else if due {
            Reason::Schedule
        } else {
            return;
        };
        if self.tx.try_send((prompt(), reason)).is_ok() {
            self.last_asked = Some(Instant::now());
        }
    }

    /// The current status.
    pub fn status(&self) -> LlmStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

struct Worker {
    url: String,
    model: String,
    key: Option<String>,
    max_per_hour: u32,
    retry: crate::retry::Retry,
    agent: ureq::Agent,
    calls: VecDeque<Instant>,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: String,
}

/// Why one call failed, and whether trying again may help.
struct CallError {
    message: String,
    retry: bool,
}

impl Worker {
    fn run(mut self, rx: Receiver<(String, Reason)>, status: Arc<Mutex<LlmStatus>>) {
        for (prompt, reason) in rx {
            let result = self.ask(&prompt);
            let mut st = status.lock().unwrap_or_else(|e| e.into_inner());
            st.calls_last_hour = self.calls.len() as u32;
            match result {
                Ok(answer) => {
                    tracing::info!(target: "analysis", model = %self.model, reason = ?reason, chars = answer.len(), "LLM answered");
                    st.answer = Some(answer);
                    st.answered_ms = Some(now_ms());
                    st.reason = Some(reason);
                    st.last_error = None;
                }
                Err(e) => {
                    tracing::warn!(target: "analysis", model = %self.model, error = %e, "LLM call failed; keeping the last answer");
                    st.last_error = Some(e);
                }
            }
        }
    }

    /// One question, with retries, within the spend limit.
    fn ask(&mut self, prompt: &str) -> Result<String, String> {
        use crate::retry::Failure;
        let retry = self.retry;
        let (answer, _) = retry.run(
            |_| {
                while self
                    .calls
                    .front()
                    .is_some_and(|t| t.elapsed() >= Duration::from_secs(3600))
                {
                    self.calls.pop_front();
                }
                if self.calls.len() >= self.max_per_hour as usize {
                    return Err(Failure::Permanent(format!(
                        "spend limit reached ({} calls in the last hour)",
                        self.max_per_hour
                    )));
                }
                self.calls.push_back(Instant::now());
                self.call(prompt).map_err(|e| match e.retry {
                    true => Failure::Transient(e.message),
                    false => Failure::Permanent(e.message),
                })
            },
            |_, _, _| {},
        );
        answer
    }

    fn call(&self, prompt: &str) -> Result<String, CallError> {
        let body = serde_json::json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": prompt},
            ],
        });
        let mut req = self.agent.post(&self.url);
        if let Some(k) = &self.key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let mut res = req.send_json(&body).map_err(|e| CallError {
            message: e.to_string(),
            retry: true,
        })?;
        let status = res.status().as_u16();
        let text = res
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .map_err(|e| CallError {
                message: e.to_string(),
                retry: true,
            })?;
        if !(200..300).contains(&status) {
            return Err(CallError {
                message: format!("HTTP {status}"),
                retry: status == 429 || status >= 500,
            });
        }
        let c: Completion = serde_json::from_str(&text).map_err(|e| CallError {
            message: format!("not a chat completion: {e}"),
            retry: false,
        })?;
        c.choices
            .into_iter()
            .next()
            .map(|c| c.message.content)
            .filter(|c| !c.trim().is_empty())
            .ok_or(CallError {
                message: "empty answer".into(),
                retry: false,
            })
    }
}
