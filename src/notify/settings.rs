//! How notifications are sent: timeouts, tries and backoff, the CA bundle, the folder `command` notifiers run in.

use std::path::PathBuf;
use std::time::Duration;

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

