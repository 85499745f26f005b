//! The pre-run checklist (LANGUAGE.md §10): one file per rule, all run in one pass.

pub mod batch;
mod command_not_found;
mod env_unset;
mod git_dirty;
mod host;
mod irreversible_unrestricted;
mod limits_rules;
mod notify_missing;
mod open_ended_task;
mod push_target_unsafe;
mod read_missing;
mod remote_missing;
mod side_effects_in_checks;
mod success_rules;
mod test_config;
mod tests_rules;
mod write_rules;

use crate::ast::{AgentKind, Agent, Network, OnViolation, Prompt, Runbook, Sandbox, TestMetric};
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::plan::{Plan, PlanLimits, PlanPermissions};
use crate::source::Source;
use crate::syntax;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub use host::{Host, Machine, Sealed};

/// Reads environment variables; injectable so the language server and tests control it.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What a rule sees.
pub struct Context<'a> {
    /// The runbook text.
    pub source: &'a Source,
    /// The lowered runbook.
    pub runbook: &'a Runbook,
    /// The folder of the runbook (absolute).
    pub runbook_dir: PathBuf,
    /// The runbook's absolute path.
    pub runbook_path: PathBuf,
    /// The repository's work tree root, when one was found.
    pub repo: Option<PathBuf>,
    /// The prompt text (inline, or read from the prompt file when it exists).
    pub prompt_text: Option<String>,
    /// Environment look-up.
    pub env: EnvLookup<'a>,
    /// The repository at `repo`, opened once when it was found.
    pub repository: Option<git2::Repository>,
    /// The work tree's status, read on first use (see [`Context::worktree_status`]).
    status: std::cell::OnceCell<Result<Vec<(String, git2::Status)>, StatusError>>,
    /// Whether the runbook is checked as one of a batch, whose runs always work in a worktree.
    pub batch_member: bool,
    /// Command lines read by the shell parser, each once (see [`Context::script`]).
    scripts: std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<crate::policy::shell::Script>>>,
    /// Commands split into their simple commands, each once (see [`Context::simple_commands`]).
    commands: std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<[String]>>>,
    /// Files, the repository and programs.
    pub host: &'a dyn Host,
}

/// Why the work tree's status cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The runbook is not in a repository.
    #[error("no repository")]
    NoRepository,
    /// git cannot read it.
    #[error("{}", .0.message())]
    Git(git2::Error),
}

impl Context<'_> {
    /// Every path of the work tree that is not current (untracked files one by one, ignored ones
    /// left out), or why git could not say. Read once: `git-dirty` and `write-matches-nothing`
    /// both need it, and on a large repository it is the slowest step of the check.
    pub fn worktree_status(&self) -> Result<&[(String, git2::Status)], &StatusError> {
        let status = self.status.get_or_init(|| {
            let repository = self.repository.as_ref().ok_or(StatusError::NoRepository)?;
            let mut options = git2::StatusOptions::new();
            options.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false).exclude_submodules(false);
            let statuses = repository.statuses(Some(&mut options)).map_err(StatusError::Git)?;
            Ok(statuses.iter().filter_map(|entry| Some((entry.path()?.to_string(), entry.status()))).collect())
        });
        status.as_deref()
    }

    /// A shell command line as the shell reads it ([`crate::policy::shell::parse`]), read once
    /// however many rules look at it: most success commands are read by four rules.
    pub fn script(&self, command: &str) -> std::rc::Rc<crate::policy::shell::Script> {
        if let Some(script) = self.scripts.borrow().get(command) {
            return script.clone();
        }
        let script = std::rc::Rc::new(crate::policy::shell::parse(command));
        self.scripts.borrow_mut().insert(command.to_string(), script.clone());
        script
    }

    /// The simple commands of a shell command line ([`crate::policy::shell::simple_commands`]),
    /// split once however many rules read them.
    pub fn simple_commands(&self, command: &str) -> std::rc::Rc<[String]> {
        if let Some(parts) = self.commands.borrow().get(command) {
            return parts.clone();
        }
        let parts: std::rc::Rc<[String]> = self.script(command).simple_commands().into();
        self.commands.borrow_mut().insert(command.to_string(), parts.clone());
        parts
    }

    /// The agent, with the default `claude`; `None` when an `agent` statement was written but
    /// could not be read (its own error says why, and no rule guesses the agent).
    pub fn agent_kind(&self) -> Option<AgentKind> {
        if self.runbook.is_unresolved("task.agent") {
            return None;
        }
        Some(self.runbook.task.as_ref().and_then(|t| t.agent.as_ref()).map_or(AgentKind::Claude, |a| a.kind.clone()))
    }
}

