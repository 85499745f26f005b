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
    /// `pass env.NAME`: variables handed to the agent despite the environment allowlist.
    pub pass: Vec<String>,
    /// `reveal "path"`: credential stores left visible (`~/` for the home folder).
    pub reveal: Vec<String>,
    /// Outbound network (default `auto`; see [`crate::policy::network`]).
    pub network: Network,
    /// OS-level enforcement (default `auto`).
    pub sandbox: Sandbox,
    /// What a write outside `write` causes (default `revert`).
    pub on_violation: OnViolation,
}

impl PlanPermissions {
    /// Whether the agent may write this repository-relative path.
    pub fn may_write(&self, path: &str) -> bool {
        self.write.iter().any(|glob| glob.is_match(path))
    }

    /// Why a command is denied, if it is: the denied simple command and the pattern or category.
    pub fn denied(&self, command: &str) -> Option<(String, String)> {
        self.command_rules().refusal(command, &|_| None).map(|refusal| (refusal.command.clone(), refusal.why()))
    }

    /// What `network` means for this agent kind: `auto` resolved (see [`crate::policy::network`]).
    pub fn network_for(&self, kind: &crate::ast::AgentKind) -> Network {
        crate::policy::network::resolve(&self.network, kind)
    }

    /// `deny`, `allow` and `deny irreversible`, for [`crate::policy::commands`].
    pub fn command_rules(&self) -> crate::policy::commands::CommandRules<'_> {
        crate::policy::commands::CommandRules { deny: &self.deny, allow: &self.allow, irreversible: self.deny_irreversible }
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
