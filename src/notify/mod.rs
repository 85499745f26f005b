//! Notifiers (LANGUAGE.md §9): who is told what, and never in the run's way.
//!
//! A [`Dispatcher`] is built when the run starts: it resolves every `env.X` once (those values
//! are secrets from then on), builds one [`Transport`] per notifier, and from then on
//! [`Dispatcher::notify`] queues a [`Message`] for each notifier that wants its event. Each
//! delivery runs in its own task with a timeout per try and retries with backoff; its final
//! result goes to the `on_delivery` callback (the journal) exactly once. Nothing here blocks
//! the caller, returns an error after construction, or panics.
//!
//! One file per channel, each behind [`Transport`]; `crate::secrets` keeps secrets out of every text
//! that leaves this module, `render` writes the human text the chat, push, mail and SMS
//! channels share.

mod command;
mod discord;
mod dispatch;
mod email;
mod error;
mod http;
mod ntfy;
pub mod render;
mod resolve;
mod settings;

pub use dispatch::{send_test, send_test_with, Dispatcher};
pub use error::{ChannelError, NotifyError, Origin};
pub use settings::Settings;
mod slack;
mod sms;
mod webhook;

use crate::ast::{Channel, Event, Notifier, Value};
use crate::source::Spanned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

// ------------------------------------------------------------- the data ----

/// What one notification says. Serialized as-is, it IS the webhook JSON body (docs/notify.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Which event this is.
    pub event: Event,
    /// How the run ended: `success`, `failed`, `stuck`, `rolled-back`, `timeout`, `budget`,
    /// `interrupted`, `crashed`, `nothing-to-do`; set for `end`, `success`, `failure`, `stuck`.
    pub outcome: Option<String>,
    /// `<name>-<YYYYMMDD-HHMMSS>`.
    pub run_id: String,
    /// The run name.
    pub name: String,
    /// The run branch.
    pub branch: String,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
    /// When this event happened, RFC 3339 UTC.
    pub at: String,
    /// Seconds since the start.
    pub elapsed_seconds: u64,
    /// The attempt this event is about.
    pub attempt: Option<u64>,
    /// Attempts made so far.
    pub attempts: u64,
    /// The latest success-check results.
    pub checks: Vec<CheckSummary>,
    /// Tokens used so far.
    pub tokens: u64,
    /// Cost so far, in US dollars.
    pub cost_usd: f64,
    /// Path of report.md.
    pub report: Option<String>,
    /// One human line, e.g. `auth-jwt: success after 2 attempts in 1h12m`.
    pub summary: String,
    /// More about the event: the violation, the stuck signature, the commit subject.
    pub detail: Option<String>,
    /// The pull request night opened or updated for the run (`end` only; docs/deliver.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
}

/// One success check's latest result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSummary {
    /// The check as written, e.g. ``tests `cargo test` ``.
    pub check: String,
    /// Whether it held.
    pub passed: bool,
    /// Why not, or the counts.
    pub detail: Option<String>,
}

/// One delivery's end result, for the journal and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// A redacted description, e.g. `slack (hooks.slack.com)`: never a secret or a whole URL.
    pub notifier: String,
    /// The event delivered.
    pub event: Event,
    /// Whether the receiver accepted it.
    pub delivered: bool,
    /// How many tries were made (0 when the notifier could not be set up).
    pub tries: u32,
    /// Why it was not delivered, redacted.
    pub error: Option<String>,
    /// When it ended, RFC 3339 UTC.
    pub at: String,
}

// ----------------------------------------------------------- transports ----

/// Why one try failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// What went wrong (redacted before it leaves the module).
    pub error: String,
    /// Whether another try may succeed.
    pub retry: bool,
}

impl Failure {
    /// A failure another try may fix (timeouts, refused connections, 5xx).
    pub fn transient(error: impl Into<String>) -> Self {
        Self { error: error.into(), retry: true }
    }

