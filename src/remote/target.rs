//! The `--on` value: `[user@]host[:path]`, as scp and git write a remote place. The host part
//! goes to `ssh` unchanged (an alias from the user's ssh config works); the path, when given,
//! is the folder that holds night's folder on the host instead of the remote user's home.

use super::RemoteError;

/// Where `--on` sends a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// What `ssh` is given: `host`, `user@host` or an alias.
    pub destination: String,
    /// The folder holding `.night` on the host; `None`: the remote user's home.
    pub path: Option<String>,
}

impl Target {
    /// Parse `[user@]host[:path]`; an IPv6 address is written in brackets, `[::1]:path`.
    pub fn parse(text: &str) -> Result<Target, RemoteError> {
        let bad = |why: &str| RemoteError::BadTarget { value: text.to_string(), why: why.to_string() };
        let text_trimmed = text.trim();
        if text_trimmed.is_empty() {
            return Err(bad("it is empty"));
        }
        if text_trimmed.starts_with('-') {
            return Err(bad("a host cannot start with `-`"));
        }
        if text_trimmed.chars().any(char::is_whitespace) {
            return Err(bad("it holds a space"));
        }
        let (user, rest) = match text_trimmed.split_once('@') {
            Some((user, rest)) if !user.is_empty() => (Some(user), rest),
            Some(_) => return Err(bad("nothing before `@`")),
            None => (None, text_trimmed),
        };
        let (host, path) = if let Some(inner) = rest.strip_prefix('[') {
            let Some((address, after)) = inner.split_once(']') else { return Err(bad("`[` is never closed")) };
            match after {
                "" => (address, None),
                _ => match after.strip_prefix(':') {
                    Some(path) => (address, Some(path)),
                    None => return Err(bad("expected `:` after `]`")),
                },
            }
        } else {
            match rest.split_once(':') {
                Some((host, path)) => (host, Some(path)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if path == Some("") {
            return Err(bad("nothing after `:`; leave the `:` out to use the remote user's home"));
        }
        let destination = match user {
            Some(user) => format!("{user}@{host}"),
            None => host.to_string(),
        };
        Ok(Target { destination, path: path.map(|p| p.trim_end_matches('/').to_string()).map(|p| if p.is_empty() { "/".to_string() } else { p }) })
    }

    /// How messages name the host: `night-ci`, `me@box`.
    pub fn host(&self) -> &str {
        &self.destination
    }

    /// The folder holding `.night` on the host, as a shell word would name it from the login
    /// folder: the path given, or `.` (ssh starts commands in the remote user's home).
    pub fn base(&self) -> &str {
        self.path.as_deref().unwrap_or(".")
    }

    /// A git URL for `path` on the host, in scp form (`host:path`); IPv6 in brackets.
    pub fn git_url(&self, path: &str) -> String {
        let host = match self.destination.rsplit_once('@') {
            Some((user, host)) if host.contains(':') => format!("{user}@[{host}]"),
            None if self.destination.contains(':') => format!("[{}]", self.destination),
            _ => self.destination.clone(),
        };
        format!("{host}:{path}")
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}:{path}", self.destination),
            None => write!(f, "{}", self.destination),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (String, Option<String>) {
        let target = Target::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        (target.destination, target.path)
    }

    #[test]
    fn host_user_and_path() {
        assert_eq!(parse("dev-box"), ("dev-box".into(), None));
        assert_eq!(parse("me@dev-box"), ("me@dev-box".into(), None));
        assert_eq!(parse("me@dev-box:/srv/night/"), ("me@dev-box".into(), Some("/srv/night".into())));
        assert_eq!(parse("dev-box:work"), ("dev-box".into(), Some("work".into())));
        assert_eq!(parse("[::1]:/data"), ("::1".into(), Some("/data".into())));
        assert_eq!(parse("me@[::1]"), ("me@::1".into(), None));
    }

    #[test]
    fn bad_values_say_why() {
        for (text, why) in [("", "empty"), ("-oProxyCommand=x", "`-`"), ("@box", "before `@`"), ("box:", "after `:`"), ("[::1", "never closed"), ("a b", "space")] {
            let error = Target::parse(text).expect_err(text).to_string();
            assert!(error.contains(why), "{text}: {error}");
        }
    }

    #[test]
    fn git_urls_are_scp_like() {
        assert_eq!(Target::parse("me@box").unwrap().git_url("/x.git"), "me@box:/x.git");
        assert_eq!(Target::parse("[::1]").unwrap().git_url("x.git"), "[::1]:x.git");
    }
}
