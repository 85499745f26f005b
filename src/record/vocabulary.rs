//! The journal's vocabularies: every field whose values are a fixed set of words is one of
//! these enums, written as the words journals have always held, and read back strictly (an
//! unknown word makes its line unreadable rather than silently something else).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The word a value of the journal's vocabulary is written as (`last-green`, `revert`, `on` …).
pub fn word(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        _ => String::new(),
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
