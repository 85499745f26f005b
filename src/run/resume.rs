//! `night resume RUN`: continue a run whose supervisor died (SIGKILL, a crash, a reboot) from
//! its journal alone. The run branch, the attempts done, the baseline, the commits seen, the
//! budget and the supervised time all carry on: `timeout`, `tokens`, `cost` and `attempts` are
//! limits of the whole run. An agent left running by the dead supervisor is ended first.

use crate::plan::Plan;
use crate::run::checks::{baseline_from, Baseline, CheckResult};
use crate::run::feedback::{attempt_prompt, AttemptFeedback};
use crate::run::journal::{self, AgentProcess, CheckRecord, CommitRecord, Entry, Event, Resume, RunStart};
use crate::run::limits::{Budget, Ends, Limit, StuckTracker};
use crate::run::lock::RunLock;
use crate::run::outcome::Outcome;
use crate::run::supervisor::{Finished, Refused, RunOptions};
use crate::test_counts::TestCounts;
use git2::Oid;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `agent-process` event for a session's agent just started.
pub fn agent_process(attempt: u64, session: u64, pid: u32) -> AgentProcess {
    AgentProcess { attempt, session, pid, pgid: pid, start_ticks: start_ticks(pid), boot_id: boot_id() }
}

/// A process's start time in clock ticks after boot: `/proc/<pid>/stat` field 22. Together
/// with the boot id it names one process for good, where a pid can be reused.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|id| id.trim().to_string())
}

/// Processes whose process group is `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()))
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { return false };
            let mut fields = rest.split_whitespace();
            let state = fields.next().unwrap_or("Z");
            let pgrp = fields.nth(1).and_then(|p| p.parse::<u32>().ok());
            pgrp == Some(pgid) && state != "Z" && state != "X"
        })
        .collect()
}

/// End what is left of a dead supervisor's agent, if it is still the same process group: after
/// a reboot nothing is; a live leader must have the recorded start time (else its pid was
/// reused by an unrelated process); members without their leader are ours, because the kernel
/// does not hand out a pid still in use as a process group id. What was found and done.
pub fn end_leftover(process: &AgentProcess, grace: Duration) -> String {
    if process.boot_id.is_some() && process.boot_id != boot_id() {
        return "the machine restarted since; no agent process was left".into();
    }
    if let Some(ticks) = start_ticks(process.pgid) {
        if process.start_ticks.is_some_and(|recorded| recorded != ticks) {
            return format!("pid {} now belongs to another process; it was left alone", process.pgid);
        }
    }
    let members = group_members(process.pgid);
    if members.is_empty() {
        return "no agent process was left".into();
    }
    let Ok(raw) = i32::try_from(process.pgid) else {
        return "the agent's process group id is out of range".into();
    };
    let group = Pid::from_raw(raw);
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline && !group_members(process.pgid).is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = !group_members(process.pgid).is_empty();
    if killed {
        let _ = killpg(group, Signal::SIGKILL);
    }
    let how = if killed { "SIGTERM, then SIGKILL" } else { "SIGTERM" };
    format!("the agent left running (process group {}, {} process(es)) was ended with {how}", process.pgid, members.len())
}

/// Where the resumed supervisor picks up.
pub(crate) enum Next {
    /// The supervisor died before the baseline was measured: start from there.
    Baseline,
    /// Go on inside the current attempt with a fresh session.
    Session {
        /// The session's number in the attempt.
        session: u64,
        /// Its prompt.
        prompt: String,
        /// `task`, `feedback` or `continue`.
        kind: String,
    },
    /// The attempt's sessions ended; judge what they left (checks, rollback, stuck).
    Judge {
        /// The limit that ended the last session, if any.
        ended_by: Option<Limit>,
    },
    /// Start the next attempt, told this.
    Attempt(Option<AttemptFeedback>),
    /// The attempt failed and its rollback condition held, but the journal has no rollback:
    /// the supervisor died before or during it. Roll back (again: resetting twice to the same
    /// commit changes nothing), then go on as the rollback says.
    Rollback {
        /// The attempt's checks, as journaled.
        results: Vec<CheckResult>,
        /// What the next attempt is told, if there is one.
        feedback: Option<AttemptFeedback>,
    },
    /// The run had reached its outcome before the supervisor died: only the end is left.
    End(Outcome, String),
}

