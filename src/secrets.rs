//! Keeping secrets out of everything night writes: the journal, `agent.log`, the reports and
//! every notification. One set of secret values ([`Secrets`]) scrubs text, JSON values and
//! byte streams alike; URLs (a notifier's webhook) shrink to their host wherever they are shown.

use reqwest::Url;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::OnceLock;

/// What a secret is replaced by.
pub const REDACTED: &str = "[redacted]";

/// The secret values of a run, each with what replaces it, longest first so that a secret
/// containing another is replaced whole. Empty values are never secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    pairs: Vec<(String, String)>,
}

impl Secrets {
    /// These values, each replaced by [`REDACTED`].
    pub fn new<S: AsRef<str>>(values: &[S]) -> Self {
        let mut secrets = Self::default();
        secrets.add(values);
        secrets
    }

    /// These values, where a URL is replaced by its scheme and host (`https://hooks.slack.com/…`)
    /// and its sensitive pieces (password, user, path, query) are secrets of their own.
    pub fn with_urls<S: AsRef<str>>(values: &[S]) -> Self {
        let mut pairs = Vec::new();
        for value in values.iter().map(AsRef::as_ref).filter(|v| !v.is_empty()) {
            let replacement = match Url::parse(value) {
                Ok(url) if url.host_str().is_some() => redact_url(&url),
                _ => REDACTED.to_string(),
            };
            pairs.push((value.to_string(), replacement));
            pairs.extend(derived_secrets(value).into_iter().map(|piece| (piece, REDACTED.to_string())));
        }
        let mut secrets = Self { pairs };
        secrets.settle();
        secrets
    }

    /// Also these values, each replaced by [`REDACTED`].
    pub fn add<S: AsRef<str>>(&mut self, values: &[S]) {
        self.pairs.extend(values.iter().map(AsRef::as_ref).filter(|v| !v.is_empty()).map(|v| (v.to_string(), REDACTED.to_string())));
        self.settle();
    }

    /// Longest first; one entry per value (the first replacement given wins).
    fn settle(&mut self) {
        self.pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        self.pairs.dedup_by(|a, b| a.0 == b.0);
    }

    /// Every value removed, longest first.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(secret, _)| secret.as_str())
    }

    /// Whether there is nothing to remove.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// `text` with every secret replaced.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for (secret, replacement) in &self.pairs {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), replacement));
            }
        }
        out
    }

    /// `text` with every secret replaced and every URL reduced to its host (for errors and
    /// descriptions, which have no link worth keeping).
    pub fn scrub_with_urls(&self, text: &str) -> String {
        redact_urls(&self.scrub(text))
    }

    /// Every string inside `value` scrubbed.
    pub fn scrub_json(&self, value: &mut Value) {
        if self.is_empty() {
            return;
        }
        match value {
            Value::String(text) => {
                if let Cow::Owned(scrubbed) = self.scrub(text) {
                    *text = scrubbed;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub_json(item)),
            Value::Object(map) => map.values_mut().for_each(|item| self.scrub_json(item)),
            _ => {}
        }
    }

    /// A scrubber for byte streams (the agent's output), or `None` when there is no secret.
    pub fn byte_scrubber(&self) -> Option<ByteScrubber> {
        let alternatives: Vec<String> = self.values().map(regex::escape).collect();
        if alternatives.is_empty() {
            return None;
        }
        regex::bytes::Regex::new(&alternatives.join("|")).ok().map(ByteScrubber)
    }
}

/// Replaces every secret in bytes that need not be UTF-8.
#[derive(Debug, Clone)]
pub struct ByteScrubber(regex::bytes::Regex);

impl ByteScrubber {
    /// `bytes` with every secret replaced by [`REDACTED`].
    pub fn scrub<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        self.0.replace_all(bytes, REDACTED.as_bytes())
    }
}

/// `host` or `host:port` of a URL: the only part of a notifier's URL ever shown.
pub fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// A URL with everything after the host hidden: `https://hooks.slack.com/…`.
pub fn redact_url(url: &Url) -> String {
    let hidden = url.path().len() > 1 || url.query().is_some() || url.fragment().is_some();
    format!("{}://{}{}", url.scheme(), host_of(url), if hidden { "/…" } else { "" })
}

/// Replace every URL in `text` by its redacted form (scheme and host only).
pub fn redact_urls(text: &str) -> String {
    static URL: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let Some(pattern) = URL.get_or_init(|| regex::Regex::new(r#"(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>`)\]]+"#).ok()) else {
        return text.to_string();
    };
    pattern
        .replace_all(text, |captures: &regex::Captures<'_>| match Url::parse(&captures[0]) {
            Ok(url) if url.host_str().is_some() => redact_url(&url),
            _ => REDACTED.to_string(),
        })
        .into_owned()
}

