//! Keeping secrets out of text: URLs shrink to their host, env values are scrubbed.
//!
//! Every string that leaves the notify module (a delivery's error, a notifier's description,
//! a notification's text) passes through [`Redactor::scrub`].

use reqwest::Url;
use std::sync::OnceLock;

/// What a secret is replaced by.
pub const REDACTED: &str = "[redacted]";

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
    static URL: OnceLock<regex::Regex> = OnceLock::new();
    let pattern = URL.get_or_init(|| {
        regex::Regex::new(r#"(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>`)\]]+"#).expect("the URL pattern compiles")
    });
    pattern
        .replace_all(text, |captures: &regex::Captures<'_>| match Url::parse(&captures[0]) {
            Ok(url) if url.host_str().is_some() => redact_url(&url),
            _ => REDACTED.to_string(),
        })
        .into_owned()
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
    let decode = |text: &str| percent_decode(text);
    let mut push = |piece: String| {
        if piece.len() >= SHORTEST && piece != value {
            out.push(piece);
        }
    };
    push(url.to_string());
    if let Some(password) = url.password() {
        push(password.to_string());
        push(decode(password));
    }
    if !url.username().is_empty() {
        push(url.username().to_string());
        push(decode(url.username()));
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

/// Scrubs a fixed set of secrets (and every URL) from text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// (secret, what replaces it), longest secret first so that a secret containing another is
    /// replaced whole.
    secrets: Vec<(String, String)>,
}

impl Redactor {
    /// A redactor for these secret values; their URL pieces are scrubbed too.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for secret in secrets {
            let secret = secret.as_ref();
            if secret.is_empty() {
                continue;
            }
            let replacement = match Url::parse(secret) {
                Ok(url) if url.host_str().is_some() => redact_url(&url),
                _ => REDACTED.to_string(),
            };
            pairs.push((secret.to_string(), replacement));
            for piece in derived_secrets(secret) {
                pairs.push((piece, REDACTED.to_string()));
            }
        }
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Self { secrets: pairs }
    }

    /// Every string this redactor removes, raw secrets and their derived pieces.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|(secret, _)| secret.as_str())
    }

    /// `text` with every secret replaced and every URL reduced to its host.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (secret, replacement) in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), replacement);
            }
        }
        redact_urls(&out)
    }

    /// `text` with every secret replaced, URLs left alone (for notification bodies, whose
    /// report paths and links are meant to be read).
    pub fn scrub_secrets(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (secret, replacement) in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), replacement);
            }
        }
        out
    }
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
    fn secrets_and_their_pieces_are_scrubbed() {
        let redactor = Redactor::new(&["smtps://night%40example.com:hunter2-long@mail.example.com:465"]);
        let text = "auth failed for night@example.com with hunter2-long at smtps://night%40example.com:hunter2-long@mail.example.com:465";
        let scrubbed = redactor.scrub(text);
        assert!(!scrubbed.contains("hunter2-long"), "{scrubbed}");
        assert!(!scrubbed.contains("night@example.com"), "{scrubbed}");
        assert!(scrubbed.contains("smtps://mail.example.com:465"), "{scrubbed}");
    }

    #[test]
    fn plain_secrets_are_replaced() {
        let redactor = Redactor::new(&["tok-123456", ""]);
        assert_eq!(redactor.scrub("token tok-123456 rejected"), "token [redacted] rejected");
        assert_eq!(redactor.secrets().collect::<Vec<_>>(), vec!["tok-123456"]);
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("a%40b"), "a@b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
