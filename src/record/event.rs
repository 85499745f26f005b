//! What the journal records: one [`Entry`] a line, `{"v":1,"at":…,"event":"<name>",…}`
//! (docs/run.md, "The journal"). Every field with a fixed vocabulary is an enum, every time a
//! `DateTime<Utc>`; they serialise to the very strings journals have always held, so old run
//! folders read as they are.

use crate::ast::{Event as NotifyEvent, OnViolation, RollbackThen, RollbackTo, Sandbox};
use crate::record::Outcome;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The version of the journal's event schema, written on every line as `v`.
pub const SCHEMA_VERSION: u32 = 1;

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// Schema version.
    pub v: u32,
    /// When, UTC, written to the second.
    #[serde(with = "seconds")]
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

impl Entry {
    /// `event`, stamped now.
    pub fn now(event: Event) -> Self {
        Entry { v: SCHEMA_VERSION, at: Utc::now(), event }
    }
}

/// RFC 3339 in UTC to the second (`2025-01-01T00:00:00Z`), as every journal has it; any RFC
/// 3339 time is read.
pub mod seconds {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// `at` as written in the journal.
    pub fn text(at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// Serialise.
    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&text(at))
    }

    /// Deserialise.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text).map(|at| at.with_timezone(&Utc)).map_err(|e| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time: {e}")))
    }
}

/// The word a value of the journal's vocabulary is written as (`last-green`, `revert`, `on` …).
pub fn word(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        _ => String::new(),
    }
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
        #[serde(rename = "checks")]
        results: Vec<SuccessRecord>,
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
        /// Why this session's prompt differs from the task.
        prompt_kind: PromptKind,
    },
    /// An agent session ended.
    SessionEnd {
        /// The attempt.
        attempt: u64,
        /// The session.
        session: u64,
        /// Why it ended.
        reason: SessionEndReason,
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
        /// Which.
        limit: Limit,
        /// The limit as written, e.g. `45m`.
        value: String,
        /// The attempt during which it fired.
        attempt: u64,
        /// What it ends.
        ends: Ends,
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
        mode: Sandbox,
        /// The layers in force, e.g. `landlock-v7`, `mounts`, `netns`, `proxy`.
        layers: Vec<String>,
        /// What is not enforced and why.
        gaps: Vec<String>,
        /// Folders and files the agent may write.
        writable: Vec<String>,
        /// The agent's network, in words.
        network: String,
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
    /// The success checks after an attempt: what night verified.
    #[serde(rename = "checks")]
    Verified {
        /// The attempt.
        attempt: u64,
        /// Every check held.
        passed: bool,
        /// Every check's result.
        #[serde(rename = "checks")]
        results: Vec<SuccessRecord>,
        /// The failure signature (`None` when every check held).
        signature: Option<String>,
    },
    /// An attempt ended.
    AttemptEnd {
        /// The attempt.
        attempt: u64,
        /// It succeeded.
        passed: bool,
        /// Why the attempt's sessions ended.
        reason: AttemptEndReason,
        /// The failure signature compared by `stuck`.
        signature: Option<String>,
        /// The run branch's head after the attempt.
        head: String,
    },
    /// Work rolled back.
    Rollback(RollbackRecord),
    /// A notification was delivered or gave up.
    Notification {
        /// The notifier, secrets removed.
        notifier: String,
        /// The notified event.
        on: NotifyEvent,
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

impl Event {
    /// The journal's name of the event (its `event` tag).
    pub fn name(&self) -> &'static str {
        match self {
            Event::RunStart(_) => "run-start",
            Event::KeepAwake { .. } => "keep-awake",
            Event::Note { .. } => "note",
            Event::Baseline { .. } => "baseline",
            Event::AttemptStart { .. } => "attempt-start",
            Event::SessionStart { .. } => "session-start",
            Event::SessionEnd { .. } => "session-end",
            Event::Commit(_) => "commit",
            Event::Usage { .. } => "usage",
            Event::Limit { .. } => "limit",
            Event::Checkpoint { .. } => "checkpoint",
            Event::AttemptKept { .. } => "attempt-kept",
            Event::Violation { .. } => "violation",
            Event::Verified { .. } => "checks",
            Event::AttemptEnd { .. } => "attempt-end",
            Event::Rollback(_) => "rollback",
            Event::Notification { .. } => "notification",
            Event::RunEnd(_) => "run-end",
            Event::AgentProcess(_) => "agent-process",
            Event::Heartbeat { .. } => "heartbeat",
            Event::Resume(_) => "resume",
            Event::Sandbox { .. } => "sandbox",
            Event::AgentTried { .. } => "agent-tried",
        }
    }

    /// The attempt the event belongs to, if it belongs to one.
    pub fn attempt(&self) -> Option<u64> {
        match self {
            Event::AttemptStart { attempt, .. }
            | Event::SessionStart { attempt, .. }
            | Event::SessionEnd { attempt, .. }
            | Event::Usage { attempt, .. }
            | Event::Limit { attempt, .. }
            | Event::Checkpoint { attempt, .. }
            | Event::AttemptKept { attempt, .. }
            | Event::Violation { attempt, .. }
            | Event::Verified { attempt, .. }
            | Event::AttemptEnd { attempt, .. }
            | Event::AgentTried { attempt, .. } => Some(*attempt),
            Event::Rollback(rollback) => Some(rollback.attempt),
            Event::AgentProcess(process) => Some(process.attempt),
            Event::Commit(commit) => Some(commit.attempt),
            _ => None,
        }
    }
}

/// Why a session's prompt differs from the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromptKind {
    /// The task as written (the first attempt).
    Task,
    /// The task and what the last attempt got wrong.
    Feedback,
    /// A fresh session inside an attempt: the task and the progress so far.
    Continue,
}