/// Where a checklist item stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum ItemStatus {
    /// The rule holds.
    Passed,
    /// The rule found problems of this severity.
    Failed {
        /// Error or warning.
        severity: Severity,
    },
    /// Silenced by `waive`, with the reason.
    Waived {
        /// Why.
        reason: String,
    },
    /// Checked by `night run` at the baseline, not by `night check`.
    AtRun,
    /// Not checked: the file does not parse, or the block the rule reads is missing.
    NotChecked {
        /// Why.
        reason: &'static str,
    },
}

/// One line of the checklist.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistItem {
    /// The rule.
    pub code: Code,
    /// What the item asks.
    pub title: &'static str,
    /// Where it stands.
    #[serde(flatten)]
    pub status: ItemStatus,
}

/// Everything `night check` found in one runbook.
#[derive(Debug)]
pub struct CheckOutcome {
    /// Errors and warnings, in source order (waived ones removed).
    pub diagnostics: Vec<Diagnostic>,
    /// The checklist, one item per rule.
    pub checklist: Vec<ChecklistItem>,
    /// The plan, when there are no errors.
    pub plan: Option<Plan>,
}

impl CheckOutcome {
    /// Whether any error remains.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The checklist items, in the order of LANGUAGE.md §10, with their titles.
pub const CHECKLIST: &[(Code, &str)] = &[
    (Code::SuccessMissing, "the success condition is verifiable"),
    (Code::SuccessUnverifiable, "every success check can fail"),
    (Code::CommandNotFound, "every success command exists"),
    (Code::ReadMissing, "the agent can read what it needs"),
    (Code::WriteUnbounded, "the agent writes only what it should"),
    (Code::WriteMatchesNothing, "each write glob matches something"),
    (Code::GitDirty, "git is clean"),
    (Code::NotifyMissing, "the run reports its end"),
    (Code::IrreversibleUnrestricted, "irreversible operations are restricted"),
    (Code::EnvUnset, "every env reference is set"),
    (Code::NoStuckLimit, "a loop cannot run all night"),
    (Code::NoBudget, "spending is capped"),
    (Code::LongSession, "context will not run out"),
    (Code::NoRollback, "cascading errors are undone"),
    (Code::OpenEndedTask, "the task has an end"),
    (Code::SideEffectsInChecks, "success commands do nothing irreversible"),
    (Code::SuccessAlreadyHolds, "the checks fail before the work starts"),
    (Code::RemoteMissing, "the delivery's remote exists"),
    (Code::PushTargetUnsafe, "the delivery pushes only the run branch"),
];

/// The checklist items that exist only for a runbook with a `deliver` block.
const DELIVERY_RULES: &[Code] = &[Code::RemoteMissing, Code::PushTargetUnsafe];

/// Parse and check a runbook against the schema and the whole checklist, on this machine.
pub fn check(source: &Source, env: EnvLookup<'_>) -> CheckOutcome {
    check_on(source, env, &Machine)
}

/// [`check`], asking `host` about files, the repository and programs.
pub fn check_on(source: &Source, env: EnvLookup<'_>, host: &dyn Host) -> CheckOutcome {
    check_parsed(source, syntax::parse(source), env, host)
}

/// The check of a run's own runbook copy for `night resume`: the work tree may hold the dead
/// session's uncommitted work, which is no reason to refuse, so `git-dirty` is waived.
pub fn check_resumed(source: &Source, env: EnvLookup<'_>) -> CheckOutcome {
    check_with(source, syntax::parse(source), env, &Machine, Mode::Resume)
}

/// The check of one runbook of a batch (`night run a.night b.night`, `night check --batch`):
/// as [`check`], but the run works in a worktree of its own whatever the runbook's `worktree`
/// says, so `command-not-found` judges programs as `worktree on` does.
pub fn check_batch_member(source: &Source, env: EnvLookup<'_>) -> CheckOutcome {
    check_with(source, syntax::parse(source), env, &Machine, Mode::BatchMember)
}

/// [`check_on`] for a source already parsed (with [`syntax::parse`]).
pub fn check_parsed(source: &Source, parsed: syntax::Parsed, env: EnvLookup<'_>, host: &dyn Host) -> CheckOutcome {
    check_with(source, parsed, env, host, Mode::Start)
}

/// What the check is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `night check` and `night run`: the run starts from this checkout.
    Start,
    /// `night resume`: the run goes on in its own branch (see [`check_resumed`]).
    Resume,
    /// A runbook of a batch: the run starts from this checkout, in a worktree of its own (see
    /// [`check_batch_member`]).
    BatchMember,
}

