//! Starting a run: one run per repository, the agent, notifiers, secrets and sandbox set up
//! before anything changes, the run folder made and locked, preflight (the run branch, the
//! worktree), then `run-start` and the first step.

use crate::ast::AgentKind;
use crate::os::keep_awake::KeepAwake;
use crate::os::lock::{DirLock, LockError, PidLock};
use crate::plan::Plan;
use crate::record::{Event, History, Journal, Outcome, Recorder, ReportFile, RunDir, RunStart, RunsDir, SCHEMA_VERSION};
use crate::run::ballast;
use crate::run::context::{refuse_a_second_run, setup, Context};
use crate::run::error::Refused;
use crate::run::git::{PendingPreflight, RunGit};
use crate::run::pause::test_pause;
use crate::run::signals::Interrupts;
use crate::run::state::Step;
use crate::run::supervisor::Supervisor;
use crate::run::{Finished, RunOptions, TextSink};
use crate::secrets::Secrets;
use crate::time::format_duration;
use std::time::Duration;

/// The longest a start waits for another start's preflight in the same repository.
const START_WAIT: Duration = Duration::from_secs(60);

/// Run a checked plan to its end.
pub async fn run(plan: &Plan, options: RunOptions) -> Result<Finished, Refused> {
    let interrupts = Interrupts::listen();
    let started_at = chrono::Utc::now();
    let member = options.batch.clone();
    let wanted_id = member.as_ref().map_or_else(|| format!("{}-{}", plan.name, started_at.format("%Y%m%d-%H%M%S")), |member| member.run_id.clone());
    // A batch's runs each have a worktree of their own, whatever the runbook says.
    let worktree = plan.worktree || member.is_some();
    let wanted = member.as_ref().map_or_else(|| plan.branch_at(started_at, None), |member| member.branch.clone());
    // Released once this run's own lock is taken (below): a run started at the same moment
    // waits here, then sees this one live and refuses.
    let starting = take_turns(&plan.repo)?;
    // Chosen while the turn is held: no other start picks the same free name.
    let branch = RunGit::free_branch(&plan.repo, &wanted).map_err(Refused::Git)?;
    let runs = RunsDir::of_repo(&plan.repo);
    // Two runs of one runbook in the same second (the first ended at once): the second's id
    // gets a suffix, as its branch does, chosen while the turn is held. A batch chose its own.
    let run_id = if member.is_some() { wanted_id } else { (1..).map(|n| if n == 1 { wanted_id.clone() } else { format!("{wanted_id}-{n}") }).find(|id| !runs.run(id).path().exists()).unwrap_or(wanted_id) };
    refuse_a_second_run(&runs, None, member.as_ref().map(|m| m.batch_dir.as_path()))?;
    undo_dead_preflights(plan, &runs, &options.status);
    let (cx, journal_cell) = setup(plan, options, interrupts)?;
    // Delivery's preflight (the network, once) before anything changes: a refusal here
    // leaves nothing behind.
    let delivery = match &plan.delivery {
        Some(delivery) => Some(super::delivery::preflight(delivery, &plan.repo, &branch, &cx.options.env, &cx.options.status).await?),
        None => None,
    };

    // The run folder, locked, says what preflight is about to change before it changes
    // anything: a supervisor killed during preflight is undone by the next `night run`.
    let run_dir = runs.run(&run_id);
    let from = member.as_ref().map(|m| m.from);
    let mut pending = PendingPreflight::before(&plan.repo, &branch, worktree, &run_id);
    if let Some(from) = from {
        pending.start = Some(from.to_string());
    }
    let lock = pending_run_folder(&run_dir, &pending).map_err(|source| Refused::RunFolder { path: run_dir.path().to_path_buf(), source })?;
    let runbook_relative = plan.runbook_path.strip_prefix(&plan.repo).ok().map(|p| p.to_string_lossy().replace('\\', "/"));
    // `waive git-dirty` passes the check only with `worktree on` (check/git_dirty.rs).
    let beside_uncommitted = plan.worktree && plan.waivers.iter().any(|(code, _)| *code == crate::diagnostic::Code::GitDirty);
    let preflight = if beside_uncommitted && from.is_none() {
        RunGit::preflight_beside_uncommitted(&plan.repo, &branch, &run_id, runbook_relative.as_deref())
    } else {
        RunGit::preflight(&plan.repo, &branch, worktree, &run_id, runbook_relative.as_deref(), from)
    };
    let (git, start) = match preflight {
        Ok(preflight) => preflight,
        Err(e) => {
            drop(lock);
            remove_run_folder(&run_dir);
            return Err(Refused::Git(e));
        }
    };
    test_pause(&cx.options.env, &run_dir, "preflight");

    // From here on the run has started: every failure is journaled and ends as `crashed`.
    let journal = match open_run_folder(plan, &run_dir, &git, cx.secrets.clone()) {
        Ok(journal) => journal,
        Err(e) => {
            (cx.options.status)(&format!("night: cannot create the run folder {}: {e}", run_dir.path().display()));
            return Ok(Finished { outcome: Outcome::Crashed, reason: format!("cannot create the run folder: {e}"), run_id, report: run_dir.report(ReportFile::Markdown), run_dir: run_dir.path().to_path_buf() });
        }
    };
    drop(starting);
    let _ = journal_cell.set(journal.clone());
    // `run-start` first: from this line on a killed supervisor leaves a run that `night
    // resume` can pick up. Anything slower (the keep-awake child) comes after it.
    let mut recorder = Recorder::new(journal, History::default());
    recorder.record(Event::RunStart(run_start(plan, &cx, &git, &run_id, &branch, start)));
    if branch != wanted {
        let message = format!("branch `{wanted}` exists already (an earlier run's work stays there); this run's branch is `{branch}`");
        (cx.options.status)(&format!("night: {message}"));
        recorder.record(Event::Note { topic: "branch-taken".into(), message });
    }
    let _ = std::fs::remove_file(run_dir.preflight());
    let delivery_remote = delivery.map(|(remote, ready)| {
        recorder.record(Event::DeliveryReady(ready));
        remote
    });
    let mut supervisor = Supervisor::new(cx, git, run_dir, recorder, lock, start);
    supervisor.delivery_remote = delivery_remote;
    supervisor.watch.last_tip = Some(start);
    Ok(supervisor.supervise(Supervisor::begin).await)
}

