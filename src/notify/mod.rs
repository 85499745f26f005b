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
mod email;
mod http;
mod ntfy;
pub mod render;
mod slack;
mod sms;
mod webhook;

use crate::ast::{Channel, Event, Notifier, Value};
use crate::source::Spanned;
use crate::secrets::{self, Secrets};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::task::JoinHandle;

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

/// Why the notifiers cannot be set up when the run starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct NotifyError {
    /// Environment variables that are referenced but unset or empty.
    pub unset: Vec<String>,
    /// Other problems, one sentence each (never containing a secret).
    pub invalid: Vec<String>,
}

impl NotifyError {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.unset.as_slice() {
            [] => {}
            [one] => parts.push(format!("environment variable `{one}` is not set")),
            many => {
                let names: Vec<String> = many.iter().map(|n| format!("`{n}`")).collect();
                parts.push(format!("environment variables {} are not set", names.join(", ")));
            }
        }
        parts.extend(self.invalid.iter().cloned());
        parts.join("; ")
    }
}

// --------------------------------------------------------- the settings ----

/// How deliveries are made: timeouts, retries, and the few things tests and private setups
/// override through the environment (docs/notify.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Longest single try (default 10 s; `NIGHT_NOTIFY_TIMEOUT_MS`).
    pub timeout: Duration,
    /// The waits between tries; tries = waits + 1 (default 0.5 s, 2 s; `NIGHT_NOTIFY_BACKOFF_MS`
    /// sets the first wait, each next one is four times longer).
    pub backoff: Vec<Duration>,
    /// Twilio's API base (default `https://api.twilio.com`; `NIGHT_TWILIO_API_BASE`).
    pub twilio_base: String,
    /// Extra trusted CA certificates, PEM (`NIGHT_NOTIFY_CA_FILE`), for private mail relays.
    pub ca_file: Option<PathBuf>,
    /// Where `command` notifiers run (default: night's current directory).
    pub dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            backoff: vec![Duration::from_millis(500), Duration::from_secs(2)],
            twilio_base: "https://api.twilio.com".to_string(),
            ca_file: None,
            dir: None,
        }
    }
}

impl Settings {
    /// The defaults, with the `NIGHT_NOTIFY_*` and `NIGHT_TWILIO_API_BASE` overrides applied.
    pub fn from_env() -> Self {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// The defaults, with overrides read through `env`.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut settings = Self::default();
        let millis = |name: &str| env(name).and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_millis);
        if let Some(timeout) = millis("NIGHT_NOTIFY_TIMEOUT_MS").filter(|t| !t.is_zero()) {
            settings.timeout = timeout;
        }
        if let Some(first) = millis("NIGHT_NOTIFY_BACKOFF_MS") {
            settings.backoff = vec![first, first * 4];
        }
        if let Some(base) = env("NIGHT_TWILIO_API_BASE").filter(|b| !b.trim().is_empty()) {
            settings.twilio_base = base.trim().to_string();
        }
        settings.ca_file = env("NIGHT_NOTIFY_CA_FILE").filter(|f| !f.is_empty()).map(PathBuf::from);
        settings
    }

    /// How many tries a delivery gets.
    pub fn tries(&self) -> u32 {
        u32::try_from(self.backoff.len()).unwrap_or(u32::MAX - 1) + 1
    }

    /// Run `command` notifiers in `dir`.
    #[must_use]
    pub fn in_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }
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

/// A notifier, resolved: its env values read, its transport built.
struct Target {
    description: String,
    notifier: Notifier,
    transport: Arc<dyn Transport>,
    /// Ends when this notifier's latest queued delivery ends: each notifier gets its
    /// messages in order, `start` before `end`, while notifiers never wait for each other.
    latest: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

/// A notifier that could not be set up.
struct Unresolved {
    description: String,
    unset: Vec<String>,
    invalid: Vec<String>,
}

impl Unresolved {
    fn error(&self) -> String {
        NotifyError { unset: self.unset.clone(), invalid: self.invalid.clone() }.to_string()
    }
}

/// Reads env references and builds transports; remembers every secret it read.
struct Resolver<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    settings: &'a Settings,
    http: Option<Result<reqwest::Client, String>>,
    secrets: Vec<String>,
    env_names: Vec<String>,
}

