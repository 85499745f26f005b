//! What the forge clients share: one HTTPS client (rustls, no redirects: a redirect would carry
//! the token elsewhere), the token in one header marked sensitive, tries with a timeout each,
//! rate limits waited out when the forge says how long (within a bound), and the forge's own
//! words in every error, with the token scrubbed from them.

use crate::ast::Forge;
use crate::deliver::error::{ApiFailure, DeliverError};
use crate::deliver::Settings;
use crate::secrets::Secrets;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A secret read from the environment: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value, for the one header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// One forge's API at one base URL, with its token.
pub struct Api {
    forge: Forge,
    client: reqwest::Client,
    base: String,
    headers: HeaderMap,
    settings: Settings,
    redactor: Secrets,
    /// The tries the latest request made (for the report of a failed step).
    tries: AtomicU32,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api").field("forge", &self.forge).field("base", &self.base).finish_non_exhaustive()
    }
}

/// A 2xx answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The JSON body (`Null` when empty or not JSON).
    pub body: Value,
}

impl Api {
    /// A client for `base` (e.g. `https://api.github.com`), sending `token` as `auth_header:
    /// auth_prefix<token>` and `extra` headers on every request.
    pub fn new(forge: Forge, base: &str, token: &Secret, auth: (&'static str, &str), extra: &[(&'static str, &str)], settings: &Settings) -> Result<Self, DeliverError> {
        let config = |problem: String| DeliverError::ApiUrl { forge, problem };
        let parsed = reqwest::Url::parse(base.trim()).map_err(|e| config(format!("is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(config("must start with `https://` or `http://`".into()));
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("night/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.api_timeout);
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path).map_err(|e| config(format!("needs `NIGHT_DELIVER_CA_FILE` ({}), which cannot be read: {e}", path.display())))?;
            for certificate in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| config(format!("needs a usable `NIGHT_DELIVER_CA_FILE`: {e}")))? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder.build().map_err(|e| config(format!("cannot be used: {e}")))?;
        let mut headers = HeaderMap::new();
        let mut value = HeaderValue::from_str(&format!("{}{}", auth.1, token.expose()))
            .map_err(|_| DeliverError::Api { forge, failure: ApiFailure::Unauthorized, status: None, message: "the token holds characters no HTTP header can carry".into() })?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static(auth.0), value);
        for (name, value) in extra {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        Ok(Self {
            forge,
            client,
            base: base.trim().trim_end_matches('/').to_string(),
            headers,
            settings: settings.clone(),
            redactor: Secrets::with_urls(&[token.expose()]),
            tries: AtomicU32::new(0),
        })
    }

    /// How many tries the latest request made.
    pub fn tries(&self) -> u32 {
        self.tries.load(Ordering::Relaxed)
    }

    /// The API's base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET` a path under the base.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, DeliverError> {
        Ok(self.send(Method::GET, &self.url(path), query, None).await?.body)
    }

    /// A request to a path under the base.
    pub async fn call(&self, method: Method, path: &str, body: &Value) -> Result<Reply, DeliverError> {
        self.send(method, &self.url(path), &[], Some(body)).await
    }

    /// The base joined with `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every try of one request; see the module documentation.
    pub async fn send(&self, method: Method, url: &str, query: &[(&str, String)], body: Option<&Value>) -> Result<Reply, DeliverError> {
        let tries = self.settings.tries();
        let mut last = self.error(ApiFailure::Unreachable, None, "no try was made".into());
        for n in 1..=tries {
            self.tries.store(n, Ordering::Relaxed);
            let mut request = self.client.request(method.clone(), url).headers(self.headers.clone()).timeout(self.settings.api_timeout);
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let wait = match request.send().await {
                Err(error) => {
                    last = self.error(ApiFailure::Unreachable, None, reason(&error));
                    self.backoff(n)
                }
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let text = response.text().await.unwrap_or_default();
                    if status.is_success() {
                        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                        return Ok(Reply { status: status.as_u16(), body });
                    }
                    let message = message_of(&text);
                    if let Some(wait) = rate_limit_wait(status, &headers, &message) {
                        let wait = wait.unwrap_or_else(|| self.backoff(n));
                        if wait > self.settings.longest_wait {
                            return Err(self.error(
                                ApiFailure::RateLimited,
                                Some(status.as_u16()),
                                format!("{message} (the API asks to wait {}s, longer than the {}s night waits)", wait.as_secs(), self.settings.longest_wait.as_secs()),
                            ));
                        }
                        last = self.error(ApiFailure::RateLimited, Some(status.as_u16()), message);
                        wait
                    } else if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
                        last = self.error(ApiFailure::Server, Some(status.as_u16()), message);
                        self.backoff(n)
                    } else {
                        let failure = match status {
                            StatusCode::UNAUTHORIZED => ApiFailure::Unauthorized,
                            StatusCode::FORBIDDEN => ApiFailure::Forbidden,
                            StatusCode::NOT_FOUND => ApiFailure::NotFound,
                            _ => ApiFailure::Rejected,
                        };
                        let message = if status.is_redirection() {
                            let location = headers.get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or("elsewhere");
                            format!("the API answered with a redirect to {location}; night does not follow redirects with a token: use the new address")
                        } else {
                            message
                        };
                        return Err(self.error(failure, Some(status.as_u16()), message));
                    }
                }
            };
            if n < tries {
                tokio::time::sleep(wait).await;
            }
        }
        Err(last)
    }

    /// The wait before try `n + 1`.
    fn backoff(&self, n: u32) -> Duration {
        self.settings.backoff.get(n as usize - 1).copied().unwrap_or_default()
    }

    /// An error with the token scrubbed from its message.
    pub fn error(&self, failure: ApiFailure, status: Option<u16>, message: String) -> DeliverError {
        DeliverError::Api { forge: self.forge, failure, status, message: self.redactor.scrub(&message).into_owned() }
    }
}

