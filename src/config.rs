//! The configuration file (`--config tailpulse.toml`): every command-line option (tables
//! `[run]`, `[analyze]`, `[generate]`, keys named as the long flags), alert rules and where
//! alerts go, the LLM endpoint, and prompt redaction. Everything is optional; an unknown key
//! is an error, so a typo does not silently switch an alert off.

use crate::alert::RuleConfig;
use crate::delivery::{EmailConfig, Retry, WebhookConfig};
use crate::llm::LlmConfig;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[alerts]`.
    #[serde(default)]
    pub alerts: Alerts,
    /// `[llm]`: none sends nothing anywhere.
    pub llm: Option<LlmConfig>,
    /// `[prompts]`.
    #[serde(default)]
    pub prompts: Prompts,
    /// `[routes]`.
    #[serde(default)]
    pub routes: Routes,
    /// `[auth]`: who may use the dashboard and its API.
    #[serde(default)]
    pub auth: crate::web::auth::AuthConfig,
    /// `[clickhouse]`: the credentials for `--clickhouse` (kept off the command line).
    #[serde(default)]
    pub clickhouse: ClickHouseLogin,
    /// `[run]`: options of `tailpulse run` (and of the demo), as on its command line.
    #[serde(default)]
    pub run: toml::Table,
    /// `[analyze]`: options of `tailpulse analyze`.
    #[serde(default)]
    pub analyze: toml::Table,
    /// `[generate]`: options of `tailpulse generate`.
    #[serde(default)]
    pub generate: toml::Table,
    /// `log-level`, for every command.
    #[serde(rename = "log-level")]
    pub log_level: Option<String>,
    /// `color`, for every command.
    pub color: Option<String>,
}

/// `[clickhouse]`: who tailpulse is to ClickHouse. `TAILPULSE_CLICKHOUSE_USER` and
/// `TAILPULSE_CLICKHOUSE_PASSWORD` win over the file.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseLogin {
    /// The user (default: ClickHouse's `default`).
    pub user: Option<String>,
    /// Its password.
    pub password: Option<String>,
}

impl std::fmt::Debug for ClickHouseLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseLogin")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .finish()
    }
}

impl ClickHouseLogin {
    /// The credentials, the environment's over the file's.
    pub fn resolved(&self) -> ClickHouseLogin {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        ClickHouseLogin {
            user: env("TAILPULSE_CLICKHOUSE_USER").or_else(|| self.user.clone()),
            password: env("TAILPULSE_CLICKHOUSE_PASSWORD").or_else(|| self.password.clone()),
        }
    }
}

impl Config {
    /// The options the file sets for the command `name` (empty for other commands).
    pub fn section(&self, name: &str) -> &toml::Table {
        static EMPTY: std::sync::LazyLock<toml::Table> = std::sync::LazyLock::new(Default::default);
        match name {
            "run" => &self.run,
            "analyze" => &self.analyze,
            "generate" => &self.generate,
            _ => &EMPTY,
        }
    }

    /// The options of every command that the file sets: (argument id, (key, value)).
    pub fn globals(&self) -> impl Iterator<Item = (&'static str, (&'static str, &str))> {
        [
            ("log_level", "log-level", &self.log_level),
            ("color", "color", &self.color),
        ]
        .into_iter()
        .filter_map(|(id, key, v)| v.as_deref().map(|v| (id, (key, v))))
    }
}

/// `[routes]`: how paths become routes (the flags `--routes`, `--keep-query` and
/// `--route-rule` win over these).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// `normalized` (default) or `raw`.
    pub mode: Option<crate::route::RouteMode>,
    /// Query keys kept in routes: `["*"]` for all, `["flav", "page"]` for those.
    pub keep_query: Option<Vec<String>>,
    /// Groupings such as `"/presentations/**"`, tried in order.
    #[serde(default)]
    pub rules: Vec<String>,
}

/// `[alerts]`: rules, channels, cool-down and retries.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    /// `[[alerts.rules]]`.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// `[[alerts.webhooks]]`.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// `[alerts.email]`.
    pub email: Option<EmailConfig>,
    /// Shortest time between two firing notifications of one rule (default `15m`).
    #[serde(with = "crate::params::serde_duration", default = "default_cooldown")]
    pub cooldown: Duration,
    /// Delivery attempts per notification and channel (default 4).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Wait before the second attempt, doubled after each failure (default `2s`).
    #[serde(with = "crate::params::serde_duration", default = "default_backoff")]
    pub backoff: Duration,
    /// Time limit of one delivery attempt (default `10s`).
    #[serde(with = "crate::params::serde_duration", default = "default_timeout")]
    pub timeout: Duration,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            rules: Vec::new(),
            webhooks: Vec::new(),
            email: None,
            cooldown: default_cooldown(),
            attempts: default_attempts(),
            backoff: default_backoff(),
            timeout: default_timeout(),
        }
    }
}

fn default_cooldown() -> Duration {
    Duration::from_secs(900)
}
fn default_attempts() -> u32 {
    4
}
fn default_backoff() -> Duration {
    Duration::from_secs(2)
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// `[prompts]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    /// Replace client addresses and drop query strings in the prompts (and what is sent to
    /// an LLM).
    #[serde(default)]
    pub redact: bool,
}

