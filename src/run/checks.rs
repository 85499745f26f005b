//! Running the success checks (LANGUAGE.md §5): night verifies, never the agent.
//!
//! Commands run through `sh -c` in their own process group with stdin closed; at `within` the
//! whole group gets SIGTERM, then SIGKILL. Output is read to the end for counting, but at most
//! 32 MiB of it is held: beyond that only the tail is kept, and `count` matches in the dropped
//! part are counted as it is dropped.

use crate::ast::{Check, Target, TestFormat};
use crate::plan::Plan;
use crate::run::git::RunGit;
use crate::test_counts::{count_tests, TestCounts};
use crate::time::format_duration;
use git2::Oid;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};

/// `within` when the runbook gives none.
const DEFAULT_WITHIN: Duration = Duration::from_secs(30 * 60);
/// Between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// After the shell exits, how long its leftovers may keep the output open.
const LINGER: Duration = Duration::from_secs(1);
/// The most output held per capture.
const CAPTURE_LIMIT: usize = 32 << 20;
/// The output tail kept in a result.
const TAIL_BYTES: usize = 4096;
/// One read from a pipe.
const READ_CHUNK: usize = 64 << 10;
/// A line longer than this is passed on without waiting for its end.
const LINE_MAX: usize = 64 << 10;
/// The longest statement text in a result.
const STATEMENT_CHARS: usize = 100;

/// The outcome of one success check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    /// Position in `plan.checks`.
    pub index: usize,
    /// The statement, short, e.g. `tests "npm test"`.
    pub statement: String,
    /// Whether the check held.
    pub passed: bool,
    /// Tests counted (`tests`).
    pub tests: Option<TestCounts>,
    /// Matches counted (`count`).
    pub count: Option<u64>,
    /// The command's exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The command ran past `within` and was killed.
    pub timed_out: bool,
    /// The last ≤ 4 KiB of stdout and stderr, interleaved by line, ANSI stripped.
    pub output_tail: String,
    /// How long the check took.
    pub duration_ms: u64,
    /// Why it failed, one line.
    pub reason: Option<String>,
}

/// The counts measured once on the start commit, indexed like `plan.checks`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Baseline {
    /// Test counts of `tests` checks.
    pub tests: Vec<Option<TestCounts>>,
    /// Match counts of `count` checks.
    pub counts: Vec<Option<u64>>,
}

/// The file in the run folder naming the check command running now (its process group, as
/// an `agent-process` record): a supervisor killed during the checks leaves it, and `night
/// resume` ends what it names, as it ends a dead supervisor's agent.
pub const RUNNING_CHECK: &str = "check-process.json";

/// Run every check in order in `dir`. `start` is the run's start commit (for `changed` and
/// `committed`). With `baseline` `None` the baseline is being measured: a `baseline` target
/// compares with the value just measured. With `run_dir`, the running command's process
/// group is kept there in [`RUNNING_CHECK`].
#[allow(clippy::too_many_arguments)]
pub async fn run_checks(
    plan: &Plan,
    dir: &Path,
    git: &RunGit,
    start: Oid,
    baseline: Option<&Baseline>,
    env: &[(String, String)],
    env_remove: &[String],
    run_dir: Option<&Path>,
) -> Vec<CheckResult> {
    run_checks_in(plan, dir, git, start, baseline, env, env_remove, run_dir, None).await
}

