//! Night's allow-listing HTTP proxy, served on the listener the sandboxed child opened in its
//! network namespace. `CONNECT host:port` (HTTPS) and absolute-form requests (`GET http://…`)
//! are let through to allowed hosts only; everything else gets `403`. Night resolves the
//! names itself, from the host's namespace. Every destination the agent asked for is counted,
//! allowed or not, for the journal and the report.
//!
//! Allow-list entries: `host` (ports 80 and 443), `host:port`, `*.domain` (any subdomain,
//! ports 80 and 443), `*.domain:port`; an IPv6 address is written in brackets.

use serde::Serialize;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The longest request head read before the proxy gives up on a client.
const MAX_HEAD: usize = 16 * 1024;
/// How long the proxy waits for the head and for the destination to answer.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Distinct destinations remembered; more are counted under one entry.
const MAX_DESTINATIONS: usize = 1000;

/// One destination the agent asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destination {
    /// `host:port`.
    pub target: String,
    /// Whether the allow list let it through.
    pub allowed: bool,
    /// How many requests.
    pub count: u64,
}

/// A running proxy; ends when dropped.
#[derive(Debug)]
pub struct Proxy {
    task: JoinHandle<()>,
    seen: Arc<Mutex<BTreeMap<(String, bool), u64>>>,
}

impl Proxy {
    /// Serve `listener` (from the child's namespace) for `hosts`. Needs a tokio runtime.
    pub fn serve(listener: std::net::TcpListener, hosts: &[String]) -> io::Result<Proxy> {
        let listener = TcpListener::from_std(listener)?;
        let rules: Arc<Vec<HostRule>> = Arc::new(hosts.iter().filter_map(|h| HostRule::parse(h)).collect());
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        let recorded = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    // The namespace is gone with the agent's last process.
                    break;
                };
                let rules = rules.clone();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(24 * 3600), handle(client, &rules, &recorded)).await;
                });
            }
        });
        Ok(Proxy { task, seen })
    }

    /// Every destination asked for so far, denied ones first.
    pub fn destinations(&self) -> Vec<Destination> {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        let mut list: Vec<Destination> =
            seen.into_iter().map(|((target, allowed), count)| Destination { target, allowed, count }).collect();
        list.sort_by_key(|d| (d.allowed, d.target.clone()));
        list
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn record(seen: &Mutex<BTreeMap<(String, bool), u64>>, target: &str, allowed: bool) {
    if let Ok(mut seen) = seen.lock() {
        let key = if seen.len() >= MAX_DESTINATIONS && !seen.contains_key(&(target.to_string(), allowed)) {
            ("(more)".to_string(), allowed)
        } else {
            (target.to_string(), allowed)
        };
        *seen.entry(key).or_insert(0) += 1;
    }
}

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    /// Lower-case host; for a wildcard, the domain after `*.`.
    host: String,
    wildcard: bool,
    /// `None`: 80 and 443.
    port: Option<u16>,
}

impl HostRule {
    /// Parse `host`, `host:port`, `*.domain[:port]`, `[v6]:port`.
    pub fn parse(entry: &str) -> Option<HostRule> {
        let entry = entry.trim().to_ascii_lowercase();
        let (host, port) = split_host_port(&entry)?;
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(domain) => (domain.to_string(), true),
            None => (host.to_string(), false),
        };
        (!host.is_empty()).then_some(HostRule { host, wildcard, port })
    }

    /// Whether the rule lets `host:port` through.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host = host.trim_end_matches('.');
        let host_ok = if self.wildcard {
            host.strip_suffix(self.host.as_str()).is_some_and(|rest| rest.ends_with('.'))
        } else {
            host == self.host
        };
        let port_ok = match self.port {
            Some(p) => p == port,
            None => port == 80 || port == 443,
        };
        host_ok && port_ok
    }
}

/// `host:port`, `[v6]:port`, or a bare host (port `None`).
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host, port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        Some(_) => Some((authority, None)),
        None => Some((authority, None)),
    }
}

