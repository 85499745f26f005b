//! The run's journal: one JSON event a line, appended and flushed to disk as it happens.
//! It is enough to write the report and to resume; secrets never reach it.

use crate::ast::{OnViolation, RollbackThen, RollbackTo};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The version of the journal's event schema, written on every line as `v`.
pub const SCHEMA_VERSION: u32 = 1;

/// What replaces a secret wherever night writes text.
pub const REDACTED: &str = "[redacted]";

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Schema version.
    pub v: u32,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// Everything the journal records. The tag is the `event` field.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The run started: where, on what, with which limits.
    RunStart(RunStart),
    /// Whether night keeps the machine awake, and how.
    KeepAwake {
        /// A way to inhibit sleep was found and is held.
        available: bool,
        /// `systemd-inhibit`, `caffeinate`, or none.
        method: Option<String>,
        /// Why it is not available.
        detail: Option<String>,
    },
    /// Something the reader should know that is not an event of its own.
    Note {
        /// A short key, e.g. `deny-not-enforced`, `quota-wait`, `usage-not-reported`.
        topic: String,
        /// One sentence.
        message: String,
    },
    /// The success checks on the start commit.
    Baseline {
        /// Every check's result.
        checks: Vec<CheckRecord>,
    },
    /// An attempt began.
    AttemptStart {
        /// 1-based.
        attempt: u64,
        /// The most attempts (`None`: until the timeout).
        of: Option<u64>,
    },
    /// An agent session began.
    SessionStart {
        /// The attempt.
        attempt: u64,
        /// 1-based within the attempt.
        session: u64,
        /// The agent's process id (its process group id too).
        pid: Option<u32>,
        /// Where the prompt is.
        prompt_file: String,
        /// Why this session's prompt differs from the task: `task`, `feedback`, `continue`.
        prompt_kind: String,
    },
    /// An agent session ended.
    SessionEnd {
        /// The attempt.
        attempt: u64,
        /// The session.
        session: u64,
        /// `exited`, `session`, `idle`, `silence`, `tool-loop`, `timeout`, `tokens`, `cost`, `quota`, `interrupted`, `spawn-failed`, `log-failed`.
        reason: String,
        /// The agent's exit status, when it exited by itself.
        exit_code: Option<i32>,
        /// The signal that ended it, if any.
        signal: Option<i32>,
        /// How long it ran.
        duration_ms: u64,
        /// How much it printed.
        output_bytes: u64,
        /// Whether night had to SIGKILL the process group after the grace period.
        killed: bool,
        /// How many times a change in the git folder woke the supervisor to read the run
        /// branch's tip during the session: about one a commit. Absent from journals written
        /// before night counted them, and from sessions night did not watch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wakeups: Option<u64>,
    },
    /// The run branch gained a commit.
    Commit(CommitRecord),
    /// Usage reported by the agent.
    Usage {
        /// The attempt.
        attempt: u64,
        /// Tokens in this report.
        tokens: u64,
        /// Cost in this report, US dollars.
        cost_usd: f64,
        /// Tokens so far in the run.
        total_tokens: u64,
        /// Cost so far in the run.
        total_cost_usd: f64,
    },
    /// A limit fired.
    Limit {
        /// `timeout`, `session`, `attempts`, `stuck`, `idle`, `silence`, `tokens`, `cost`, `tool-loop`, `quota`.
        limit: String,
        /// The limit as written, e.g. `45m`.
        value: String,
        /// The attempt during which it fired.
        attempt: u64,
        /// What it ends: `session`, `attempt` or `run`.
        ends: String,
    },
    /// Leftover work committed at a session limit or at the end of the run.
    Checkpoint {
        /// The attempt.
        attempt: u64,
        /// The commit, or none when there was nothing to commit.
        commit: Option<String>,
    },
    /// An attempt's whole state kept under a ref.
    AttemptKept {
        /// The attempt.
        attempt: u64,
        /// `refs/night/<run-id>/attempt-<n>`.
        #[serde(rename = "ref")]
        refname: String,
        /// The snapshot commit.
        commit: String,
    },
    /// The OS sandbox of the agent's sessions (once, before the first session).
    Sandbox {
        /// `auto`, `on` or `off`.
        mode: String,
        /// The layers in force, e.g. `landlock-v7`, `mounts`, `netns`, `proxy`.
        layers: Vec<String>,
        /// What is not enforced and why.
        gaps: Vec<String>,
        /// Folders and files the agent may write.
        writable: Vec<String>,
        /// The agent's network, in words.
        network: String,
        /// What `deny irreversible` kept from the agent: credential stores, then the withheld variables' names.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hidden: Vec<String>,
    },
    /// What the agent tried in a session that the sandbox refused or night undid.
    AgentTried {
        /// The attempt.
        attempt: u64,
        /// The session.
        session: u64,
        /// One phrase each.
        what: Vec<String>,
        /// Destinations night's proxy let through, with counts.
        reached: Vec<String>,
    },
    /// Paths changed outside `write`.
    Violation {
        /// The attempt.
        attempt: u64,
        /// Repository-relative paths.
        paths: Vec<String>,
        /// `revert` or `stop`.
        action: OnViolation,
        /// The commit that restored the paths, when one was needed.
        revert_commit: Option<String>,
    },
    /// The success checks after an attempt.
    Checks {
        /// The attempt.
        attempt: u64,
        /// Every check held.
        passed: bool,
        /// Every check's result.
        checks: Vec<CheckRecord>,
        /// The failure signature (`None` when every check held).
        signature: Option<String>,
    },
    /// An attempt ended.
    AttemptEnd {
        /// The attempt.
        attempt: u64,
        /// It succeeded.
        passed: bool,
        /// Why the attempt ended: `exited`, `idle`, `silence`, `tool-loop`, `violation`, …
        reason: String,
        /// The failure signature compared by `stuck`.
        signature: Option<String>,
        /// The run branch's head after the attempt.
        head: String,
    },
    /// Work rolled back.
    Rollback {
        /// The attempt whose results triggered it.
        attempt: u64,
        /// The condition as written, e.g. `failing > baseline`.
        condition: String,
        /// The measured value and what it was compared with.
        measured: String,
        /// `start` or `last-green`.
        to: RollbackTo,
        /// The commit the run branch was reset to.
        target: String,
        /// Where the rolled-back work is kept.
        #[serde(rename = "kept")]
        kept_ref: String,
        /// `stop` or `retry`.
        then: RollbackThen,
    },
    /// A notification was delivered or gave up.
    Notification {
        /// The notifier, secrets removed.
        notifier: String,
        /// The notified event.
        on: String,
        /// Delivered.
        delivered: bool,
        /// How many tries.
        tries: u32,
        /// The last error.
        error: Option<String>,
    },
    /// The run ended.
    RunEnd(RunEnd),
    /// The agent's process group, for `night resume` to find and end it after the supervisor
    /// died: the pid alone could have been reused, so its start time and the boot are kept too.
    AgentProcess(AgentProcess),
    /// The supervisor is alive; written every minute so that a resumed run counts the time
    /// the dead supervisor spent up to its last heartbeat.
    Heartbeat {
        /// Supervised time so far in the run, across resumes.
        elapsed_ms: u64,
    },
    /// `night resume` took over a run whose supervisor died.
    Resume(Resume),
}

