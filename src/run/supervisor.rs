//! The supervised run of RUN.md, step by step: preflight, baseline, the attempt loop with
//! its limits, permissions, checks and rollback, and the end (journal, report, notifications).

use crate::ast::{Check, Comparison, Event as NotifyEvent, OnViolation, RollbackThen, RollbackTo, RollbackWhen, Target, TestMetric};
use crate::diagnostic::Code;
use crate::notify::{CheckSummary, Dispatcher, Message, Settings};
use crate::plan::Plan;
use crate::run::agent::{adapter_for, Adapter, AgentSignal, LaunchContext};
use crate::run::checks::{baseline_from, failure_signature, run_checks_in, Baseline, CheckResult};
use crate::run::feedback::{attempt_prompt, continue_prompt, AttemptFeedback};
use crate::run::git::{PendingPreflight, RunGit};
use crate::run::journal::{self, CheckRecord, CommitRecord, DiffRecord, Event, Journal, RunEnd, RunStart, TestCountsRecord};
use crate::run::keep_awake::KeepAwake;
use crate::run::limits::{Budget, Ends, Limit, SessionClock, StuckTracker};
use crate::run::lock::{RunLock, StartLock};
use crate::run::outcome::Outcome;
use crate::run::ballast;
use crate::run::process::{redactor, LineSink, LogHealth, OutputSinks, SpawnSpec, Supervised, TextSink};
use crate::run::ref_watch::RefWatch;
use crate::run::sandboxing::{self, RunSandbox, SessionSandbox};
use crate::time::format_duration;
use git2::Oid;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How long notifications may take at the end of the run before night exits anyway.
const NOTIFY_FLUSH: Duration = Duration::from_secs(30);
/// How often the journal gets a heartbeat (`NIGHT_HEARTBEAT_MS` in tests).
pub(crate) const HEARTBEAT_EVERY: Duration = Duration::from_secs(60);
/// The most of a check's output kept in the journal.
const JOURNAL_TAIL: usize = 4 * 1024;

/// Reads an environment variable.
pub type EnvReader = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the caller (the CLI, a test) decides about a run.
pub struct RunOptions {
    /// Between SIGTERM and SIGKILL when ending the agent.
    pub grace: Duration,
    /// Receives the agent's output lines as they come (for a terminal).
    pub echo: Option<TextSink>,
    /// Receives one line per step of the run, for the live status.
    pub status: TextSink,
    /// Reads environment variables (secrets for the notifiers).
    pub env: EnvReader,
    /// Also write `report.html` at the end (`night run --html`).
    pub html: bool,
    /// Called once the run folder exists and the run is locked (`--detach` hands over there).
    pub on_started: Option<OnStarted>,
}

/// Told the run id and folder once the run has started.
pub type OnStarted = Box<dyn FnOnce(&str, &Path) + Send>;

/// Why a run did not start; nothing was changed. Exit status 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// How a run that started ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The outcome.
    pub outcome: Outcome,
    /// Why, in one phrase.
    pub reason: String,
    /// The run id.
    pub run_id: String,
    /// The run folder.
    pub run_dir: PathBuf,
    /// The report written there.
    pub report: PathBuf,
}

/// What a new or a resumed run needs before its run folder: the agent's adapter, the
/// notifiers (journaling their deliveries once the journal exists) and the secrets.
struct Setup {
    adapter: Arc<dyn Adapter>,
    dispatcher: Dispatcher,
    secrets: Vec<String>,
    secret_names: Vec<String>,
    journal_cell: Arc<OnceLock<Journal>>,
    sandbox: RunSandbox,
}

/// Run a checked plan to its end.
pub async fn run(plan: &Plan, options: RunOptions) -> Result<Finished, Refused> {
    let interrupts = Interrupts::listen();
    let started_at = chrono::Utc::now();
    let run_id = format!("{}-{}", plan.name, started_at.format("%Y%m%d-%H%M%S"));
    let branch = plan.branch_template.replace("{name}", &plan.name).replace("{date}", &started_at.format("%Y%m%d-%H%M").to_string());
    // Released once this run's own lock is taken (below): a run started at the same moment
    // waits here, then sees this one live and refuses.
    let starting = StartLock::acquire(&plan.repo).map_err(|e| Refused { message: e.to_string(), help: Some("Nothing was changed.".into()) })?;
    refuse_a_second_run(plan)?;
    undo_dead_preflights(plan, &options.status);
    let Setup { adapter, dispatcher, secrets, secret_names, journal_cell, sandbox } = setup(plan, &options)?;

    let runbook_relative = plan.runbook_path.strip_prefix(&plan.repo).ok().map(|p| p.to_string_lossy().replace('\\', "/"));

    // The run folder, locked, says what preflight is about to change before it changes
    // anything: a supervisor killed during preflight is undone by the next `night run`.
    let run_dir = plan.repo.join(".night").join("runs").join(&run_id);
    let pending = PendingPreflight::before(&plan.repo, &branch, plan.worktree, &run_id);
    let lock = pending_run_folder(&run_dir, &pending)
        .map_err(|e| Refused { message: format!("cannot create the run folder {}: {e}", run_dir.display()), help: Some("Nothing was changed.".into()) })?;
    // `waive git-dirty` passes the check only with `worktree on` (check/git_dirty.rs).
    let beside_uncommitted = plan.worktree && plan.waivers.iter().any(|(code, _)| *code == crate::diagnostic::Code::GitDirty);
    let preflight = if beside_uncommitted {
        RunGit::preflight_beside_uncommitted(&plan.repo, &branch, &run_id, runbook_relative.as_deref())
    } else {
        RunGit::preflight(&plan.repo, &branch, plan.worktree, &run_id, runbook_relative.as_deref())
    };
    let (git, start) = match preflight {
        Ok(preflight) => preflight,
        Err(e) => {
            drop(lock);
            remove_run_folder(&run_dir);
            return Err(Refused { message: e.to_string(), help: Some("Nothing was changed.".into()) });
        }
    };
    test_pause(&options.env, &run_dir, "preflight");

    // From here on the run has started: every failure is journaled and ends as `crashed`.
    let started = open_run_folder(plan, &run_dir, git.work_dir(), secrets.clone()).map(|journal| (journal, lock));
    let (journal, lock) = match started {
        Ok(started) => started,
        Err(e) => {
            (options.status)(&format!("night: cannot create the run folder {}: {e}", run_dir.display()));
            return Ok(Finished {
                outcome: Outcome::Crashed,
                reason: format!("cannot create the run folder: {e}"),
                run_id,
                report: run_dir.join("report.md"),
                run_dir,
            });
        }
    };
    drop(starting);
    let _ = journal_cell.set(journal.clone());

    let mut supervisor = Supervisor {
        plan,
        options,
        adapter,
        git,
        start,
        run_id,
        branch,
        run_dir,
        journal,
        dispatcher,
        secrets,
        secret_names,
        interrupts,
        started: Instant::now(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        run_deadline: Instant::now() + plan.limits.timeout,
        attempt: 0,
        budget: Budget::default(),
        seen_commits: HashSet::new(),
        commits: Vec::new(),
        last_checks: None,
        last_green: start,
        baseline: None,
        quota_waited: false,
        audit_seen: 0,
        stopped_for_violation: false,
        last_tip: Some(start),
        elapsed_before: Duration::ZERO,
        heartbeat: None,
        _lock: lock,
        sandbox,
        sandbox_journaled: false,
        moved: None,
        moves: 0,
        log_failure: None,
    };
    supervisor.started_hook();
    Ok(supervisor.supervise().await)
}

/// One supervisor per repository: a second `night run` while a run is live is refused before
/// anything changes (an in-place run has the checkout on its branch; two agents would fight).
fn refuse_a_second_run(plan: &Plan) -> Result<(), Refused> {
    match crate::run::runs::live(&plan.repo).into_iter().next() {
        Some((id, pid)) => Err(Refused {
            message: format!("run `{id}` is in progress in this repository (supervisor pid {pid})"),
            help: Some("Follow it with `night status` or `night log -f`, or stop it with `night stop`; nothing was changed.".into()),
        }),
        None => Ok(()),
    }
}

/// The marker of a preflight under way (see [`PendingPreflight`]).
const PREFLIGHT_FILE: &str = "preflight.json";

/// Create and lock the run folder, holding what preflight is about to change.
fn pending_run_folder(run_dir: &Path, pending: &PendingPreflight) -> std::io::Result<RunLock> {
    if let Some(runs) = run_dir.parent() {
        std::fs::create_dir_all(runs)?;
    }
    // Never an existing folder (a run of the same name in the same second): a refusal below
    // removes the folder, and must not remove another run's.
    std::fs::create_dir(run_dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => std::io::Error::other("a run with this id exists already; start again in a second"),
        _ => e,
    })?;
    let lock = RunLock::acquire(run_dir).map_err(std::io::Error::other)?;
    let text = serde_json::to_string(pending).map_err(std::io::Error::other)?;
    std::fs::write(run_dir.join(PREFLIGHT_FILE), text)?;
    Ok(lock)
}