impl<'a> Resolver<'a> {
    fn new(env: &'a dyn Fn(&str) -> Option<String>, settings: &'a Settings) -> Self {
        Self { env, settings, http: None, secrets: Vec::new(), env_names: Vec::new() }
    }

    /// Every env value first, so that a later problem's message can be scrubbed of them all.
    fn read_all(&mut self, notifiers: &[Spanned<Notifier>]) {
        for notifier in notifiers {
            for value in notifier.value.channel.values() {
                let _ = self.value(&value.value);
            }
        }
    }

    /// A value's text: the literal, or the env variable's (a secret) when set and non-empty.
    fn value(&mut self, value: &Value) -> Result<String, String> {
        match value {
            Value::Literal(text) => Ok(text.clone()),
            Value::Env(name) => match (self.env)(name).filter(|v| !v.is_empty()) {
                Some(secret) => {
                    if !self.secrets.contains(&secret) {
                        self.secrets.push(secret.clone());
                    }
                    if !self.env_names.contains(name) {
                        self.env_names.push(name.clone());
                    }
                    Ok(secret)
                }
                None => Err(name.clone()),
            },
        }
    }

    fn http(&mut self) -> Result<reqwest::Client, String> {
        self.http.get_or_insert_with(|| http::client(self.settings)).clone()
    }

    /// A value's text, or None with its env name added to `unset`.
    fn take(&mut self, value: &Spanned<Value>, unset: &mut Vec<String>) -> Option<String> {
        match self.value(&value.value) {
            Ok(text) => Some(text),
            Err(name) => {
                unset.push(name);
                None
            }
        }
    }

    fn resolve(&mut self, notifier: &Notifier) -> Result<Target, Unresolved> {
        let mut unset = Vec::new();
        let keyword = notifier.channel.keyword();
        let built: Result<(String, Arc<dyn Transport>), (String, String)> = match &notifier.channel {
            Channel::Webhook { url } | Channel::Slack { url } | Channel::Discord { url } => {
                let Some(text) = self.take(url, &mut unset) else {
                    return Err(unset_target(keyword, &unset, Some(&url.value)));
                };
                match (http::parse_url(&text, keyword, &url.value), self.http()) {
                    (Ok(parsed), Ok(client)) => {
                        let description = format!("{keyword} ({})", secrets::host_of(&parsed));
                        let transport: Arc<dyn Transport> = match &notifier.channel {
                            Channel::Webhook { .. } => Arc::new(webhook::Webhook::new(client, parsed)),
                            Channel::Slack { .. } => Arc::new(slack::Slack::new(client, parsed)),
                            _ => Arc::new(discord::Discord::new(client, parsed)),
                        };
                        Ok((description, transport))
                    }
                    (Err(problem), _) | (_, Err(problem)) => Err((format!("{keyword} ({})", origin_hint(&url.value)), problem)),
                }
            }
            Channel::Ntfy { topic, server } => {
                let topic_text = self.take(topic, &mut unset);
                let server_text = match server {
                    Some(server) => self.take(server, &mut unset),
                    None => Some(ntfy::DEFAULT_SERVER.to_string()),
                };
                let (Some(topic_text), Some(server_text)) = (topic_text, server_text) else {
                    return Err(unset_target(keyword, &unset, server.as_ref().map(|s| &s.value)));
                };
                let client = self.http();
                match ntfy::Ntfy::new(client, &server_text, &topic_text, server.as_ref().map(|s| &s.value), &topic.value) {
                    Ok(ntfy) => Ok((format!("ntfy ({})", ntfy.host()), Arc::new(ntfy) as Arc<dyn Transport>)),
                    Err(problem) => Err(("ntfy".to_string(), problem)),
                }
            }
            Channel::Email { to, via } => {
                let Some(url) = self.take(via, &mut unset) else {
                    return Err(unset_target(&format!("email ({})", to.value), &unset, None));
                };
                match email::Email::new(&to.value, &url, &via.value, self.settings) {
                    Ok(email) => Ok((format!("email ({} via {})", to.value, email.host()), Arc::new(email) as Arc<dyn Transport>)),
                    Err(problem) => Err((format!("email ({})", to.value), problem)),
                }
            }
            Channel::Sms { to, sid, token, from } => {
                let sid_text = self.take(sid, &mut unset);
                let token_text = self.take(token, &mut unset);
                let (Some(sid_text), Some(token_text)) = (sid_text, token_text) else {
                    return Err(unset_target(&format!("sms ({})", to.value), &unset, None));
                };
                let client = self.http();
                match sms::Sms::new(client, &self.settings.twilio_base, &sid_text, &token_text, &to.value, &from.value) {
                    Ok(sms) => Ok((format!("sms ({} via twilio)", to.value), Arc::new(sms) as Arc<dyn Transport>)),
                    Err(problem) => Err((format!("sms ({})", to.value), problem)),
                }
            }
            Channel::Command { command } => {
                let transport = command::Command::new(&command.value, self.settings.dir.clone());
                Ok((format!("command (`{}`)", render::truncate(&command.value, 60)), Arc::new(transport) as Arc<dyn Transport>))
            }
        };
        match built {
            Ok((description, transport)) => Ok(Target { description, notifier: notifier.clone(), transport, latest: Mutex::new(None) }),
            Err((description, problem)) => Err(Unresolved { description, unset: Vec::new(), invalid: vec![problem] }),
        }
    }
}