/// `text` with the password of every URL in it removed (`https://user:token@host/x` →
/// `https://user@host/x`); the rest of each URL stays, unlike [`redact_urls`].
pub fn without_passwords(text: &str) -> String {
    static USERINFO: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let Some(pattern) = USERINFO.get_or_init(|| regex::Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/@:]*):[^\s/@]*@").ok()) else {
        return REDACTED.to_string();
    };
    pattern.replace_all(text, "${1}@").into_owned()
}

/// The sensitive pieces of a secret value worth scrubbing on their own: a URL's password,
/// user name, path and query, its normalised spelling. Short pieces are left out, since
/// scrubbing `/` or `api` would mangle every text without protecting anything.
pub fn derived_secrets(value: &str) -> Vec<String> {
    const SHORTEST: usize = 6;
    let mut out = Vec::new();
    let Ok(url) = Url::parse(value) else { return out };
    if url.host_str().is_none() {
        return out;
    }
    let mut push = |piece: String| {
        if piece.len() >= SHORTEST && piece != value {
            out.push(piece);
        }
    };
    push(url.to_string());
    if let Some(password) = url.password() {
        push(password.to_string());
        push(percent_decode(password));
    }
    if !url.username().is_empty() {
        push(url.username().to_string());
        push(percent_decode(url.username()));
    }
    if url.path().len() > 1 {
        push(url.path().to_string());
        push(url.path().trim_matches('/').to_string());
    }
    if let Some(query) = url.query() {
        push(query.to_string());
    }
    out.sort();
    out.dedup();
    out
}

/// `%40` → `@`; malformed escapes are kept as written.
pub fn percent_decode(text: &str) -> String {
    let hex = |byte: u8| (byte as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                // Two hex digits are at most 255.
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_shrink_to_their_host() {
        let text = "error sending request for url (https://hooks.slack.com/services/T0/B0/XYZ): connection refused";
        assert_eq!(redact_urls(text), "error sending request for url (https://hooks.slack.com/…): connection refused");
        assert_eq!(redact_urls("see http://127.0.0.1:8080/"), "see http://127.0.0.1:8080");
        assert_eq!(redact_urls("smtps://me:pw@mail.example.com:465"), "smtps://mail.example.com:465");
    }

    #[test]
    fn passwords_leave_urls_and_the_rest_stays() {
        assert_eq!(without_passwords("git push to https://me:ghp_x1@github.com/a/b.git"), "git push to https://me@github.com/a/b.git");
        assert_eq!(without_passwords("ssh://git@host:22/a night-ci:/x https://host/a:b@c"), "ssh://git@host:22/a night-ci:/x https://host/a:b@c");
    }

    #[test]
    fn secrets_and_their_pieces_are_scrubbed() {
        let secrets = Secrets::with_urls(&["smtps://night%40example.com:hunter2-long@mail.example.com:465"]);
        let text = "auth failed for night@example.com with hunter2-long at smtps://night%40example.com:hunter2-long@mail.example.com:465";
        let scrubbed = secrets.scrub_with_urls(text);
        assert!(!scrubbed.contains("hunter2-long"), "{scrubbed}");
        assert!(!scrubbed.contains("night@example.com"), "{scrubbed}");
        assert!(scrubbed.contains("smtps://mail.example.com:465"), "{scrubbed}");
    }

    #[test]
    fn plain_secrets_are_replaced_longest_first_in_text_json_and_bytes() {
        let secrets = Secrets::new(&["tok-123456", "", "tok-123456-long"]);
        assert_eq!(secrets.values().collect::<Vec<_>>(), vec!["tok-123456-long", "tok-123456"]);
        assert_eq!(secrets.scrub("token tok-123456-long and tok-123456 rejected"), "token [redacted] and [redacted] rejected");
        let mut value = serde_json::json!({"a": ["x tok-123456 y", 3], "b": {"c": "tok-123456-long"}});
        secrets.scrub_json(&mut value);
        assert_eq!(value, serde_json::json!({"a": ["x [redacted] y", 3], "b": {"c": "[redacted]"}}));
        let bytes = secrets.byte_scrubber().expect("a scrubber");
        assert_eq!(bytes.scrub(b"\xff tok-123456-long"), &b"\xff [redacted]"[..]);
        assert!(Secrets::new::<&str>(&[]).byte_scrubber().is_none());
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("a%40b"), "a@b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