/// A refused run leaves nothing: its folder goes, and `.night/runs` and `.night` when empty.
fn remove_run_folder(run_dir: &Path) {
    let _ = std::fs::remove_dir_all(run_dir);
    for parent in run_dir.ancestors().skip(1).take(2) {
        if std::fs::remove_dir(parent).is_err() {
            break;
        }
    }
}

/// Runs whose supervisor died during preflight (a `preflight.json`, no live lock): undo what
/// their preflight changed, so that this run starts from the user's branch and not from a
/// half-made run branch. One whose journal has `run-start` did start: `night resume` continues it.
fn undo_dead_preflights(plan: &Plan, status: &TextSink) {
    let Ok(entries) = std::fs::read_dir(crate::run::runs::runs_dir(&plan.repo)) else { return };
    for dir in entries.flatten().map(|e| e.path()).filter(|dir| dir.join(PREFLIGHT_FILE).is_file()) {
        if crate::run::lock::is_live(&dir) {
            continue;
        }
        let started = journal::read(&dir.join("journal.jsonl")).is_ok_and(|entries| entries.iter().any(|e| matches!(e.event, Event::RunStart(_))));
        if started {
            let _ = std::fs::remove_file(dir.join(PREFLIGHT_FILE));
            continue;
        }
        let Some(pending) = std::fs::read_to_string(dir.join(PREFLIGHT_FILE)).ok().and_then(|text| serde_json::from_str::<PendingPreflight>(&text).ok()) else {
            continue;
        };
        match RunGit::undo_preflight(&plan.repo, &pending) {
            Ok(done) => {
                let _ = std::fs::remove_dir_all(&dir);
                let what = if done.is_empty() { "nothing had changed yet".to_string() } else { done.join(", ") };
                status(&format!("night: run `{}` was killed during its preflight, before it started; undone: {what}", pending.run_id));
            }
            Err(e) => status(&format!("night: run `{}` was killed during its preflight; cannot undo it: {e}", pending.run_id)),
        }
    }
}

/// `NIGHT_TEST_PAUSE_AT=<point>`: the fault-injection tests (tests/faults.rs) SIGKILL the
/// supervisor at a point with no natural pause (`preflight`, `rollback`). Once per run folder,
/// night writes `paused-at-<point>` there and waits (a minute at most) to be killed; a resumed
/// supervisor finds the file and goes on. Unset, it costs one environment lookup.
fn test_pause(env: &EnvReader, run_dir: &Path, point: &str) {
    if env("NIGHT_TEST_PAUSE_AT").as_deref() != Some(point) {
        return;
    }
    let marker = run_dir.join(format!("paused-at-{point}"));
    if marker.exists() || std::fs::write(&marker, "").is_err() {
        return;
    }
    std::thread::sleep(Duration::from_secs(60));
}

/// What a supervisor needs before it changes anything, for a new run and a resume alike: the
/// agent (found and new enough), the notifiers, the secrets and the sandbox.
fn setup(plan: &Plan, options: &RunOptions) -> Result<Setup, Refused> {
    plan.compile_regexes().map_err(|message| Refused { message, help: Some("Simplify the regex; nothing was changed.".into()) })?;
    let adapter: Arc<dyn Adapter> = Arc::from(adapter_for(&plan.agent).map_err(|e| Refused { message: e.to_string(), help: None })?);
    adapter.preflight().map_err(|message| Refused { message, help: Some("Nothing was changed.".into()) })?;

    let mut secret_names = crate::sandbox::env::secret_names(plan);
    let env = options.env.clone();
    let mut secrets: Vec<String> = secret_names.iter().filter_map(|name| env(name)).collect();
    let journal_cell: Arc<OnceLock<Journal>> = Arc::new(OnceLock::new());
    let deliveries = journal_cell.clone();
    let lookup = |name: &str| env(name);
    // `command` notifiers run in the repository, where a runbook's `./notify.sh` lives.
    let settings = Settings::from_lookup(&lookup).in_dir(&plan.repo);
    let dispatcher = Dispatcher::with_settings(
        &plan.notifiers,
        &lookup,
        Box::new(move |delivery| {
            if let Some(journal) = deliveries.get() {
                journal.record(Event::Notification {
                    notifier: delivery.notifier.clone(),
                    on: delivery.event.name().to_string(),
                    delivered: delivery.delivered,
                    tries: delivery.tries,
                    error: delivery.error.clone(),
                });
            }
        }),
        settings,
    )
    .map_err(|e| Refused { message: format!("cannot set up the notifiers: {e}"), help: None })?;
    secrets.extend(dispatcher.secrets());
    secret_names.extend(dispatcher.env_names());
    secret_names.sort();
    secret_names.dedup();
    // `sandbox on` refuses here, before preflight (or a resume) changes anything.
    let sandbox = RunSandbox::check(plan, (options.env)("HOME").map(PathBuf::from))
        .map_err(|message| Refused { message, help: Some("Nothing was changed.".into()) })?;
    Ok(Setup { adapter, dispatcher, secrets, secret_names, journal_cell, sandbox })
}

fn open_run_folder(plan: &Plan, run_dir: &Path, work_dir: &Path, secrets: Vec<String>) -> std::io::Result<Journal> {
    std::fs::create_dir_all(run_dir)?;
    std::fs::write(run_dir.join("runbook.night"), &plan.source.text)?;
    // What `night hook` enforces inside agents that have hooks, precomputed once.
    crate::hook::Policy::from_plan(plan, work_dir).write_to(run_dir).map_err(std::io::Error::other)?;
    std::fs::File::create(run_dir.join("agent.log"))?;
    ballast::reserve(run_dir);
    Journal::open(&run_dir.join("journal.jsonl"), secrets)
}

/// SIGINT, SIGTERM and SIGHUP to night, counted: the first ends the run cleanly, the second
/// skips the remaining checks.
struct Interrupts {
    count: watch::Receiver<u32>,
}

impl Interrupts {
    fn listen() -> Self {
        let (sender, count) = watch::channel(0u32);
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) =
                (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()))
            else {
                return;
            };
            loop {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
                sender.send_modify(|n| *n += 1);
            }
        });
        Self { count }
    }

    fn count(&self) -> u32 {
        *self.count.borrow()
    }

    /// Resolves once at least `n` signals have arrived.
    async fn reached(&self, n: u32) {
        let mut count = self.count.clone();
        let _ = count.wait_for(|c| *c >= n).await;
    }
}

/// How one agent session ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SessionEnd {
    /// The agent exited by itself.
    Exited(Option<i32>),
    /// A limit fired.
    Limit(Limit),
    /// The provider's quota stopped it and `quota wait` allows one wait.
    QuotaWait(Duration),
    /// night was told to stop.
    Interrupted,
    /// The agent could not be started.
    SpawnFailed,
    /// `agent.log` could not be written (a full disk): the agent was stopped.
    LogFailed,
}

impl SessionEnd {
    fn reason(self) -> &'static str {
        match self {
            SessionEnd::Exited(_) => "exited",
            SessionEnd::Limit(limit) => limit.name(),
            SessionEnd::QuotaWait(_) => "quota",
            SessionEnd::Interrupted => "interrupted",
            SessionEnd::SpawnFailed => "spawn-failed",
            SessionEnd::LogFailed => "log-failed",
        }
    }
}

/// What follows an attempt.
enum Verdict {
    /// The run ends.
    End(Outcome, String),
    /// Another attempt, told this.
    Next(AttemptFeedback),
}

/// How an attempt's sessions ended, before the checks.
#[derive(Default)]
struct AttemptWork {
    ended_by: Option<Limit>,
    run_limit: Option<Limit>,
    interrupted: bool,
    violation: Option<Vec<String>>,
    stop_for_violation: bool,
    spawn_failed: bool,
    /// The supervisor died during the attempt's session and `night resume` judges what it left.
    supervisor_died: bool,
}

/// A failure of night itself: the run ends as `crashed`.
struct Crash(String);

impl<E: std::fmt::Display> From<E> for Crash {
    fn from(error: E) -> Self {
        Crash(error.to_string())
    }
}