impl PromptKind {
    /// As the journal spells it.
    pub fn name(self) -> &'static str {
        match self {
            PromptKind::Task => "task",
            PromptKind::Feedback => "feedback",
            PromptKind::Continue => "continue",
        }
    }
}

/// A limit of LANGUAGE.md §7, as the journal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// The whole run's wall clock.
    Timeout,
    /// The longest session: checkpoint and go on with a fresh session.
    Session,
    /// The most attempts.
    Attempts,
    /// The same failure too many attempts in a row.
    Stuck,
    /// No new commit for too long.
    Idle,
    /// No output for too long.
    Silence,
    /// The same tool call too many times in a row.
    ToolLoop,
    /// The token budget.
    Tokens,
    /// The cost budget.
    Cost,
    /// The provider's usage limit, with no `quota wait` left.
    Quota,
}

impl Limit {
    /// Every limit.
    pub const ALL: [Limit; 10] = [
        Limit::Timeout,
        Limit::Session,
        Limit::Attempts,
        Limit::Stuck,
        Limit::Idle,
        Limit::Silence,
        Limit::ToolLoop,
        Limit::Tokens,
        Limit::Cost,
        Limit::Quota,
    ];

    /// The limit's name, as in the runbook and the journal.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Timeout => "timeout",
            Limit::Session => "session",
            Limit::Attempts => "attempts",
            Limit::Stuck => "stuck",
            Limit::Idle => "idle",
            Limit::Silence => "silence",
            Limit::ToolLoop => "tool-loop",
            Limit::Tokens => "tokens",
            Limit::Cost => "cost",
            Limit::Quota => "quota",
        }
    }

    /// The limit with this name.
    pub fn from_name(name: &str) -> Option<Limit> {
        Limit::ALL.into_iter().find(|limit| limit.name() == name)
    }

    /// What it ends.
    pub fn ends(self) -> Ends {
        match self {
            Limit::Session => Ends::Session,
            Limit::Idle | Limit::Silence | Limit::ToolLoop => Ends::Attempt,
            Limit::Timeout | Limit::Attempts | Limit::Stuck | Limit::Tokens | Limit::Cost | Limit::Quota => Ends::Run,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a limit ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ends {
    /// The session; the attempt goes on with a fresh one.
    Session,
    /// The attempt; its checks still run.
    Attempt,
    /// The run.
    Run,
}

impl Ends {
    /// As the journal spells it.
    pub fn name(self) -> &'static str {
        match self {
            Ends::Session => "session",
            Ends::Attempt => "attempt",
            Ends::Run => "run",
        }
    }
}

/// Why an agent session ended; journaled as `exited`, a limit's name (`quota` for the
/// provider's usage limit, waited for or not), `interrupted`, `spawn-failed`, `log-failed`
/// or `supervisor-died`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEndReason {
    /// The agent exited by itself.
    Exited,
    /// A limit fired.
    Limit(Limit),
    /// night was told to stop (or the run branch was moved away).
    Interrupted,
    /// The agent could not be started.
    SpawnFailed,
    /// `agent.log` could not be written (a full disk): the agent was stopped.
    LogFailed,
    /// The supervisor died while the session ran (written by `night resume`).
    SupervisorDied,
}

impl SessionEndReason {
    /// As the journal spells it.
    pub fn name(self) -> &'static str {
        match self {
            SessionEndReason::Exited => "exited",
            SessionEndReason::Limit(limit) => limit.name(),
            SessionEndReason::Interrupted => "interrupted",
            SessionEndReason::SpawnFailed => "spawn-failed",
            SessionEndReason::LogFailed => "log-failed",
            SessionEndReason::SupervisorDied => "supervisor-died",
        }
    }

    /// The reason with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "exited" => Some(SessionEndReason::Exited),
            "interrupted" => Some(SessionEndReason::Interrupted),
            "spawn-failed" => Some(SessionEndReason::SpawnFailed),
            "log-failed" => Some(SessionEndReason::LogFailed),
            "supervisor-died" => Some(SessionEndReason::SupervisorDied),
            other => Limit::from_name(other).map(SessionEndReason::Limit),
        }
    }
}