/// The `agent-process` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentProcess {
    /// The attempt.
    pub attempt: u64,
    /// The session.
    pub session: u64,
    /// The leader's process id.
    pub pid: u32,
    /// Its process group id (the same as `pid`: night starts the agent in a group of its own).
    pub pgid: u32,
    /// The leader's start time in clock ticks after boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: Option<u64>,
    /// `/proc/sys/kernel/random/boot_id`: after a reboot no process of the run is left.
    pub boot_id: Option<String>,
}

/// The `resume` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resume {
    /// The new supervisor's process id.
    pub pid: u32,
    /// The dead supervisor's process id.
    pub previous_pid: Option<u32>,
    /// Supervised time counted before this resume.
    pub elapsed_ms: u64,
    /// Attempts started before this resume.
    pub attempts: u64,
    /// The attempt that goes on (the one the supervisor died in), if any.
    pub continues_attempt: Option<u64>,
    /// What was left of the dead supervisor's agent, and what night did about it.
    pub leftover: String,
}

/// The `run-start` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunStart {
    /// The journal schema version.
    pub schema: u32,
    /// night's version.
    pub night_version: String,
    /// `<name>-<YYYYMMDD-HHMMSS>`.
    pub run_id: String,
    /// The run name.
    pub name: String,
    /// The runbook's path.
    pub runbook: String,
    /// The repository.
    pub repo: String,
    /// Where the agent works (the repository, or the run's worktree).
    pub work_dir: String,
    /// The run branch.
    pub branch: String,
    /// The branch the checkout was on.
    pub original_branch: Option<String>,
    /// The commit the run starts from.
    pub start_commit: String,
    /// Whether the run works in its own worktree.
    pub worktree: bool,
    /// The agent kind.
    pub agent: String,
    /// The agent command, for `agent command`.
    pub agent_command: Option<String>,
    /// The limits, as written.
    pub limits: Vec<(String, String)>,
    /// The success checks, as written.
    pub checks: Vec<String>,
    /// Waived checklist rules and why.
    pub waivers: Vec<(String, String)>,
    /// night's process id.
    pub pid: u32,
}