struct Supervisor<'a> {
    plan: &'a Plan,
    options: RunOptions,
    adapter: Arc<dyn Adapter>,
    git: RunGit,
    start: Oid,
    run_id: String,
    branch: String,
    run_dir: PathBuf,
    journal: Journal,
    dispatcher: Dispatcher,
    secrets: Vec<String>,
    secret_names: Vec<String>,
    interrupts: Interrupts,
    started: Instant,
    started_at: String,
    run_deadline: Instant,
    attempt: u64,
    budget: Budget,
    seen_commits: HashSet<String>,
    commits: Vec<CommitRecord>,
    last_checks: Option<Vec<CheckRecord>>,
    last_green: Oid,
    baseline: Option<Baseline>,
    quota_waited: bool,
    /// Lines of `audit.jsonl` already journaled.
    audit_seen: usize,
    stopped_for_violation: bool,
    last_tip: Option<Oid>,
    /// Supervised time before this supervisor (a resumed run's earlier supervisors).
    elapsed_before: Duration,
    /// Journals a heartbeat every minute while the run lasts.
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    /// Held while this supervisor lives: no second supervisor on the run.
    _lock: RunLock,
    /// The OS sandbox of the agent's sessions (src/run/sandboxing.rs).
    sandbox: RunSandbox,
    sandbox_journaled: bool,
    /// The run branch was moved outside the run to a commit that does not descend from the
    /// start: why the run ends, and the tip it had before (kept under `refs/night/…`).
    moved: Option<(String, Oid)>,
    /// How many times the run branch was moved so far.
    moves: u32,
    /// `agent.log` could not be written (a full disk): why the run ends.
    log_failure: Option<String>,
}