/// Why the file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading failed.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, or unknown keys.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line of the mistake.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong (values quoted at most ~100 bytes).
        message: String,
    },
    /// A value that makes no sense.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// A duration that must be longer than zero.
fn positive(path: &str, key: &str, d: Duration) -> Result<(), ConfigError> {
    if d.is_zero() {
        return Err(invalid(path, format!("{key} must be longer than 0s")));
    }
    Ok(())
}

fn invalid(path: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_owned(),
        message,
    }
}

/// An `http://` or `https://` URL with a host.
fn http_url(path: &str, key: &str, v: &str) -> Result<(), ConfigError> {
    let ok = v
        .parse::<axum::http::Uri>()
        .ok()
        .is_some_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
    if ok {
        Ok(())
    } else {
        Err(invalid(
            path,
            format!(
                "{key} = {:?} is not an http:// or https:// URL",
                crate::text::clip(v, 100)
            ),
        ))
    }
}

/// A count from `lo` to `hi`.
fn count(path: &str, key: &str, v: u32, lo: u32, hi: u32) -> Result<(), ConfigError> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(invalid(
            path,
            format!("{key} = {v} is not from {lo} to {hi}"),
        ))
    }
}

/// The parse error of `text`, with its line and column and a short message.
fn parse_error(text: &str, path: &str, e: &toml::de::Error) -> ConfigError {
    let at = e.span().map_or(0, |s| s.start).min(text.len());
    let before = &text.as_bytes()[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = at
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    ConfigError::Parse {
        path: path.to_owned(),
        line,
        column,
        message: crate::text::clip(e.message(), 200),
    }
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: p.clone(),
            source,
        })?;
        Config::parse(&text, &p)
    }

    /// Parses and checks `text` (named `path` in errors).
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| parse_error(text, path, &e))?;
        c.check(path)?;
        for r in &c.routes.rules {
            crate::route::Rule::new(r).map_err(|message| ConfigError::Invalid {
                path: path.to_owned(),
                message: format!("routes.rules: {message}"),
            })?;
        }
        crate::alert::Engine::new(&c.alerts.rules, 0).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Ok(c)
    }
}

impl Config {
    /// Checks values the types cannot: URLs, durations above zero, counts in range, and
    /// options that exclude each other.
    fn check(&self, path: &str) -> Result<(), ConfigError> {
        self.auth.check().map_err(|m| invalid(path, m))?;
        let a = &self.alerts;
        for w in &a.webhooks {
            http_url(path, "alerts.webhooks.url", &w.url)?;
        }
        if let Some(e) = &a.email {
            let port = e
                .server
                .rsplit_once(':')
                .and_then(|(h, p)| (!h.is_empty()).then_some(p.parse::<u16>().ok()).flatten());
            if port.is_none_or(|p| p == 0) {
                return Err(invalid(
                    path,
                    format!(
                        "alerts.email.server = {:?} is not host:port",
                        crate::text::clip(&e.server, 100)
                    ),
                ));
            }
            if e.to.is_empty() {
                return Err(invalid(path, "alerts.email.to names no recipient".into()));
            }
        }
        count(path, "alerts.attempts", a.attempts, 1, 20)?;
        positive(path, "alerts.timeout", a.timeout)?;
        for r in &a.rules {
            if r.above.is_some() && r.below.is_some() {
                return Err(invalid(
                    path,
                    format!(
                        "alerts.rules {:?}: give above or below, not both (make two rules)",
                        crate::text::clip(&r.name, 100)
                    ),
                ));
            }
            positive(path, "alerts.rules.for", r.for_)?;
        }
        if let Some(l) = &self.llm {
            http_url(path, "llm.base_url", &l.base_url)?;
            count(path, "llm.attempts", l.attempts, 1, 20)?;
            count(
                path,
                "llm.max_calls_per_hour",
                l.max_calls_per_hour,
                1,
                3600,
            )?;
            positive(path, "llm.every", l.every)?;
            positive(path, "llm.timeout", l.timeout)?;
        }
        Ok(())
    }
}

