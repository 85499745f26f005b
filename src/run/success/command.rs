//! Running a success check's command: `sh -c` in a process group of its own with stdin
//! closed; at `within` the whole group gets SIGTERM, then SIGKILL. Output is read to the end for
//! counting, but at most [`CAPTURE_LIMIT`] of it is held: beyond that only the tail is kept, and
//! `count` matches in the dropped part are counted as it is dropped.

use super::TAIL_BYTES;
use crate::os::group::{Group, Identity};
use crate::os::output;
use crate::record::{AgentProcess, SuccessRecord};
use crate::sandbox::checks::ChecksSandbox;
use crate::time::format_duration;
use nix::sys::signal::Signal;
use std::cell::RefCell;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

/// Between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// After the shell exits, how long its leftovers may keep the output open.
const LINGER: Duration = Duration::from_secs(1);
/// The most output held per capture.
pub(super) const CAPTURE_LIMIT: usize = 32 << 20;
/// A line longer than this is passed on without waiting for its end.
pub(super) const LINE_MAX: usize = output::CHUNK;
/// One read from a pipe.
pub(super) const READ_CHUNK: usize = output::CHUNK;

/// How commands are started.
pub(super) struct Runner<'a> {
    pub dir: &'a Path,
    pub env: &'a [(String, String)],
    pub env_remove: &'a [String],
    /// The most output held per capture (a parameter so tests can make it small).
    pub limit: usize,
    /// Where to keep the running command's process group, for `night resume` to end it
    /// should the supervisor die meanwhile.
    pub record: Option<&'a Path>,
    /// The sandbox each command runs in (`deny irreversible`, src/sandbox/checks.rs).
    pub sandbox: Option<&'a ChecksSandbox>,
}

/// What a command did.
pub(super) struct Output {
    pub exit_code: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    spawn_error: Option<String>,
    /// stdout and stderr, interleaved line by line.
    pub combined: Capture,
    /// stdout alone, when a `matches` needs it.
    pub stdout: Option<Capture>,
}

impl Output {
    /// Fill in the result's exit, timeout and tail.
    pub(super) fn record(&self, result: &mut SuccessRecord) {
        result.exit_code = self.exit_code;
        result.timed_out = self.timed_out;
        result.output_tail = self.combined.tail(TAIL_BYTES);
    }

    /// Why the command did not run to its own end: it could not start, timed out or was killed.
    pub(super) fn unfinished(&self, within: Duration) -> Option<String> {
        if let Some(error) = &self.spawn_error {
            Some(format!("cannot run `sh -c`: {error}"))
        } else if self.timed_out {
            Some(format!("timed out after {}", format_duration(within)))
        } else if self.exit_code.is_none() {
            Some(self.exit_text())
        } else {
            None
        }
    }

    /// `exit N` unless it exited 0.
    pub(super) fn nonzero_exit(&self) -> Option<String> {
        (self.exit_code != Some(0)).then(|| self.exit_text())
    }

    pub(super) fn exit_text(&self) -> String {
        match (self.exit_code, self.signal) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "no exit status".to_string(),
        }
    }
}

impl Runner<'_> {
    /// Run `sh -c command` in its own process group, with stdin closed, for at most `within`.
    pub(super) async fn run(&self, command: &str, within: Duration, keep_stdout: bool, counter: Option<&regex::Regex>) -> Output {
        let collected = RefCell::new(Collected { combined: Capture::new(self.limit, counter.cloned()), stdout: keep_stdout.then(|| Capture::new(self.limit, None)) });
        let mut shell = tokio::process::Command::new("sh");
        shell.arg("-c").arg(command).current_dir(self.dir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for name in self.env_remove {
            shell.env_remove(name);
        }
        for (name, value) in self.env {
            shell.env(name, value);
        }
        let mut confined = match self.sandbox.map(|sandbox| sandbox.confine(&mut shell)).transpose() {
            Ok(confined) => confined,
            Err(error) => return collected.into_inner().finish(Some(format!("cannot set up the sandbox: {error}")), None, false),
        };
        let mut group = match Group::spawn(&mut shell) {
            Ok(group) => group,
            Err(error) => {
                let step = confined.as_ref().and_then(|c| c.failed_step()).map(|s| format!("in the sandbox: {s}: ")).unwrap_or_default();
                return collected.into_inner().finish(Some(format!("{step}{error}")), None, false);
            }
        };
        if let Some(confined) = confined.as_mut() {
            confined.started(group.pgid());
        }
        let (stdout, stderr) = (group.child().stdout.take(), group.child().stderr.take());
        if let Some(record) = self.record {
            if let Ok(text) = serde_json::to_string(&AgentProcess::new(0, 0, Identity::of(group.pgid()))) {
                let _ = std::fs::write(record, text);
            }
        }

        let deadline = tokio::time::Instant::now() + within;
        let mut status: Option<ExitStatus> = None;
        let mut exited = false;
        let mut drained = false;
        let mut timed_out = false;
        let mut rests = [Vec::new(), Vec::new()];
        {
            let stream = |index: usize, reader: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
                let collected = &collected;
                async move {
                    match reader {
                        Some(reader) => output::pump(reader, |_| {}, |lines| collected.borrow_mut().emit(index, lines)).await,
                        None => Vec::new(),
                    }
                }
            };
            let pump = async {
                let (out, err) = tokio::join!(stream(0, stdout.map(boxed)), stream(1, stderr.map(boxed)));
                [out, err]
            };
            tokio::pin!(pump);
            let timeout = tokio::time::sleep_until(deadline);
            tokio::pin!(timeout);
            let linger = tokio::time::sleep_until(deadline);
            tokio::pin!(linger);
            while !(drained && exited) {
                tokio::select! {
                    left = &mut pump, if !drained => {
                        drained = true;
                        rests = left;
                    }
                    waited = group.wait(), if !exited => {
                        exited = true;
                        status = waited.ok();
                        linger.as_mut().reset(deadline.min(tokio::time::Instant::now() + LINGER));
                    }
                    () = &mut timeout => {
                        timed_out = true;
                        break;
                    }
                    () = &mut linger, if exited && !drained => break,
                }
            }
        }
        // Whatever is left of the group (the command itself at the timeout, or what it started
        // in the background) ends here: nothing a check starts outlives it.
        if timed_out || !drained || crate::os::group::alive(group.pgid()) {
            let (reaped, _) = group.terminate(&[Signal::SIGTERM], KILL_GRACE).await;
            status = status.or(reaped);
        }
        // Unfinished last lines come last.
        let mut collected = collected.into_inner();
        for (index, rest) in rests.into_iter().enumerate() {
            collected.emit(index, &rest);
        }
        if let Some(record) = self.record {
            let _ = std::fs::remove_file(record);
        }
        collected.finish(None, if timed_out { None } else { status }, timed_out)
    }
}