/// [`run_checks`], each command confined by `sandbox` (src/sandbox/checks.rs) when given.
#[allow(clippy::too_many_arguments)]
pub async fn run_checks_in(
    plan: &Plan,
    dir: &Path,
    git: &RunGit,
    start: Oid,
    baseline: Option<&Baseline>,
    env: &[(String, String)],
    env_remove: &[String],
    run_dir: Option<&Path>,
    sandbox: Option<&crate::sandbox::checks::ChecksSandbox>,
) -> Vec<CheckResult> {
    let record = run_dir.map(|d| d.join(RUNNING_CHECK));
    let runner = Runner { dir, env, env_remove, limit: CAPTURE_LIMIT, record: record.as_deref(), sandbox };
    let mut results = Vec::with_capacity(plan.checks.len());
    for (index, check) in plan.checks.iter().enumerate() {
        let started = Instant::now();
        let mut result = CheckResult {
            index,
            statement: statement(&check.value),
            passed: false,
            tests: None,
            count: None,
            exit_code: None,
            timed_out: false,
            output_tail: String::new(),
            duration_ms: 0,
            reason: None,
        };
        let failure = match &check.value {
            Check::Run { command, matches, within } => {
                let within = within_or_default(within.as_ref());
                let output = runner.run(&command.value, within, matches.is_some(), None).await;
                output.record(&mut result);
                output.unfinished(within).or_else(|| output.nonzero_exit()).or_else(|| {
                    let regex = &matches.as_ref()?.value;
                    let stdout = output.stdout.as_ref().map(Capture::text).unwrap_or_default();
                    (!regex.regex().is_match(&stdout)).then(|| format!("standard output does not match {regex}"))
                })
            }
            Check::Tests { command, format, within, .. } => {
                let within = within_or_default(within.as_ref());
                let output = runner.run(&command.value, within, false, None).await;
                output.record(&mut result);
                let baseline = baseline.and_then(|b| b.tests.get(index).copied().flatten());
                tests_failure(&output, &format.value, dir, within, baseline, &mut result)
            }
            Check::Count { regex, command, comparison, target } => {
                let output = runner.run(&command.value, DEFAULT_WITHIN, false, Some(regex.value.regex())).await;
                output.record(&mut result);
                // The exit status is not the verdict: a compiler exits non-zero when it finds
                // the very errors being counted.
                match output.unfinished(DEFAULT_WITHIN) {
                    Some(failure) => Some(failure),
                    None if matches!(output.exit_code, Some(126 | 127)) => {
                        // `sh` could not run it: zero matches would prove nothing.
                        Some(format!("the command could not be run (exit {})", output.exit_code.unwrap_or(127)))
                    }
                    None => {
                        let count = output.combined.matches(regex.value.regex());
                        result.count = Some(count);
                        let (wanted, label) = match (target.value, baseline) {
                            (Target::Number(n), _) => (Some(n), String::new()),
                            (Target::Baseline, None) => (Some(count), " (baseline)".to_string()),
                            (Target::Baseline, Some(baseline)) => {
                                (baseline.counts.get(index).copied().flatten(), " (baseline)".to_string())
                            }
                        };
                        match wanted {
                            None => Some("no baseline count was measured for this check".to_string()),
                            Some(wanted) if comparison.value.holds(count, wanted) => None,
                            Some(wanted) => Some(format!(
                                "{count} {}, expected {} {wanted}{label}",
                                if count == 1 { "match" } else { "matches" },
                                comparison.value
                            )),
                        }
                    }
                }
            }
            Check::Exists(path) => {
                (std::fs::symlink_metadata(dir.join(&path.value)).is_err()).then(|| format!("`{}` does not exist", path.value))
            }
            Check::Absent(path) => {
                (std::fs::symlink_metadata(dir.join(&path.value)).is_ok()).then(|| format!("`{}` exists", path.value))
            }
            Check::Changed(globs) => match git.changed_paths_since(start) {
                Ok(paths) if paths.iter().any(|path| globs.iter().any(|glob| glob.value.is_match(path))) => None,
                Ok(_) => {
                    let names: Vec<String> = globs.iter().map(|g| format!("`{}`", g.value.pattern)).collect();
                    Some(format!("no path matching {} changed since the start", names.join(", ")))
                }
                Err(error) => Some(format!("cannot list the changed paths: {error}")),
            },
            Check::Committed => match (git.is_clean(), git.head()) {
                (Ok(true), Ok(head)) if head != start => None,
                (Ok(clean), Ok(head)) => Some(
                    match (clean, head != start) {
                        (false, false) => "the run made no commit and left uncommitted changes",
                        (false, true) => "uncommitted changes are left in the work tree",
                        _ => "the run made no commit",
                    }
                    .to_string(),
                ),
                (Err(error), _) | (_, Err(error)) => Some(format!("cannot read the repository: {error}")),
            },
        };
        result.passed = failure.is_none();
        result.reason = failure;
        result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        results.push(result);
    }
    results
}

