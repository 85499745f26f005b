//! `email "to@…" via URL`: one plain-text mail over SMTP, with lettre on rustls.
//!
//! `smtps://user:pass@host[:465]` speaks TLS from the first byte. `smtp://user:pass@host[:587]`
//! must upgrade with STARTTLS before it authenticates, except on a loopback host (`localhost`,
//! `127.0.0.1`, `::1`), where STARTTLS is used when the server offers it and plain text
//! otherwise. `?tls=required|opportunistic|off` overrides that for `smtp://`; `?from=addr` sets
//! the sender (default: the user name when it is an address, else the recipient).

use crate::secrets;
use super::{http, render, ChannelError, Failure, Message, Origin, SendFuture, Settings, Transport};
use crate::ast::Value;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use reqwest::Url;
use std::sync::Arc;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`smtps://`).
    Implicit,
    /// STARTTLS, or fail before anything is sent.
    StartTls,
    /// STARTTLS when offered, plain text otherwise.
    Opportunistic,
    /// Plain text (`?tls=off`).
    Off,
}

/// What the URL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// How the connection is secured.
    pub security: Security,
    /// User and password, percent-decoded.
    pub credentials: Option<(String, String)>,
    /// `?from=`.
    pub from: Option<String>,
}

impl SmtpUrl {
    /// Parse an `smtp://` or `smtps://` URL; messages never show the value.
    pub fn parse(text: &str, written: &Value) -> Result<Self, ChannelError> {
        let origin = Origin::of(written);
        let url = Url::parse(text.trim()).map_err(|reason| ChannelError::NotAUrl { what: "email", origin: origin.clone(), reason })?;
        let host = match url.host_str() {
            Some(host) if !host.is_empty() => host.trim_start_matches('[').trim_end_matches(']').to_string(),
            _ => return Err(ChannelError::NoHost { origin }),
        };
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let mut tls = None;
        let mut from = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" => tls = Some(value.into_owned()),
                "from" => from = Some(value.into_owned()),
                other => return Err(ChannelError::UnknownSetting { origin, key: other.to_string() }),
            }
        }
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtps", None) => (Security::Implicit, 465),
            ("smtps", Some(_)) => return Err(ChannelError::TlsOnSmtps { origin }),
            ("smtp", None) if loopback => (Security::Opportunistic, 587),
            ("smtp", None | Some("required")) => (Security::StartTls, 587),
            ("smtp", Some("opportunistic")) => (Security::Opportunistic, 587),
            ("smtp", Some("off")) => (Security::Off, 587),
            ("smtp", Some(other)) => return Err(ChannelError::UnknownTls { origin, value: other.to_string() }),
            (scheme, _) => return Err(ChannelError::NotSmtp { origin, scheme: scheme.to_string() }),
        };
        let credentials = (!url.username().is_empty())
            .then(|| (secrets::percent_decode(url.username()), secrets::percent_decode(url.password().unwrap_or_default())));
        Ok(Self { host, port: url.port().unwrap_or(default_port), security, credentials, from })
    }
}

/// Sends one mail per message.
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Mailbox,
    host: String,
}

impl Email {
    /// A mailer to `to` through the server `url` names.
    pub fn new(to: &str, url: &str, written: &Value, settings: &Settings) -> Result<Self, ChannelError> {
        let smtp = SmtpUrl::parse(url, written)?;
        let to: Mailbox = to.trim().parse().map_err(|reason| ChannelError::NotAnAddress { to: to.to_string(), reason })?;
        let from = match (&smtp.from, &smtp.credentials) {
            (Some(from), _) => from.parse().map_err(|reason| ChannelError::BadSender { from: from.clone(), reason })?,
            (None, Some((user, _))) if user.contains('@') => user.parse().unwrap_or_else(|_| to.clone()),
            _ => to.clone(),
        };
        let tls = || -> Result<TlsParameters, ChannelError> {
            let mut builder = TlsParameters::builder(smtp.host.clone());
            if let Some(pem) = http::extra_ca(settings)? {
                let certificate = Certificate::from_pem(&pem).map_err(|e| ChannelError::CaUnusable { reason: Arc::new(e) })?;
                builder = builder.add_root_certificate(certificate);
            }
            builder.build_rustls().map_err(|e| ChannelError::Tls { host: smtp.host.clone(), source: Arc::new(e) })
        };
        let security = match smtp.security {
            Security::Implicit => Tls::Wrapper(tls()?),
            Security::StartTls => Tls::Required(tls()?),
            Security::Opportunistic => Tls::Opportunistic(tls()?),
            Security::Off => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
            .port(smtp.port)
            .tls(security)
            .timeout(Some(settings.timeout));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let host = if smtp.host.contains(':') { format!("[{}]:{}", smtp.host, smtp.port) } else { format!("{}:{}", smtp.host, smtp.port) };
        Ok(Self { transport: builder.build(), from, to, host })
    }

    /// `host:port`, for the notifier's description.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The mail for a message: the title as subject, the plain text as body.
    pub fn mail(&self, message: &Message) -> Result<lettre::Message, Failure> {
        let body = format!("{}\n\n-- \nsent by night ({})\n", render::plain_text(message), message.run_id);
        lettre::Message::builder()
            .from(self.from.clone())
            .to(self.to.clone())
            .subject(render::title(message))
            .message_id(None)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| Failure::permanent(format!("cannot write the mail: {e}")))
    }
}

impl Transport for Email {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let mail = self.mail(message)?;
            match self.transport.send(mail).await {
                Ok(_) => Ok(()),
                Err(e) => {
                    let text = format!("smtp {}: {e}", self.host);
                    if e.is_permanent() {
                        Err(Failure::permanent(text))
                    } else {
                        Err(Failure::transient(text))
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SmtpUrl, ChannelError> {
        SmtpUrl::parse(text, &Value::Env("SMTP_URL".into()))
    }

    #[test]
    fn schemes_choose_the_security() {
        let implicit = parse("smtps://me%40example.com:p%2Fw@mail.example.com").unwrap();
        assert_eq!(implicit.security, Security::Implicit);
        assert_eq!(implicit.port, 465);
        assert_eq!(implicit.credentials, Some(("me@example.com".into(), "p/w".into())));
        let starttls = parse("smtp://u:p@mail.example.com").unwrap();
        assert_eq!((starttls.security, starttls.port), (Security::StartTls, 587));
        assert_eq!(parse("smtp://127.0.0.1:2525").unwrap().security, Security::Opportunistic);
        assert_eq!(parse("smtp://[::1]:25").unwrap().host, "::1");
        assert_eq!(parse("smtp://relay.lan:25?tls=off&from=night@lan").unwrap().security, Security::Off);
        assert_eq!(parse("smtp://relay.lan:25?tls=off&from=night@lan").unwrap().from.as_deref(), Some("night@lan"));
    }

    #[test]
    fn bad_urls_say_why_without_the_value() {
        assert_eq!(
            parse("https://user:hunter2@mail.example.com").unwrap_err().to_string(),
            "the email URL (from `env.SMTP_URL`) must start with `smtp://` or `smtps://`, not `https:`"
        );
        assert!(parse("smtp://h?tls=maybe").unwrap_err().to_string().contains("`tls=maybe`"));
        assert!(parse("smtps://h?tls=off").is_err());
    }
}
