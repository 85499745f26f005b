//! `night resume RUN`: continue a run whose supervisor died (SIGKILL, a crash, a reboot) from
//! its record alone: load the history, end what the dead supervisor left running, and go on
//! from the history's state (`Step::from_history`) with the same phases as any run. The run
//! branch, the attempts, the baseline, the commits, the budget and the supervised time all
//! carry on: `timeout`, `tokens`, `cost` and `attempts` are limits of the whole run.

use crate::os::group::{self, Leftover};
use crate::os::keep_awake::KeepAwake;
use crate::plan::Plan;
use crate::record::{AgentProcess, Event, History, Journal, Recorder, Resume, RunDir, RunsDir, SessionEndReason};
use crate::run::Finished;
use crate::run::error::Refused;
use crate::run::git::RunGit;
use crate::run::signals::Interrupts;
use crate::run::context::{refuse_a_second_run, setup, Context};
use crate::run::state::{AttemptWork, Step};
use crate::run::supervisor::{millis, Supervisor};
use crate::run::RunOptions;
use git2::Oid;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Continue the run in `run_dir` with `plan` (its runbook as it ran).
pub async fn resume(plan: &Plan, run_dir: &RunDir, options: RunOptions) -> Result<Finished, Refused> {
    let interrupts = Interrupts::listen();
    let starting = crate::os::lock::DirLock::acquire(&plan.repo, Duration::from_secs(60)).map_err(Refused::StartLock)?;
    let lock = run_dir.lock()?;
    refuse_a_second_run(&RunsDir::of_repo(&plan.repo), Some(run_dir))?;
    drop(starting);
    let history = run_dir.load().map_err(|source| Refused::Journal { doing: "read", source })?;
    let Some((run_start, _)) = history.start.clone() else { return Err(Refused::NeverStarted) };
    if let Some(outcome) = history.outcome().filter(|o| !matches!(o, crate::record::Outcome::Crashed | crate::record::Outcome::Interrupted)) {
        return Err(Refused::Ended { run_id: run_start.run_id, outcome });
    }
    let start = Oid::from_str(&run_start.start_commit).map_err(|_| Refused::BadStartCommit(run_start.start_commit.clone()))?;
    let work_dir = PathBuf::from(&run_start.work_dir);
    let git = RunGit::open(&work_dir, &run_start.branch)?;
    if !run_start.worktree {
        check_on_branch(&work_dir, &run_start.branch)?;
    }
    let mut git = git.with_original_branch(run_start.original_branch.clone());
    if !run_start.worktree {
        if let Some(relative) = plan.runbook_path.strip_prefix(&plan.repo).ok().map(|p| p.to_string_lossy().replace('\\', "/")) {
            git = git.with_protected(&relative);
        }
    }
    let (cx, journal_cell) = setup(plan, options, interrupts)?;
    let leftover = end_leftovers(&history, run_dir, cx.options.grace).await;

    // The dead session (if one was open) ends now; the step is read from the history as it
    // will be once that is recorded.
    let closing = closing_events(&history, cx.supervised_before(&history));
    let mut after = history.clone();
    for event in &closing {
        after.apply(&crate::record::Entry::now(event.clone()));
    }
    let step = Step::from_history(&after, plan);
    let resume = Resume {
        pid: std::process::id(),
        previous_pid: history.supervisor_pid,
        elapsed_ms: millis(cx.supervised_before(&history)),
        attempts: history.attempt_count(),
        continues_attempt: matches!(step, Step::Sessions { .. } | Step::Judge(_)).then(|| history.attempt_count()),
        leftover: leftover.clone(),
    };

    let journal = Journal::open(&run_dir.journal(), cx.secrets.clone()).map_err(|source| Refused::Journal { doing: "open to append", source })?;
    let _ = journal_cell.set(journal.clone());
    crate::run::ballast::reserve(run_dir);
    let recorder = Recorder::new(journal, history);
    let supervisor = Supervisor::new(cx, git, run_dir.clone(), recorder, lock, start);
    let finished = supervisor
        .supervise(|supervisor: &mut Supervisor<'_>, keep_awake: &KeepAwake| {
            supervisor.record(Event::Resume(resume));
            for event in closing {
                supervisor.record(event);
            }
            supervisor.record(Event::KeepAwake { available: keep_awake.available(), method: keep_awake.method.clone(), detail: keep_awake.detail.clone() });
            let run_id = supervisor.run_id().to_string();
            supervisor.status(&format!("night: resuming run {run_id} on branch {} in {} ({leftover})", supervisor.branch(), supervisor.git.work_dir().display()));
            supervisor.continue_with(step)
        })
        .await;
    Ok(finished)
}