/// The counts of these results as a baseline.
pub fn baseline_from(results: &[CheckResult]) -> Baseline {
    let len = results.iter().map(|r| r.index + 1).max().unwrap_or(0);
    let mut baseline = Baseline { tests: vec![None; len], counts: vec![None; len] };
    for result in results {
        baseline.tests[result.index] = result.tests;
        baseline.counts[result.index] = result.count;
    }
    baseline
}

/// A stable signature of a failure, for the `stuck` rule: which checks failed, with their
/// reasons and output tails normalised (timestamps, durations, hex addresses, PIDs, temp paths
/// and line:column numbers removed), hashed. `none` when every check held.
pub fn failure_signature(results: &[CheckResult]) -> String {
    let failed: Vec<&CheckResult> = results.iter().filter(|r| !r.passed).collect();
    if failed.is_empty() {
        return "none".to_string();
    }
    let mut hash = Fnv::new();
    for result in &failed {
        hash.write(result.index.to_string().as_bytes());
        hash.write(result.statement.as_bytes());
        hash.write(normalise(result.reason.as_deref().unwrap_or("")).as_bytes());
        // The last lines, as a set: a byte-bounded tail starts at a line that moves with the
        // length of what came before, and parallel test runners print in varying order.
        let normalised = normalise(&result.output_tail);
        let mut lines: Vec<&str> = normalised.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let mut lines = lines.split_off(lines.len().saturating_sub(SIGNATURE_LINES));
        lines.sort_unstable();
        for line in lines {
            hash.write(line.as_bytes());
            hash.write(b"\n");
        }
        hash.write(b"\0");
    }
    let indices: Vec<String> = failed.iter().map(|r| r.index.to_string()).collect();
    format!("{}:{:016x}", indices.join(","), hash.finish())
}

/// The number of last output lines in a failure signature.
const SIGNATURE_LINES: usize = 30;

/// FNV-1a: stable across builds and platforms, unlike `DefaultHasher`, so a signature in the
/// journal still compares after `night resume` with another binary.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Replace what changes from run to run of the same failure with placeholders.
fn normalise(text: &str) -> String {
    static RULES: LazyLock<Vec<(regex::Regex, &'static str)>> = LazyLock::new(|| {
        [
            // Dates and times: 2024-05-01T12:00:00.123Z, 2024-05-01 12:00, 12:00:01.5
            (r"\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?", "<time>"),
            (r"\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b", "<time>"),
            // Temp paths (before durations and numbers eat their digits).
            (r"(/private)?/(tmp|var/folders|var/tmp)/[^\s:'\x22)\]]*", "<tmp>"),
            (r"\.tmp[A-Za-z0-9]{4,}", "<tmp>"),
            // Addresses and long hex ids (hashes, object ids).
            (r"0x[0-9a-fA-F]+", "<hex>"),
            (r"\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b", "<hex?>"),
            // Durations: 1m2.5s, 0.53s, 12ms, 3 seconds, (4 ms).
            (r"\b(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|us|ms|s)\b", "<duration>"),
            (r"\b\d+(\.\d+)?\s*(ns|µs|us|ms|sec|secs|seconds?|mins?|minutes?|hours?)\b", "<duration>"),
            // Process ids: pid 123, pid=123, process 123, sh[123].
            (r"(?i)\b(pid|process|thread)\b[\s=:#]*\d+", "$1 <n>"),
            (r"\[\d{2,}\]", "[<n>]"),
            // Line and column numbers: file.rs:12:5, file.py:12, line 12, column 4.
            (r":\d+(:\d+)?\b", ":<line>"),
            (r"(?i)\b(line|col|column)\s+\d+", "$1 <n>"),
        ]
        .into_iter()
        .filter_map(|(pattern, replacement)| regex::Regex::new(pattern).ok().map(|re| (re, replacement)))
        .collect()
    });
    let mut text = text.to_string();
    for (regex, replacement) in RULES.iter() {
        if regex.is_match(&text) {
            text = regex
                .replace_all(&text, |caps: &regex::Captures<'_>| {
                    if *replacement == "<hex?>" {
                        // Only long runs are ids; short ones are words like `add` or `cafe1`.
                        let found = &caps[0];
                        if found.len() >= 8 { "<hex>".to_string() } else { found.to_string() }
                    } else {
                        let mut out = String::new();
                        caps.expand(replacement, &mut out);
                        out
                    }
                })
                .into_owned();
        }
    }
    text
}

