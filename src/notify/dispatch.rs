//! The [`Dispatcher`]: each notification queued, delivered in a task of its own with its tries,
//! timeouts and backoff, and its result told exactly once.

use super::resolve::{Resolver, Target};
use super::*;
use crate::secrets::Secrets;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::task::JoinHandle;

/// The same message with every secret scrubbed from its texts.
pub(super) fn scrub_message(message: &Message, redactor: &Secrets) -> Message {
    let scrub = |text: &str| redactor.scrub(text).into_owned();
    let mut out = message.clone();
    for text in [&mut out.run_id, &mut out.name, &mut out.branch, &mut out.summary] {
        *text = scrub(text);
    }
    for text in [&mut out.outcome, &mut out.report, &mut out.detail, &mut out.pull_request].into_iter().flatten() {
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
                    error.invalid.extend(unresolved.invalid.iter().map(|p| redactor.scrub_with_urls(&p.to_string())));
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
pub(super) fn end_events(outcome: Option<&str>) -> &'static [Event] {
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
