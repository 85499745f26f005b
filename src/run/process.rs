//! Supervising one agent process: its own process group, output streamed to `agent.log`
//! as it comes, and an ending that leaves no descendant behind.

use crate::os::group::Group;
use crate::os::output;
use crate::secrets::ByteScrubber;
use nix::sys::signal::Signal;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How to start the agent.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The working directory.
    pub cwd: PathBuf,
    /// Variables to set.
    pub env: Vec<(String, String)>,
    /// Variables to remove (secrets).
    pub env_remove: Vec<String>,
    /// Written to standard input, which is then closed.
    pub stdin: Vec<u8>,
    /// The OS sandbox, applied in the child between fork and exec (`None`: none).
    pub sandbox: Option<Arc<crate::sandbox::Prepared>>,
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Receives text to show (the agent's output, status lines).
pub type TextSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Receives each line of output with its stream.
pub type LineSink = Arc<dyn Fn(Stream, &str) + Send + Sync>;

/// Whether `agent.log` can still be written. The first failed write (a full disk) is kept and
/// told to the supervisor, which ends the run: an agent whose output is lost is unsupervised.
#[derive(Default)]
pub struct LogHealth {
    error: std::sync::OnceLock<Arc<std::io::Error>>,
    notify: tokio::sync::Notify,
}

impl LogHealth {
    fn fail(&self, error: std::io::Error) {
        if self.error.set(Arc::new(error)).is_ok() {
            self.notify.notify_one();
        }
    }

    /// Whether a write has failed.
    pub fn is_failed(&self) -> bool {
        self.error.get().is_some()
    }

    /// Resolves with the error once a write has failed.
    pub async fn failed(&self) -> Arc<std::io::Error> {
        loop {
            if let Some(error) = self.error.get() {
                return error.clone();
            }
            self.notify.notified().await;
        }
    }
}

/// Where the agent's output goes besides `agent.log`.
pub struct OutputSinks {
    /// The log file, opened for appending; shared by both streams.
    pub log: Arc<std::fs::File>,
    /// Told when a write to the log fails.
    pub log_health: Arc<LogHealth>,
    /// Secrets to remove from what is written.
    pub redact: Option<ByteScrubber>,
    /// Receives the output, whole lines at a time, to show it live.
    pub echo: Option<TextSink>,
    /// Called with every complete line (lossy UTF-8), for adapters that read the stream.
    pub on_line: Option<LineSink>,
}

/// How a supervised process ended.
#[derive(Debug, Clone, Copy)]
pub struct Ended {
    /// The leader's exit status.
    pub status: Option<ExitStatus>,
    /// Whether the group had to be killed with SIGKILL after the grace period.
    pub killed: bool,
}

/// When the agent last printed.
#[derive(Clone)]
pub struct OutputClock {
    started: Instant,
    last_output_ms: Arc<AtomicU64>,
}

impl OutputClock {
    /// The instant of the last output (the start, if none yet).
    pub fn last(&self) -> Instant {
        self.started + Duration::from_millis(self.last_output_ms.load(Ordering::Relaxed))
    }
}

/// A running agent in its own process group.
pub struct Supervised {
    group: Group,
    started: Instant,
    last_output_ms: Arc<AtomicU64>,
    output_bytes: Arc<AtomicU64>,
    readers: Vec<JoinHandle<()>>,
}

impl Supervised {
    /// Start the process in a new process group, feed it its standard input, and stream its output.
    pub fn spawn(spec: &SpawnSpec, sinks: OutputSinks) -> std::io::Result<Self> {
        let mut command = Command::new(&spec.program);
        command.args(&spec.args).current_dir(&spec.cwd).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for name in &spec.env_remove {
            command.env_remove(name);
        }
        for (name, value) in &spec.env {
            command.env(name, value);
        }
        if let Some(sandbox) = &spec.sandbox {
            sandbox.install(&mut command);
        }
        let mut group = Group::spawn(&mut command)?;
        if let Some(mut stdin) = group.child().stdin.take() {
            let input = spec.stdin.clone();
            // An agent that never reads its standard input must not block night: write in the
            // background and ignore a closed pipe.
            tokio::spawn(async move {
                let _ = stdin.write_all(&input).await;
                let _ = stdin.shutdown().await;
            });
        }

        let started = Instant::now();
        let last_output_ms = Arc::new(AtomicU64::new(0));
        let output_bytes = Arc::new(AtomicU64::new(0));
        let sinks = Arc::new(sinks);
        let mut readers = Vec::new();
        let (stdout, stderr) = (group.child().stdout.take(), group.child().stderr.take());
        for (reader, stream) in [(stdout.map(boxed), Stream::Stdout), (stderr.map(boxed), Stream::Stderr)] {
            let Some(reader) = reader else { continue };
            let (sinks, last_output_ms, output_bytes) = (sinks.clone(), last_output_ms.clone(), output_bytes.clone());
            readers.push(tokio::spawn(async move {
                let on_read = |read: usize| {
                    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    last_output_ms.fetch_max(elapsed, Ordering::Relaxed);
                    output_bytes.fetch_add(read as u64, Ordering::Relaxed);
                };
                let mut rest = output::pump(reader, on_read, |lines| emit(lines, stream, &sinks)).await;
                if !rest.is_empty() {
                    rest.push(b'\n');
                    emit(&rest, stream, &sinks);
                }
            }));
        }
        Ok(Self { group, started, last_output_ms, output_bytes, readers })
    }

    /// The leader's process id, which is also the group id.
    pub fn pid(&self) -> u32 {
        self.group.pgid()
    }

    /// When the agent last printed anything (its start, if never).
    pub fn last_output(&self) -> Instant {
        self.output_clock().last()
    }

    /// A handle that tells when the agent last printed, usable while the process is borrowed.
    pub fn output_clock(&self) -> OutputClock {
        OutputClock { started: self.started, last_output_ms: self.last_output_ms.clone() }
    }

    /// Bytes printed so far.
    pub fn output_bytes(&self) -> u64 {
        self.output_bytes.load(Ordering::Relaxed)
    }

    /// How long it has run.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Wait for the leader to exit by itself. Cancel-safe.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.group.wait().await
    }

    /// End the whole process group: `signals` in turn (e.g. SIGINT, SIGTERM), then SIGKILL once
    /// `grace` has passed with any member alive. Also used after the leader exited by itself,
    /// so that children it left behind do not outlive the session.
    pub async fn terminate(&mut self, signals: &[Signal], grace: Duration) -> Ended {
        let (status, killed) = self.group.terminate(signals, grace).await;
        // Once the group is gone the pipes close; a process that escaped the group (setsid)
        // may still hold them, so do not wait for it forever.
        for reader in &mut self.readers {
            if tokio::time::timeout(Duration::from_secs(2), &mut *reader).await.is_err() {
                reader.abort();
            }
        }
        Ended { status, killed }
    }
}

