//! `webhook URL`: the [`Message`] itself, as a JSON POST (schema in docs/notify.md).

use crate::secrets;
use super::{http, Message, SendFuture, Transport};
use reqwest::{Client, Url};

/// Posts the message as JSON.
pub struct Webhook {
    client: Client,
    url: Url,
    host: String,
}

impl Webhook {
    /// A webhook posting to `url`.
    pub fn new(client: Client, url: Url) -> Self {
        let host = secrets::host_of(&url);
        Self { client, url, host }
    }
}

impl Transport for Webhook {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let request = self.client.post(self.url.clone()).header("X-Night-Event", message.event.name()).json(message);
            http::send(request, &self.host).await
        })
    }
}