/// Everything the journal says a resumed supervisor needs.
pub(crate) struct Replayed {
    pub run_start: RunStart,
    pub started_at: String,
    pub start: Oid,
    pub elapsed_before: Duration,
    pub attempt: u64,
    pub budget: Budget,
    pub commits: Vec<CommitRecord>,
    pub last_checks: Option<Vec<CheckRecord>>,
    pub last_green: Oid,
    pub baseline: Option<Baseline>,
    pub quota_waited: bool,
    pub stuck: StuckTracker,
    pub next: Next,
    /// Events to journal right after `resume` (the dead session's end).
    pub closing: Vec<Event>,
    /// The dead supervisor's agent, when a session was open.
    pub open_process: Option<AgentProcess>,
    pub previous_pid: Option<u32>,
}

const LIMITS: [Limit; 8] = [Limit::Timeout, Limit::Session, Limit::Idle, Limit::Silence, Limit::ToolLoop, Limit::Tokens, Limit::Cost, Limit::Quota];

fn limit_named(name: &str) -> Option<Limit> {
    LIMITS.into_iter().find(|limit| limit.name() == name)
}

fn result_of(record: &CheckRecord) -> CheckResult {
    CheckResult {
        index: record.index,
        statement: record.statement.clone(),
        passed: record.passed,
        tests: record.tests.map(|t| TestCounts { passed: t.passed, failed: t.failed, skipped: t.skipped }),
        count: record.count,
        exit_code: record.exit_code,
        timed_out: record.timed_out,
        output_tail: record.output_tail.clone(),
        duration_ms: record.duration_ms,
        reason: record.reason.clone(),
    }
}

fn seconds_between(from: &str, to: &str) -> Option<Duration> {
    let from = chrono::DateTime::parse_from_rfc3339(from).ok()?;
    let to = chrono::DateTime::parse_from_rfc3339(to).ok()?;
    (to - from).to_std().ok()
}

