//! `slack URL`: a Slack incoming webhook, `{"text": …}` in Slack's mrkdwn.

use crate::secrets;
use super::{http, render, Message, SendFuture, Transport};
use reqwest::{Client, Url};

/// Posts to a Slack incoming webhook.
pub struct Slack {
    client: Client,
    url: Url,
    host: String,
}

impl Slack {
    /// A Slack notifier posting to `url`.
    pub fn new(client: Client, url: Url) -> Self {
        let host = secrets::host_of(&url);
        Self { client, url, host }
    }
}

/// The payload: the summary in bold, then the detail lines.
pub fn payload(message: &Message) -> serde_json::Value {
    let mut text = format!("*{}*", escape(&message.summary));
    for line in render::detail_lines(message) {
        text.push('\n');
        text.push_str(&escape(&line));
    }
    serde_json::json!({ "text": render::truncate(&text, 3000) })
}

/// Slack's three control characters; `<!channel>` written by an agent must not ping anyone.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Transport for Slack {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        Box::pin(async move { http::send(self.client.post(self.url.clone()).json(&payload(message)), &self.host).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::tests::sample;

    #[test]
    fn text_is_escaped_and_bold() {
        let mut message = sample();
        message.summary = "a <!channel> & b".into();
        message.detail = None;
        message.checks.clear();
        message.report = None;
        assert_eq!(
            payload(&message)["text"],
            "*a &lt;!channel&gt; &amp; b*\nbranch night/auth-jwt/20250101-0102 · 3 attempts · 1h12m · 1,234,567 tokens · $3.50"
        );
    }
}
