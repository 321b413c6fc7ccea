//! Delivery of notifications: webhooks (Slack-compatible `{"text": …}` or a generic JSON
//! document) and email over SMTP. Each channel has its own thread and queue, retries with
//! doubling back-off, and logs what failed; the analysis only ever queues (and drops when a
//! channel is hopelessly behind).

use crate::alert::Notification;
use crate::clock::now_ms;
use crate::store::AlertRecord;
use serde::Deserialize;
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError, channel, sync_channel};
use std::time::Duration;

/// Body shape of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// `{"text": "…"}` (Slack, Mattermost, Rocket.Chat, Google Chat).
    #[default]
    Slack,
    /// `{"rule", "state", "severity", "message", "t", "text"}`.
    Json,
}

/// A webhook receiver.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// Body shape.
    #[serde(default)]
    pub format: WebhookFormat,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// STARTTLS on a plain connection (port 587).
    #[default]
    Starttls,
    /// TLS from the start (port 465).
    Tls,
    /// No encryption (a local relay).
    None,
}

/// Mail delivery.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// SMTP server as `host:port`.
    pub server: String,
    /// Connection security.
    #[serde(default)]
    pub tls: SmtpTls,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Environment variable holding the SMTP user name (none: no login).
    pub username_env: Option<String>,
    /// Environment variable holding the SMTP password.
    pub password_env: Option<String>,
}

pub use crate::retry::Retry;

/// Notifications waiting per channel before new ones are dropped (and logged).
const QUEUE: usize = 256;

/// The delivery threads.
pub struct Dispatcher {
    channels: Vec<(String, SyncSender<Notification>)>,
    /// Outcomes of deliveries, for the history.
    pub outcomes: Receiver<AlertRecord>,
}

trait Channel: Send + 'static {
    fn name(&self) -> String;
    fn kind(&self) -> &'static str;
    fn send(&self, n: &Notification) -> Result<(), String>;
}

impl Dispatcher {
    /// Starts one thread per webhook and one for email.
    pub fn spawn(webhooks: &[WebhookConfig], email: Option<&EmailConfig>, retry: Retry) -> Self {
        let (out_tx, outcomes) = channel();
        let mut channels = Vec::new();
        for w in webhooks {
            let ch = Webhook::new(w.clone(), retry.timeout);
            channels.push(start(Box::new(ch), retry, out_tx.clone()));
        }
        if let Some(e) = email {
            let ch = Mail {
                cfg: e.clone(),
                timeout: retry.timeout,
            };
            channels.push(start(Box::new(ch), retry, out_tx.clone()));
        }
        Dispatcher { channels, outcomes }
    }

