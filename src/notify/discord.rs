//! `discord URL`: a Discord webhook, `{"content": …}`, mentions switched off.

use crate::secrets;
use super::{http, render, Message, SendFuture, Transport};
use reqwest::{Client, Url};

/// Posts to a Discord webhook.
pub struct Discord {
    client: Client,
    url: Url,
    host: String,
}

impl Discord {
    /// A Discord notifier posting to `url`.
    pub fn new(client: Client, url: Url) -> Self {
        let host = secrets::host_of(&url);
        Self { client, url, host }
    }
}

/// The payload: the summary in bold, the detail lines, at most Discord's 2000 characters.
/// `allowed_mentions` is empty so that text from the agent (`@everyone`) pings nobody.
pub fn payload(message: &Message) -> serde_json::Value {
    let mut content = format!("**{}**", message.summary);
    for line in render::detail_lines(message) {
        content.push('\n');
        content.push_str(&line);
    }
    serde_json::json!({ "content": render::truncate(&content, 2000), "allowed_mentions": { "parse": [] } })
}

impl Transport for Discord {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        Box::pin(async move { http::send(self.client.post(self.url.clone()).json(&payload(message)), &self.host).await })
    }
}
