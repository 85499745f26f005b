//! `sms "+to" via twilio SID TOKEN from "+from"`: Twilio's messages API, a form-encoded POST
//! with basic auth to `{base}/2010-04-01/Accounts/{SID}/Messages.json`. The base is
//! `https://api.twilio.com`, or `NIGHT_TWILIO_API_BASE` (for tests and proxies).

use crate::secrets;
use super::{http, render, ChannelError, Message, SendFuture, Transport};
use reqwest::{Client, Url};

/// Sends one text message per notification.
pub struct Sms {
    client: Client,
    url: Url,
    host: String,
    sid: String,
    token: String,
    to: String,
    from: String,
}

impl Sms {
    /// A Twilio sender; messages never show the SID or the token.
    pub fn new(client: Result<Client, ChannelError>, base: &str, sid: &str, token: &str, to: &str, from: &str) -> Result<Self, ChannelError> {
        let sid = sid.trim();
        if sid.is_empty() || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ChannelError::BadSid);
        }
        let base = http::parse_url(base, "Twilio API base", &crate::ast::Value::Literal(base.to_string()))?;
        let mut url = base.clone();
        url.set_path(&format!("{}/2010-04-01/Accounts/{sid}/Messages.json", base.path().trim_end_matches('/')));
        let host = secrets::host_of(&url);
        Ok(Self { client: client?, url, host, sid: sid.to_string(), token: token.to_string(), to: to.to_string(), from: from.to_string() })
    }
}

/// The text: the summary and the detail, at most two SMS segments.
pub fn body(message: &Message) -> String {
    let mut text = message.summary.clone();
    if let Some(detail) = message.detail.as_deref().filter(|d| !d.trim().is_empty()) {
        text.push('\n');
        text.push_str(detail.trim());
    }
    render::truncate(&text, 320)
}

impl Transport for Sms {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let body = body(message);
            let form = [("To", self.to.as_str()), ("From", self.from.as_str()), ("Body", body.as_str())];
            let request = self.client.post(self.url.clone()).basic_auth(&self.sid, Some(&self.token)).form(&form);
            http::send(request, &self.host).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_path_is_twilios() {
        let sms = Sms::new(Ok(Client::new()), "http://127.0.0.1:9/base/", "AC123", "tok", "+1", "+2").unwrap();
        assert_eq!(sms.url.as_str(), "http://127.0.0.1:9/base/2010-04-01/Accounts/AC123/Messages.json");
        let error = Sms::new(Ok(Client::new()), "https://api.twilio.com", "AC/../x", "tok", "+1", "+2").err().unwrap().to_string();
        assert!(!error.contains("AC/../x"));
    }
}