impl Supervisor<'_> {
    async fn supervise(&mut self) -> Finished {
        // `run-start` first: from this line on a killed supervisor leaves a run that `night
        // resume` can pick up. Anything slower (the keep-awake child) comes after it.
        self.journal_run_start();
        let _ = std::fs::remove_file(self.run_dir.join(PREFLIGHT_FILE));
        let mut keep_awake = KeepAwake::start().await;
        self.journal_start(&keep_awake);
        let (outcome, reason) = match self.attempts().await {
            Ok(ending) => ending,
            Err(Crash(message)) => {
                self.note("crash", &format!("night failed: {message}"));
                (Outcome::Crashed, format!("night failed: {message}"))
            }
        };
        let finished = self.finish(outcome, reason).await;
        keep_awake.stop().await;
        finished
    }

    fn status(&self, line: &str) {
        (self.options.status)(line);
    }

    /// Journal the tool calls the agent's hooks denied since the last look (`audit.jsonl`), so
    /// that the report lists them.
    fn journal_denials(&mut self) {
        let audit = crate::hook::read_audit(&self.run_dir);
        for entry in audit.iter().skip(self.audit_seen).filter(|entry| entry.is_denial()) {
            let what = entry.command.as_deref().or(entry.path.as_deref()).unwrap_or_default();
            let tool = entry.tool.as_deref().unwrap_or("tool");
            let reason = entry.reason.as_deref().unwrap_or("denied");
            self.note("denied", &format!("attempt {}: {tool} `{what}`: {reason}", self.attempt));
        }
        self.audit_seen = self.audit_seen.max(audit.len());
    }

    fn note(&self, topic: &str, message: &str) {
        self.journal.record(Event::Note { topic: topic.into(), message: message.into() });
    }

    /// The `run-start` line: everything `night resume` needs to find the run again.
    fn journal_run_start(&mut self) {
        let plan = self.plan;
        let limits = &plan.limits;
        let mut written = vec![("timeout".to_string(), format_duration(limits.timeout))];
        let durations = [("session", limits.session), ("idle", limits.idle), ("silence", limits.silence), ("quota wait", limits.quota_wait)];
        written.extend(durations.iter().filter_map(|(name, d)| d.map(|d| ((*name).to_string(), format_duration(d)))));
        written.extend(limits.attempts.map(|n| ("attempts".to_string(), n.to_string())));
        written.extend(limits.stuck.map(|n| ("stuck".to_string(), n.to_string())));
        written.extend(limits.tokens.map(|n| ("tokens".to_string(), n.to_string())));
        written.extend(limits.cost.map(|c| ("cost".to_string(), c.to_string())));
        let agent_command = match &plan.agent.kind {
            crate::ast::AgentKind::Command(command) => Some(command.value.clone()),
            _ => None,
        };
        self.journal.record(Event::RunStart(RunStart {
            schema: journal::SCHEMA_VERSION,
            night_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: self.run_id.clone(),
            name: plan.name.clone(),
            runbook: plan.runbook_path.display().to_string(),
            repo: plan.repo.display().to_string(),
            work_dir: self.git.work_dir().display().to_string(),
            branch: self.branch.clone(),
            original_branch: self.git.original_branch().map(str::to_string),
            start_commit: self.start.to_string(),
            worktree: plan.worktree,
            agent: self.adapter.kind().to_string(),
            agent_command,
            limits: written,
            checks: plan.checks.iter().map(|c| statement(plan, c.span)).collect(),
            waivers: plan.waivers.iter().map(|(code, reason)| (code.name().to_string(), reason.clone())).collect(),
            pid: std::process::id(),
        }));
    }

    /// What follows `run-start`: the keep-awake hold and what the run cannot enforce.
    fn journal_start(&mut self, keep_awake: &KeepAwake) {
        let plan = self.plan;
        self.journal.record(Event::KeepAwake {
            available: keep_awake.available(),
            method: keep_awake.method.clone(),
            detail: keep_awake.detail.clone(),
        });
        let denies = !plan.permissions.deny.is_empty() || plan.permissions.deny_irreversible;
        if denies && !self.adapter.enforces_deny() {
            self.note(
                "deny-not-enforced",
                &format!("`agent {}` has no hooks: `deny` cannot be enforced before a command runs; night checks every changed path against `write` after each session", self.adapter.kind()),
            );
        }
        if (plan.limits.tokens.is_some() || plan.limits.cost.is_some()) && !self.adapter.reports_usage() {
            self.note("usage-not-reported", &format!("`agent {}` reports no usage: `tokens` and `cost` cannot fire", self.adapter.kind()));
        }
        if plan.limits.quota_wait.is_some() && !self.adapter.reports_quota() {
            self.note("quota-wait", &format!("`agent {}` reports no usage limit: `quota wait` is a no-op", self.adapter.kind()));
        }
        self.status(&format!("night: run {} on branch {} in {}", self.run_id, self.branch, self.git.work_dir().display()));
    }

    /// Baseline, then attempts until an outcome.
    async fn attempts(&mut self) -> Result<(Outcome, String), Crash> {
        if let Some(ending) = self.measure_baseline().await {
            return Ok(ending);
        }
        self.notify(NotifyEvent::Start, &format!("started on {}", self.branch), None);
        self.attempt_loop(&mut StuckTracker::default(), None).await
    }

    /// Attempts until an outcome; `feedback` is what the previous attempt (if any) tells the next.
    async fn attempt_loop(&mut self, stuck: &mut StuckTracker, mut feedback: Option<AttemptFeedback>) -> Result<(Outcome, String), Crash> {
        loop {
            if let Some(max) = self.plan.limits.attempts.filter(|max| self.attempt >= *max) {
                self.journal.record(Event::Limit { limit: "attempts".into(), value: max.to_string(), attempt: self.attempt, ends: "run".into() });
                return Ok((Outcome::Failed, format!("{} attempts used up without success", self.attempt)));
            }
            if Instant::now() >= self.run_deadline {
                return Ok((Outcome::Timeout, Limit::Timeout.explain(&self.plan.limits)));
            }
            self.attempt += 1;
            let attempt = self.attempt;
            self.journal.record(Event::AttemptStart { attempt, of: self.plan.limits.attempts });
            let of = self.plan.limits.attempts.map(|n| format!("/{n}")).unwrap_or_default();
            self.status(&format!("night: attempt {attempt}{of}"));
            let prompt = attempt_prompt(&self.plan.prompt, attempt, self.plan.limits.attempts, feedback.as_ref());
            let kind = if feedback.is_some() { "feedback" } else { "task" };
            let work = self.attempt_sessions(prompt, kind, 1).await?;
            match self.judge(work, stuck).await? {
                Verdict::End(outcome, reason) => return Ok((outcome, reason)),
                Verdict::Next(next) => feedback = Some(next),
            }
        }
    }

    /// The success checks on the start commit; an ending when the run cannot go on.
    async fn measure_baseline(&mut self) -> Option<(Outcome, String)> {
        self.status("night: measuring the baseline");
        let Some(results) = self.checks(None).await else {
            return Some((Outcome::Interrupted, "interrupted during the baseline".into()));
        };
        let records = self.records(&results);
        self.journal.record(Event::Baseline { checks: records.clone() });
        self.baseline = Some(baseline_from(&results));
        if self.interrupts.count() > 0 {
            return Some((Outcome::Interrupted, "interrupted during the baseline".into()));
        }
        let all_hold = !results.is_empty() && results.iter().all(|r| r.passed);
        if all_hold {
            let waived = self.plan.waivers.iter().any(|(code, _)| *code == Code::SuccessAlreadyHolds);
            if !waived {
                return Some((Outcome::NothingToDo, "every success check already holds on the start commit; the checks cannot tell whether the agent did anything".into()));
            }
            self.note("success-already-holds", "every success check already holds on the start commit (waived)");
        }
        None
    }

    /// After an attempt's sessions: keep its state, apply `on violation`, run the checks,
    /// then decide: an ending (success, interrupted, timeout, rollback, stuck) or the next
    /// attempt's feedback.
    async fn judge(&mut self, work: AttemptWork, stuck: &mut StuckTracker) -> Result<Verdict, Crash> {
        let attempt = self.attempt;
        let refname = format!("refs/night/{}/attempt-{attempt}", self.run_id);
        let kept = self.git.snapshot(&refname, &format!("night: state after attempt {attempt} of {}", self.run_id))?;
        self.journal.record(Event::AttemptKept { attempt, refname, commit: kept.to_string() });
        if work.stop_for_violation {
            self.stopped_for_violation = true;
            return Ok(Verdict::End(Outcome::Failed, "permission violation: the agent wrote outside `write` (on violation stop)".into()));
        }
        if work.spawn_failed {
            return Ok(Verdict::End(Outcome::Crashed, "the agent could not be started".into()));
        }
        self.status(&format!("night: checking attempt {attempt}"));
        let Some(results) = self.checks(self.baseline.as_ref()).await else {
            return Ok(Verdict::End(Outcome::Interrupted, "interrupted; the checks were skipped".into()));
        };
        let records = self.records(&results);
        let checks_hold = !results.is_empty() && results.iter().all(|r| r.passed);
        let check_signature = (!checks_hold).then(|| failure_signature(&results));
        self.journal.record(Event::Checks { attempt, passed: checks_hold, checks: records.clone(), signature: check_signature.clone() });
        self.last_checks = Some(records.clone());
        let passed_count = records.iter().filter(|r| r.passed).count();
        self.status(&format!("night: {passed_count}/{} checks hold", records.len()));
        for failed in records.iter().filter(|r| !r.passed) {
            self.status(&format!("night:   `{}` failed: {}", failed.statement, failed.reason.as_deref().unwrap_or("it did not hold")));
        }
        let success = checks_hold && work.violation.is_none();
        let head = self.git.head()?;

        let reason = match (&work.violation, work.ended_by) {
            (Some(_), _) => "violation".to_string(),
            (None, Some(limit)) => limit.name().to_string(),
            (None, None) if work.supervisor_died => "supervisor-died".to_string(),
            (None, None) => "exited".to_string(),
        };
        let signature = match (&work.violation, work.ended_by, &check_signature) {
            _ if success => None,
            (Some(paths), _, check) => Some(format!("violation:{}:{}", paths.join(","), check.clone().unwrap_or_default())),
            (None, Some(limit), _) => Some(limit.name().to_string()),
            (None, None, check) => check.clone(),
        };
        self.journal.record(Event::AttemptEnd { attempt, passed: success, reason, signature: signature.clone(), head: head.to_string() });
        let verdict = if success { "succeeded" } else { "failed" };
        self.notify(NotifyEvent::Attempt, &format!("attempt {attempt} {verdict}: {passed_count}/{} checks hold", records.len()), signature.clone());

        if work.interrupted {
            let reason = self.moved.as_ref().map_or_else(|| "stopped by a signal (Ctrl-C or `night stop`)".to_string(), |(reason, _)| reason.clone());
            return Ok(Verdict::End(Outcome::Interrupted, reason));
        }
        if success {
            return Ok(Verdict::End(Outcome::Success, format!("every success check held after attempt {attempt}")));
        }
        if let Some(limit) = work.run_limit {
            let outcome = if limit == Limit::Timeout { Outcome::Timeout } else { Outcome::Budget };
            return Ok(Verdict::End(outcome, limit.explain(&self.plan.limits)));
        }

        let mut next = AttemptFeedback {
            attempt,
            failed_checks: records.iter().filter(|r| !r.passed).cloned().collect(),
            violation: work.violation.clone().map(|paths| (paths, true)),
            ended_because: work.ended_by.map(|limit| limit.explain(&self.plan.limits)),
            rolled_back: None,
        };
        match self.rollback(&results)? {
            Some((RollbackThen::Stop, what)) => return Ok(Verdict::End(Outcome::RolledBack, what)),
            Some((RollbackThen::Retry, what)) => next.rolled_back = Some(what),
            None => {}
        }
        if let Some(signature) = &signature {
            if stuck.record(signature, self.plan.limits.stuck) {
                let value = self.plan.limits.stuck.map(|n| n.to_string()).unwrap_or_default();
                self.journal.record(Event::Limit { limit: "stuck".into(), value, attempt, ends: "run".into() });
                return Ok(Verdict::End(Outcome::Stuck, format!("the same failure {} attempts in a row", stuck.repeats())));
            }
        }
        Ok(Verdict::Next(next))
    }

    /// Every session of one attempt from `first_session` on: the first with `first_prompt`
    /// (of kind `task`, `feedback` or `continue`), then fresh ones after each `session` limit.
    async fn attempt_sessions(&mut self, first_prompt: String, first_kind: &str, first_session: u64) -> Result<AttemptWork, Crash> {
        let attempt = self.attempt;
        let mut work = AttemptWork::default();
        let mut prompt = first_prompt;
        let mut prompt_kind = first_kind.to_string();
        for session in first_session.. {
            if Instant::now() >= self.run_deadline {
                work.run_limit = Some(Limit::Timeout);
                break;
            }
            let session_start = self.git.snapshot(&format!("refs/night/{}/session-start", self.run_id), "night: state at the start of a session")?;
            let end = self.session(&prompt, &prompt_kind, session).await?;
            self.remove_stale_index_lock();
            self.poll_commits();
            if let Some(failure) = &self.log_failure {
                return Err(Crash(failure.clone()));
            }
            if self.moved.is_some() {
                work.interrupted = true;
                break;
            }

            if self.check_writes(session_start, &mut work)? {
                break;
            }

            match end {
                SessionEnd::Exited(_) => break,
                SessionEnd::SpawnFailed => {
                    work.spawn_failed = true;
                    break;
                }
                SessionEnd::Interrupted | SessionEnd::LogFailed => {
                    work.interrupted = true;
                    break;
                }
                SessionEnd::Limit(limit) => match limit.ends() {
                    Ends::Session => {
                        let commit = self.git.checkpoint(&format!("night: checkpoint at the session limit (attempt {attempt}, session {session})"))?;
                        self.journal.record(Event::Checkpoint { attempt, commit: commit.map(|c| c.to_string()) });
                        self.poll_commits();
                        prompt = continue_prompt(&self.plan.prompt, attempt, session + 1, &limit.explain(&self.plan.limits), &self.commits, self.last_checks.as_deref());
                        prompt_kind = "continue".into();
                    }
                    Ends::Attempt => {
                        work.ended_by = Some(limit);
                        break;
                    }
                    Ends::Run => {
                        work.run_limit = Some(limit);
                        break;
                    }
                },
                SessionEnd::QuotaWait(wait) => {
                    self.status(&format!("night: the provider's usage limit: waiting {}", format_duration(wait)));
                    let interrupted = tokio::select! {
                        () = tokio::time::sleep(wait) => false,
                        () = self.interrupts.reached(self.interrupts.count() + 1) => true,
                    };
                    if interrupted {
                        work.interrupted = true;
                        break;
                    }
                    prompt = continue_prompt(&self.plan.prompt, attempt, session + 1, "the provider's usage limit stopped the agent", &self.commits, self.last_checks.as_deref());
                    prompt_kind = "continue".into();
                }
            }
        }
        Ok(work)
    }

    /// Compare every path changed since `session_start` with `write` and apply `on violation`;
    /// true when the run must stop for it.
    fn check_writes(&mut self, session_start: Oid, work: &mut AttemptWork) -> Result<bool, Crash> {
        let attempt = self.attempt;
        let changed = self.git.changed_paths_since(session_start)?;
        let outside: Vec<String> = changed.into_iter().filter(|path| !self.plan.permissions.may_write(path)).collect();
        if outside.is_empty() {
            return Ok(false);
        }
        let action = self.plan.permissions.on_violation;
        let revert_commit = match action {
            OnViolation::Revert => self.git.revert_paths(session_start, &outside)?.map(|oid| oid.to_string()),
            OnViolation::Stop => None,
        };
        self.journal.record(Event::Violation { attempt, paths: outside.clone(), action, revert_commit });
        let shown = outside.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        self.status(&format!("night: violation: wrote outside `write`: {shown}"));
        self.notify(NotifyEvent::Violation, "the agent wrote outside `write`", Some(shown.clone()));
        let mut all = work.violation.take().unwrap_or_default();
        all.extend(outside);
        work.violation = Some(all);
        if action == OnViolation::Stop {
            work.stop_for_violation = true;
            return Ok(true);
        }
        Ok(false)
    }

    /// One agent session, watched until it exits or a limit fires.
    async fn session(&mut self, prompt: &str, prompt_kind: &str, session: u64) -> Result<SessionEnd, Crash> {
        let attempt = self.attempt;
        let prompt_file = self.run_dir.join(format!("prompt-{attempt}-{session}.md"));
        std::fs::write(&prompt_file, prompt)?;
        let context = LaunchContext {
            prompt,
            prompt_file: &prompt_file,
            work_dir: self.git.work_dir(),
            run_dir: &self.run_dir,
            run_id: &self.run_id,
            attempt,
            session,
        };
        let launch = self.adapter.launch(&context);
        let mut env = launch.env.clone();
        env.extend([
            ("NIGHT_PROMPT_FILE".to_string(), prompt_file.display().to_string()),
            ("NIGHT_RUN_ID".to_string(), self.run_id.clone()),
            ("NIGHT_RUN_DIR".to_string(), self.run_dir.display().to_string()),
            ("NIGHT_ATTEMPT".to_string(), attempt.to_string()),
            ("NIGHT_SESSION".to_string(), session.to_string()),
        ]);
        // The OS sandbox: its layers, the agent's environment, the git guard (sandboxing.rs).
        let mut sandbox = match self.sandbox.session(self.plan, &self.git, &self.run_dir, &env) {
            Ok(sandbox) => sandbox,
            Err(e) => {
                self.journal.record(Event::SessionStart { attempt, session, pid: None, prompt_file: prompt_file.display().to_string(), prompt_kind: prompt_kind.into() });
                self.note("spawn-failed", &e);
                self.journal.record(Event::SessionEnd { attempt, session, reason: "spawn-failed".into(), exit_code: None, signal: None, duration_ms: 0, output_bytes: 0, killed: false, wakeups: None });
                return Ok(SessionEnd::SpawnFailed);
            }
        };
        self.journal_sandbox(&sandbox);
        let mut env_remove = self.secret_names.clone();
        env_remove.extend(sandbox.env.remove.iter().cloned());
        let spec = SpawnSpec {
            program: launch.program.clone(),
            args: launch.args.clone(),
            cwd: self.git.work_dir().to_path_buf(),
            env: sandbox.env.set.clone(),
            env_remove,
            stdin: launch.stdin.clone(),
            sandbox: sandbox.prepared.clone(),
        };
        let (signal_sender, mut signals) = mpsc::channel::<AgentSignal>(256);
        let on_line: Option<LineSink> = if self.adapter.reads_output() {
            let parser = self.adapter.clone();
            Some(Arc::new(move |stream, line| {
                for signal in parser.parse_line(stream, line) {
                    let _ = signal_sender.try_send(signal);
                }
            }))
        } else {
            None
        };
        let log = std::fs::OpenOptions::new().append(true).create(true).open(self.run_dir.join("agent.log"))?;
        let log_health = Arc::new(LogHealth::default());
        let sinks = OutputSinks { log: Arc::new(log), log_health: log_health.clone(), redact: redactor(&self.secrets), echo: self.options.echo.clone(), on_line };
        let spawned_at = Instant::now();
        let mut process = match Supervised::spawn(&spec, sinks) {
            Ok(process) => process,
            Err(e) => {
                self.journal.record(Event::SessionStart { attempt, session, pid: None, prompt_file: prompt_file.display().to_string(), prompt_kind: prompt_kind.into() });
                let message = match sandbox.failed_step() {
                    Some(step) => format!("cannot start the agent in the sandbox: {step}: {e}"),
                    None => format!("cannot start the agent: {e}"),
                };
                self.note("spawn-failed", &message);
                self.journal.record(Event::SessionEnd { attempt, session, reason: "spawn-failed".into(), exit_code: None, signal: None, duration_ms: 0, output_bytes: 0, killed: false, wakeups: None });
                return Ok(SessionEnd::SpawnFailed);
            }
        };
        self.journal.record(Event::SessionStart {
            attempt,
            session,
            pid: Some(process.pid()),
            prompt_file: prompt_file.display().to_string(),
            prompt_kind: prompt_kind.into(),
        });
        self.journal.record(Event::AgentProcess(crate::run::resume::agent_process(attempt, session, process.pid())));
        self.status(&format!("night: agent started (attempt {attempt}, session {session}, pid {})", process.pid()));
        if let Err(e) = sandbox.started(process.pid()) {
            self.note("sandbox-proxy", &format!("cannot serve the proxy in the agent's network namespace ({e}): the agent has no network"));
        }

        let mut ref_watch = match RefWatch::new(self.git.common_dir(), &self.branch) {
            Ok(watch) => Some(watch),
            Err(e) => {
                self.note("ref-watch", &format!("cannot watch the run branch ({e}); new commits are looked for when a limit is due"));
                None
            }
        };
        let mut clock = SessionClock::new(self.plan.limits, self.run_deadline, spawned_at);
        // A commit made before the watch was armed wakes nothing: look once, now that it is.
        if self.poll_commits() {
            clock.on_commit(Instant::now());
        }
        let interrupt_base = self.interrupts.count();
        let mut end = loop {
            let (deadline, _) = clock.next_deadline(process.last_output());
            let output = process.output_clock();
            tokio::select! {
                status = process.wait() => break SessionEnd::Exited(status.ok().and_then(|s| s.code())),
                () = tokio::time::sleep_until(deadline) => {
                    let now = Instant::now();
                    if let Some(limit) = clock.fired(now, output.last()) {
                        // A commit inotify did not report still counts as progress.
                        if limit == Limit::Idle && self.poll_commits() {
                            clock.on_commit(now);
                            continue;
                        }
                        break SessionEnd::Limit(limit);
                    }
                }
                // Only when the tip read from the ref's files moved (src/run/ref_watch.rs).
                Some(()) = async { match ref_watch.as_mut() { Some(watch) => watch.changed().await, None => std::future::pending().await } } => {
                    if self.poll_commits() {
                        clock.on_commit(Instant::now());
                    }
                    if self.moved.is_some() {
                        break SessionEnd::Interrupted;
                    }
                }
                error = log_health.failed() => {
                    let log = self.run_dir.join("agent.log");
                    self.status(&format!("night: cannot write {}: {error}; stopping the agent", log.display()));
                    self.log_failure = Some(format!("cannot write {}: {error}", log.display()));
                    break SessionEnd::LogFailed;
                }
                Some(signal) = signals.recv() => {
                    if let Some(end) = self.on_agent_signal(signal, &mut clock) {
                        break end;
                    }
                }
                () = self.interrupts.reached(interrupt_base + 1) => break SessionEnd::Interrupted,
            }
        };
        if let SessionEnd::Limit(limit) = end {
            self.journal.record(Event::Limit { limit: limit.name().into(), value: limit.value(&self.plan.limits), attempt, ends: ends_name(limit.ends()).into() });
            self.status(&format!("night: {}", limit.explain(&self.plan.limits)));
        }
        let ended = process.terminate(&self.adapter.stop_signals(), self.options.grace).await;
        if self.log_failure.is_some() {
            // The agent is stopped and writes no more: the reserve makes room for the journal's
            // last lines and the report on the full disk.
            ballast::release(&self.run_dir);
        }
        // Lines read after the agent exited (its final result, a usage limit) still count:
        // terminate() waited for the output to be read to its end.
        while let Ok(signal) = signals.try_recv() {
            // A session ended by night already: a late usage limit decides nothing.
            if matches!(signal, AgentSignal::Quota { .. }) && !matches!(end, SessionEnd::Exited(_)) {
                continue;
            }
            if let Some(late) = self.on_agent_signal(signal, &mut clock) {
                if matches!(end, SessionEnd::Exited(_)) {
                    if let SessionEnd::Limit(limit) = late {
                        self.journal.record(Event::Limit { limit: limit.name().into(), value: limit.value(&self.plan.limits), attempt, ends: ends_name(limit.ends()).into() });
                        self.status(&format!("night: {}", limit.explain(&self.plan.limits)));
                    }
                    end = late;
                }
            }
        }
        self.journal_denials();
        let (exit_code, signal) = match ended.status {
            Some(status) => {
                use std::os::unix::process::ExitStatusExt;
                (status.code(), status.signal())
            }
            None => (None, None),
        };
        self.journal.record(Event::SessionEnd {
            attempt,
            session,
            reason: end.reason().into(),
            exit_code,
            signal,
            duration_ms: millis(process.elapsed()),
            output_bytes: process.output_bytes(),
            killed: ended.killed,
            wakeups: ref_watch.as_ref().map(RefWatch::looks),
        });
        self.journal_agent_tried(sandbox, attempt, session);
        Ok(end)
    }

    /// Journal the sandbox's layers once, before the first session.
    fn journal_sandbox(&mut self, sandbox: &SessionSandbox) {
        if self.sandbox_journaled {
            return;
        }
        self.sandbox_journaled = true;
        let (writable, gaps, network) = sandboxing::describe(&sandbox.layers, &sandbox.spec);
        let layers = sandbox.layers.names();
        let mode = match self.plan.permissions.sandbox {
            crate::ast::Sandbox::Auto => "auto",
            crate::ast::Sandbox::On => "on",
            crate::ast::Sandbox::Off => "off",
        };
        let shown = if layers.is_empty() { "none".to_string() } else { layers.join(", ") };
        self.status(&format!("night: sandbox {mode}: {shown}"));
        let hidden = crate::sandbox::env::hidden_summary(&sandbox.spec, &sandbox.env);
        self.journal.record(Event::Sandbox { mode: mode.into(), layers, gaps, writable, network, hidden });
    }

    /// After a session: what the git guard undid and where the proxy was asked to connect.
    fn journal_agent_tried(&mut self, sandbox: SessionSandbox, attempt: u64, session: u64) {
        let (what, reached) = sandbox.finish();
        for line in &what {
            self.status(&format!("night: the agent {line}"));
        }
        if !what.is_empty() || !reached.is_empty() {
            self.journal.record(Event::AgentTried { attempt, session, what, reached });
        }
    }

    /// Act on what the agent reported: usage against the budget, tool calls against `stuck`,
    /// a provider's usage limit against `quota wait`.
    fn on_agent_signal(&mut self, signal: AgentSignal, clock: &mut SessionClock) -> Option<SessionEnd> {
        match signal {
            AgentSignal::Usage { tokens, cost_usd } => {
                let fired = self.budget.add(tokens, cost_usd, &self.plan.limits);
                self.journal.record(Event::Usage {
                    attempt: self.attempt,
                    tokens,
                    cost_usd,
                    total_tokens: self.budget.tokens,
                    total_cost_usd: self.budget.cost_usd,
                });
                fired.map(SessionEnd::Limit)
            }
            AgentSignal::ToolCall { signature } => clock.on_tool_call(&signature).map(SessionEnd::Limit),
            AgentSignal::Budget { message } => {
                self.note("agent-budget", &message);
                Some(SessionEnd::Limit(Limit::Cost))
            }
            AgentSignal::Note { topic, message } => {
                self.note(&topic, &message);
                None
            }
            AgentSignal::Quota { resets_in } => match self.plan.limits.quota_wait {
                Some(most) if !self.quota_waited => {
                    self.quota_waited = true;
                    Some(SessionEnd::QuotaWait(resets_in.map_or(most, |r| r.min(most))))
                }
                _ => Some(SessionEnd::Limit(Limit::Quota)),
            },
        }
    }

    /// Journal (and notify) commits the run branch gained; true when there were any.
    fn poll_commits(&mut self) -> bool {
        // Most wake-ups are other files in the git folder changing: compare the tip first,
        // and walk the branch only when it moved.
        let tip = self.git.head().ok();
        if tip.is_some() && tip == self.last_tip {
            return false;
        }
        if let (Some(before), Some(now)) = (self.last_tip, tip) {
            if !self.git.is_ancestor(before, now) {
                self.branch_moved(before, now);
            }
        }
        self.last_tip = tip;
        let commits = match self.git.commits_since(self.start) {
            Ok(commits) => commits,
            Err(e) => {
                self.note("commits", &format!("cannot list the run branch's commits: {e}"));
                return false;
            }
        };
        let mut found = false;
        for commit in commits {
            if !self.seen_commits.insert(commit.id.clone()) {
                continue;
            }
            found = true;
            let record = CommitRecord {
                attempt: self.attempt,
                id: commit.id.clone(),
                short: commit.short.clone(),
                summary: commit.summary.clone(),
                files: commit.files,
                insertions: commit.insertions,
                deletions: commit.deletions,
            };
            self.journal.record(Event::Commit(record.clone()));
            self.status(&format!("night: commit {} {}", record.short, record.summary));
            self.notify(NotifyEvent::Commit, &format!("commit {}", record.short), Some(record.summary.clone()));
            self.commits.push(record);
        }
        found
    }

    /// The run branch's tip moved somewhere that does not hold its last tip: an agent's
    /// `reset` or `--amend`, or someone else's `git branch -f` / `update-ref`. The old tip is
    /// kept under `refs/night/<run-id>/moved-<n>` so that no commit is lost; a tip that does
    /// not even descend from the start commit is not the run's work any more, and ends the run.
    fn branch_moved(&mut self, before: Oid, now: Oid) {
        let n = self.moves + 1;
        self.moves = n;
        let kept = format!("refs/night/{}/moved-{n}", self.run_id);
        let stored = self.git.keep(&kept, before, "night: the run branch's tip before it was moved");
        let (short_before, short_now): (String, String) = (before.to_string().chars().take(7).collect(), now.to_string().chars().take(7).collect());
        let where_kept = match stored {
            Ok(()) => format!("its previous tip {short_before} is kept at `{kept}`"),
            Err(e) => format!("its previous tip {short_before} could not be kept ({e}); `git reflog` still has it"),
        };
        if self.git.is_ancestor(self.start, now) {
            self.note("branch-moved", &format!("the run branch `{}` was moved from {short_before} to {short_now}, which does not hold it; {where_kept}", self.branch));
            return;
        }
        let reason = format!("the run branch `{}` was moved outside the run to {short_now}, which does not descend from the start commit; night stopped without touching it; {where_kept}", self.branch);
        self.note("branch-moved", &reason);
        self.status(&format!("night: {reason}"));
        self.moved = Some((reason, before));
    }

    /// Remove an `index.lock` the agent's killed git left behind (see `RunGit::remove_stale_index_lock`).
    fn remove_stale_index_lock(&self) {
        match self.git.remove_stale_index_lock() {
            Ok(Some(what)) => {
                self.status(&format!("night: {what}"));
                self.note("index-lock", &what);
            }
            Ok(None) => {}
            Err(e) => self.note("index-lock", &e.to_string()),
        }
    }

    /// Run the success checks; `None` when a second signal asked to skip them.
    async fn checks(&self, baseline: Option<&Baseline>) -> Option<Vec<CheckResult>> {
        let env = vec![("NIGHT_RUN_ID".to_string(), self.run_id.clone()), ("NIGHT_RUN_DIR".to_string(), self.run_dir.display().to_string())];
        // The checks run the agent's code: the agent's credential, git and network layers (sandbox/checks.rs).
        let sandbox = self.sandbox.checks(self.plan, &self.git, &self.run_dir, &env).unwrap_or_else(|e| {
            self.note("sandbox-checks", &e);
            None
        });
        let checks = run_checks_in(self.plan, self.git.work_dir(), &self.git, self.start, baseline, &env, &self.secret_names, Some(&self.run_dir), sandbox.as_ref());
        tokio::select! {
            results = checks => Some(results),
            () = self.interrupts.reached(2) => None,
        }
    }

    fn records(&self, results: &[CheckResult]) -> Vec<CheckRecord> {
        results
            .iter()
            .map(|r| CheckRecord {
                index: r.index,
                statement: r.statement.clone(),
                passed: r.passed,
                tests: r.tests.as_ref().map(|t| TestCountsRecord { passed: t.passed, failed: t.failed, skipped: t.skipped }),
                count: r.count,
                exit_code: r.exit_code,
                timed_out: r.timed_out,
                reason: r.reason.as_ref().map(|reason| journal::redact(reason, &self.secrets)),
                duration_ms: r.duration_ms,
                output_tail: journal::redact(crate::run::feedback::tail(&r.output_tail, JOURNAL_TAIL), &self.secrets),
            })
            .collect()
    }

    /// Apply `rollback` after a failed attempt: `Some` when the condition held and the branch
    /// was reset. Otherwise the head counts as the newest green point.
    fn rollback(&mut self, results: &[CheckResult]) -> Result<Option<(RollbackThen, String)>, Crash> {
        let head = self.git.head()?;
        let plan = self.plan;
        let Some(rollback) = &plan.rollback else {
            return Ok(None);
        };
        let when = rollback_when(plan);
        let Some((holds, measured)) = rollback_condition(plan, results, self.baseline.as_ref(), when) else {
            self.note("rollback", "the `tests` check reported no counts: the rollback condition could not be evaluated");
            return Ok(None);
        };
        if !holds {
            self.last_green = head;
            return Ok(None);
        }
        let to = rollback.to.as_ref().map_or(RollbackTo::LastGreen, |t| t.value);
        let then = rollback.then.as_ref().map_or(RollbackThen::Stop, |t| t.value);
        let target = match to {
            RollbackTo::Start => self.start,
            RollbackTo::LastGreen => self.last_green,
        };
        self.git.reset_to(target)?;
        // The worst moment to die: the branch is reset and the journal does not say so yet
        // (`night resume` judges the condition again and redoes the reset).
        test_pause(&self.options.env, &self.run_dir, "rollback");
        self.last_tip = Some(target);
        let kept_ref = format!("refs/night/{}/attempt-{}", self.run_id, self.attempt);
        let condition = condition_text(when);
        self.journal.record(Event::Rollback {
            attempt: self.attempt,
            condition: condition.clone(),
            measured: measured.clone(),
            to,
            target: target.to_string(),
            kept_ref: kept_ref.clone(),
            then,
        });
        let short: String = target.to_string().chars().take(7).collect();
        let what = format!("`{condition}` held ({measured}); the run branch was reset to {short} and the work is kept at {kept_ref}");
        self.status(&format!("night: rollback: {what}"));
        self.notify(NotifyEvent::Rollback, &format!("rolled back to {short}: `{condition}` held"), Some(what.clone()));
        Ok(Some((then, what)))
    }

    /// Queue a notification of `event`; `summary` is one human line, `detail` says more.
    fn notify(&self, event: NotifyEvent, summary: &str, detail: Option<String>) {
        self.dispatcher.notify(self.message(event, None, summary, detail, None));
    }

    fn message(&self, event: NotifyEvent, outcome: Option<Outcome>, summary: &str, detail: Option<String>, report: Option<&Path>) -> Message {
        let checks = self
            .last_checks
            .iter()
            .flatten()
            .map(|c| CheckSummary { check: c.statement.clone(), passed: c.passed, detail: c.reason.clone() })
            .collect();
        Message {
            event,
            outcome: outcome.map(|o| o.name().to_string()),
            run_id: self.run_id.clone(),
            name: self.plan.name.clone(),
            branch: self.branch.clone(),
            started_at: self.started_at.clone(),
            at: journal::now_rfc3339(),
            elapsed_seconds: self.elapsed().as_secs(),
            attempt: (self.attempt > 0).then_some(self.attempt),
            attempts: self.attempt,
            checks,
            tokens: self.budget.tokens,
            cost_usd: self.budget.cost_usd,
            report: report.map(|p| p.display().to_string()),
            summary: journal::redact(&format!("{}: {summary}", self.plan.name), &self.secrets),
            detail: detail.map(|d| journal::redact(&d, &self.secrets)),
        }
    }

    /// The end: keep leftover work, journal the end, write the report, notify, report again
    /// with the deliveries.
    async fn finish(&mut self, outcome: Outcome, reason: String) -> Finished {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        if let Err(e) = RunSandbox::finish_run(&self.git, &self.run_dir) {
            self.note("sandbox-objects", &format!("cannot copy the agent's objects into the repository: {e}; they stay in the run folder"));
        }
        if self.moves > 0 {
            // Only now are the agent's objects all in the repository's own store.
            match self.git.drop_broken_refs(&format!("refs/night/{}/moved-", self.run_id)) {
                Ok(dropped) if !dropped.is_empty() => self.note("branch-moved", &format!("the agent destroyed the commits it had moved the run branch away from; their refs were dropped: {}", dropped.join(", "))),
                Ok(_) => {}
                Err(e) => self.note("branch-moved", &format!("cannot check the refs kept for moved tips: {e}")),
            }
        }
        self.remove_stale_index_lock();
        // A branch moved away from the run is someone else's now: nothing is committed on it.
        if outcome != Outcome::NothingToDo && !matches!(self.git.is_clean(), Ok(true)) && !self.stopped_for_violation && self.moved.is_none() {
            match self.git.checkpoint(&format!("night: leftover work at the end of {}", self.run_id)) {
                Ok(commit) => self.journal.record(Event::Checkpoint { attempt: self.attempt, commit: commit.map(|c| c.to_string()) }),
                Err(e) => self.note("checkpoint", &format!("cannot commit the leftover work: {e}")),
            }
            self.poll_commits();
        }
        let head = match &self.moved {
            Some((_, before)) => *before,
            None => self.git.head().unwrap_or(self.start),
        };
        let listed = if self.moved.is_some() { Err(()) } else { self.git.commits_since(self.start).map_err(|_| ()) };
        let commits: Vec<CommitRecord> = match listed {
            Ok(list) => list
                .into_iter()
                .map(|c| {
                    let attempt = self.commits.iter().find(|seen| seen.id == c.id).map_or(0, |seen| seen.attempt);
                    CommitRecord { attempt, id: c.id, short: c.short, summary: c.summary, files: c.files, insertions: c.insertions, deletions: c.deletions }
                })
                .collect(),
            Err(_) => self.commits.clone(),
        };
        let diffstat = self
            .git
            .diffstat(self.start, head)
            .map(|d| DiffRecord { files: d.files, insertions: d.insertions, deletions: d.deletions, per_file: d.per_file })
            .unwrap_or_default();
        self.journal.record(Event::RunEnd(RunEnd {
            outcome: outcome.name().into(),
            reason: reason.clone(),
            exit_code: outcome.exit_code(),
            attempts: self.attempt,
            head: head.to_string(),
            commits,
            diffstat,
            duration_ms: millis(self.elapsed()),
            tokens: self.budget.tokens,
            cost_usd: self.budget.cost_usd,
        }));
        let report = self.run_dir.join("report.md");
        self.write_report(&report);
        let attempts = match self.attempt {
            1 => "1 attempt".to_string(),
            n => format!("{n} attempts"),
        };
        let summary = format!("{} after {attempts} in {}", outcome.name(), format_duration(self.elapsed()));
        self.dispatcher.notify_end(self.message(NotifyEvent::End, Some(outcome), &summary, Some(reason.clone()), Some(&report)));
        let _ = self.dispatcher.flush(NOTIFY_FLUSH).await;
        self.write_report(&report);
        ballast::release(&self.run_dir);
        Finished { outcome, reason, run_id: self.run_id.clone(), run_dir: self.run_dir.clone(), report }
    }

    /// `report.md` and `report.json` (and `report.html` with `--html`) from the journal.
    fn write_report(&self, path: &Path) {
        let formats = crate::report::Formats { html: self.options.html };
        if let Err(e) = crate::report::write_reports(&self.run_dir, formats, false, &self.secrets) {
            self.status(&format!("night: cannot write the report {}: {e}", path.display()));
        }
    }
}

