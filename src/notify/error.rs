//! Why the notifiers cannot be set up when the run starts: a [`ChannelError`] for one notifier
//! whose channel cannot be built, and the [`NotifyError`] that gathers them all.
//!
//! A channel's message never shows a value that may be a secret (a URL, a token): it says how
//! the value was written (`(from `env.NAME`)`) instead. The sentences a [`NotifyError`] holds
//! are redacted text: they are scrubbed of every resolved secret before they leave the
//! dispatcher (a library's own words, a piece of a URL, may still carry one).

use crate::ast::Value;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a URL does not parse (`url::ParseError`, named through reqwest's `Url`).
pub type UrlError = <reqwest::Url as std::str::FromStr>::Err;

/// Why the notifiers cannot be set up when the run starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct NotifyError {
    /// Environment variables that are referenced but unset or empty.
    pub unset: Vec<String>,
    /// Other problems: each a [`ChannelError`]'s sentence, redacted (never containing a secret).
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

/// How a value was written, for a message that must not show it: ` (from `env.NAME`)` for an
/// env reference, nothing for a literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(Option<String>);

impl Origin {
    /// How `value` was written.
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Env(name) => Origin(Some(name.clone())),
            Value::Literal(_) => Origin(None),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(name) => write!(f, " (from `env.{name}`)"),
            None => Ok(()),
        }
    }
}

/// Why one notifier's channel cannot be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChannelError {
    /// A URL that does not parse.
    #[error("the {what} URL{origin} is not a URL: {reason}")]
    NotAUrl {
        /// Whose URL: `slack`, `ntfy server`, `email` …
        what: &'static str,
        /// How it was written.
        origin: Origin,
        /// Why it does not parse (the reason never quotes the URL).
        reason: UrlError,
    },
    /// An HTTP channel's URL that is not `http(s)://host…`.
    #[error("the {what} URL{origin} must start with `https://` or `http://`, not `{scheme}:`")]
    NotHttp {
        /// Whose URL.
        what: &'static str,
        /// How it was written.
        origin: Origin,
        /// The scheme it has.
        scheme: String,
    },
    /// An email URL without a host.
    #[error("the email URL{origin} has no host")]
    NoHost {
        /// How it was written.
        origin: Origin,
    },
    /// An email URL with a `?key=` night does not know.
    #[error("the email URL{origin} has an unknown setting `{key}`; known: `tls`, `from`")]
    UnknownSetting {
        /// How it was written.
        origin: Origin,
        /// The setting.
        key: String,
    },
    /// `smtps://…?tls=`.
    #[error("the email URL{origin} is `smtps://`, which is always TLS: drop `?tls=`")]
    TlsOnSmtps {
        /// How it was written.
        origin: Origin,
    },
    /// `?tls=` other than `required`, `opportunistic` or `off`.
    #[error("the email URL{origin} has `tls={value}`; use `required`, `opportunistic` or `off`")]
    UnknownTls {
        /// How it was written.
        origin: Origin,
        /// What `tls` was set to.
        value: String,
    },
    /// An email URL that is not `smtp://` or `smtps://`.
    #[error("the email URL{origin} must start with `smtp://` or `smtps://`, not `{scheme}:`")]
    NotSmtp {
        /// How it was written.
        origin: Origin,
        /// The scheme it has.
        scheme: String,
    },
    /// The recipient is not an email address.
    #[error("`{to}` is not an email address: {reason}")]
    NotAnAddress {
        /// As written in the runbook.
        to: String,
        /// Why not.
        reason: lettre::address::AddressError,
    },
    /// `?from=` is not an email address.
    #[error("the email sender `{from}` is not an address: {reason}")]
    BadSender {
        /// As given.
        from: String,
        /// Why not.
        reason: lettre::address::AddressError,
    },
    /// `NIGHT_NOTIFY_CA_FILE` cannot be read.
    #[error("cannot read `NIGHT_NOTIFY_CA_FILE` ({}): {source}", .path.display())]
    CaUnreadable {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: Arc<std::io::Error>,
    },
    /// `NIGHT_NOTIFY_CA_FILE` holds nothing the TLS library can use.
    #[error("`NIGHT_NOTIFY_CA_FILE` holds no usable certificate: {reason}")]
    CaUnusable {
        /// The TLS library's reason.
        reason: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The HTTP client cannot be built.
    #[error("cannot set up HTTPS: {}", super::http::chain(.source.as_ref()))]
    Https {
        /// What failed.
        source: Arc<reqwest::Error>,
    },
    /// The mail server's TLS settings cannot be built.
    #[error("cannot set up TLS for {host}: {source}")]
    Tls {
        /// The mail server.
        host: String,
        /// What failed.
        source: Arc<lettre::transport::smtp::Error>,
    },
    /// An ntfy topic with characters ntfy does not take.
    #[error("the ntfy topic ({}) may only hold letters, digits, `-` and `_`, at most 64", shown(.written))]
    BadTopic {
        /// How it was written (shown when literal, named when an env reference).
        written: Value,
    },
    /// A Twilio account SID that is not letters and digits.
    #[error("the Twilio account SID may only hold letters and digits (it starts with `AC`)")]
    BadSid,
}

/// A value as a message may show it: its env name, or the literal as written.
fn shown(written: &Value) -> String {
    match written {
        Value::Env(name) => format!("from `env.{name}`"),
        Value::Literal(text) => format!("`{text}`"),
    }
}