/// Wait (bounded) for other `night`s starting a run in the repository.
fn take_turns(repo: &std::path::Path) -> Result<DirLock, Refused> {
    DirLock::acquire(repo, START_WAIT).map_err(|e| match e {
        LockError::Busy(_) => Refused::StartBusy(repo.to_path_buf()),
        other => Refused::StartLock(other),
    })
}

/// Create and lock the run folder, holding what preflight is about to change.
fn pending_run_folder(run_dir: &RunDir, pending: &PendingPreflight) -> std::io::Result<PidLock> {
    if let Some(runs) = run_dir.path().parent() {
        std::fs::create_dir_all(runs)?;
    }
    // Never an existing folder (a run of the same name in the same second): a refusal below
    // removes the folder, and must not remove another run's.
    std::fs::create_dir(run_dir.path()).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => std::io::Error::other("a run with this id exists already; start again in a second"),
        _ => e,
    })?;
    let lock = run_dir.lock().map_err(std::io::Error::other)?;
    let text = serde_json::to_string(pending).map_err(std::io::Error::other)?;
    std::fs::write(run_dir.preflight(), text)?;
    Ok(lock)
}

/// A refused run leaves nothing: its folder goes, and `.night/runs` and `.night` when empty.
fn remove_run_folder(run_dir: &RunDir) {
    let _ = std::fs::remove_dir_all(run_dir.path());
    for parent in run_dir.path().ancestors().skip(1).take(2) {
        if std::fs::remove_dir(parent).is_err() {
            break;
        }
    }
}

/// Runs whose supervisor died during preflight (a preflight marker, no live lock): undo what
/// their preflight changed, so that this run starts from the user's branch and not from a
/// half-made run branch. One whose journal has `run-start` did start: `night resume` continues it.
fn undo_dead_preflights(plan: &Plan, runs: &RunsDir, status: &TextSink) {
    for dir in runs.folders().into_iter().filter(|dir| dir.preflight().is_file()) {
        if dir.is_live() {
            continue;
        }
        if dir.load().is_ok_and(|history| history.start.is_some()) {
            let _ = std::fs::remove_file(dir.preflight());
            continue;
        }
        let Some(pending) = std::fs::read_to_string(dir.preflight()).ok().and_then(|text| serde_json::from_str::<PendingPreflight>(&text).ok()) else {
            continue;
        };
        match RunGit::undo_preflight(&plan.repo, &pending) {
            Ok(done) => {
                let _ = std::fs::remove_dir_all(dir.path());
                let what = if done.is_empty() { "nothing had changed yet".to_string() } else { done.join(", ") };
                status(&format!("night: run `{}` was killed during its preflight, before it started; undone: {what}", pending.run_id));
            }
            Err(e) => status(&format!("night: run `{}` was killed during its preflight; cannot undo it: {e}", pending.run_id)),
        }
    }
}

