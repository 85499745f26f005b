//! The transport: the system `ssh` with the user's own config, agent and known_hosts, never a
//! client of night's. `NIGHT_SSH` replaces the whole `ssh` command, as `GIT_SSH_COMMAND` does
//! for git (and is handed to git as that): `NIGHT_SSH="ssh -F ./ssh_config"`. Every remote
//! command is a POSIX `sh -c` script, whatever the remote user's login shell.

use super::{RemoteError, Target};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// The variable that replaces `ssh`.
pub const NIGHT_SSH: &str = "NIGHT_SSH";
/// ssh's own exit status when it could not connect or log in.
const SSH_FAILED: i32 = 255;

/// What a remote command reads on its standard input.
pub enum Input<'a> {
    /// Nothing (`/dev/null`).
    Nothing,
    /// These bytes, then end of file.
    Bytes(&'a [u8]),
    /// A file's content (night's own binary), then end of file.
    File(PathBuf),
}

/// `ssh` to one host.
#[derive(Debug, Clone)]
pub struct Ssh {
    /// The host.
    pub target: Target,
    /// `NIGHT_SSH`, when set.
    command: Option<String>,
}

impl Ssh {
    /// `ssh` to `target`, or `NIGHT_SSH` when it is set.
    pub fn new(target: Target) -> Ssh {
        let command = std::env::var(NIGHT_SSH).ok().filter(|c| !c.trim().is_empty());
        Ssh { target, command }
    }

    /// The host, for messages.
    pub fn host(&self) -> &str {
        self.target.host()
    }

    /// A command that runs `script` with `sh -c` on the host.
    pub fn script(&self, script: &str) -> Command {
        let remote = format!("sh -c {}", quote(script));
        // `NIGHT_SSH` is split into words as a shell would (quotes allowed) and run directly, as
        // rsync runs `RSYNC_RSH`: no shell stands between night and ssh, so that ssh's own exit
        // status (or the signal that ended it) is what night sees.
        let words = self.command.as_deref().and_then(|c| split_words(c).ok()).filter(|w| !w.is_empty()).unwrap_or_else(|| vec!["ssh".to_string()]);
        let mut command = Command::new(&words[0]);
        command.args(&words[1..]).arg(&self.target.destination).arg(remote);
        command
    }

    /// `NIGHT_SSH` cannot be read (an unclosed quote).
    pub fn check_command(&self) -> Result<(), RemoteError> {
        match self.command.as_deref().map(split_words) {
            Some(Err(why)) => Err(RemoteError::local(format!("`{NIGHT_SSH}` cannot be read: {why}"), Some("Write it as a command line, e.g. `NIGHT_SSH=\"ssh -F ./ssh_config\"`."))),
            _ => Ok(()),
        }
    }

    /// Let `git` reach the host the way night does.
    pub fn configure_git(&self, git: &mut Command) {
        if let Some(ssh) = &self.command {
            git.env("GIT_SSH_COMMAND", ssh);
        }
    }

    /// Run `script` to its end with `input` on its standard input; its output. An ssh failure
    /// (exit 255) is [`RemoteError::Unreachable`]; any other status is the caller's to judge.
    pub fn run(&self, script: &str, input: Input<'_>) -> Result<Output, RemoteError> {
        let mut command = self.script(script);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command.stdin(match input {
            Input::Nothing => Stdio::null(),
            _ => Stdio::piped(),
        });
        let mut child = self.spawn(&mut command)?;
        let writer = child.stdin.take().map(|mut stdin| {
            let input: Result<Vec<u8>, PathBuf> = match input {
                Input::Bytes(bytes) => Ok(bytes.to_vec()),
                Input::File(path) => Err(path),
                Input::Nothing => Ok(Vec::new()),
            };
            std::thread::spawn(move || -> std::io::Result<()> {
                match input {
                    Ok(bytes) => stdin.write_all(&bytes),
                    Err(path) => std::io::copy(&mut std::fs::File::open(path)?, &mut stdin).map(|_| ()),
                }
            })
        });
        let output = child.wait_with_output().map_err(|e| self.unreachable(&format!("`ssh` failed: {e}")))?;
        if let Some(writer) = writer {
            // A remote command that stops reading early closes the pipe: its status says why.
            let _ = writer.join();
        }
        self.check_connected(&output)?;
        Ok(output)
    }