/// The `run-end` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunEnd {
    /// `success`, `failed`, …
    pub outcome: String,
    /// Why, in one phrase.
    pub reason: String,
    /// The exit status.
    pub exit_code: u8,
    /// Attempts made.
    pub attempts: u64,
    /// The run branch's head at the end.
    pub head: String,
    /// The commits on the run branch since the start, oldest first.
    pub commits: Vec<CommitRecord>,
    /// The diffstat from the start commit to `head`.
    pub diffstat: DiffRecord,
    /// How long the run lasted.
    pub duration_ms: u64,
    /// Tokens used.
    pub tokens: u64,
    /// Cost, US dollars.
    pub cost_usd: f64,
}

/// One commit on the run branch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommitRecord {
    /// The attempt during which it appeared (0: not known).
    pub attempt: u64,
    /// Full id.
    pub id: String,
    /// Short id.
    pub short: String,
    /// First line of the message.
    pub summary: String,
    /// Files changed.
    pub files: usize,
    /// Lines added.
    pub insertions: usize,
    /// Lines removed.
    pub deletions: usize,
}

/// A diffstat.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DiffRecord {
    /// Files changed.
    pub files: usize,
    /// Lines added.
    pub insertions: usize,
    /// Lines removed.
    pub deletions: usize,
    /// Per file: path, added, removed.
    pub per_file: Vec<(String, usize, usize)>,
}

/// One success check's result, as journaled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckRecord {
    /// Position in `success`.
    pub index: usize,
    /// The statement as written, e.g. `tests "npm test"`.
    pub statement: String,
    /// It held.
    pub passed: bool,
    /// Counted tests, for `tests`.
    pub tests: Option<TestCountsRecord>,
    /// The count, for `count`.
    pub count: Option<u64>,
    /// The command's exit status.
    pub exit_code: Option<i32>,
    /// The command ran past `within`.
    pub timed_out: bool,
    /// Why it failed, in one phrase.
    pub reason: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
    /// The end of its output, bounded.
    pub output_tail: String,
}

/// Passed, failed and skipped tests.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TestCountsRecord {
    /// Passed.
    pub passed: u64,
    /// Failed.
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
}

/// An append-only journal file, shareable between the supervisor and notification tasks.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Mutex<Inner>>,
    path: PathBuf,
}

struct Inner {
    file: File,
    secrets: Vec<String>,
    failed: bool,
}

impl Journal {
    /// Create (or append to) the journal at `path`.
    pub fn open(path: &Path, secrets: Vec<String>) -> io::Result<Self> {
        drop_torn_tail(path)?;
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let inner = Inner { file, secrets: usable_secrets(secrets), failed: false };
        Ok(Self { inner: Arc::new(Mutex::new(inner)), path: path.to_path_buf() })
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Also redact these values from now on.
    pub fn add_secrets(&self, secrets: Vec<String>) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.secrets.extend(secrets);
            let all = std::mem::take(&mut inner.secrets);
            inner.secrets = usable_secrets(all);
        }
    }

    /// The secrets being redacted.
    pub fn secrets(&self) -> Vec<String> {
        self.inner.lock().map(|inner| inner.secrets.clone()).unwrap_or_default()
    }

    /// Append one event, stamped now, and flush it to disk. A journal that cannot be written
    /// does not stop the run: the first failure is printed once, and [`Journal::healthy`] tells.
    pub fn record(&self, event: Event) {
        let entry = Entry { v: SCHEMA_VERSION, at: now_rfc3339(), event };
        let Ok(mut inner) = self.inner.lock() else { return };
        let line = match serde_json::to_value(&entry) {
            Ok(mut value) => {
                redact_value(&mut value, &inner.secrets);
                value.to_string()
            }
            Err(e) => {
                serde_json::json!({"v": SCHEMA_VERSION, "at": entry.at, "event": "note", "topic": "journal", "message": format!("cannot encode an event: {e}")}).to_string()
            }
        };
        // One write of the whole line and its newline: a kill can tear it only at the end of
        // the file, where readers skip it and `open` cuts it.
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        let length = inner.file.metadata().map(|m| m.len());
        let written = inner.file.write_all(&bytes).and_then(|()| inner.file.flush()).and_then(|()| inner.file.sync_data());
        if let Err(e) = written {
            // A write cut short (a full disk) must not leave half a line for the next one to
            // be glued to: cut the file back to where the line began.
            if let Ok(length) = length {
                let _ = inner.file.set_len(length);
            }
            if !inner.failed {
                eprintln!("night: cannot write the journal {}: {e}", self.path.display());
            }
            inner.failed = true;
        }
    }

    /// False once a write failed.
    pub fn healthy(&self) -> bool {
        self.inner.lock().is_ok_and(|inner| !inner.failed)
    }
}