/// `slack (env.SLACK_WEBHOOK_URL)`: a notifier whose env values are missing.
fn unset_target(what: &str, unset: &[String], shown: Option<&Value>) -> Unresolved {
    let hint = match shown {
        Some(value) => origin_hint(value),
        None => String::new(),
    };
    let description = if hint.is_empty() { what.to_string() } else { format!("{what} ({hint})") };
    Unresolved { description, unset: unset.to_vec(), invalid: Vec::new() }
}

/// What may be said about a value that could not be used: its env name, or nothing.
fn origin_hint(value: &Value) -> String {
    match value {
        Value::Env(name) => format!("env.{name}"),
        Value::Literal(_) => "invalid URL".to_string(),
    }
}

/// The same message with every secret scrubbed from its texts.
fn scrub_message(message: &Message, redactor: &Secrets) -> Message {
    let scrub = |text: &str| redactor.scrub(text).into_owned();
    let mut out = message.clone();
    for text in [&mut out.run_id, &mut out.name, &mut out.branch, &mut out.summary] {
        *text = scrub(text);
    }
    for text in [&mut out.outcome, &mut out.report, &mut out.detail].into_iter().flatten() {
        *text = scrub(text);
    }
    for check in &mut out.checks {
        check.check = scrub(&check.check);
        if let Some(detail) = &mut check.detail {
            *detail = scrub(detail);
        }
    }
    out
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

/// Every try of one delivery, with its timeout and backoff. `tries` is kept current so that
/// an abandoned delivery still says how far it got.
async fn deliver(
    description: String,
    transport: Arc<dyn Transport>,
    message: Arc<Message>,
    settings: Arc<Settings>,
    redactor: Arc<Secrets>,
    tries: Arc<AtomicU32>,
) -> Delivery {
    let total = settings.tries();
    let mut last_error = String::new();
    for n in 1..=total {
        tries.store(n, Ordering::SeqCst);
        let (one, sent, timeout) = (Arc::clone(&transport), Arc::clone(&message), settings.timeout);
        // Each try in a task of its own: a transport that panics fails the try, not the run.
        let outcome = tokio::spawn(async move { tokio::time::timeout(timeout, one.send(&sent)).await }).await;
        let result = match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(_elapsed)) => Err(Failure::transient(format!("timed out after {}", short_duration(timeout)))),
            Err(_panicked) => Err(Failure::transient("the notifier failed unexpectedly (a bug in night)")),
        };
        match result {
            Ok(()) => {
                return Delivery { notifier: description, event: message.event, delivered: true, tries: n, error: None, at: now_rfc3339() };
            }
            Err(failure) => {
                last_error = failure.error;
                if !failure.retry || n == total {
                    break;
                }
                let wait = settings.backoff.get(n as usize - 1).copied().unwrap_or_default();
                tokio::time::sleep(wait).await;
            }
        }
    }
    Delivery {
        notifier: description,
        event: message.event,
        delivered: false,
        tries: tries.load(Ordering::SeqCst),
        error: Some(redactor.scrub_with_urls(&last_error)),
        at: now_rfc3339(),
    }
}

