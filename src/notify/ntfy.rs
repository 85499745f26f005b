//! `ntfy "topic" [server URL]`: a POST of the text to `<server>/<topic>` with ntfy's
//! `Title`, `Priority` and `Tags` headers. User and password in the server URL become basic auth.

use crate::secrets;
use super::{http, render, ChannelError, Message, SendFuture, Transport};
use crate::ast::{Event, Value};
use base64::Engine as _;
use reqwest::{Client, Url};

/// The public server, used without `server`.
pub const DEFAULT_SERVER: &str = "https://ntfy.sh";

/// Publishes to one ntfy topic.
pub struct Ntfy {
    client: Client,
    url: Url,
    host: String,
    auth: Option<(String, String)>,
}

impl Ntfy {
    /// A publisher for `topic` on `server`; `*_written` say how the values were written, for messages.
    pub fn new(
        client: Result<Client, ChannelError>,
        server: &str,
        topic: &str,
        server_written: Option<&Value>,
        topic_written: &Value,
    ) -> Result<Self, ChannelError> {
        let topic = topic.trim();
        let valid = !topic.is_empty() && topic.len() <= 64 && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(ChannelError::BadTopic { written: topic_written.clone() });
        }
        let default = Value::Literal(DEFAULT_SERVER.to_string());
        let mut url = http::parse_url(server, "ntfy server", server_written.unwrap_or(&default))?;
        let auth = if url.username().is_empty() {
            None
        } else {
            let user = secrets::percent_decode(url.username());
            let password = secrets::percent_decode(url.password().unwrap_or_default());
            Some((user, password))
        };
        // Neither call fails on an http(s) URL with a host.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let path = format!("{}/{topic}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.set_query(None);
        let host = secrets::host_of(&url);
        Ok(Self { client: client?, url, host, auth })
    }

    /// The server's host, for the notifier's description.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// ntfy's priority: `high` when something went wrong, `low` for progress, else `default`.
pub fn priority(message: &Message) -> &'static str {
    if render::is_bad(message) {
        "high"
    } else if matches!(message.event, Event::Start | Event::Attempt | Event::Commit) {
        "low"
    } else {
        "default"
    }
}

/// One emoji tag (ntfy shows known tag names as emoji).
pub fn tags(message: &Message) -> &'static str {
    match (message.outcome.as_deref(), message.event) {
        (Some("success"), _) => "white_check_mark",
        (Some("stuck"), _) | (None, Event::Stuck) => "warning",
        (Some("rolled-back"), _) | (None, Event::Rollback) => "rewind",
        (Some(_), _) | (None, Event::Failure) => "x",
        (None, Event::Violation) => "no_entry",
        (None, Event::Start) => "crescent_moon",
        (None, Event::Attempt) => "repeat",
        (None, Event::Commit) => "floppy_disk",
        (None, Event::Success) => "white_check_mark",
        (None, Event::End) => "bell",
    }
}

/// A header value: as is when ASCII, else RFC 2047 encoded (ntfy decodes it).
fn header_text(text: &str) -> String {
    let clean: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if clean.is_ascii() {
        clean
    } else {
        format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(clean.as_bytes()))
    }
}

impl Transport for Ntfy {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let mut request = self
                .client
                .post(self.url.clone())
                .header("Title", header_text(&render::title(message)))
                .header("Priority", priority(message))
                .header("Tags", tags(message))
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(render::plain_text(message));
            if let Some((user, password)) = &self.auth {
                request = request.basic_auth(user, Some(password));
            }
            http::send(request, &self.host).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::tests::sample;

    #[test]
    fn headers_follow_the_outcome() {
        let message = sample();
        assert_eq!(priority(&message), "high");
        assert_eq!(tags(&message), "x");
        assert_eq!(header_text("night: auth-jwt failed"), "night: auth-jwt failed");
        assert_eq!(header_text("é"), "=?UTF-8?B?w6k=?=");
    }

    #[test]
    fn topics_are_checked_and_appended() {
        let client = || Ok(Client::new());
        let topic = Value::Literal("x".into());
        let ntfy = Ntfy::new(client(), "https://u:p%40ss@ntfy.example.com/base/", "night-runs", None, &topic).unwrap();
        assert_eq!(ntfy.url.as_str(), "https://ntfy.example.com/base/night-runs");
        assert_eq!(ntfy.auth, Some(("u".into(), "p@ss".into())));
        let error = Ntfy::new(client(), DEFAULT_SERVER, "a/b", None, &Value::Env("TOPIC".into())).err().unwrap().to_string();
        assert!(error.contains("env.TOPIC") && !error.contains("a/b"), "{error}");
    }
}