/// Whether the answer is a rate limit, and how long the forge asks to wait (`Retry-After`, or
/// GitHub's `x-ratelimit-reset` when `x-ratelimit-remaining` is 0). GitHub's secondary limit
/// may come as a bare 403 whose message says so.
fn rate_limit_wait(status: StatusCode, headers: &HeaderMap, message: &str) -> Option<Option<Duration>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let retry_after = header(RETRY_AFTER.as_str()).and_then(|v| v.parse::<u64>().ok()).map(Duration::from_secs);
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    let says_so = message.to_lowercase().contains("rate limit");
    let limited = status == StatusCode::TOO_MANY_REQUESTS || (status == StatusCode::FORBIDDEN && (retry_after.is_some() || exhausted || says_so));
    if !limited {
        return None;
    }
    let until_reset = || {
        let reset = header("x-ratelimit-reset")?.parse::<i64>().ok()?;
        let seconds = reset - chrono::Utc::now().timestamp();
        Some(Duration::from_secs(u64::try_from(seconds.max(1)).unwrap_or(1)))
    };
    Some(retry_after.or_else(until_reset))
}

/// A reqwest error in a few words, without its URL.
fn reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer within the timeout".into();
    }
    let mut deepest: &dyn std::error::Error = error;
    while let Some(source) = deepest.source() {
        deepest = source;
    }
    let text = deepest.to_string();
    if error.is_connect() {
        format!("cannot connect: {text}")
    } else {
        crate::secrets::redact_urls(&text)
    }
}

/// The forge's own words from an error body: GitHub's `message` and `errors[].message`,
/// GitLab's `message` (a string, a list or a field map) and `error_description`, Gitea's
/// `message`; else the start of the body.
pub fn message_of(text: &str) -> String {
    let Ok(json) = serde_json::from_str::<Value>(text) else {
        return crate::notify::render::truncate(&text.split_whitespace().collect::<Vec<_>>().join(" "), 300);
    };
    let mut parts: Vec<String> = Vec::new();
    let mut push = |part: String| {
        let part = part.trim().to_string();
        if !part.is_empty() && !parts.contains(&part) {
            parts.push(part);
        }
    };
    match json.get("message") {
        Some(Value::String(text)) => push(text.clone()),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(|t| push(t.to_string())),
        Some(Value::Object(fields)) => {
            for (field, value) in fields {
                let texts: Vec<&str> = match value {
                    Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                    Value::String(text) => vec![text.as_str()],
                    _ => Vec::new(),
                };
                push(format!("{field} {}", texts.join(", ")));
            }
        }
        _ => {}
    }
    for key in ["error", "error_description"] {
        if let Some(text) = json.get(key).and_then(Value::as_str) {
            push(text.to_string());
        }
    }
    if let Some(Value::Array(errors)) = json.get("errors") {
        for error in errors {
            match error {
                Value::String(text) => push(text.clone()),
                Value::Object(_) => {
                    if let Some(text) = error.get("message").and_then(Value::as_str) {
                        push(text.to_string());
                    } else {
                        let field = |k: &str| error.get(k).and_then(Value::as_str).unwrap_or("");
                        push(format!("{} {} {}", field("resource"), field("field"), field("code")).split_whitespace().collect::<Vec<_>>().join(" "));
                    }
                }
                _ => {}
            }
        }
    }
    if parts.is_empty() {
        return crate::notify::render::truncate(&text.split_whitespace().collect::<Vec<_>>().join(" "), 300);
    }
    let first = parts.remove(0);
    if parts.is_empty() {
        first
    } else {
        format!("{first}: {}", parts.join("; "))
    }
}

/// A path segment with everything but unreserved characters percent-encoded (GitLab's
/// `group%2Fproject`, branch names in paths).
pub fn encode(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forges_words_are_kept() {
        let github = r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:night/x."}],"documentation_url":"https://docs.github.com/rest"}"#;
        assert_eq!(message_of(github), "Validation Failed: A pull request already exists for acme:night/x.");
        assert_eq!(message_of(r#"{"message":"Bad credentials"}"#), "Bad credentials");
        assert_eq!(message_of(r#"{"message":["Another open merge request already exists for this source branch: !7"]}"#), "Another open merge request already exists for this source branch: !7");
        assert_eq!(message_of(r#"{"message":{"target_branch":["is invalid"]}}"#), "target_branch is invalid");
        assert_eq!(message_of(r#"{"error":"invalid_token","error_description":"Token is expired."}"#), "invalid_token: Token is expired.");
        assert_eq!(message_of("<html> bad\n gateway </html>"), "<html> bad gateway </html>");
        assert_eq!(encode("acme/backend app"), "acme%2Fbackend%20app");
    }

    #[test]
    fn rate_limits_say_how_long() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &headers, ""), Some(Some(Duration::from_secs(7))));
        assert_eq!(rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), ""), Some(None));
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &HeaderMap::new(), "Resource not accessible by integration"), None);
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &HeaderMap::new(), "You have exceeded a secondary rate limit."), Some(None));
        let mut exhausted = HeaderMap::new();
        exhausted.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let reset = (chrono::Utc::now().timestamp() + 30).to_string();
        exhausted.insert("x-ratelimit-reset", HeaderValue::from_str(&reset).expect("header"));
        let wait = rate_limit_wait(StatusCode::FORBIDDEN, &exhausted, "").flatten().expect("a wait");
        assert!(wait > Duration::from_secs(20) && wait <= Duration::from_secs(31), "{wait:?}");
        assert_eq!(format!("{:?}", Secret::new("ghp_secret".into())), "Secret([redacted])");
    }
}