/// The plan's `rollback when`, or its default `failing > baseline`.
pub(crate) fn rollback_when(plan: &Plan) -> RollbackWhen {
    let default = RollbackWhen { metric: TestMetric::Failing, comparison: Comparison::Greater, target: Target::Baseline };
    plan.rollback.as_ref().and_then(|r| r.when.as_ref()).map_or(default, |w| w.value)
}

/// Evaluate `when` over the first `tests` check: whether it holds, and what was measured.
pub(crate) fn rollback_condition(plan: &Plan, results: &[CheckResult], baseline: Option<&Baseline>, when: RollbackWhen) -> Option<(bool, String)> {
    let index = plan.checks.iter().position(|c| matches!(c.value, Check::Tests { .. }))?;
    let counts = results.iter().find(|r| r.index == index)?.tests.as_ref()?;
    let pick = |passed: u64, failed: u64| match when.metric {
        TestMetric::Failing => failed,
        TestMetric::Passing => passed,
    };
    let value = pick(counts.passed, counts.failed);
    let target = match when.target {
        Target::Number(n) => n,
        Target::Baseline => {
            let base = baseline?.tests.get(index)?.as_ref()?;
            pick(base.passed, base.failed)
        }
    };
    let metric = match when.metric {
        TestMetric::Failing => "failing",
        TestMetric::Passing => "passing",
    };
    Some((when.comparison.holds(value, target), format!("{metric} {value}, {} {target}", when.target)))
}