fn within_or_default(within: Option<&crate::source::Spanned<Duration>>) -> Duration {
    within.map_or(DEFAULT_WITHIN, |w| w.value)
}

/// Why a `tests` check failed, filling in its counts.
fn tests_failure(
    output: &Output,
    format: &TestFormat,
    dir: &Path,
    within: Duration,
    baseline: Option<TestCounts>,
    result: &mut CheckResult,
) -> Option<String> {
    if let Some(failure) = output.unfinished(within) {
        // A killed run's counts are partial; they would mislead the baseline and rollback.
        return Some(failure);
    }
    let text = output.combined.text();
    match count_tests(format, &text, dir) {
        Err(error) if output.exit_code == Some(0) => Some(error.to_string()),
        Err(error) => Some(format!("{}: {error}", output.exit_text())),
        Ok(counts) => {
            result.tests = Some(counts);
            if counts.failed > 0 {
                let noun = if counts.failed == 1 { "test" } else { "tests" };
                let base = baseline.map(|b| format!(" (baseline {})", b.failed)).unwrap_or_default();
                Some(format!("{} {noun} failed{base}", counts.failed))
            } else if counts.passed == 0 {
                Some("no test passed".to_string())
            } else if output.exit_code != Some(0) {
                // A test binary that crashes prints no summary, so the others' counts look clean.
                Some(format!("{} although no failed test was counted", output.exit_text()))
            } else {
                None
            }
        }
    }
}

/// The statement as the runbook would write it, on one line, shortened.
fn statement(check: &Check) -> String {
    let quote = |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    let within = |within: &Option<crate::source::Spanned<Duration>>| {
        within.as_ref().map(|w| format!(" within {}", format_duration(w.value))).unwrap_or_default()
    };
    let text = match check {
        Check::Run { command, matches, within: w } => format!(
            "run {}{}{}",
            quote(&command.value),
            matches.as_ref().map(|m| format!(" matches {}", m.value)).unwrap_or_default(),
            within(w)
        ),
        Check::Tests { command, format, within: w, .. } => {
            let format = match &format.value {
                TestFormat::Auto => String::new(),
                TestFormat::Junit { glob } => format!(" format junit {}", quote(glob)),
                other => format!(" format {}", other.name()),
            };
            format!("tests {}{format}{}", quote(&command.value), within(w))
        }
        Check::Count { regex, command, comparison, target } => {
            format!("count {} in {} {} {}", regex.value, quote(&command.value), comparison.value, target.value)
        }
        Check::Exists(path) => format!("exists {}", quote(&path.value)),
        Check::Absent(path) => format!("absent {}", quote(&path.value)),
        Check::Changed(globs) => {
            let globs: Vec<String> = globs.iter().map(|g| quote(&g.value.pattern)).collect();
            format!("changed {}", globs.join(" "))
        }
        Check::Committed => "committed".to_string(),
    };
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() > STATEMENT_CHARS {
        let mut short: String = folded.chars().take(STATEMENT_CHARS - 1).collect();
        short.push('…');
        short
    } else {
        folded
    }
}

// ------------------------------------------------------------------ commands ----

/// How commands are started.
struct Runner<'a> {
    dir: &'a Path,
    env: &'a [(String, String)],
    env_remove: &'a [String],
    /// The most output held per capture (a parameter so tests can make it small).
    limit: usize,
    /// Where to keep the running command's process group (see [`RUNNING_CHECK`]).
    record: Option<&'a Path>,
    /// The sandbox each command runs in (`deny irreversible`).
    sandbox: Option<&'a crate::sandbox::checks::ChecksSandbox>,
}

/// What a command did.
struct Output {
    exit_code: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    spawn_error: Option<String>,
    /// stdout and stderr, interleaved line by line.
    combined: Capture,
    /// stdout alone, when a `matches` needs it.
    stdout: Option<Capture>,
}

impl Output {
    /// Fill in the result's exit, timeout and tail.
    fn record(&self, result: &mut CheckResult) {
        result.exit_code = self.exit_code;
        result.timed_out = self.timed_out;
        result.output_tail = self.combined.tail(TAIL_BYTES);
    }