/// The reason `night resume` gives for waiving `git-dirty`.
const RESUME_WAIVER: &str = "night resume: the run's own work in progress";

fn check_with(source: &Source, parsed: syntax::Parsed, env: EnvLookup<'_>, host: &dyn Host, mode: Mode) -> CheckOutcome {
    let syntax_failed = parsed.diagnostics.iter().any(|d| d.code == Code::Syntax);
    if parsed.statements.is_empty() && !syntax_failed {
        return empty_runbook(source);
    }
    let mut diagnostics = parsed.diagnostics;
    let runbook = parsed.runbook;

    let runbook_path = host.absolute(source.path());
    let runbook_dir = runbook_path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let prompt_text = runbook.task.as_ref().and_then(|task| task.prompt.as_ref()).and_then(|prompt| match &prompt.value {
        Prompt::Inline(text) => Some(text.clone()),
        Prompt::File(path) => host.read_to_string(&runbook_dir.join(&path.value)),
    });
    let repo_start = match runbook.task.as_ref().and_then(|t| t.repo.as_ref()) {
        Some(repo) => runbook_dir.join(&repo.value),
        None => runbook_dir.clone(),
    };
    let (repo, repository) = host.repository(&repo_start).unzip();
    let status = std::cell::OnceCell::new();
    let context = Context { source, runbook: &runbook, runbook_dir, runbook_path, repo, repository, prompt_text, env, status, scripts: Default::default(), commands: Default::default(), host, batch_member: mode == Mode::BatchMember };

    let mut findings = Vec::new();
    if !syntax_failed {
        cross_block_rules(&context, &mut findings);
        success_rules::check(&context, &mut findings);
        command_not_found::check(&context, &mut findings);
        read_missing::check(&context, &mut findings);
        write_rules::check(&context, &mut findings);
        if mode != Mode::Resume {
            git_dirty::check(&context, &mut findings);
        }
        notify_missing::check(&context, &mut findings);
        irreversible_unrestricted::check(&context, &mut findings);
        env_unset::check(&context, &mut findings);
        limits_rules::check(&context, &mut findings);
        open_ended_task::check(&context, &mut findings);
        side_effects_in_checks::check(&context, &mut findings);
        remote_missing::check(&context, &mut findings);
        push_target_unsafe::check(&context, &mut findings);
        tests_rules::check(&context, &mut findings);
    }

    let mut waivers: Vec<(Code, String)> = runbook
        .waivers
        .iter()
        .filter(|w| mode == Mode::Resume || !git_dirty::refuses(w, &runbook))
        .map(|w| (w.code.value, w.reason.value.clone()))
        .collect();
    if mode == Mode::Resume && !waivers.iter().any(|(code, _)| *code == Code::GitDirty) {
        waivers.push((Code::GitDirty, RESUME_WAIVER.to_string()));
    }
    let checklist = CHECKLIST
        .iter()
        .filter(|(code, _)| runbook.deliver.is_some() || !DELIVERY_RULES.contains(code))
        .map(|(code, title)| {
            let status = if syntax_failed {
                ItemStatus::NotChecked { reason: "fix the syntax error first" }
            } else if block_missing_for(*code, &runbook) {
                ItemStatus::NotChecked { reason: "the block it reads is missing" }
            } else if let Some((_, reason)) = waivers.iter().find(|(waived, _)| waived == code) {
                ItemStatus::Waived { reason: reason.clone() }
            } else if let Some(worst) = findings.iter().filter(|d: &&Diagnostic| d.code == *code).map(|d| d.severity).max() {
                ItemStatus::Failed { severity: worst }
            } else if *code == Code::SuccessAlreadyHolds {
                ItemStatus::AtRun
            } else {
                ItemStatus::Passed
            };
            ChecklistItem { code: *code, title, status }
        })
        .collect();
    // Each code once: a runbook may waive the same rule many times and have many findings.
    let mut waived: Vec<Code> = waivers.iter().map(|(code, _)| *code).collect();
    waived.sort_unstable();
    waived.dedup();
    findings.retain(|finding| !waived.contains(&finding.code));
    diagnostics.extend(findings);
    diagnostics.sort_by_key(|d| (d.span().map_or(usize::MAX, |s| s.start), d.severity == Severity::Warning));

    let plan = if diagnostics.iter().any(Diagnostic::is_error) || syntax_failed {
        None
    } else {
        let Context { runbook_path, repo, prompt_text, .. } = context;
        build_plan(source, runbook, Resolved { runbook_path, repo, prompt_text }, waivers, diagnostics.clone())
    };
    CheckOutcome { diagnostics, checklist, plan }
}