// ----------------------------------------------------------- dispatcher ----

type OnDelivery = Arc<dyn Fn(&Delivery) + Send + Sync>;

/// A delivery under way.
struct Pending {
    notifier: String,
    event: Event,
    tries: Arc<AtomicU32>,
    /// Set by whoever reports the result first: the task when it ends, `flush` when it gives up.
    reported: Arc<AtomicBool>,
    handle: JoinHandle<Delivery>,
}

/// Sends the run's notifications; see the module documentation.
pub struct Dispatcher {
    targets: Vec<Target>,
    env_names: Vec<String>,
    raw_secrets: Vec<String>,
    redactor: Arc<Secrets>,
    settings: Arc<Settings>,
    on_delivery: OnDelivery,
    pending: Mutex<Vec<Pending>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let notifiers: Vec<&str> = self.targets.iter().map(|t| t.description.as_str()).collect();
        f.debug_struct("Dispatcher").field("notifiers", &notifiers).field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// Resolve env references now (the run starts); Err lists every unset variable.
    pub fn new(
        notifiers: &[Spanned<Notifier>],
        env: &dyn Fn(&str) -> Option<String>,
        on_delivery: Box<dyn Fn(&Delivery) + Send + Sync>,
    ) -> Result<Self, NotifyError> {
        Self::with_settings(notifiers, env, on_delivery, Settings::from_env())
    }