/// Read every well-formed entry of a journal; a torn last line (a crash mid-write) is skipped,
/// even when it was cut inside a UTF-8 character, and so is any line of an unknown event.
pub fn read(path: &Path) -> io::Result<Vec<Entry>> {
    let mut reader = io::BufReader::new(File::open(path)?);
    let mut entries = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bytes, not `lines()`: a line torn mid-character is not UTF-8 and must not fail the read.
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if let Ok(entry) = serde_json::from_slice::<Entry>(&line) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// Cut a torn last line (the supervisor was killed mid-write) before appending to a journal
/// again, so that the next event starts on a line of its own.
fn drop_torn_tail(path: &Path) -> io::Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    OpenOptions::new().write(true).open(path)?.set_len(keep as u64)
}

/// The current time, RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Replace every secret in `text`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

fn redact_value(value: &mut Value, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    match value {
        Value::String(text) if secrets.iter().any(|s| text.contains(s.as_str())) => *text = redact(text, secrets),
        Value::Array(items) => items.iter_mut().for_each(|item| redact_value(item, secrets)),
        Value::Object(map) => map.values_mut().for_each(|item| redact_value(item, secrets)),
        _ => {}
    }
}

/// Longest first, so that a secret containing another is replaced whole; empty values dropped.
fn usable_secrets(mut secrets: Vec<String>) -> Vec<String> {
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_versioned_tagged_and_redacted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.jsonl");
        let journal = Journal::open(&path, vec!["hunter2-secret".into()]).expect("open");
        journal.record(Event::Note { topic: "t".into(), message: "token hunter2-secret here".into() });
        journal.record(Event::AttemptStart { attempt: 1, of: Some(3) });
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("hunter2-secret"), "{text}");
        let first: Value = serde_json::from_str(text.lines().next().expect("a line")).expect("json");
        assert_eq!(first["v"], 1);
        assert_eq!(first["event"], "note");
        assert_eq!(first["message"], "token [redacted] here");
        let entries = read(&path).expect("read back");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].event, Event::AttemptStart { attempt: 1, of: Some(3) });
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.jsonl");
        let journal = Journal::open(&path, Vec::new()).expect("open");
        journal.record(Event::AttemptStart { attempt: 1, of: None });
        let mut file = OpenOptions::new().append(true).open(&path).expect("append");
        write!(file, "{{\"v\":1,\"at\":\"x\",\"event\":\"attem").expect("write");
        assert_eq!(read(&path).expect("read").len(), 1);
    }

    #[test]
    fn a_line_torn_inside_a_character_is_skipped_and_cut_before_appending() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("journal.jsonl");
        let journal = Journal::open(&path, Vec::new()).expect("open");
        journal.record(Event::AttemptStart { attempt: 1, of: None });
        drop(journal);
        let mut file = OpenOptions::new().append(true).open(&path).expect("append");
        // "é" is two bytes: the line ends after the first.
        file.write_all(b"{\"v\":1,\"at\":\"x\",\"event\":\"note\",\"topic\":\"\xc3").expect("write");
        drop(file);
        assert_eq!(read(&path).expect("read").len(), 1);
        let journal = Journal::open(&path, Vec::new()).expect("reopen");
        journal.record(Event::AttemptStart { attempt: 2, of: None });
        let entries = read(&path).expect("read");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].event, Event::AttemptStart { attempt: 2, of: None });
        let text = std::fs::read_to_string(&path).expect("every line is whole");
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn a_session_end_written_before_wakeups_were_counted_still_reads() {
        let old = r#"{"v":1,"at":"2025-01-01T00:00:00Z","event":"session-end","attempt":1,"session":1,"reason":"exited","exit_code":0,"signal":null,"duration_ms":5,"output_bytes":0,"killed":false}"#;
        let entry: Entry = serde_json::from_str(old).expect("an old line");
        assert!(matches!(entry.event, Event::SessionEnd { wakeups: None, .. }));
        let new = Event::SessionEnd { attempt: 1, session: 1, reason: "exited".into(), exit_code: Some(0), signal: None, duration_ms: 5, output_bytes: 0, killed: false, wakeups: Some(3) };
        let line = serde_json::to_value(&new).expect("json");
        assert_eq!(line["wakeups"], 3);
        assert_eq!(serde_json::from_value::<Event>(line).expect("back"), new);
        let unwatched = serde_json::to_value(Event::SessionEnd { attempt: 1, session: 1, reason: "exited".into(), exit_code: Some(0), signal: None, duration_ms: 5, output_bytes: 0, killed: false, wakeups: None }).expect("json");
        assert!(unwatched.get("wakeups").is_none(), "no field when the session was not watched: {unwatched}");
    }
}