/// Why an attempt's sessions ended; journaled as `exited`, `violation`, `supervisor-died` or
/// the name of the limit that ended the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEndReason {
    /// The agent exited by itself (or night stopped it for the run).
    Exited,
    /// It wrote outside `write`.
    Violation,
    /// The supervisor died during its session and `night resume` judged what it left.
    SupervisorDied,
    /// A limit ended it.
    Limit(Limit),
}

impl AttemptEndReason {
    /// As the journal spells it.
    pub fn name(self) -> &'static str {
        match self {
            AttemptEndReason::Exited => "exited",
            AttemptEndReason::Violation => "violation",
            AttemptEndReason::SupervisorDied => "supervisor-died",
            AttemptEndReason::Limit(limit) => limit.name(),
        }
    }

    /// The reason with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "exited" => Some(AttemptEndReason::Exited),
            "violation" => Some(AttemptEndReason::Violation),
            "supervisor-died" => Some(AttemptEndReason::SupervisorDied),
            other => Limit::from_name(other).map(AttemptEndReason::Limit),
        }
    }
}

/// Serialised as their names, like every other vocabulary of the journal.
macro_rules! named {
    ($type:ident, $what:literal) => {
        impl Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = String::deserialize(deserializer)?;
                $type::from_name(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown {} `{name}`", $what)))
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named!(SessionEndReason, "session end reason");
named!(AttemptEndReason, "attempt end reason");

/// The `rollback` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RollbackRecord {
    /// The attempt whose results triggered it.
    pub attempt: u64,
    /// The condition as written, e.g. `failing > baseline`.
    pub condition: String,
    /// The measured value and what it was compared with.
    pub measured: String,
    /// `start` or `last-green`.
    pub to: RollbackTo,
    /// The commit the run branch was reset to.
    pub target: String,
    /// Where the rolled-back work is kept.
    #[serde(rename = "kept")]
    pub kept_ref: String,
    /// `stop` or `retry`.
    pub then: RollbackThen,
}

impl RollbackRecord {
    /// What happened, in the words of the terminal, the report and the next prompt.
    pub fn what(&self) -> String {
        let short: String = self.target.chars().take(7).collect();
        format!("`{}` held ({}); the run branch was reset to {short} and the work is kept at {}", self.condition, self.measured, self.kept_ref)
    }
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

impl AgentProcess {
    /// The record of a process group whose leader was just started.
    pub fn new(attempt: u64, session: u64, identity: crate::os::group::Identity) -> Self {
        AgentProcess { attempt, session, pid: identity.pgid, pgid: identity.pgid, start_ticks: identity.start_ticks, boot_id: identity.boot_id }
    }

    /// The group it names.
    pub fn identity(&self) -> crate::os::group::Identity {
        crate::os::group::Identity { pgid: self.pgid, start_ticks: self.start_ticks, boot_id: self.boot_id.clone() }
    }
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

impl RunStart {
    /// A limit as written, by its name in the runbook.
    pub fn limit(&self, name: &str) -> Option<&str> {
        self.limits.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The `run-end` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunEnd {
    /// How the run ended.
    pub outcome: Outcome,
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
pub struct SuccessRecord {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_fields_read_and_write_the_strings_journals_hold() {
        let line = r#"{"v":1,"at":"2025-01-01T00:00:05Z","event":"session-end","attempt":1,"session":2,"reason":"tool-loop","exit_code":null,"signal":9,"duration_ms":5,"output_bytes":0,"killed":true}"#;
        let entry: Entry = serde_json::from_str(line).expect("a session end");
        assert!(matches!(entry.event, Event::SessionEnd { reason: SessionEndReason::Limit(Limit::ToolLoop), .. }));
        let back: serde_json::Value = serde_json::to_value(&entry).expect("json");
        assert_eq!(back, serde_json::from_str::<serde_json::Value>(line).expect("json"));
        for name in ["exited", "quota", "supervisor-died", "spawn-failed", "log-failed", "interrupted", "session"] {
            assert_eq!(SessionEndReason::from_name(name).map(SessionEndReason::name), Some(name));
        }
        let limit = r#"{"v":1,"at":"2025-01-01T00:00:05+02:00","event":"limit","limit":"stuck","value":"3","attempt":3,"ends":"run"}"#;
        let entry: Entry = serde_json::from_str(limit).expect("a limit");
        assert_eq!(seconds::text(&entry.at), "2024-12-31T22:00:05Z");
        assert!(serde_json::from_str::<Entry>(&limit.replace("stuck", "sticky")).is_err(), "an unknown limit is no limit");
        assert!(serde_json::from_str::<Entry>(&limit.replace("2025-01-01T00:00:05+02:00", "yesterday")).is_err());
    }
}