    /// [`Dispatcher::new`] with explicit settings (timeouts, retries, the `command` folder).
    pub fn with_settings(
        notifiers: &[Spanned<Notifier>],
        env: &dyn Fn(&str) -> Option<String>,
        on_delivery: Box<dyn Fn(&Delivery) + Send + Sync>,
        settings: Settings,
    ) -> Result<Self, NotifyError> {
        let mut resolver = Resolver::new(env, &settings);
        resolver.read_all(notifiers);
        let redactor = Secrets::with_urls(&resolver.secrets);
        let mut targets = Vec::new();
        let mut error = NotifyError { unset: Vec::new(), invalid: Vec::new() };
        for notifier in notifiers {
            match resolver.resolve(&notifier.value) {
                Ok(target) => targets.push(target),
                Err(unresolved) => {
                    for name in unresolved.unset {
                        if !error.unset.contains(&name) {
                            error.unset.push(name);
                        }
                    }
                    error.invalid.extend(unresolved.invalid.iter().map(|p| redactor.scrub_with_urls(p)));
                }
            }
        }
        if !error.unset.is_empty() || !error.invalid.is_empty() {
            return Err(error);
        }
        Ok(Self {
            targets,
            env_names: resolver.env_names,
            raw_secrets: resolver.secrets,
            redactor: Arc::new(redactor),
            settings: Arc::new(settings),
            on_delivery: Arc::from(on_delivery),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// Every secret value (resolved env references), so the run can scrub them from logs and
    /// the agent's environment. Also the sensitive pieces of URL values (password, token path)
    /// of at least 6 characters, which error texts may show on their own.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = self.raw_secrets.clone();
        for piece in self.redactor.values() {
            if !out.iter().any(|s| s == piece) {
                out.push(piece.to_string());
            }
        }
        out
    }

    /// The names of the environment variables the notifiers read: not to be passed to the agent.
    pub fn env_names(&self) -> Vec<String> {
        self.env_names.clone()
    }

    /// The redacted description of every notifier, in runbook order.
    pub fn notifiers(&self) -> Vec<String> {
        self.targets.iter().map(|t| t.description.clone()).collect()
    }

    /// Scrub the secrets (and full URLs) out of any text, e.g. before it is logged.
    pub fn scrub(&self, text: &str) -> String {
        self.redactor.scrub_with_urls(text)
    }

    /// Queue the message for each notifier that wants its event. Never blocks, never fails:
    /// callable from inside a tokio runtime (deliveries are spawned on it) or outside one (they
    /// run on a small runtime of night's own).
    pub fn notify(&self, message: Message) {
        if !self.targets.iter().any(|t| t.notifier.wants(message.event)) {
            return;
        }
        let message = Arc::new(scrub_message(&message, &self.redactor));
        for target in self.targets.iter().filter(|t| t.notifier.wants(message.event)) {
            self.queue(target, Arc::clone(&message));
        }
    }

    /// Queue the end of the run: each notifier gets one message, for the most specific event
    /// it wants among those this end is (`stuck`, then `success` or `failure`, then `end`),
    /// so that `on end failure` is told once. `message.outcome` says how the run ended; the
    /// message's `event` is set per notifier.
    pub fn notify_end(&self, message: Message) {
        let events = end_events(message.outcome.as_deref());
        let scrubbed = scrub_message(&message, &self.redactor);
        for target in &self.targets {
            if let Some(event) = events.iter().copied().find(|event| target.notifier.wants(*event)) {
                let mut message = scrubbed.clone();
                message.event = event;
                self.queue(target, Arc::new(message));
            }
        }
    }

    /// Start one delivery, after the notifier's previous one.
    fn queue(&self, target: &Target, message: Arc<Message>) {
        let tries = Arc::new(AtomicU32::new(0));
        let reported = Arc::new(AtomicBool::new(false));
        let (done, ended) = tokio::sync::oneshot::channel::<()>();
        let previous = target.latest.lock().ok().and_then(|mut latest| latest.replace(ended));
        let event = message.event;
        let task = {
            let delivery = deliver(
                target.description.clone(),
                Arc::clone(&target.transport),
                message,
                Arc::clone(&self.settings),
                Arc::clone(&self.redactor),
                Arc::clone(&tries),
            );
            let (reported, on_delivery) = (Arc::clone(&reported), Arc::clone(&self.on_delivery));
            async move {
                if let Some(previous) = previous {
                    // Ends with the previous delivery, or when it was dropped or aborted.
                    let _ = previous.await;
                }
                let delivery = delivery.await;
                if !reported.swap(true, Ordering::SeqCst) {
                    report(&on_delivery, &delivery);
                }
                drop(done);
                delivery
            }
        };
        if let Some(handle) = spawn(task) {
            if let Ok(mut pending) = self.pending.lock() {
                pending.push(Pending { notifier: target.description.clone(), event, tries, reported, handle });
            }
        } else {
            let delivery = Delivery {
                notifier: target.description.clone(),
                event,
                delivered: false,
                tries: 0,
                error: Some("no async runtime to deliver on".to_string()),
                at: now_rfc3339(),
            };
            report(&self.on_delivery, &delivery);
        }
    }

    /// Wait for everything queued so far, at most `within`; returns every delivery queued
    /// since the last flush: those that ended, and the others recorded as not delivered,
    /// "timed out waiting at exit" (and reported through `on_delivery` as such, once).
    pub async fn flush(&self, within: Duration) -> Vec<Delivery> {
        let pending = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => Vec::new(),
        };
        let deadline = tokio::time::Instant::now() + within;
        let mut out = Vec::with_capacity(pending.len());
        for mut entry in pending {
            let gave_up = |entry: &Pending, error: &str| Delivery {
                notifier: entry.notifier.clone(),
                event: entry.event,
                delivered: false,
                tries: entry.tries.load(Ordering::SeqCst),
                error: Some(error.to_string()),
                at: now_rfc3339(),
            };
            match tokio::time::timeout_at(deadline, &mut entry.handle).await {
                Ok(Ok(delivery)) => out.push(delivery),
                Ok(Err(_)) => {
                    let delivery = gave_up(&entry, "the delivery was cancelled");
                    if !entry.reported.swap(true, Ordering::SeqCst) {
                        report(&self.on_delivery, &delivery);
                    }
                    out.push(delivery);
                }
                Err(_elapsed) => {
                    if entry.reported.swap(true, Ordering::SeqCst) {
                        // It ended just now and reported itself; its result is a moment away.
                        if let Ok(Ok(delivery)) = tokio::time::timeout(Duration::from_millis(100), &mut entry.handle).await {
                            out.push(delivery);
                            continue;
                        }
                    }
                    entry.handle.abort();
                    let delivery = gave_up(&entry, "timed out waiting at exit");
                    report(&self.on_delivery, &delivery);
                    out.push(delivery);
                }
            }
        }
        out
    }
}

/// The events an end with this outcome is, most specific first.
fn end_events(outcome: Option<&str>) -> &'static [Event] {
    match outcome {
        Some("success") => &[Event::Success, Event::End],
        Some("stuck") => &[Event::Stuck, Event::Failure, Event::End],
        _ => &[Event::Failure, Event::End],
    }
}