    /// Start `command` (built by [`Ssh::script`]); a missing `ssh` is said plainly.
    pub fn spawn(&self, command: &mut Command) -> Result<Child, RemoteError> {
        command.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RemoteError::local(
                "the `ssh` command is not installed on this machine",
                Some("Install OpenSSH's client (`ssh`), or set `NIGHT_SSH` to the command that reaches your host."),
            ),
            _ => self.unreachable(&format!("cannot start `ssh`: {e}")),
        })
    }

    /// An ssh failure (exit 255) as an error with ssh's last words.
    pub fn check_connected(&self, output: &Output) -> Result<(), RemoteError> {
        if output.status.code() == Some(SSH_FAILED) {
            return Err(self.unreachable(&last_line(&output.stderr)));
        }
        Ok(())
    }

    /// Whether an exit status is ssh's own failure.
    pub fn failed_to_connect(status: std::process::ExitStatus) -> bool {
        status.code() == Some(SSH_FAILED)
    }

    /// The error for a host that cannot be reached.
    pub fn unreachable(&self, detail: &str) -> RemoteError {
        let detail = if detail.is_empty() { "ssh failed without saying why".to_string() } else { detail.to_string() };
        RemoteError::Unreachable { host: self.host().to_string(), detail }
    }
}

/// A command line with a quote that is never closed: the quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a `{0}` is never closed")]
pub struct Unclosed(pub char);

/// Split a command line into words as a POSIX shell would, without expanding anything.
pub fn split_words(line: &str) -> Result<Vec<String>, Unclosed> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let text = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => text.push(c),
                        None => return Err(Unclosed('\'')),
                    }
                }
            }
            '"' => {
                let text = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => text.push(c),
                            Some(c) => {
                                text.push('\\');
                                text.push(c);
                            }
                            None => return Err(Unclosed('"')),
                        },
                        Some(c) => text.push(c),
                        None => return Err(Unclosed('"')),
                    }
                }
            }
            '\\' => {
                if let Some(c) = chars.next() {
                    word.get_or_insert_with(String::new).push(c);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// The last line a program wrote that says something.
pub fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().map(str::trim).rfind(|line| !line.is_empty()).unwrap_or_default().to_string()
}

/// Everything a program wrote, trimmed, as one string.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// One word for a POSIX shell: single-quoted unless it is plainly safe.
pub fn quote(word: &str) -> String {
    let safe = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Read all of a child's stream into a string (for threads that drain stderr).
pub fn drain(mut stream: impl std::io::Read) -> String {
    let mut text = String::new();
    let mut bytes = Vec::new();
    if stream.read_to_end(&mut bytes).is_ok() {
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_a_shell() {
        for word in ["plain", "/home/me/.night", "it's", "a b", "$HOME", "", "`x`", "\"q\""] {
            let output = Command::new("sh").arg("-c").arg(format!("printf %s {}", quote(word))).output().expect("sh");
            assert_eq!(String::from_utf8_lossy(&output.stdout), word, "{word}");
        }
    }

    #[test]
    fn night_ssh_splits_like_a_shell() {
        assert_eq!(split_words("ssh -F ./ssh_config").unwrap(), ["ssh", "-F", "./ssh_config"]);
        assert_eq!(split_words("ssh -F '/my dir/config' -o \"ProxyJump=a b\"").unwrap(), ["ssh", "-F", "/my dir/config", "-o", "ProxyJump=a b"]);
        assert_eq!(split_words("a\\ b ''").unwrap(), ["a b", ""]);
        assert!(split_words("ssh 'x").is_err());
    }

    #[test]
    fn last_line_skips_blank_lines() {
        assert_eq!(last_line(b"one\n  two  \n\n"), "two");
        assert_eq!(last_line(b""), "");
    }

    #[test]
    fn read_helpers_do_not_panic_on_bad_utf8() {
        assert_eq!(drain(&b"a\xffb"[..]), "a\u{fffd}b");
        assert_eq!(text(b" \xff\n"), "\u{fffd}");
    }
}
