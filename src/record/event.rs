//! What the journal records: one [`Entry`] a line, `{"v":1,"at":…,"event":"<name>",…}`
//! (docs/run.md, "The journal"). Every field with a fixed vocabulary is an enum
//! ([`vocabulary`](crate::record::vocabulary)), every time a `DateTime<Utc>`; they serialise
//! to the very strings journals have always held, so old run folders read as they are. The
//! larger events' fields are in [`payloads`](crate::record::payloads).

use crate::ast::{Event as NotifyEvent, OnViolation, Sandbox};
use crate::record::payloads::*;
use crate::record::vocabulary::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

    #[test]
    fn a_session_end_written_before_wakeups_were_counted_still_reads() {
        let old = r#"{"v":1,"at":"2025-01-01T00:00:00Z","event":"session-end","attempt":1,"session":1,"reason":"exited","exit_code":0,"signal":null,"duration_ms":5,"output_bytes":0,"killed":false}"#;
        let entry: Entry = serde_json::from_str(old).expect("an old line");
        assert!(matches!(entry.event, Event::SessionEnd { wakeups: None, .. }));
        let end = |wakeups| Event::SessionEnd { attempt: 1, session: 1, reason: SessionEndReason::Exited, exit_code: Some(0), signal: None, duration_ms: 5, output_bytes: 0, killed: false, wakeups };
        let line = serde_json::to_value(end(Some(3))).expect("json");
        assert_eq!(line["wakeups"], 3);
        assert_eq!(serde_json::from_value::<Event>(line).expect("back"), end(Some(3)));
        let unwatched = serde_json::to_value(end(None)).expect("json");
        assert!(unwatched.get("wakeups").is_none(), "no field when the session was not watched: {unwatched}");
    }
}