    /// A failure another try will not fix (401, 404, a rejected address).
    pub fn permanent(error: impl Into<String>) -> Self {
        Self { error: error.into(), retry: false }
    }
}

/// The future one try returns.
pub(crate) type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send + 'a>>;

/// One channel: sends one message, once. Timeouts and retries are the dispatcher's.
pub(crate) trait Transport: Send + Sync {
    /// Make one try.
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a>;
}

/// Now, RFC 3339 UTC to the second.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `10s`, `300ms`.
fn short_duration(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        crate::time::format_duration(duration)
    }
}

// -------------------------------------------------------------- testing ----

/// The message `night notify --test` sends for a run named `name` on `branch`.
pub fn test_message(name: &str, branch: &str) -> Message {
    let now = now_rfc3339();
    Message {
        event: Event::End,
        outcome: None,
        run_id: format!("{name}-test"),
        name: name.to_string(),
        branch: branch.to_string(),
        started_at: now.clone(),
        at: now,
        elapsed_seconds: 0,
        attempt: None,
        attempts: 0,
        checks: Vec::new(),
        tokens: 0,
        cost_usd: 0.0,
        report: None,
        summary: format!("{name}: test notification from night: this notifier works"),
        detail: Some("sent by `night notify --test`; a real run sends its outcome here".to_string()),
        pull_request: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::dispatch::{end_events, scrub_message};
    use crate::secrets::Secrets;

    #[test]
    fn the_dispatcher_can_be_shared_and_flushed_from_any_task() {
        fn shared<T: Send + Sync>() {}
        fn sendable<T: Send>(_: &T) {}
        shared::<Dispatcher>();
        let dispatcher = Dispatcher::with_settings(&[], &|_| None, Box::new(|_| {}), Settings::default()).unwrap();
        sendable(&dispatcher.flush(Duration::ZERO));
        sendable(&send_test(&[], &|_| None, test_message("x", "y")));
    }

    #[test]
    fn settings_read_their_overrides() {
        let env = |name: &str| match name {
            "NIGHT_NOTIFY_TIMEOUT_MS" => Some("250".to_string()),
            "NIGHT_NOTIFY_BACKOFF_MS" => Some("10".to_string()),
            "NIGHT_TWILIO_API_BASE" => Some(" http://127.0.0.1:9 ".to_string()),
            _ => None,
        };
        let settings = Settings::from_lookup(&env);
        assert_eq!(settings.timeout, Duration::from_millis(250));
        assert_eq!(settings.backoff, [Duration::from_millis(10), Duration::from_millis(40)]);
        assert_eq!(settings.tries(), 3);
        assert_eq!(settings.twilio_base, "http://127.0.0.1:9");
        let defaults = Settings::from_lookup(&|name| (name == "NIGHT_NOTIFY_TIMEOUT_MS").then(|| "0".to_string()));
        assert_eq!(defaults, Settings::default(), "a zero timeout is ignored");
    }

    #[test]
    fn an_end_is_its_most_specific_event_first() {
        assert_eq!(end_events(Some("success")), [Event::Success, Event::End]);
        assert_eq!(end_events(Some("stuck")), [Event::Stuck, Event::Failure, Event::End]);
        assert_eq!(end_events(Some("timeout")), [Event::Failure, Event::End]);
        assert_eq!(end_events(None), [Event::Failure, Event::End]);
    }

    #[test]
    fn messages_lose_their_secrets() {
        let redactor = Secrets::with_urls(&["hunter2-secret"]);
        let mut message = test_message("x", "night/x");
        message.detail = Some("the agent printed hunter2-secret".into());
        message.checks.push(CheckSummary { check: "run `echo hunter2-secret`".into(), passed: true, detail: Some("hunter2-secret".into()) });
        let scrubbed = serde_json::to_string(&scrub_message(&message, &redactor)).unwrap();
        assert!(!scrubbed.contains("hunter2"), "{scrubbed}");
        assert_eq!(short_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(short_duration(Duration::from_secs(10)), "10s");
    }
}