    /// Queues `n` on every channel without waiting.
    pub fn send(&self, n: &Notification) {
        for (name, tx) in &self.channels {
            match tx.try_send(n.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    tracing::error!(target: "analysis", channel = %name, rule = %n.rule, "alert channel is backed up; notification dropped")
                }
                Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }
}

fn start(
    ch: Box<dyn Channel>,
    retry: Retry,
    outcomes: Sender<AlertRecord>,
) -> (String, SyncSender<Notification>) {
    let (tx, rx) = sync_channel::<Notification>(QUEUE);
    let name = ch.name();
    let thread_name = format!("alert-{}", ch.kind());
    std::thread::Builder::new()
        .name(thread_name)
        .spawn(move || {
            for n in rx {
                let delivered = deliver(ch.as_ref(), &n, retry);
                let _ = outcomes.send(AlertRecord {
                    t_ms: now_ms(),
                    rule: n.rule.clone(),
                    state: n.state.name().to_owned(),
                    channel: ch.kind().to_owned(),
                    delivered,
                    message: n.message.clone(),
                });
            }
        })
        .expect("alert threads start");
    (name, tx)
}

/// Tries `n` on `ch` up to `retry.attempts` times.
fn deliver(ch: &dyn Channel, n: &Notification, retry: Retry) -> bool {
    let (out, attempts) = retry.run(
        |_| ch.send(n).map_err(crate::retry::Failure::Transient),
        |attempt, e, wait| {
            tracing::warn!(target: "analysis", channel = %ch.name(), rule = %n.rule, attempt, error = %e, retry_in_ms = wait.as_millis() as u64, "alert delivery failed; retrying");
        },
    );
    match out {
        Ok(()) => {
            tracing::info!(target: "analysis", channel = %ch.name(), rule = %n.rule, state = n.state.name(), attempt = attempts, "alert delivered");
            true
        }
        Err(e) => {
            tracing::error!(target: "analysis", channel = %ch.name(), rule = %n.rule, attempts, error = %e, "alert not delivered");
            false
        }
    }
}

struct Webhook {
    cfg: WebhookConfig,
    agent: ureq::Agent,
}

impl Webhook {
    fn new(cfg: WebhookConfig, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Webhook { cfg, agent }
    }
}

impl Channel for Webhook {
    fn name(&self) -> String {
        // The address may carry a secret token: only its host is named in logs.
        let host = self
            .cfg
            .url
            .split("//")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or("?");
        format!("webhook {host}")
    }

    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn send(&self, n: &Notification) -> Result<(), String> {
        let body = match self.cfg.format {
            WebhookFormat::Slack => serde_json::json!({ "text": n.text() }),
            WebhookFormat::Json => serde_json::json!({
                "source": "tailpulse",
                "rule": n.rule,
                "state": n.state,
                "severity": n.severity,
                "message": n.message,
                "t": crate::time::format_rfc3339(n.t_ms),
                "text": n.text(),
            }),
        };
        let res = self
            .agent
            .post(&self.cfg.url)
            .send_json(&body)
            .map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        }
    }
}

struct Mail {
    cfg: EmailConfig,
    timeout: Duration,
}

impl Channel for Mail {
    fn name(&self) -> String {
        format!("email {}", self.cfg.server)
    }

    fn kind(&self) -> &'static str {
        "email"
    }

    fn send(&self, n: &Notification) -> Result<(), String> {
        use lettre::Transport;
        use lettre::message::Mailbox;
        use lettre::transport::smtp::SmtpTransport;
        use lettre::transport::smtp::authentication::Credentials;
        let (host, port) = match self.cfg.server.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| "bad SMTP port".to_owned())?),
            None => (self.cfg.server.as_str(), 587),
        };
        let mut builder = lettre::Message::builder()
            .from(
                self.cfg
                    .from
                    .parse::<Mailbox>()
                    .map_err(|e| e.to_string())?,
            )
            .subject(n.text());
        for to in &self.cfg.to {
            builder = builder.to(to.parse::<Mailbox>().map_err(|e| e.to_string())?);
        }
        let body = format!(
            "{}\n\nRule: {}\nState: {}\nSeverity: {:?}\nData time: {}\n\n— tailpulse\n",
            n.message,
            n.rule,
            n.state.name(),
            n.severity,
            crate::time::format_rfc3339(n.t_ms)
        );
        let email = builder.body(body).map_err(|e| e.to_string())?;
        let mut t = match self.cfg.tls {
            SmtpTls::None => SmtpTransport::builder_dangerous(host),
            SmtpTls::Starttls => SmtpTransport::starttls_relay(host).map_err(|e| e.to_string())?,
            SmtpTls::Tls => SmtpTransport::relay(host).map_err(|e| e.to_string())?,
        }
        .port(port)
        .timeout(Some(self.timeout));
        if let Some(user) = self
            .cfg
            .username_env
            .as_deref()
            .and_then(|v| std::env::var(v).ok())
        {
            let pass = self
                .cfg
                .password_env
                .as_deref()
                .and_then(|v| std::env::var(v).ok())
                .unwrap_or_default();
            t = t.credentials(Credentials::new(user, pass));
        }
        t.build()
            .send(&email)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