/// Call the journal's callback; a callback that panics costs the run nothing.
fn report(on_delivery: &OnDelivery, delivery: &Delivery) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| on_delivery(delivery)));
}

/// Spawn on the caller's runtime, or on night's own small one outside any runtime.
fn spawn<F>(task: F) -> Option<JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        return Some(handle.spawn(task));
    }
    static OWN: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let runtime = OWN.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("night-notify").enable_all().build().ok()
    });
    runtime.as_ref().map(|runtime| runtime.spawn(task))
}

// -------------------------------------------------------------- testing ----

/// `night notify --test`: send a test message through every notifier regardless of its `on`
/// events, and wait for each result (in runbook order). Env references are read now; the
/// future owns everything it needs, so it may be spawned.
pub fn send_test(
    notifiers: &[Spanned<Notifier>],
    env: &dyn Fn(&str) -> Option<String>,
    message: Message,
) -> impl Future<Output = Vec<Delivery>> + Send + 'static {
    send_test_with(notifiers, env, message, Settings::from_env())
}

/// [`send_test`] with explicit settings.
pub fn send_test_with(
    notifiers: &[Spanned<Notifier>],
    env: &dyn Fn(&str) -> Option<String>,
    message: Message,
    settings: Settings,
) -> impl Future<Output = Vec<Delivery>> + Send + 'static {
    let mut resolver = Resolver::new(env, &settings);
    resolver.read_all(notifiers);
    let redactor = Arc::new(Secrets::with_urls(&resolver.secrets));
    let message = Arc::new(scrub_message(&message, &redactor));
    let targets: Vec<Result<Target, Delivery>> = notifiers
        .iter()
        .map(|notifier| {
            resolver.resolve(&notifier.value).map_err(|unresolved| Delivery {
                notifier: unresolved.description.clone(),
                event: message.event,
                delivered: false,
                tries: 0,
                error: Some(redactor.scrub_with_urls(&unresolved.error())),
                at: now_rfc3339(),
            })
        })
        .collect();
    drop(resolver);
    let settings = Arc::new(settings);
    async move {
        let started: Vec<Result<(String, JoinHandle<Delivery>), Delivery>> = targets
            .into_iter()
            .map(|target| {
                target.map(|target| {
                    let task = deliver(
                        target.description.clone(),
                        target.transport,
                        Arc::clone(&message),
                        Arc::clone(&settings),
                        Arc::clone(&redactor),
                        Arc::new(AtomicU32::new(0)),
                    );
                    (target.description, tokio::spawn(task))
                })
            })
            .collect();
        let mut out = Vec::with_capacity(started.len());
        for entry in started {
            out.push(match entry {
                Ok((description, handle)) => handle.await.unwrap_or_else(|_| Delivery {
                    notifier: description,
                    event: message.event,
                    delivered: false,
                    tries: 0,
                    error: Some("the notifier failed unexpectedly (a bug in night)".to_string()),
                    at: now_rfc3339(),
                }),
                Err(delivery) => delivery,
            });
        }
        out
    }
}

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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
