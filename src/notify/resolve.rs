//! Resolving the runbook's notifiers: every `env.X` read once (its value is a secret from then
//! on) and a transport built for each, or why it cannot be.

use super::*;
use crate::secrets;
use std::sync::Mutex;

/// A notifier, resolved: its env values read, its transport built.
pub(super) struct Target {
    pub(super) description: String,
    pub(super) notifier: Notifier,
    pub(super) transport: Arc<dyn Transport>,
    /// Ends when this notifier's latest queued delivery ends: each notifier gets its
    /// messages in order, `start` before `end`, while notifiers never wait for each other.
    pub(super) latest: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

/// A notifier that could not be set up.
pub(super) struct Unresolved {
    pub(super) description: String,
    pub(super) unset: Vec<String>,
    pub(super) invalid: Option<ChannelError>,
}

impl Unresolved {
    /// Why, in words (not yet redacted).
    pub(super) fn error(&self) -> String {
        NotifyError { unset: self.unset.clone(), invalid: self.invalid.iter().map(ToString::to_string).collect() }.to_string()
    }
}

/// Reads env references and builds transports; remembers every secret it read.
pub(super) struct Resolver<'a> {
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) settings: &'a Settings,
    pub(super) http: Option<Result<reqwest::Client, ChannelError>>,
    pub(super) secrets: Vec<String>,
    pub(super) env_names: Vec<String>,
}

impl<'a> Resolver<'a> {
    pub(super) fn new(env: &'a dyn Fn(&str) -> Option<String>, settings: &'a Settings) -> Self {
        Self { env, settings, http: None, secrets: Vec::new(), env_names: Vec::new() }
    }

    /// Every env value first, so that a later problem's message can be scrubbed of them all.
    pub(super) fn read_all(&mut self, notifiers: &[Spanned<Notifier>]) {
        for notifier in notifiers {
            for value in notifier.value.channel.values() {
                let _ = self.value(&value.value);
            }
        }
    }

    /// A value's text: the literal, or the env variable's (a secret) when set and non-empty;
    /// `None` when the variable is unset or empty.
    pub(super) fn value(&mut self, value: &Value) -> Option<String> {
        match value {
            Value::Literal(text) => Some(text.clone()),
            Value::Env(name) => {
                let secret = (self.env)(name).filter(|v| !v.is_empty())?;
                if !self.secrets.contains(&secret) {
                    self.secrets.push(secret.clone());
                }
                if !self.env_names.contains(name) {
                    self.env_names.push(name.clone());
                }
                Some(secret)
            }
        }
    }

    pub(super) fn http(&mut self) -> Result<reqwest::Client, ChannelError> {
        self.http.get_or_insert_with(|| http::client(self.settings)).clone()
    }

    /// A value's text, or None with its env name added to `unset`.
    pub(super) fn take(&mut self, value: &Spanned<Value>, unset: &mut Vec<String>) -> Option<String> {
        let text = self.value(&value.value);
        if let (None, Value::Env(name)) = (&text, &value.value) {
            unset.push(name.clone());
        }
        text
    }

    pub(super) fn resolve(&mut self, notifier: &Notifier) -> Result<Target, Unresolved> {
        let mut unset = Vec::new();
        let keyword = notifier.channel.keyword();
        let built: Result<(String, Arc<dyn Transport>), (String, ChannelError)> = match &notifier.channel {
            Channel::Webhook { url } | Channel::Slack { url } | Channel::Discord { url } => {
                let Some(text) = self.take(url, &mut unset) else {
                    return Err(unset_target(keyword, &unset, Some(&url.value)));
                };
                match (http::parse_url(&text, keyword, &url.value), self.http()) {
                    (Ok(parsed), Ok(client)) => {
                        let description = format!("{keyword} ({})", secrets::host_of(&parsed));
                        let transport: Arc<dyn Transport> = match &notifier.channel {
                            Channel::Webhook { .. } => Arc::new(webhook::Webhook::new(client, parsed)),
                            Channel::Slack { .. } => Arc::new(slack::Slack::new(client, parsed)),
                            _ => Arc::new(discord::Discord::new(client, parsed)),
                        };
                        Ok((description, transport))
                    }
                    (Err(problem), _) | (_, Err(problem)) => Err((format!("{keyword} ({})", origin_hint(&url.value)), problem)),
                }
            }
            Channel::Ntfy { topic, server } => {
                let topic_text = self.take(topic, &mut unset);
                let server_text = match server {
                    Some(server) => self.take(server, &mut unset),
                    None => Some(ntfy::DEFAULT_SERVER.to_string()),
                };
                let (Some(topic_text), Some(server_text)) = (topic_text, server_text) else {
                    return Err(unset_target(keyword, &unset, server.as_ref().map(|s| &s.value)));
                };
                let client = self.http();
                match ntfy::Ntfy::new(client, &server_text, &topic_text, server.as_ref().map(|s| &s.value), &topic.value) {
                    Ok(ntfy) => Ok((format!("ntfy ({})", ntfy.host()), Arc::new(ntfy) as Arc<dyn Transport>)),
                    Err(problem) => Err(("ntfy".to_string(), problem)),
                }
            }
            Channel::Email { to, via } => {
                let Some(url) = self.take(via, &mut unset) else {
                    return Err(unset_target(&format!("email ({})", to.value), &unset, None));
                };
                match email::Email::new(&to.value, &url, &via.value, self.settings) {
                    Ok(email) => Ok((format!("email ({} via {})", to.value, email.host()), Arc::new(email) as Arc<dyn Transport>)),
                    Err(problem) => Err((format!("email ({})", to.value), problem)),
                }
            }
            Channel::Sms { to, sid, token, from } => {
                let sid_text = self.take(sid, &mut unset);
                let token_text = self.take(token, &mut unset);
                let (Some(sid_text), Some(token_text)) = (sid_text, token_text) else {
                    return Err(unset_target(&format!("sms ({})", to.value), &unset, None));
                };
                let client = self.http();
                match sms::Sms::new(client, &self.settings.twilio_base, &sid_text, &token_text, &to.value, &from.value) {
                    Ok(sms) => Ok((format!("sms ({} via twilio)", to.value), Arc::new(sms) as Arc<dyn Transport>)),
                    Err(problem) => Err((format!("sms ({})", to.value), problem)),
                }
            }
            Channel::Command { command } => {
                let transport = command::Command::new(&command.value, self.settings.dir.clone());
                Ok((format!("command (`{}`)", render::truncate(&command.value, 60)), Arc::new(transport) as Arc<dyn Transport>))
            }
        };
        match built {
            Ok((description, transport)) => Ok(Target { description, notifier: notifier.clone(), transport, latest: Mutex::new(None) }),
            Err((description, problem)) => Err(Unresolved { description, unset: Vec::new(), invalid: Some(problem) }),
        }
    }
}

/// `slack (env.SLACK_WEBHOOK_URL)`: a notifier whose env values are missing.
fn unset_target(what: &str, unset: &[String], shown: Option<&Value>) -> Unresolved {
    let hint = match shown {
        Some(value) => origin_hint(value),
        None => String::new(),
    };
    let description = if hint.is_empty() { what.to_string() } else { format!("{what} ({hint})") };
    Unresolved { description, unset: unset.to_vec(), invalid: None }
}

/// What may be said about a value that could not be used: its env name, or nothing.
fn origin_hint(value: &Value) -> String {
    match value {
        Value::Env(name) => format!("env.{name}"),
        Value::Literal(_) => "invalid URL".to_string(),
    }
}