impl Context<'_> {
    /// Supervised time before this resume, from the history's monotonic figures.
    fn supervised_before(&self, history: &History) -> Duration {
        history.supervised(crate::run::supervisor::HEARTBEAT_EVERY * 2)
    }
}

impl Supervisor<'_> {
    /// The first step of a resumed supervisor: what a dead session wrote is checked against
    /// `write` like any session's before the attempt goes on or is judged.
    fn continue_with(&mut self, step: Step) -> Step {
        match step {
            Step::Sessions { session, work } => {
                let of = self.cx.plan.limits.attempts.map(|n| format!("/{n}")).unwrap_or_default();
                self.status(&format!("night: attempt {}{of} goes on with session {session}", self.attempt()));
                self.with_dead_session_writes(work, |work| Step::Sessions { session, work })
            }
            Step::Judge(work) => self.with_dead_session_writes(work, Step::Judge),
            other => other,
        }
    }

    fn with_dead_session_writes(&mut self, mut work: AttemptWork, then: impl FnOnce(AttemptWork) -> Step) -> Step {
        match self.dead_session_writes(&mut work) {
            Ok(true) => Step::Judge(AttemptWork { supervisor_died: true, ..work }),
            Ok(false) => then(work),
            Err(crash) => {
                self.note("crash", &format!("night failed: {crash}"));
                Step::End(crate::record::Outcome::Crashed, format!("night failed: {crash}"))
            }
        }
    }
}

/// The session the dead supervisor was watching, ended: it ran from its start to the dead
/// supervisor's last line (wall-clock stamps: never longer than the supervised time).
fn closing_events(history: &History, supervised: Duration) -> Vec<Event> {
    let Some(attempt) = history.current_attempt().filter(|a| a.end.is_none()) else { return Vec::new() };
    let Some(open) = attempt.sessions.iter().rev().find(|s| s.started_at.is_some()).filter(|s| s.end.is_none()) else { return Vec::new() };
    let ran = open.started_at.zip(history.last_at).and_then(|(from, to)| (to - from).to_std().ok()).unwrap_or_default().min(supervised);
    vec![Event::SessionEnd {
        attempt: attempt.number,
        session: open.number,
        reason: SessionEndReason::SupervisorDied,
        exit_code: None,
        signal: None,
        duration_ms: millis(ran),
        output_bytes: 0,
        killed: false,
        wakeups: None,
    }]
}

/// End what the dead supervisor left running: the agent of an open session, and a success
/// check's command (a hung one would otherwise run on unwatched). What was found, in words.
async fn end_leftovers(history: &History, run_dir: &RunDir, grace: Duration) -> String {
    let open = history.current_attempt().filter(|a| a.end.is_none()).and_then(|a| a.sessions.iter().rev().find(|s| s.started_at.is_some())).filter(|s| s.end.is_none());
    let mut leftover = match open.and_then(|s| s.process.as_ref()) {
        Some(process) => describe(group::end_recorded(&process.identity(), grace).await, process.pgid, "the agent left running", "no agent process was left"),
        None => "no agent session was open".into(),
    };
    let running = run_dir.running_check();
    if let Some(process) = std::fs::read_to_string(&running).ok().and_then(|text| serde_json::from_str::<AgentProcess>(&text).ok()) {
        let ended = describe(group::end_recorded(&process.identity(), grace).await, process.pgid, "the check command left running", "no check command was left");
        leftover = format!("{leftover}; {ended}");
    }
    let _ = std::fs::remove_file(&running);
    leftover
}

fn describe(leftover: Leftover, pgid: u32, what: &str, none: &str) -> String {
    match leftover {
        Leftover::MachineRestarted => "the machine restarted since; no agent process was left".into(),
        Leftover::PidReused => format!("pid {pgid} now belongs to another process; it was left alone"),
        Leftover::Gone => none.into(),
        Leftover::OutOfRange => "the agent's process group id is out of range".into(),
        Leftover::Ended { members, killed } => {
            let how = if killed { "SIGTERM, then SIGKILL" } else { "SIGTERM" };
            format!("{what} (process group {pgid}, {members} process(es)) was ended with {how}")
        }
    }
}

/// An in-place run's checkout must still be on the run branch: night commits and resets there.
fn check_on_branch(work_dir: &Path, branch: &str) -> Result<(), Refused> {
    let repository = git2::Repository::open(work_dir).map_err(|e| Refused::Git(crate::run::git::GitError::Git { action: "open the work dir", source: e }))?;
    let head = repository.head().ok().and_then(|h| h.shorthand().map(str::to_string));
    if head.as_deref() == Some(branch) {
        return Ok(());
    }
    Err(Refused::OffBranch { head: head.unwrap_or_else(|| "a detached HEAD".into()), branch: branch.to_string() })
}