fn boxed(reader: impl tokio::io::AsyncRead + Unpin + Send + 'static) -> Box<dyn tokio::io::AsyncRead + Unpin + Send> {
    Box::new(reader)
}

/// Output being collected: both streams interleaved by whole lines, and stdout alone if needed.
struct Collected {
    combined: Capture,
    stdout: Option<Capture>,
}

impl Collected {
    /// The command's output and how it ended.
    fn finish(self, spawn_error: Option<String>, status: Option<ExitStatus>, timed_out: bool) -> Output {
        use std::os::unix::process::ExitStatusExt;
        Output {
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            timed_out,
            spawn_error,
            combined: self.combined,
            stdout: self.stdout,
        }
    }

    /// Whole lines of one stream (0: stdout, 1: stderr).
    fn emit(&mut self, stream: usize, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.combined.push(bytes);
        if stream == 0 {
            if let Some(stdout) = &mut self.stdout {
                stdout.push(bytes);
            }
        }
    }
}

/// Bounded output: the tail beyond `limit` is kept; matches of `counter` in what is dropped are
/// counted as it goes.
pub(super) struct Capture {
    pub buffer: Vec<u8>,
    limit: usize,
    pub dropped: u64,
    counter: Option<regex::Regex>,
    dropped_matches: u64,
}

impl Capture {
    pub(super) fn new(limit: usize, counter: Option<regex::Regex>) -> Self {
        Capture { buffer: Vec::new(), limit, dropped: 0, counter, dropped_matches: 0 }
    }

    fn push(&mut self, bytes: &[u8]) {
        let needed = self.buffer.len() + bytes.len();
        if needed > self.buffer.capacity() {
            // Grow by doubling, but never past the limit plus one chunk: a plain `Vec` would
            // double to twice the limit.
            let ceiling = self.limit + LINE_MAX + READ_CHUNK;
            let target = (self.buffer.capacity() * 2).clamp(needed, ceiling.max(needed));
            self.buffer.reserve_exact(target - self.buffer.len());
        }
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() > self.limit {
            let keep = self.limit / 4 * 3;
            let mut cut = self.buffer.len() - keep;
            // Cut after a line end, so no line is split between the counted and the kept part.
            if let Some(newline) = self.buffer[cut..].iter().position(|&b| b == b'\n') {
                cut += newline + 1;
            }
            if let Some(counter) = &self.counter {
                self.dropped_matches += count_matches(counter, &self.buffer[..cut]);
            }
            self.buffer.drain(..cut);
            self.dropped += cut as u64;
        }
    }

    /// The kept output as text, lossy and ANSI stripped.
    pub(super) fn text(&self) -> String {
        strip_ansi(&String::from_utf8_lossy(&self.buffer))
    }

    /// Matches of `regex` in everything the command printed.
    pub(super) fn matches(&self, regex: &regex::Regex) -> u64 {
        self.dropped_matches + count_matches(regex, &self.buffer)
    }

    /// The last ≤ `bytes` of the output as text, starting at a line when it was cut.
    pub(super) fn tail(&self, bytes: usize) -> String {
        // Some slack before the cut for escape sequences that the stripping removes.
        let from = self.buffer.len().saturating_sub(bytes * 2);
        let text = strip_ansi(&String::from_utf8_lossy(&self.buffer[from..]));
        if text.len() <= bytes && from == 0 && self.dropped == 0 {
            return text;
        }
        let mut start = text.len().saturating_sub(bytes);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        let tail = &text[start..];
        // Start at a whole line unless that would throw away most of the tail.
        match tail.find('\n') {
            Some(newline) if newline < bytes / 4 && start > 0 => tail[newline + 1..].to_string(),
            _ => tail.to_string(),
        }
    }
}

fn count_matches(regex: &regex::Regex, bytes: &[u8]) -> u64 {
    regex.find_iter(&strip_ansi(&String::from_utf8_lossy(bytes))).count() as u64
}

/// Remove terminal escape sequences (colours, cursor moves, titles).
pub(super) fn strip_ansi(text: &str) -> String {
    if !text.contains('\x1b') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters, then one final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \.
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' {
                        break;
                    }
                    if c == '\x1b' {
                        if chars.peek() == Some(&'\\') {
                            chars.next();
                        }
                        break;
                    }
                }
            }
            // Two-byte sequences (ESC c, ESC =, charset selections' first byte).
            _ => {}
        }
    }
    out
}