impl Alerts {
    /// The delivery retry policy.
    pub fn retry(&self) -> Retry {
        Retry {
            attempts: self.attempts.max(1),
            backoff: self.backoff,
            timeout: self.timeout,
        }
    }

    /// The cool-down in ms.
    pub fn cooldown_ms(&self) -> i64 {
        i64::try_from(self.cooldown.as_millis()).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses_and_mistakes_are_named() {
        let c = Config::parse(
            r#"
            [prompts]
            redact = true

            [alerts]
            cooldown = "10m"

            [[alerts.rules]]
            name = "5xx rate"
            metric = "error_rate_5xx"
            above = 0.02
            for = "5m"

            [[alerts.rules]]
            name = "incidents"
            anomaly = "warning"

            [[alerts.webhooks]]
            url = "https://hooks.example.com/T000/B000"

            [alerts.email]
            server = "smtp.example.com:587"
            from = "tailpulse@example.com"
            to = ["ops@example.com"]

            [llm]
            base_url = "http://127.0.0.1:11434/v1"
            model = "llama3"
            "#,
            "t.toml",
        )
        .unwrap();
        assert!(c.prompts.redact);
        assert_eq!(c.alerts.rules.len(), 2);
        assert_eq!(c.alerts.cooldown_ms(), 600_000);
        assert_eq!(c.llm.unwrap().max_calls_per_hour, 6);
        let err = Config::parse("[alerts]\ncooldwn = \"1m\"\n", "t.toml").unwrap_err();
        assert!(format!("{:#}", anyhow::Error::from(err)).contains("cooldwn"));
        let err = Config::parse(
            "[[alerts.rules]]\nname = \"x\"\nmetric = \"p95_ms\"\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("give metric with above or below"));
    }

    /// Regression: values were not checked (`url = "not a url"`, `timeout = "0s"`,
    /// `attempts = 4294967295`, a rule with both `above` and `below`), and a 20 MB bad value
    /// was echoed whole into the error.
    #[test]
    fn values_are_checked_and_quoted_short() {
        for (text, says) in [
            (
                "[[alerts.webhooks]]\nurl = \"not a url\"\n",
                "not an http:// or https:// URL",
            ),
            (
                "[[alerts.webhooks]]\nurl = \"ftp://x/\"\n",
                "not an http:// or https:// URL",
            ),
            (
                "[alerts]\ntimeout = \"0s\"\n",
                "alerts.timeout must be longer than 0s",
            ),
            (
                "[alerts]\nattempts = 4294967295\n",
                "alerts.attempts = 4294967295 is not from 1 to 20",
            ),
            (
                "[[alerts.rules]]\nname = \"x\"\nmetric = \"p95_ms\"\nabove = 1.0\nbelow = 0.5\n",
                "not both",
            ),
            (
                "[alerts.email]\nserver = \"smtp\"\nfrom = \"a@b\"\nto = [\"c@d\"]\n",
                "not host:port",
            ),
            (
                "[llm]\nbase_url = \"localhost:11434\"\nmodel = \"m\"\n",
                "llm.base_url",
            ),
            (
                "[llm]\nbase_url = \"http://127.0.0.1/v1\"\nmodel = \"m\"\nevery = \"0s\"\n",
                "llm.every",
            ),
        ] {
            let err = Config::parse(text, "t.toml").unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
        let huge = format!("[alerts]\ncooldown = \"{}\"\n", "9".repeat(20 << 20));
        let err = Config::parse(&huge, "t.toml").unwrap_err().to_string();
        assert!(err.len() < 400, "{} bytes of error", err.len());
        let huge = format!("[alerts]\ncooldown = {}x\n", "9".repeat(20 << 20));
        let err = Config::parse(&huge, "t.toml").unwrap_err().to_string();
        assert!(
            err.len() < 400 && err.starts_with("t.toml:2:"),
            "{}",
            &err[..err.len().min(400)]
        );
    }
}
