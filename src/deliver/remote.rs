//! The remote's URL, recorded when the run starts (before the agent could touch the
//! repository's config) and pushed to at the end, whatever the config says by then.

use super::error::DeliverError;
use super::git::GitCommand;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// A remote as it was when the run started: its name and the URL git would push to then
/// (`pushurl`, `insteadOf` rewrites applied). Stored in the journal; a URL's password, if the
/// user keeps one there, is never shown ([`RecordedRemote::display_url`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRemote {
    /// The remote's name, e.g. `origin`.
    pub name: String,
    /// The URL pushed to.
    pub url: String,
}

impl RecordedRemote {
    /// A remote from its name and URL, checked as [`record_remote`] checks them.
    pub fn new(name: &str, url: &str) -> Result<Self, DeliverError> {
        let url = url.trim();
        check_url(name, url)?;
        Ok(Self { name: name.to_string(), url: url.to_string() })
    }

    /// The URL without a password or token in it: what messages and the report show.
    pub fn display_url(&self) -> String {
        strip_credentials(&self.url)
    }
}

impl fmt::Debug for RecordedRemote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedRemote").field("name", &self.name).field("url", &self.display_url()).finish()
    }
}

/// Read the push URL of `remote` in the repository at `repo` now, with `git remote get-url
/// --push` (what git itself would push to). Call it when the run starts, before the agent.
pub fn record_remote(repo: &Path, remote: &str) -> Result<RecordedRemote, DeliverError> {
    let output = GitCommand::new(repo).args(["remote", "get-url", "--push", "--", remote]).output_blocking()?;
    if !output.status.success() {
        return Err(DeliverError::RemoteMissing { remote: remote.to_string() });
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let Some(url) = text.lines().map(str::trim).find(|line| !line.is_empty()) else {
        return Err(DeliverError::RemoteUrl { remote: remote.to_string(), reason: "it has no URL".into() });
    };
    RecordedRemote::new(remote, url)
}

/// Refuse URLs that would run a command or be read as an option.
fn check_url(remote: &str, url: &str) -> Result<(), DeliverError> {
    let reason = if url.is_empty() {
        Some("it is empty".to_string())
    } else if url.starts_with('-') {
        Some("it starts with `-`".to_string())
    } else if url.chars().any(char::is_control) {
        Some("it holds a control character".to_string())
    } else {
        ["ext::", "fd::"].iter().find(|t| url.starts_with(**t)).map(|transport| format!("the `{transport}` transport runs commands"))
    };
    match reason {
        Some(reason) => Err(DeliverError::RemoteUrl { remote: remote.to_string(), reason }),
        None => Ok(()),
    }
}

/// `https://user:token@host/x` → `https://host/x`; scp-like and local paths are kept.
pub fn strip_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Every URL-with-credentials in `text` with its credentials removed.
pub fn scrub_credentials(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_matches(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '(' | ')' | '<' | '>' | ','));
            if trimmed.contains("://") && trimmed.contains('@') {
                word.replace(trimmed, &strip_credentials(trimmed))
            } else {
                word.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show() {
        assert_eq!(strip_credentials("https://x-access-token:ghp_abc@github.com/acme/app.git"), "https://github.com/acme/app.git");
        assert_eq!(strip_credentials("git@github.com:acme/app.git"), "git@github.com:acme/app.git");
        assert_eq!(strip_credentials("ssh://git@host:22/x.git"), "ssh://host:22/x.git");
        assert_eq!(strip_credentials("file:///srv/x.git"), "file:///srv/x.git");
        let remote = RecordedRemote::new("origin", "https://u:secret-token@example.com/r.git").expect("valid");
        assert!(!format!("{remote:?}").contains("secret-token"));
        assert_eq!(
            scrub_credentials("error: failed to push some refs to 'https://u:secret-token@example.com/r.git'"),
            "error: failed to push some refs to 'https://example.com/r.git'"
        );
    }

    #[test]
    fn urls_that_run_commands_are_refused() {
        for url in ["ext::sh -c touch% /tmp/x", "fd::3", "--upload-pack=touch /tmp/x", "", "a\nb"] {
            assert!(matches!(RecordedRemote::new("origin", url), Err(DeliverError::RemoteUrl { .. })), "{url:?}");
        }
    }
}
