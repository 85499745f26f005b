//! `command "cmd"`: runs `sh -c cmd` with the message in `NIGHT_*` variables and, as JSON, on
//! standard input. Exit 0 is a delivery; anything else, or running past the timeout, is not.
//! The command runs in its own process group, which is killed when the try is abandoned.

use crate::os::group::Group;
use super::{render, Failure, Message, SendFuture, Transport};
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Runs a shell command per notification.
pub struct Command {
    command: String,
    dir: Option<PathBuf>,
}

impl Command {
    /// A command notifier, run in `dir` (default: night's current directory).
    pub fn new(command: &str, dir: Option<PathBuf>) -> Self {
        Self { command: command.to_string(), dir }
    }
}

/// The variables the command sees.
pub fn variables(message: &Message) -> Vec<(&'static str, String)> {
    vec![
        ("NIGHT_EVENT", message.event.name().to_string()),
        ("NIGHT_OUTCOME", message.outcome.clone().unwrap_or_default()),
        ("NIGHT_RUN_ID", message.run_id.clone()),
        ("NIGHT_REPORT", message.report.clone().unwrap_or_default()),
        ("NIGHT_SUMMARY", message.summary.clone()),
        ("NIGHT_NAME", message.name.clone()),
        ("NIGHT_BRANCH", message.branch.clone()),
    ]
}

impl Transport for Command {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let mut command = tokio::process::Command::new("sh");
            command
                .arg("-c")
                .arg(&self.command)
                .envs(variables(message))
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            if let Some(dir) = &self.dir {
                command.current_dir(dir);
            }
            // In a group of its own, killed whole should the delivery be abandoned (a timeout).
            let mut group = Group::spawn(&mut command).map_err(|e| Failure::permanent(format!("cannot start `sh`: {e}")))?;
            let child = group.child();
            if let Some(mut stdin) = child.stdin.take() {
                let json = serde_json::to_vec(message).unwrap_or_default();
                // A command that does not read its input is fine: the message is small.
                tokio::spawn(async move {
                    let _ = stdin.write_all(&json).await;
                });
            }
            let stderr = child.stderr.take();
            let reader = tokio::spawn(async move {
                let mut buffer = Vec::new();
                if let Some(stderr) = stderr {
                    let _ = stderr.take(64 * 1024).read_to_end(&mut buffer).await;
                }
                buffer
            });
            let status = group.wait().await.map_err(|e| Failure::transient(format!("cannot wait for the command: {e}")))?;
            group.release();
            // A background child may keep stderr open; do not wait for it.
            let stderr = tokio::time::timeout(std::time::Duration::from_millis(200), reader).await.ok().and_then(Result::ok).unwrap_or_default();
            if status.success() {
                return Ok(());
            }
            let tail = tail(&String::from_utf8_lossy(&stderr));
            let how = match status.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed by a signal".to_string(),
            };
            let text = if tail.is_empty() { format!("the command {how}") } else { format!("the command {how}: {tail}") };
            // 126 and 127: the shell cannot run it at all; trying again will not help.
            if matches!(status.code(), Some(126 | 127)) {
                Err(Failure::permanent(text))
            } else {
                Err(Failure::transient(text))
            }
        })
    }
}

/// The last lines of the output, on one line.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let start = lines.len().saturating_sub(3);
    render::truncate(&lines[start..].join(" / "), 300)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::tests::sample;

    #[tokio::test]
    async fn variables_and_stdin_reach_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!("{{ echo \"$NIGHT_EVENT|$NIGHT_OUTCOME|$NIGHT_RUN_ID|$NIGHT_REPORT|$NIGHT_SUMMARY\"; cat; }} > '{}'", out.display());
        Command::new(&script, None).send(&sample()).await.unwrap();
        let written = std::fs::read_to_string(&out).unwrap();
        let (first, json) = written.split_once('\n').unwrap();
        assert_eq!(
            first,
            "end|failed|auth-jwt-20250101-010203|.night/runs/auth-jwt-20250101-010203/report.md|auth-jwt: failed after 3 attempts in 1h12m"
        );
        let parsed: Message = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, sample());
    }

    #[tokio::test]
    async fn failures_say_why() {
        let failure = Command::new("echo first >&2; echo 'no route' >&2; exit 3", None).send(&sample()).await.unwrap_err();
        assert_eq!(failure, Failure::transient("the command exited with status 3: first / no route"));
        let failure = Command::new("definitely-not-a-command-night", None).send(&sample()).await.unwrap_err();
        assert!(!failure.retry && failure.error.starts_with("the command exited with status 127"), "{failure:?}");
    }

    #[tokio::test]
    async fn runs_in_the_given_folder() {
        let dir = tempfile::tempdir().unwrap();
        Command::new("touch here", Some(dir.path().to_path_buf())).send(&sample()).await.unwrap();
        assert!(dir.path().join("here").exists());
    }
}