    /// Why the command did not run to its own end: it could not start, timed out or was killed.
    fn unfinished(&self, within: Duration) -> Option<String> {
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
    fn nonzero_exit(&self) -> Option<String> {
        (self.exit_code != Some(0)).then(|| self.exit_text())
    }

    fn exit_text(&self) -> String {
        match (self.exit_code, self.signal) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "no exit status".to_string(),
        }
    }
}

impl Runner<'_> {
    /// Run `sh -c command` in its own process group, with stdin closed, for at most `within`.
    async fn run(&self, command: &str, within: Duration, keep_stdout: bool, counter: Option<&regex::Regex>) -> Output {
        let mut collected = Collected {
            combined: Capture::new(self.limit, counter.cloned()),
            stdout: keep_stdout.then(|| Capture::new(self.limit, None)),
            pending: [Vec::new(), Vec::new()],
        };

        let mut shell = tokio::process::Command::new("sh");
        shell
            .arg("-c")
            .arg(command)
            .current_dir(self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        for name in self.env_remove {
            shell.env_remove(name);
        }
        for (name, value) in self.env {
            shell.env(name, value);
        }
        let mut confined = match self.sandbox.map(|sandbox| sandbox.confine(&mut shell)).transpose() {
            Ok(confined) => confined,
            Err(error) => return collected.finish(Some(format!("cannot set up the sandbox: {error}")), None, false),
        };
        let mut child = match shell.spawn() {
            Ok(child) => child,
            Err(error) => {
                let step = confined.as_ref().and_then(|c| c.failed_step()).map(|s| format!("in the sandbox: {s}: ")).unwrap_or_default();
                return collected.finish(Some(format!("{step}{error}")), None, false);
            }
        };
        if let (Some(confined), Some(pid)) = (confined.as_mut(), child.id()) {
            confined.started(pid);
        }
        let group = child.id().and_then(|id| i32::try_from(id).ok()).map(Pid::from_raw);
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        if let (Some(record), Some(pid)) = (self.record, child.id()) {
            if let Ok(text) = serde_json::to_string(&crate::run::resume::agent_process(0, 0, pid)) {
                let _ = std::fs::write(record, text);
            }
        }

        let deadline = tokio::time::Instant::now() + within;
        let mut status: Option<ExitStatus> = None;
        let mut exited = false;
        let mut drained = false;
        let mut timed_out = false;
        {
            let pump = pump(&mut collected, stdout, stderr);
            tokio::pin!(pump);
            let timeout = tokio::time::sleep_until(deadline);
            tokio::pin!(timeout);
            let linger = tokio::time::sleep_until(deadline);
            tokio::pin!(linger);
            while !(drained && exited) {
                tokio::select! {
                    () = &mut pump, if !drained => drained = true,
                    waited = child.wait(), if !exited => {
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
        if let Some(group) = group {
            if timed_out || !drained || group_alive(group) {
                let reaped = terminate_group(&mut child, group, status).await;
                status = status.or(reaped);
            }
        }
        collected.flush();
        if let Some(record) = self.record {
            let _ = std::fs::remove_file(record);
        }

        collected.finish(None, if timed_out { None } else { status }, timed_out)
    }
}

/// SIGTERM to the group, SIGKILL after the grace period if any member is still alive.
/// Returns the shell's status if it was not reaped before.
async fn terminate_group(child: &mut tokio::process::Child, group: Pid, mut status: Option<ExitStatus>) -> Option<ExitStatus> {
    let _ = killpg(group, Signal::SIGTERM);
    let give_up = Instant::now() + KILL_GRACE;
    loop {
        if status.is_none() {
            status = child.try_wait().ok().flatten();
        }
        if status.is_some() && !group_alive(group) {
            return status;
        }
        if Instant::now() >= give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = killpg(group, Signal::SIGKILL);
    if status.is_none() {
        status = child.wait().await.ok();
    }
    // SIGKILL is delivered asynchronously: wait (briefly) until the group is really gone, so
    // that nothing of the check is running when its result is returned.
    let give_up = Instant::now() + Duration::from_secs(2);
    while group_alive(group) && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    status
}

/// Whether a process group has a member that is not a zombie. Zombies count as gone: an
/// orphan's parent may be an init that never reaps (containers), and they cannot run anyway.
fn group_alive(group: Pid) -> bool {
    #[cfg(target_os = "linux")]
    if let Ok(entries) = std::fs::read_dir("/proc") {
        let wanted = group.as_raw().to_string();
        return entries.flatten().any(|entry| {
            let is_pid = entry.file_name().to_str().is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()));
            if !is_pid {
                return false;
            }
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { return false };
            // After the command name in parentheses: state, ppid, pgrp.
            let Some((_, rest)) = stat.rsplit_once(')') else { return false };
            let mut fields = rest.split_whitespace();
            let state = fields.next().unwrap_or("Z");
            let pgrp = fields.nth(1).unwrap_or("");
            pgrp == wanted && !matches!(state, "Z" | "X" | "x")
        });
    }
    killpg(group, None).is_ok()
}

/// Output being collected: both streams interleaved by whole lines, and stdout alone if needed.
struct Collected {
    combined: Capture,
    stdout: Option<Capture>,
    /// Each stream's unfinished last line.
    pending: [Vec<u8>; 2],
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

    fn push(&mut self, stream: usize, bytes: &[u8]) {
        let mut pending = std::mem::take(&mut self.pending[stream]);
        pending.extend_from_slice(bytes);
        let upto = match pending.iter().rposition(|&b| b == b'\n') {
            Some(newline) => newline + 1,
            None if pending.len() >= LINE_MAX => pending.len(),
            None => {
                self.pending[stream] = pending;
                return;
            }
        };
        self.emit(stream, &pending[..upto]);
        pending.drain(..upto);
        self.pending[stream] = pending;
    }

    fn emit(&mut self, stream: usize, bytes: &[u8]) {
        self.combined.push(bytes);
        if stream == 0 {
            if let Some(stdout) = &mut self.stdout {
                stdout.push(bytes);
            }
        }
    }

    /// Pass on unfinished last lines.
    fn flush(&mut self) {
        for stream in 0..2 {
            let pending = std::mem::take(&mut self.pending[stream]);
            if !pending.is_empty() {
                self.emit(stream, &pending);
            }
        }
    }
}

/// Read stdout and stderr to their end.
async fn pump(collected: &mut Collected, stdout: Option<impl AsyncRead + Unpin>, stderr: Option<impl AsyncRead + Unpin>) {
    let (mut out_buffer, mut err_buffer) = (vec![0u8; READ_CHUNK], vec![0u8; READ_CHUNK]);
    let (mut out_open, mut err_open) = (stdout.is_some(), stderr.is_some());
    let (mut stdout, mut stderr) = (stdout, stderr);
    while out_open || err_open {
        tokio::select! {
            read = async { match stdout.as_mut() { Some(s) => s.read(&mut out_buffer).await, None => Ok(0) } }, if out_open => match read {
                Ok(n) if n > 0 => collected.push(0, &out_buffer[..n]),
                _ => out_open = false,
            },
            read = async { match stderr.as_mut() { Some(s) => s.read(&mut err_buffer).await, None => Ok(0) } }, if err_open => match read {
                Ok(n) if n > 0 => collected.push(1, &err_buffer[..n]),
                _ => err_open = false,
            },
        }
    }
}

/// Bounded output: the tail beyond `limit` is kept; matches of `counter` in what is dropped are
/// counted as it goes.
struct Capture {
    buffer: Vec<u8>,
    limit: usize,
    dropped: u64,
    counter: Option<regex::Regex>,
    dropped_matches: u64,
}

impl Capture {
    fn new(limit: usize, counter: Option<regex::Regex>) -> Self {
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
    fn text(&self) -> String {
        strip_ansi(&String::from_utf8_lossy(&self.buffer))
    }

    /// Matches of `regex` in everything the command printed.
    fn matches(&self, regex: &regex::Regex) -> u64 {
        self.dropped_matches + count_matches(regex, &self.buffer)
    }

    /// The last ≤ `bytes` of the output as text, starting at a line when it was cut.
    fn tail(&self, bytes: usize) -> String {
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
fn strip_ansi(text: &str) -> String {
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

#[cfg(test)]
mod tests;
