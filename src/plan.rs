//! The checked, resolved runbook: the only thing `night run` accepts.

use crate::ast::{Agent, Check, CommandPattern, Glob, Network, Notifier, OnViolation, Money, Rollback, Sandbox};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Source, Spanned};
use std::path::PathBuf;
use std::time::Duration;

/// A runbook that passed `night check`, with every default applied and every path resolved.
/// Outside this crate it can only be obtained from [`crate::check::check`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Plan {
    /// The runbook text as checked (copied into the run folder).
    pub source: Source,
    /// The runbook's absolute path.
    pub runbook_path: PathBuf,
    /// The run name.
    pub name: String,
    /// The repository's work tree root (absolute).
    pub repo: PathBuf,
    /// The task text.
    pub prompt: String,
    /// Which agent, with its settings.
    pub agent: Agent,
    /// The run branch, before `{name}` and `{date}` are expanded.
    pub branch_template: String,
    /// Work in a separate git worktree.
    pub worktree: bool,
    /// The success checks, in order.
    pub checks: Vec<Spanned<Check>>,
    /// What the agent may do.
    pub permissions: PlanPermissions,
    /// When night stops the agent.
    pub limits: PlanLimits,
    /// What night undoes when work regresses.
    pub rollback: Option<Rollback>,
    /// Who is told.
    pub notifiers: Vec<Spanned<Notifier>>,
    /// Silenced rules and why.
    pub waivers: Vec<(Code, String)>,
    /// Warnings found by the check (they never block a run).
    pub warnings: Vec<Diagnostic>,
}

/// Permissions with defaults applied.
#[derive(Debug, Clone)]
pub struct PlanPermissions {
    /// What the agent may read (default `"**"`).
    pub read: Vec<Glob>,
    /// What the agent may write.
    pub write: Vec<Glob>,
    /// Denied command patterns (the user's; the built-in set is separate).
    pub deny: Vec<CommandPattern>,
    /// Whether the built-in irreversible set is denied.
    pub deny_irreversible: bool,
    /// Exemptions from `deny`.
    pub allow: Vec<CommandPattern>,
    /// Outbound network (default `on`).
    pub network: Network,
    /// OS-level enforcement (default `auto`).
    pub sandbox: Sandbox,
    /// What a write outside `write` causes (default `revert`).
    pub on_violation: OnViolation,
}

impl Plan {
    /// Compile every regex of the success checks (a check only reads their syntax): `night run`
    /// calls it before it changes anything. Why the first one cannot be compiled.
    pub fn compile_regexes(&self) -> Result<(), String> {
        for check in &self.checks {
            let regex = match &check.value {
                Check::Run { matches: Some(regex), .. } | Check::Count { regex, .. } => regex,
                _ => continue,
            };
            if let Err(error) = regex.value.compile() {
                let reason = error.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or(error).trim().to_lowercase();
                return Err(format!("the regex {} of the `{}` check cannot be compiled: {reason}", regex.value, check.value.keyword()));
            }
        }
        Ok(())
    }
}

impl PlanPermissions {
    /// Whether the agent may write this repository-relative path.
    pub fn may_write(&self, path: &str) -> bool {
        self.write.iter().any(|glob| glob.is_match(path))
    }

    /// Why a command is denied, if it is: the denied simple command and the pattern or category.
    pub fn denied(&self, command: &str) -> Option<(String, String)> {
        for part in crate::irreversible::simple_commands(command) {
            if self.allow.iter().any(|allow| allow.is_match(&part)) {
                continue;
            }
            if let Some(pattern) = self.deny.iter().find(|deny| deny.is_match(&part)) {
                return Some((part, format!("`{}`", pattern.pattern)));
            }
            if self.deny_irreversible {
                if let Some(rule) = crate::irreversible::matching_rule(&part) {
                    return Some((part, format!("irreversible ({})", rule.category)));
                }
            }
        }
        None
    }
}

/// Limits with defaults applied.
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits {
    /// Wall clock for the whole run.
    pub timeout: Duration,
    /// Longest single session.
    pub session: Option<Duration>,
    /// Most attempts (`None`: until the timeout).
    pub attempts: Option<u64>,
    /// Same failure this many times in a row → stuck.
    pub stuck: Option<u64>,
    /// No new commit for this long → the session ends as stuck.
    pub idle: Option<Duration>,
    /// No output for this long → hung.
    pub silence: Option<Duration>,
    /// Token budget.
    pub tokens: Option<u64>,
    /// Cost budget.
    pub cost: Option<Money>,
    /// Wait for a provider's usage-limit reset at most this long, once.
    pub quota_wait: Option<Duration>,
}