fn boxed(reader: impl AsyncRead + Unpin + Send + 'static) -> Box<dyn AsyncRead + Unpin + Send> {
    Box::new(reader)
}

/// Copy whole lines to the log (so the two streams never tear each other's lines), echo them
/// and hand them to the adapter.
fn emit(bytes: &[u8], stream: Stream, sinks: &OutputSinks) {
    let redacted = match &sinks.redact {
        Some(scrubber) => scrubber.scrub(bytes),
        None => std::borrow::Cow::Borrowed(bytes),
    };
    // After a failed write nothing more is written: a later, shorter piece could fit and
    // leave a log with a hole in it.
    if !sinks.log_health.is_failed() {
        if let Err(error) = (&*sinks.log).write_all(&redacted) {
            sinks.log_health.fail(error);
        }
    }
    if sinks.echo.is_none() && sinks.on_line.is_none() {
        return;
    }
    let text = String::from_utf8_lossy(&redacted);
    if let Some(on_line) = &sinks.on_line {
        for line in text.lines() {
            on_line(stream, line);
        }
    }
    if let Some(echo) = &sinks.echo {
        echo(&text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(script: &str) -> SpawnSpec {
        SpawnSpec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: std::env::temp_dir(),
            env: vec![("NIGHT_TEST_VAR".into(), "set".into())],
            env_remove: vec!["HOME".into()],
            stdin: b"the prompt\n".to_vec(),
            sandbox: None,
        }
    }

    fn sinks(log: &std::path::Path, secrets: &[String]) -> OutputSinks {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log");
        OutputSinks { log: Arc::new(file), log_health: Arc::default(), redact: crate::secrets::Secrets::new(secrets).byte_scrubber(), echo: None, on_line: None }
    }

    #[tokio::test]
    async fn output_is_logged_whole_with_secrets_redacted_and_the_environment_set() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("agent.log");
        let script = "read line; echo \"got: $line\"; echo \"var=$NIGHT_TEST_VAR home=${HOME:-unset}\"; echo token-abc123 >&2; head -c 200000 /dev/zero | tr '\\0' x";
        let mut process = Supervised::spawn(&spec(script), sinks(&log, &["token-abc123".into()])).expect("spawn");
        let status = process.wait().await.expect("wait");
        assert!(status.success());
        let ended = process.terminate(&[Signal::SIGTERM], Duration::from_millis(200)).await;
        assert!(!ended.killed);
        let text = std::fs::read_to_string(&log).expect("log");
        assert!(text.contains("got: the prompt\n"), "{}", &text[..100.min(text.len())]);
        assert!(text.contains("var=set home=unset\n"));
        assert!(text.contains("[redacted]\n") && !text.contains("abc123"));
        // A 200 000-byte line without a newline arrives whole, in bounded pieces, ended by night.
        assert_eq!(text.matches('x').count(), 200_000);
        assert!(text.ends_with("x\n"));
        let printed = "got: the prompt\n".len() + "var=set home=unset\n".len() + "token-abc123\n".len() + 200_000;
        assert_eq!(process.output_bytes(), printed as u64, "counted as printed, before redaction");
    }
}