async fn handle(mut client: TcpStream, rules: &[HostRule], seen: &Mutex<BTreeMap<(String, bool), u64>>) -> io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 4096];
    let end = loop {
        let read = tokio::time::timeout(TIMEOUT, client.read(&mut buffer)).await.map_err(|_| io::ErrorKind::TimedOut)??;
        if read == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buffer[..read]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if head.len() > MAX_HEAD {
            return reply(&mut client, "431 Request Header Fields Too Large", "the request head is too long").await;
        }
    };
    let first_line = String::from_utf8_lossy(&head[..head.iter().position(|b| *b == b'\r').unwrap_or(0)]).into_owned();
    let mut parts = first_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return reply(&mut client, "400 Bad Request", "not an HTTP proxy request").await;
    };
    let connect = method.eq_ignore_ascii_case("CONNECT");
    let authority = if connect {
        Some(target)
    } else {
        target.strip_prefix("http://").map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(rest))
    };
    let Some((host, port)) = authority.and_then(split_host_port) else {
        return reply(&mut client, "400 Bad Request", "night's proxy takes CONNECT host:port or an absolute http:// URL").await;
    };
    let port = port.unwrap_or(if connect { 443 } else { 80 });
    let destination = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let allowed = rules.iter().any(|rule| rule.allows(host, port));
    record(seen, &destination, allowed);
    if !allowed {
        let message = format!("night: `{destination}` is not in the runbook's `network allow` list");
        return reply(&mut client, "403 Forbidden", &message).await;
    }
    let upstream = match tokio::time::timeout(TIMEOUT, TcpStream::connect((host, port))).await {
        Ok(Ok(stream)) => stream,
        _ => return reply(&mut client, "502 Bad Gateway", &format!("night: cannot connect to `{destination}`")).await,
    };
    let mut upstream = upstream;
    if connect {
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await?;
        // Bytes the client sent after the head (it should have waited) go through too.
        upstream.write_all(&head[end..]).await?;
    } else {
        // Origin servers expect `GET /path`, not the absolute form a proxy receives; one request
        // per connection, so that every request of a keep-alive client comes through here.
        upstream.write_all(&origin_form(&head[..end])).await?;
        upstream.write_all(&head[end..]).await?;
    }
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// A proxy request head (`POST http://host:port/path HTTP/1.1`) as its origin server reads it
/// (`POST /path HTTP/1.1`), with `Connection: close` in place of the client's connection headers.
fn origin_form(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.splitn(3, ' ');
    let (method, target, version) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or("HTTP/1.1"));
    let path = target.split_once("://").map_or(target, |(_, rest)| rest.find('/').map_or("/", |at| &rest[at..]));
    let mut out = format!("{method} {path} {version}\r\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
        if name != "connection" && name != "proxy-connection" && name != "keep-alive" {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

async fn reply(client: &mut TcpStream, status: &str, message: &str) -> io::Result<()> {
    let body = format!("{message}\n");
    let response = format!("HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    client.write_all(response.as_bytes()).await?;
    client.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_requests_reach_the_origin_in_origin_form() {
        let head = b"POST http://127.0.0.1:8/v1/messages?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8\r\nProxy-Connection: keep-alive\r\nContent-Length: 2\r\n\r\n";
        let text = String::from_utf8(origin_form(head)).expect("utf-8");
        assert_eq!(text, "POST /v1/messages?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
    }

    #[test]
    fn rules_match_hosts_and_ports() {
        let plain = HostRule::parse("API.example.com").unwrap();
        assert!(plain.allows("api.example.com", 443) && plain.allows("api.example.com.", 80));
        assert!(!plain.allows("api.example.com", 22) && !plain.allows("x.api.example.com", 443));
        let port = HostRule::parse("127.0.0.1:8080").unwrap();
        assert!(port.allows("127.0.0.1", 8080) && !port.allows("127.0.0.1", 443));
        let wild = HostRule::parse("*.example.com").unwrap();
        assert!(wild.allows("a.b.example.com", 443) && !wild.allows("example.com", 443) && !wild.allows("badexample.com", 443));
        let v6 = HostRule::parse("[::1]:9000").unwrap();
        assert!(v6.allows("::1", 9000));
        assert_eq!(HostRule::parse("host:notaport"), None);
    }
}