/// The run folder's files: the runbook as it runs, the hook's policy, the agent's log, the
/// room kept for the end, and the journal.
fn open_run_folder(plan: &Plan, run_dir: &RunDir, git: &RunGit, secrets: Secrets) -> std::io::Result<Journal> {
    std::fs::create_dir_all(run_dir.path())?;
    std::fs::write(run_dir.runbook(), &plan.source.text)?;
    // What `night hook` enforces inside agents that have hooks, precomputed once.
    crate::policy::Policy::from_plan(plan, git.work_dir()).write_to(run_dir.path()).map_err(std::io::Error::other)?;
    std::fs::File::create(run_dir.agent_log())?;
    ballast::reserve(run_dir);
    Journal::open(&run_dir.journal(), secrets)
}

/// The `run-start` event: everything `night resume` needs to find the run again.
fn run_start(plan: &Plan, cx: &Context<'_>, git: &RunGit, run_id: &str, branch: &str, start: git2::Oid) -> RunStart {
    let limits = &plan.limits;
    let mut written = vec![("timeout".to_string(), format_duration(limits.timeout))];
    let durations = [("session", limits.session), ("idle", limits.idle), ("silence", limits.silence), ("quota wait", limits.quota_wait)];
    written.extend(durations.iter().filter_map(|(name, d)| d.map(|d| ((*name).to_string(), format_duration(d)))));
    written.extend(limits.attempts.map(|n| ("attempts".to_string(), n.to_string())));
    written.extend(limits.stuck.map(|n| ("stuck".to_string(), n.to_string())));
    written.extend(limits.tokens.map(|n| ("tokens".to_string(), n.to_string())));
    written.extend(limits.cost.map(|c| ("cost".to_string(), c.to_string())));
    let agent_command = match &plan.agent.kind {
        AgentKind::Command(command) => Some(command.value.clone()),
        _ => None,
    };
    let statement = |span: crate::source::Span| plan.source.text.get(span.start..span.end).map_or_else(String::new, |text| text.split_whitespace().collect::<Vec<_>>().join(" "));
    RunStart {
        schema: SCHEMA_VERSION,
        night_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: run_id.to_string(),
        name: plan.name.clone(),
        runbook: plan.runbook_path.display().to_string(),
        repo: plan.repo.display().to_string(),
        work_dir: git.work_dir().display().to_string(),
        branch: branch.to_string(),
        original_branch: git.original_branch().map(str::to_string),
        start_commit: start.to_string(),
        worktree: plan.worktree || cx.options.batch.is_some(),
        agent: cx.adapter.kind().to_string(),
        agent_command,
        limits: written,
        checks: plan.checks.iter().map(|c| statement(c.span)).collect(),
        waivers: plan.waivers.iter().map(|(code, reason)| (code.name().to_string(), reason.clone())).collect(),
        pid: std::process::id(),
        batch: cx.options.batch.as_ref().map(|member| member.batch_id.clone()),
    }
}

impl Supervisor<'_> {
    /// How a new run begins, after `run-start`: the keep-awake hold and what the run cannot
    /// enforce; then the baseline.
    fn begin(&mut self, keep_awake: &KeepAwake) -> Step {
        let plan = self.cx.plan;
        self.record(Event::KeepAwake { available: keep_awake.available(), method: keep_awake.method.clone(), detail: keep_awake.detail.clone() });
        let kind = self.cx.adapter.kind();
        let denies = !plan.permissions.deny.is_empty() || plan.permissions.deny_irreversible;
        if denies && !self.cx.adapter.enforces_deny() {
            let message = format!("`agent {kind}` has no hooks: `deny` cannot be enforced before a command runs; night checks every changed path against `write` after each session");
            self.note("deny-not-enforced", &message);
        }
        if (plan.limits.tokens.is_some() || plan.limits.cost.is_some()) && !self.cx.adapter.reports_usage() {
            self.note("usage-not-reported", &format!("`agent {kind}` reports no usage: `tokens` and `cost` cannot fire"));
        }
        if plan.limits.quota_wait.is_some() && !self.cx.adapter.reports_quota() {
            self.note("quota-wait", &format!("`agent {kind}` reports no usage limit: `quota wait` is a no-op"));
        }
        self.status(&format!("night: run {} on branch {} in {}", self.run_id(), self.branch(), self.git.work_dir().display()));
        Step::Baseline
    }
}