/// An empty file (or one of comments only): one error that says where to start, and a
/// checklist that was not checked.
fn empty_runbook(source: &Source) -> CheckOutcome {
    let diagnostic = Diagnostic::error(Code::MissingBlock, format!("`{}` is empty", source.name()))
        .help("Run `night init` to write a starting runbook for this repository, or see docs/language.md for every block.");
    // The items of a runbook without a `deliver` block, as for any other runbook without one.
    let checklist = CHECKLIST
        .iter()
        .filter(|(code, _)| !DELIVERY_RULES.contains(code))
        .map(|(code, title)| ChecklistItem { code: *code, title, status: ItemStatus::NotChecked { reason: "the file is empty" } })
        .collect();
    CheckOutcome { diagnostics: vec![diagnostic], checklist, plan: None }
}

/// Whether the block a rule reads is absent, so the rule could not be checked (the missing block
/// is itself reported).
fn block_missing_for(code: Code, runbook: &Runbook) -> bool {
    match code {
        Code::SuccessUnverifiable | Code::CommandNotFound | Code::SideEffectsInChecks => runbook.success.is_none(),
        Code::WriteUnbounded | Code::WriteMatchesNothing | Code::IrreversibleUnrestricted => runbook.permissions.is_none(),
        Code::NoStuckLimit | Code::NoBudget | Code::LongSession => runbook.limits.is_none(),
        Code::ReadMissing | Code::OpenEndedTask => runbook.task.is_none(),
        _ => false,
    }
}

/// Constraints between blocks that are schema errors rather than checklist items.
fn cross_block_rules(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let runbook = context.runbook;
    if let Some(rollback) = &runbook.rollback {
        // `failing` and `passing` count tests of a `tests` check, or else the `run` and `count`
        // checks that fail or hold; `exists`, `changed` and `committed` alone give nothing to count.
        let countable = runbook.success.as_ref().is_some_and(|s| ["tests", "run", "count"].iter().any(|k| crate::ast::wrote(&s.written, k)))
            || runbook.is_unresolved("success");
        if !countable {
            let metric = rollback.when.as_ref().map_or("failing", |w| match w.value.metric {
                TestMetric::Failing => "failing",
                TestMetric::Passing => "passing",
            });
            findings.push(
                Diagnostic::error(Code::MissingStatement, format!("`rollback` compares `{metric}` checks, but `success` has no `tests`, `run` or `count` check"))
                    .label(rollback.span, "nothing to count")
                    .help("Add a `tests \"…\"`, `run \"…\"` or `count` statement to `success`, or remove the `rollback` block."),
            );
        }
    }
}