/// Rebuild the supervisor's state from the journal.
pub(crate) fn replay(plan: &Plan, entries: &[Entry]) -> Result<Replayed, String> {
    let (run_start, started_at) = entries
        .iter()
        .find_map(|e| match &e.event {
            Event::RunStart(start) => Some((start.clone(), e.at.clone())),
            _ => None,
        })
        .ok_or("the journal has no `run-start`: nothing to resume")?;
    let start = Oid::from_str(&run_start.start_commit).map_err(|e| format!("the journal's start commit is not a commit id: {e}"))?;

    // Supervised time comes from monotonic clocks: the run's start (0), each heartbeat
    // (supervised time so far) and each resume (what it counted before). The journal's stamps
    // are wall-clock time, which jumps (NTP, a resumed laptop, `date -s`): from the last
    // monotonic figure to the dead supervisor's last line they count, but never for more than
    // a supervisor can go without a heartbeat. A clock jumped ten hours ahead must not use up
    // `timeout` on resume, nor one jumped back give the run more.
    let mut counted = (Duration::ZERO, started_at.clone());
    let mut previous_pid = Some(run_start.pid);
    let mut last_at = started_at.clone();
    for entry in entries {
        last_at.clone_from(&entry.at);
        match &entry.event {
            Event::Resume(resume) => {
                counted = (Duration::from_millis(resume.elapsed_ms), entry.at.clone());
                previous_pid = Some(resume.pid);
            }
            Event::Heartbeat { elapsed_ms } => counted = (counted.0.max(Duration::from_millis(*elapsed_ms)), entry.at.clone()),
            _ => {}
        }
    }
    let since = seconds_between(&counted.1, &last_at).unwrap_or_default().min(crate::run::supervisor::HEARTBEAT_EVERY * 2);
    let elapsed_before = counted.0 + since;

    let mut budget = Budget::default();
    let mut commits = Vec::new();
    let mut last_checks = None;
    let mut baseline_records = None;
    let mut quota_waited = false;
    let mut stuck = StuckTracker::default();
    let mut last_green = start;
    let mut attempt = 0;
    for entry in entries {
        match &entry.event {
            Event::Usage { total_tokens, total_cost_usd, .. } => budget = Budget { tokens: *total_tokens, cost_usd: *total_cost_usd },
            Event::Commit(commit) if !commits.iter().any(|c: &CommitRecord| c.id == commit.id) => commits.push(commit.clone()),
            Event::Checks { checks, .. } => last_checks = Some(checks.clone()),
            Event::Baseline { checks } => baseline_records = Some(checks.clone()),
            Event::SessionEnd { reason, .. } if reason == "quota" => quota_waited = true,
            Event::AttemptStart { attempt: n, .. } => attempt = attempt.max(*n),
            Event::AttemptEnd { attempt: n, passed: false, signature, head, .. } => {
                if let Some(signature) = signature {
                    stuck.record(signature, plan.limits.stuck);
                }
                let rolled_back = entries.iter().any(|e| matches!(&e.event, Event::Rollback { attempt: r, .. } if r == n));
                let checks = last_checks.clone().unwrap_or_default();
                let baseline = baseline_records.as_ref().map(|records: &Vec<CheckRecord>| baseline_from(&records.iter().map(result_of).collect::<Vec<_>>()));
                if !rolled_back && plan.rollback.is_some() {
                    let results: Vec<CheckResult> = checks.iter().map(result_of).collect();
                    let when = crate::run::supervisor::rollback_when(plan);
                    let holds = crate::run::supervisor::rollback_condition(plan, &results, baseline.as_ref(), when).map(|(holds, _)| holds);
                    if holds == Some(false) {
                        if let Ok(head) = Oid::from_str(head) {
                            last_green = head;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let baseline = baseline_records.as_ref().map(|records| baseline_from(&records.iter().map(result_of).collect::<Vec<_>>()));

    let mut closing = Vec::new();
    let mut open_process = None;
    let next = next_step(plan, entries, attempt, baseline_records.as_deref(), elapsed_before, &mut closing, &mut open_process);
    Ok(Replayed {
        run_start,
        started_at,
        start,
        elapsed_before,
        attempt,
        budget,
        commits,
        last_checks,
        last_green,
        baseline,
        quota_waited,
        stuck,
        next,
        closing,
        open_process,
        previous_pid,
    })
}

/// Decide where to pick up, from the last attempt's events.
fn next_step(plan: &Plan, entries: &[Entry], attempt: u64, baseline: Option<&[CheckRecord]>, elapsed: Duration, closing: &mut Vec<Event>, open_process: &mut Option<AgentProcess>) -> Next {
    let Some(baseline) = baseline else { return Next::Baseline };
    if attempt == 0 {
        let waived = plan.waivers.iter().any(|(code, _)| *code == crate::diagnostic::Code::SuccessAlreadyHolds);
        if !baseline.is_empty() && baseline.iter().all(|c| c.passed) && !waived {
            return Next::End(Outcome::NothingToDo, "every success check already holds on the start commit; the checks cannot tell whether the agent did anything".into());
        }
        return Next::Attempt(None);
    }
    let of_attempt: Vec<&Entry> = entries.iter().filter(|e| event_attempt(&e.event) == Some(attempt)).collect();
    let ended = of_attempt.iter().find_map(|e| match &e.event {
        Event::AttemptEnd { passed, .. } => Some(*passed),
        _ => None,
    });
    if let Some(passed) = ended {
        return after_attempt(plan, attempt, passed, &of_attempt, baseline);
    }

    // The attempt was under way. Its last session: still open (the agent was running), or ended.
    let last_start = of_attempt.iter().rev().find_map(|e| match &e.event {
        Event::SessionStart { session, .. } => Some(*session),
        _ => None,
    });
    let Some(session) = last_start else {
        // Died before the agent started: run the attempt's first session as it would have been.
        let feedback = feedback_of(plan, entries, attempt.saturating_sub(1));
        let prompt = attempt_prompt(&plan.prompt, attempt, plan.limits.attempts, feedback.as_ref());
        let kind = if feedback.is_some() { "feedback" } else { "task" };
        return Next::Session { session: 1, prompt, kind: kind.into() };
    };
    let end_reason = of_attempt.iter().find_map(|e| match &e.event {
        Event::SessionEnd { session: s, reason, .. } if *s == session => Some(reason.clone()),
        _ => None,
    });
    match end_reason {
        None => {
            *open_process = of_attempt.iter().rev().find_map(|e| match &e.event {
                Event::AgentProcess(process) if process.session == session => Some(process.clone()),
                _ => None,
            });
            // As long as the journal shows it alive: from its start to the dead supervisor's last line.
            let started = of_attempt.iter().rev().find_map(|e| match &e.event {
                Event::SessionStart { session: s, .. } if *s == session => Some(e.at.clone()),
                _ => None,
            });
            let last = entries.last().map(|e| e.at.clone()).unwrap_or_default();
            // Wall-clock stamps: a jumped clock cannot make the session longer than the run.
            let duration = started.and_then(|from| seconds_between(&from, &last)).unwrap_or_default().min(elapsed);
            closing.push(Event::SessionEnd {
                attempt,
                session,
                reason: "supervisor-died".into(),
                exit_code: None,
                signal: None,
                duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                output_bytes: 0,
                killed: false,
                wakeups: None,
            });
            let prompt = crate::run::feedback::continue_prompt(&plan.prompt, attempt, session + 1, "night's supervisor stopped and `night resume` took over", &commits_of(entries), last_checks_of(entries).as_deref());
            Next::Session { session: session + 1, prompt, kind: "continue".into() }
        }
        // A session limit or a quota wait was being handled: the attempt goes on.
        Some(reason) if reason == "session" || reason == "quota" => {
            let prompt = crate::run::feedback::continue_prompt(&plan.prompt, attempt, session + 1, "night's supervisor stopped and `night resume` took over", &commits_of(entries), last_checks_of(entries).as_deref());
            Next::Session { session: session + 1, prompt, kind: "continue".into() }
        }
        Some(reason) => Next::Judge { ended_by: limit_named(&reason) },
    }
}

fn commits_of(entries: &[Entry]) -> Vec<CommitRecord> {
    entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Commit(commit) => Some(commit.clone()),
            _ => None,
        })
        .collect()
}

fn last_checks_of(entries: &[Entry]) -> Option<Vec<CheckRecord>> {
    entries.iter().rev().find_map(|e| match &e.event {
        Event::Checks { checks, .. } => Some(checks.clone()),
        _ => None,
    })
}

/// What came after an attempt that was judged before the supervisor died.
fn after_attempt(plan: &Plan, attempt: u64, passed: bool, events: &[&Entry], baseline: &[CheckRecord]) -> Next {
    if passed {
        return Next::End(Outcome::Success, format!("every success check held after attempt {attempt}"));
    }
    for entry in events {
        match &entry.event {
            Event::Rollback { condition, measured, kept_ref, target, then: crate::ast::RollbackThen::Stop, .. } => {
                let short: String = target.chars().take(7).collect();
                return Next::End(Outcome::RolledBack, format!("`{condition}` held ({measured}); the run branch was reset to {short} and the work is kept at {kept_ref}"));
            }
            Event::Limit { limit, ends, .. } if ends == "run" => {
                let outcome = match limit.as_str() {
                    "stuck" => Outcome::Stuck,
                    "timeout" => Outcome::Timeout,
                    "attempts" => Outcome::Failed,
                    _ => Outcome::Budget,
                };
                let reason = match limit_named(limit) {
                    Some(limit) => limit.explain(&plan.limits),
                    None => format!("the `{limit}` limit ended the run"),
                };
                return Next::End(outcome, reason);
            }
            _ => {}
        }
    }
    let feedback = feedback_of(plan, &events.iter().map(|e| (*e).clone()).collect::<Vec<_>>(), attempt);
    // An interrupted attempt ends the run before its rollback is considered: none is owed.
    let rolled_back = events.iter().any(|e| matches!(&e.event, Event::Rollback { .. }) || matches!(&e.event, Event::SessionEnd { reason, .. } if reason == "interrupted"));
    let checks = events.iter().rev().find_map(|e| match &e.event {
        Event::Checks { checks, .. } => Some(checks.iter().map(result_of).collect::<Vec<_>>()),
        _ => None,
    });
    if let (false, Some(results)) = (rolled_back || plan.rollback.is_none(), checks) {
        let baseline = baseline_from(&baseline.iter().map(result_of).collect::<Vec<_>>());
        let when = crate::run::supervisor::rollback_when(plan);
        if crate::run::supervisor::rollback_condition(plan, &results, Some(&baseline), when).is_some_and(|(holds, _)| holds) {
            return Next::Rollback { results, feedback };
        }
    }
    Next::Attempt(feedback)
}

/// The feedback attempt `attempt` gives the next one, as the supervisor built it.
fn feedback_of(plan: &Plan, entries: &[Entry], attempt: u64) -> Option<AttemptFeedback> {
    if attempt == 0 {
        return None;
    }
    let mut feedback = AttemptFeedback { attempt, failed_checks: Vec::new(), violation: None, ended_because: None, rolled_back: None };
    for entry in entries.iter().filter(|e| event_attempt(&e.event) == Some(attempt)) {
        match &entry.event {
            Event::Checks { checks, .. } => feedback.failed_checks = checks.iter().filter(|c| !c.passed).cloned().collect(),
            Event::Violation { paths, action, .. } => {
                let (mut all, _) = feedback.violation.take().unwrap_or_default();
                all.extend(paths.iter().cloned());
                feedback.violation = Some((all, *action == crate::ast::OnViolation::Revert));
            }
            Event::Limit { limit, .. } => {
                if let Some(limit) = limit_named(limit).filter(|l| l.ends() == Ends::Attempt) {
                    feedback.ended_because = Some(limit.explain(&plan.limits));
                }
            }
            Event::Rollback { condition, measured, kept_ref, target, .. } => {
                let short: String = target.chars().take(7).collect();
                feedback.rolled_back = Some(format!("`{condition}` held ({measured}); the run branch was reset to {short} and the work is kept at {kept_ref}"));
            }
            _ => {}
        }
    }
    Some(feedback)
}

/// The attempt an event belongs to.
fn event_attempt(event: &Event) -> Option<u64> {
    match event {
        Event::AttemptStart { attempt, .. }
        | Event::SessionStart { attempt, .. }
        | Event::SessionEnd { attempt, .. }
        | Event::Usage { attempt, .. }
        | Event::Limit { attempt, .. }
        | Event::Checkpoint { attempt, .. }
        | Event::AttemptKept { attempt, .. }
        | Event::Violation { attempt, .. }
        | Event::Checks { attempt, .. }
        | Event::AttemptEnd { attempt, .. }
        | Event::Rollback { attempt, .. } => Some(*attempt),
        Event::AgentProcess(process) => Some(process.attempt),
        Event::Commit(commit) => Some(commit.attempt),
        _ => None,
    }
}

/// Continue the run in `run_dir` with `plan` (its runbook as it ran): take the run's lock,
/// replay the journal, end the dead supervisor's agent, and supervise to the end.
pub async fn resume(plan: &Plan, run_dir: &Path, options: RunOptions) -> Result<Finished, Refused> {
    let refused = |message: String| Refused { message, help: None };
    let starting = crate::run::lock::StartLock::acquire(&plan.repo).map_err(|e| refused(e.to_string()))?;
    let lock = RunLock::acquire(run_dir).map_err(|e| Refused {
        message: e.to_string(),
        help: Some("Follow it with `night status` or `night log -f`; `night stop` stops it.".into()),
    })?;
    if let Some((id, pid)) = crate::run::runs::live(&plan.repo).into_iter().find(|(id, _)| Some(id.as_str()) != run_dir.file_name().and_then(|n| n.to_str())) {
        return Err(Refused { message: format!("run `{id}` is in progress in this repository (supervisor pid {pid})"), help: Some("One run at a time per repository: stop it first with `night stop`.".into()) });
    }
    drop(starting);
    let entries = journal::read(&run_dir.join("journal.jsonl")).map_err(|e| refused(format!("cannot read the journal: {e}")))?;
    let data = crate::report::ReportData::from_journal(&entries);
    if let Some(outcome) = data.outcome.as_deref().filter(|o| !matches!(*o, "crashed" | "interrupted")) {
        return Err(Refused {
            message: format!("run `{}` already ended as `{outcome}`: there is nothing to resume", data.run_id),
            help: Some("`night resume` continues a run whose supervisor died, crashed or was stopped; start a new run with `night run`.".into()),
        });
    }
    let replayed = replay(plan, &entries).map_err(refused)?;
    let work_dir = PathBuf::from(&replayed.run_start.work_dir);
    let git = crate::run::git::RunGit::open(&work_dir, &replayed.run_start.branch).map_err(|e| refused(e.to_string()))?;
    if !replayed.run_start.worktree {
        check_on_branch(&work_dir, &replayed.run_start.branch)?;
    }
    let mut git = git.with_original_branch(replayed.run_start.original_branch.clone());
    if !replayed.run_start.worktree {
        if let Some(relative) = plan.runbook_path.strip_prefix(&plan.repo).ok().map(|p| p.to_string_lossy().replace('\\', "/")) {
            git = git.with_protected(&relative);
        }
    }
    let mut leftover = match &replayed.open_process {
        Some(process) => end_leftover(process, options.grace),
        None => "no agent session was open".into(),
    };
    // A check command the dead supervisor was running: ended the same way, so that nothing
    // of the dead supervisor's outlives it (a hung check would otherwise run on unwatched).
    let check_file = run_dir.join(crate::run::checks::RUNNING_CHECK);
    if let Some(process) = std::fs::read_to_string(&check_file).ok().and_then(|text| serde_json::from_str::<AgentProcess>(&text).ok()) {
        let ended = end_leftover(&process, options.grace).replace("the agent left running", "the check command left running").replace("no agent process was left", "no check command was left");
        leftover = format!("{leftover}; {ended}");
    }
    let _ = std::fs::remove_file(&check_file);
    let resume = Resume {
        pid: std::process::id(),
        previous_pid: replayed.previous_pid,
        elapsed_ms: u64::try_from(replayed.elapsed_before.as_millis()).unwrap_or(u64::MAX),
        attempts: replayed.attempt,
        continues_attempt: match replayed.next {
            Next::Session { .. } | Next::Judge { .. } => Some(replayed.attempt),
            _ => None,
        },
        leftover,
    };
    crate::run::supervisor::resume_run(plan, options, git, run_dir, lock, replayed, resume).await
}

/// An in-place run's checkout must still be on the run branch: night commits and resets there.
fn check_on_branch(work_dir: &Path, branch: &str) -> Result<(), Refused> {
    let repository = git2::Repository::open(work_dir).map_err(|e| Refused { message: format!("cannot open `{}`: {e}", work_dir.display()), help: None })?;
    let head = repository.head().ok().and_then(|h| h.shorthand().map(str::to_string));
    if head.as_deref() == Some(branch) {
        return Ok(());
    }
    Err(Refused {
        message: format!("the checkout is on `{}`, not on the run branch `{branch}`", head.unwrap_or_else(|| "a detached HEAD".into())),
        help: Some(format!("Run `git switch {branch}` (with a clean tree) and resume again; nothing was changed.")),
    })
}