fn condition_text(when: RollbackWhen) -> String {
    let metric = match when.metric {
        TestMetric::Failing => "failing",
        TestMetric::Passing => "passing",
    };
    format!("{metric} {} {}", when.comparison, when.target)
}

fn ends_name(ends: Ends) -> &'static str {
    match ends {
        Ends::Session => "session",
        Ends::Attempt => "attempt",
        Ends::Run => "run",
    }
}

/// The statement as written in the runbook.
fn statement(plan: &Plan, span: crate::source::Span) -> String {
    plan.source.text.get(span.start..span.end).map_or_else(String::new, |text| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

// ---- `night resume`: a supervisor rebuilt from the journal (see run/resume.rs) ----

/// Supervise the rest of a run whose supervisor died, from the state `replayed` from its journal.
pub(crate) async fn resume_run(
    plan: &Plan,
    options: RunOptions,
    git: RunGit,
    run_dir: &Path,
    lock: RunLock,
    replayed: crate::run::resume::Replayed,
    resume: journal::Resume,
) -> Result<Finished, Refused> {
    let interrupts = Interrupts::listen();
    let Setup { adapter, dispatcher, secrets, secret_names, journal_cell, sandbox } = setup(plan, &options)?;
    let journal = Journal::open(&run_dir.join("journal.jsonl"), secrets.clone())
        .map_err(|e| Refused { message: format!("cannot open the journal to append: {e}"), help: None })?;
    let _ = journal_cell.set(journal.clone());
    ballast::reserve(run_dir);
    let crate::run::resume::Replayed { run_start, started_at, start, elapsed_before, attempt, budget, commits, last_checks, last_green, baseline, quota_waited, mut stuck, next, closing, .. } =
        replayed;
    let mut supervisor = Supervisor {
        plan,
        options,
        adapter,
        git,
        start,
        run_id: run_start.run_id.clone(),
        branch: run_start.branch.clone(),
        run_dir: run_dir.to_path_buf(),
        journal,
        dispatcher,
        secrets,
        secret_names,
        interrupts,
        started: Instant::now(),
        started_at,
        // `timeout` is the whole run's: only what the earlier supervisors left of it remains.
        run_deadline: Instant::now() + plan.limits.timeout.saturating_sub(elapsed_before),
        attempt,
        budget,
        seen_commits: commits.iter().map(|c| c.id.clone()).collect(),
        commits,
        last_checks,
        last_green,
        baseline,
        quota_waited,
        // The dead supervisor's look at `audit.jsonl` is not journaled; later denials are.
        audit_seen: crate::hook::read_audit(run_dir).len(),
        stopped_for_violation: false,
        last_tip: None,
        elapsed_before,
        heartbeat: None,
        _lock: lock,
        sandbox,
        // A resume journals its sandbox again: this supervisor's sessions may differ.
        sandbox_journaled: false,
        moved: None,
        moves: 0,
        log_failure: None,
    };
    supervisor.started_hook();
    Ok(supervisor.supervise_resumed(next, &mut stuck, resume, closing).await)
}

impl Supervisor<'_> {
    /// Supervised time in the whole run: earlier supervisors' and this one's.
    fn elapsed(&self) -> Duration {
        self.elapsed_before + self.started.elapsed()
    }

    /// Once the run folder is locked: tell the caller (`--detach` hands over its output there),
    /// and start journaling a heartbeat, which a later `night resume` counts time up to.
    fn started_hook(&mut self) {
        if let Some(hook) = self.options.on_started.take() {
            hook(&self.run_id, &self.run_dir);
        }
        let every = (self.options.env)("NIGHT_HEARTBEAT_MS").and_then(|ms| ms.parse().ok()).map_or(HEARTBEAT_EVERY, Duration::from_millis);
        let journal = self.journal.clone();
        let (before, started) = (self.elapsed_before, self.started);
        self.heartbeat = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(Instant::now() + every, every);
            loop {
                tick.tick().await;
                journal.record(Event::Heartbeat { elapsed_ms: millis(before + started.elapsed()) });
            }
        }));
    }

    async fn supervise_resumed(&mut self, next: crate::run::resume::Next, stuck: &mut StuckTracker, resume: journal::Resume, closing: Vec<Event>) -> Finished {
        let mut keep_awake = KeepAwake::start().await;
        let leftover = resume.leftover.clone();
        self.journal.record(Event::Resume(resume));
        for event in closing {
            self.journal.record(event);
        }
        self.journal.record(Event::KeepAwake { available: keep_awake.available(), method: keep_awake.method.clone(), detail: keep_awake.detail.clone() });
        self.status(&format!("night: resuming run {} on branch {} in {} ({leftover})", self.run_id, self.branch, self.git.work_dir().display()));
        let (outcome, reason) = match self.resumed_attempts(next, stuck).await {
            Ok(ending) => ending,
            Err(Crash(message)) => {
                self.note("crash", &format!("night failed: {message}"));
                (Outcome::Crashed, format!("night failed: {message}"))
            }
        };
        let finished = self.finish(outcome, reason).await;
        keep_awake.stop().await;
        finished
    }

    /// Pick up where the dead supervisor was, then attempts as usual.
    async fn resumed_attempts(&mut self, next: crate::run::resume::Next, stuck: &mut StuckTracker) -> Result<(Outcome, String), Crash> {
        use crate::run::resume::Next;
        let work = match next {
            Next::Baseline => return self.attempts().await,
            Next::End(outcome, reason) => return Ok((outcome, reason)),
            Next::Attempt(feedback) => return self.attempt_loop(stuck, feedback).await,
            Next::Rollback { results, mut feedback } => {
                match self.rollback(&results)? {
                    Some((RollbackThen::Stop, what)) => return Ok((Outcome::RolledBack, what)),
                    Some((RollbackThen::Retry, what)) => {
                        if let Some(feedback) = feedback.as_mut() {
                            feedback.rolled_back = Some(what);
                        }
                    }
                    None => {}
                }
                return self.attempt_loop(stuck, feedback).await;
            }
            Next::Session { session, prompt, kind } => {
                let of = self.plan.limits.attempts.map(|n| format!("/{n}")).unwrap_or_default();
                self.status(&format!("night: attempt {}{of} goes on with session {session}", self.attempt));
                // What the dead session wrote is checked against `write` like any session's.
                let mut dead = AttemptWork { supervisor_died: true, ..AttemptWork::default() };
                if self.dead_session_writes(&mut dead)? {
                    dead
                } else {
                    let mut work = self.attempt_sessions(prompt, &kind, session).await?;
                    if let Some(mut paths) = dead.violation {
                        paths.extend(work.violation.take().unwrap_or_default());
                        work.violation = Some(paths);
                    }
                    work
                }
            }
            Next::Judge { ended_by } => {
                let mut work = AttemptWork::default();
                match ended_by.map(Limit::ends) {
                    Some(Ends::Run) => work.run_limit = ended_by,
                    Some(Ends::Attempt) => work.ended_by = ended_by,
                    _ => {}
                }
                self.dead_session_writes(&mut work)?;
                work
            }
        };
        let feedback = match self.judge(work, stuck).await? {
            Verdict::End(outcome, reason) => return Ok((outcome, reason)),
            Verdict::Next(feedback) => feedback,
        };
        self.attempt_loop(stuck, Some(feedback)).await
    }

    /// `check_writes` for the session the dead supervisor was watching, from the snapshot it
    /// took when the session began.
    fn dead_session_writes(&mut self, work: &mut AttemptWork) -> Result<bool, Crash> {
        let refname = format!("refs/night/{}/session-start", self.run_id);
        let Ok(session_start) = git2::Repository::open(self.git.work_dir()).and_then(|repository| repository.refname_to_id(&refname)) else {
            return Ok(false);
        };
        self.check_writes(session_start, work)
    }
}
