//! What the HTTP channels share: one client, URL checks, and turning answers into results.

use crate::secrets;
use super::{ChannelError, Failure, Origin, Settings};
use crate::ast::Value;
use reqwest::{RequestBuilder, Response, StatusCode, Url};
use std::sync::Arc;

/// The client every HTTP notifier of a run uses: rustls, no redirects (a redirected POST
/// silently becomes a GET), night's user agent, and a backstop timeout a little past the
/// dispatcher's own.
pub fn client(settings: &Settings) -> Result<reqwest::Client, ChannelError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("night/", env!("CARGO_PKG_VERSION")))
        .timeout(settings.timeout + std::time::Duration::from_secs(1))
        .connect_timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = extra_ca(settings)? {
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ChannelError::CaUnusable { reason: Arc::new(e) })?;
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|e| ChannelError::Https { source: Arc::new(e) })
}

/// The PEM text of `NIGHT_NOTIFY_CA_FILE`, when set.
pub fn extra_ca(settings: &Settings) -> Result<Option<Vec<u8>>, ChannelError> {
    match &settings.ca_file {
        None => Ok(None),
        Some(path) => std::fs::read(path)
            .map(Some)
            .map_err(|e| ChannelError::CaUnreadable { path: path.clone(), source: Arc::new(e) }),
    }
}

/// Parse a notifier's URL, which must be http or https; `what` names it in messages (`slack`,
/// `ntfy server`), which never show the value, which may be a secret.
pub fn parse_url(text: &str, what: &'static str, written: &Value) -> Result<Url, ChannelError> {
    let origin = Origin::of(written);
    match Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(url),
        Ok(url) => Err(ChannelError::NotHttp { what, origin, scheme: url.scheme().to_string() }),
        Err(reason) => Err(ChannelError::NotAUrl { what, origin, reason }),
    }
}

/// Send a request and accept any 2xx answer.
pub async fn send(request: RequestBuilder, host: &str) -> Result<(), Failure> {
    let response = request.send().await.map_err(|e| from_reqwest(&e, host))?;
    accept(response).await
}

/// A 2xx answer is a delivery; 408, 429 and 5xx are worth another try; the rest are not.
pub async fn accept(response: Response) -> Result<(), Failure> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let location = response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).map(secrets::redact_urls);
    let body = response.text().await.unwrap_or_default();
    let mut error = format!("HTTP {}", status_text(status));
    if status.is_redirection() {
        error.push_str(&format!(": redirected to {}; use the final URL", location.unwrap_or_else(|| "elsewhere".into())));
        return Err(Failure::permanent(error));
    }
    let excerpt = excerpt(&body);
    if !excerpt.is_empty() {
        error.push_str(": ");
        error.push_str(&excerpt);
    }
    let retry = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT;
    Err(Failure { error, retry })
}

/// `500 Internal Server Error`.
fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// The start of a response body, on one line.
pub fn excerpt(body: &str) -> String {
    let folded = body.split_whitespace().collect::<Vec<_>>().join(" ");
    super::render::truncate(&folded, 200)
}

/// A reqwest error as a short sentence without its URL: `cannot connect to host: reason`.
pub fn from_reqwest(error: &reqwest::Error, host: &str) -> Failure {
    if error.is_timeout() {
        return Failure::transient("timed out");
    }
    if error.is_connect() {
        return Failure::transient(format!("cannot connect to {host}: {}", deepest(error)));
    }
    if error.is_builder() {
        return Failure::permanent(format!("cannot build the request: {}", chain(error)));
    }
    Failure::transient(format!("request to {host} failed: {}", chain(error)))
}

/// The innermost cause: for a connection, the operating system's reason.
fn deepest(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// Every cause after the top one (which names the URL), joined with `: `.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = error.source();
    while let Some(source) = current {
        let text = source.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = source.source();
    }
    if parts.is_empty() {
        parts.push(secrets::redact_urls(&error.to_string()));
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_are_accepted() {
        let env = Value::Env("HOOK".into());
        assert!(parse_url("https://hooks.slack.com/services/x", "slack", &env).is_ok());
        let error = parse_url("ftp://secret-host/x", "slack", &env).unwrap_err().to_string();
        assert_eq!(error, "the slack URL (from `env.HOOK`) must start with `https://` or `http://`, not `ftp:`");
        let error = parse_url("not a url sk-123", "webhook", &Value::Literal("x".into())).unwrap_err().to_string();
        assert!(!error.contains("sk-123"), "{error}");
    }

    #[test]
    fn excerpts_are_short_single_lines() {
        assert_eq!(excerpt("  bad\n request  "), "bad request");
        assert_eq!(excerpt(&"x".repeat(500)).chars().count(), 200);
    }
}