/// What the check found about the machine that the plan keeps.
struct Resolved {
    runbook_path: PathBuf,
    repo: Option<PathBuf>,
    prompt_text: Option<String>,
}

/// The plan, made from the runbook itself (moved, not copied: a runbook may have thousands of
/// checks and globs).
fn build_plan(source: &Source, runbook: Runbook, context: Resolved, waivers: Vec<(Code, String)>, warnings: Vec<Diagnostic>) -> Option<Plan> {
    let Runbook { name, task, success, permissions, limits, rollback, notify, deliver, .. } = runbook;
    let (task, permissions, limits) = (task?, permissions?, limits?);
    let name = name.map(|n| n.value).unwrap_or_else(|| default_name(&context.runbook_path));
    let read = if permissions.read.is_empty() {
        crate::ast::Glob::new("**").ok().into_iter().collect()
    } else {
        permissions.read.into_iter().map(|g| g.value).collect()
    };
    let permissions = PlanPermissions {
        read,
        write: permissions.write.map(|w| w.value.into_iter().map(|g| g.value).collect()).unwrap_or_default(),
        deny: permissions.deny.into_iter().map(|d| d.value).collect(),
        deny_irreversible: permissions.deny_irreversible.is_some(),
        allow: permissions.allow.into_iter().map(|a| a.value).collect(),
        pass: permissions.pass.into_iter().map(|p| p.value).collect(),
        reveal: permissions.reveal.into_iter().map(|r| r.value).collect(),
        network: permissions.network.map_or(Network::Auto, |n| n.value),
        sandbox: permissions.sandbox.map_or(Sandbox::Auto, |s| s.value),
        on_violation: permissions.on_violation.map_or(OnViolation::Revert, |o| o.value),
    };
    let limits = PlanLimits {
        timeout: limits.timeout.as_ref()?.value,
        session: limits.session.as_ref().map(|s| s.value),
        attempts: limits.attempts.as_ref().map(|a| a.value),
        stuck: limits.stuck.as_ref().map(|s| s.value),
        idle: limits.idle.as_ref().map(|i| i.value),
        silence: limits.silence.as_ref().map(|s| s.value),
        tokens: limits.tokens.as_ref().map(|t| t.value),
        cost: limits.cost.as_ref().map(|c| c.value),
        quota_wait: limits.quota_wait.as_ref().map(|q| q.value),
    };
    let agent = task.agent.map_or_else(|| Agent::new(AgentKind::Claude), |a| a.value);
    let branch_template = task.branch.map_or_else(|| "night/{name}/{date}".to_string(), |b| b.value);
    let worktree = task.worktree.as_ref().is_some_and(|w| w.value);
    let delivery = deliver.as_ref().and_then(crate::plan::Delivery::from_ast);
    Some(Plan {
        source: source.clone(),
        runbook_path: context.runbook_path,
        name,
        repo: context.repo?,
        prompt: context.prompt_text?,
        agent,
        branch_template,
        worktree,
        checks: success.map(|s| s.checks).unwrap_or_default(),
        permissions,
        limits,
        rollback,
        notifiers: notify.map(|n| n.notifiers).unwrap_or_default(),
        delivery,
        waivers,
        warnings,
    })
}

/// The file name without `.night`, made safe as a git ref component.
pub fn default_name(runbook_path: &Path) -> String {
    let stem = runbook_path.file_stem().and_then(|s| s.to_str()).unwrap_or("night");
    let cleaned: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' })
        .collect();
    let cleaned = cleaned.trim_matches(['-', '.']).to_string();
    if cleaned.is_empty() { "night".to_string() } else { cleaned }
}
