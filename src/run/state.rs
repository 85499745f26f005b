//! The run as a state machine. [`Step`] names where a run stands; each phase of the
//! supervisor (`judge.rs`, `session.rs` …) does one step's work, records it, and returns the
//! next step. Everything a step needs to know about the run so far — the attempt, the
//! baseline, the next prompt, the last green commit, the `stuck` series — is read from the
//! [`History`] here, with the plan, and never kept beside it: a new run starts at
//! [`Step::Baseline`], and `night resume` continues from [`Step::from_history`] with the same
//! phases and the same words.

use crate::ast::{Comparison, RollbackThen, RollbackWhen, Target, TestMetric};
use crate::diagnostic::Code;
use crate::plan::Plan;
use crate::record::history::{Attempt, History};
use crate::record::{AttemptEndReason, Ends, Limit, Outcome, PromptKind, SessionEndReason};
use crate::run::feedback::{attempt_prompt, continue_prompt, AttemptFeedback};
use crate::run::limits::explain;
use crate::run::success::Baseline;

/// Where a run stands: the work to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Measure the success checks on the start commit.
    Baseline,
    /// Start the next attempt, unless attempts or time are used up.
    Attempt,
    /// Run the current attempt's sessions, from this one on.
    Sessions {
        /// The first session to run (1-based).
        session: u64,
        /// What the attempt's earlier sessions left (a resumed run's dead session).
        work: AttemptWork,
    },
    /// Keep the attempt's state, run the checks and record how the attempt ended.
    Judge(AttemptWork),
    /// Decide what follows an attempt whose end is recorded: the end, a rollback, `stuck`, or
    /// the next attempt.
    Decide(AttemptWork),
    /// The run is over.
    End(Outcome, String),
}

/// How an attempt's sessions ended, before its checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptWork {
    /// The limit that ended the attempt (`idle`, `silence`, `tool-loop`).
    pub ended_by: Option<Limit>,
    /// The limit that ended the run (`timeout`, `tokens`, `cost`, `quota`).
    pub run_limit: Option<Limit>,
    /// This supervisor was told to stop (or the run branch was moved away).
    pub interrupted: bool,
    /// A signal stopped the attempt under a supervisor that died since: it ends nothing now,
    /// and no rollback and no `stuck` count are owed for it.
    pub cut_short: bool,
    /// Paths written outside `write`.
    pub violation: Option<Vec<String>>,
    /// `on violation stop` applies.
    pub stop_for_violation: bool,
    /// The agent could not be started.
    pub spawn_failed: bool,
    /// The supervisor died during the attempt's last session.
    pub supervisor_died: bool,
}

impl AttemptWork {
    /// What the journal says the attempt's sessions left, for a supervisor that takes over.
    pub fn from_history(attempt: &Attempt) -> Self {
        let limit = |ends: Ends| attempt.limits.iter().rev().find(|l| l.ends == ends && l.limit != Limit::Stuck && l.limit != Limit::Attempts).map(|l| l.limit);
        let paths: Vec<String> = attempt.violations.iter().flat_map(|v| v.paths.iter().cloned()).collect();
        AttemptWork {
            ended_by: limit(Ends::Attempt),
            run_limit: limit(Ends::Run),
            interrupted: false,
            cut_short: cut_short(attempt),
            stop_for_violation: attempt.violations.iter().any(|v| v.action == crate::ast::OnViolation::Stop),
            violation: (!paths.is_empty()).then_some(paths),
            spawn_failed: false,
            supervisor_died: attempt.sessions.last().and_then(|s| s.end.as_ref()).is_some_and(|e| e.reason == SessionEndReason::SupervisorDied),
        }
    }

    /// Add the writes outside `write` that earlier sessions of the same attempt left.
    pub fn merge_violations(&mut self, earlier: AttemptWork) {
        if let Some(mut paths) = earlier.violation {
            paths.extend(self.violation.take().unwrap_or_default());
            self.violation = Some(paths);
        }
        self.stop_for_violation |= earlier.stop_for_violation;
    }
}

/// A signal stopped the attempt (Ctrl-C, `night stop`, a full disk), during a session or
/// during its checks.
fn cut_short(attempt: &Attempt) -> bool {
    attempt.end.as_ref().is_some_and(|e| e.reason == AttemptEndReason::Interrupted)
        || attempt.sessions.iter().filter_map(|s| s.end.as_ref()).any(|e| matches!(e.reason, SessionEndReason::Interrupted | SessionEndReason::LogFailed))
}

impl Step {
    /// Where a run whose supervisor died goes on, from what its journal says. The dead
    /// session, if one was open, is taken as ended by `supervisor-died` (the resume records so).
    pub fn from_history(history: &History, plan: &Plan) -> Step {
        if history.baseline.is_none() {
            return Step::Baseline;
        }
        let Some(attempt) = history.current_attempt() else {
            return match nothing_to_do(history, plan).or_else(|| cannot_run(history, plan)) {
                Some(ending) => ending,
                None => Step::Attempt,
            };
        };
        if let Some(ending) = recorded_ending(attempt, plan) {
            return ending;
        }
        if attempt.end.is_some() {
            return Step::Decide(AttemptWork::from_history(attempt));
        }
        let work = AttemptWork::from_history(attempt);
        let Some(last) = attempt.sessions.iter().rev().find(|s| s.started_at.is_some() || s.end.is_some()) else {
            return Step::Sessions { session: 1, work: AttemptWork::default() };
        };
        match last.end.as_ref().map(|e| e.reason) {
            // Open when the supervisor died, or ended by a session limit or a quota wait: the
            // attempt goes on with a fresh session.
            None | Some(SessionEndReason::SupervisorDied | SessionEndReason::Limit(Limit::Session)) => Step::Sessions { session: last.number.saturating_add(1), work },
            Some(SessionEndReason::Limit(Limit::Quota)) if work.run_limit.is_none() => Step::Sessions { session: last.number.saturating_add(1), work },
            Some(_) => Step::Judge(work),
        }
    }
}

/// The end an attempt's journal already holds: a rollback that stopped the run, or a limit
/// that ended it after the attempt (`stuck`, `attempts`).
fn recorded_ending(attempt: &Attempt, plan: &Plan) -> Option<Step> {
    if let Some((rollback, _)) = attempt.rollback.as_ref().filter(|(r, _)| r.then == RollbackThen::Stop) {
        return Some(Step::End(Outcome::RolledBack, rollback.what()));
    }
    attempt.limits.iter().find_map(|fired| match fired.limit {
        Limit::Stuck => Some(Step::End(Outcome::Stuck, explain(Limit::Stuck, &plan.limits))),
        Limit::Attempts => Some(Step::End(Outcome::Failed, explain(Limit::Attempts, &plan.limits))),
        _ => None,
    })
}

/// After the baseline: the run ends at once when every check already holds on the start
/// commit (unless `success-already-holds` is waived): the checks could not tell whether the
/// agent did anything.
pub fn nothing_to_do(history: &History, plan: &Plan) -> Option<Step> {
    let results = history.baseline.as_ref()?;
    let all_hold = !results.is_empty() && results.iter().all(|r| r.passed);
    (all_hold && !already_holds_waived(plan))
        .then(|| Step::End(Outcome::NothingToDo, "every success check already holds on the start commit; the checks cannot tell whether the agent did anything".into()))
}

/// After the baseline: the run ends at once as `failed` when a success check's command was
/// not found there (exit status 127 with the shell's `sh: …: not found`): a typo, or a
/// program the run's worktree does not have; no attempt could pass that check. Not when
/// `command-not-found` is waived (the agent is to make the program).
pub fn cannot_run(history: &History, plan: &Plan) -> Option<Step> {
    if plan.waivers.iter().any(|(code, _)| *code == Code::CommandNotFound) {
        return None;
    }
    let results = history.baseline.as_ref()?;
    results.iter().filter(|r| !r.passed && r.exit_code == Some(127)).find_map(|record| {
        let said = shell_not_found(&record.output_tail)?;
        Some(Step::End(Outcome::Failed, format!("the check `{}` cannot run: `{said}` at the baseline; no attempt could pass it", record.statement)))
    })
}

/// The shell's own line saying a command was not found (dash: `sh: 2: xyz: not found`;
/// bash as `sh`: `sh: line 2: xyz: command not found`), the last one in `output`.
fn shell_not_found(output: &str) -> Option<&str> {
    output.lines().rev().map(str::trim).find(|line| line.starts_with("sh: ") && (line.ends_with(": not found") || line.ends_with(": command not found")))
}

/// Whether the runbook waives `success-already-holds`.
pub fn already_holds_waived(plan: &Plan) -> bool {
    plan.waivers.iter().any(|(code, _)| *code == Code::SuccessAlreadyHolds)
}

/// The baseline the history measured.
pub fn baseline(history: &History) -> Option<Baseline> {
    history.baseline.as_deref().map(Baseline::new)
}

/// The prompt of session `session` of attempt `attempt`, and its kind: the task (with what
/// the last attempt got wrong) for an attempt's first session, the task and the progress so
/// far for a fresh session inside an attempt.
pub fn prompt(history: &History, plan: &Plan, attempt: u64, session: u64) -> (String, PromptKind) {
    if session <= 1 {
        let feedback = feedback(history, plan, attempt.saturating_sub(1));
        let kind = if feedback.is_some() { PromptKind::Feedback } else { PromptKind::Task };
        return (attempt_prompt(&plan.prompt, attempt, plan.limits.attempts, feedback.as_ref()), kind);
    }
    let previous = history.attempt(attempt).and_then(|a| a.sessions.iter().rev().find(|s| s.number == session - 1)).and_then(|s| s.end.as_ref()).map(|e| e.reason);
    let reason = match previous {
        Some(SessionEndReason::Limit(Limit::Session)) => explain(Limit::Session, &plan.limits),
        Some(SessionEndReason::Limit(Limit::Quota)) => "the provider's usage limit stopped the agent".to_string(),
        _ => "night's supervisor stopped and `night resume` took over".to_string(),
    };
    (continue_prompt(&plan.prompt, attempt, session, &reason, history), PromptKind::Continue)
}

/// What attempt `attempt` tells the next one: the checks that failed, what it wrote outside
/// `write`, why night ended its session, what was rolled back. `None` before the first attempt.
pub fn feedback(history: &History, plan: &Plan, attempt: u64) -> Option<AttemptFeedback> {
    if attempt == 0 {
        return None;
    }
    let mut feedback = AttemptFeedback { attempt, failed_checks: Vec::new(), violation: None, ended_because: None, rolled_back: None, checked: false };
    let Some(record) = history.attempt(attempt) else { return Some(feedback) };
    if let Some(verified) = &record.verified {
        feedback.checked = !verified.results.is_empty();
        feedback.failed_checks = verified.results.iter().filter(|c| !c.passed).cloned().collect();
    }
    for violation in &record.violations {
        let (mut all, _) = feedback.violation.take().unwrap_or_default();
        all.extend(violation.paths.iter().cloned());
        feedback.violation = Some((all, violation.action == crate::ast::OnViolation::Revert));
    }
    if let Some(limit) = record.limits.iter().rev().find(|l| l.ends == Ends::Attempt) {
        feedback.ended_because = Some(explain(limit.limit, &plan.limits));
    }
    feedback.rolled_back = record.rollback.as_ref().map(|(rollback, _)| rollback.what());
    Some(feedback)
}

/// Why attempt `attempt` failed, in one phrase, for the end's reason (`stuck …: <this>`):
/// the checks held but it wrote outside `write`; the limit that ended it; or its failed
/// checks. `None` when the journal does not say.
pub fn failure_in_words(history: &History, attempt: u64) -> Option<String> {
    let record = history.attempt(attempt)?;
    let results = record.verified.as_ref().map(|v| v.results.as_slice()).unwrap_or_default();
    let outside: Vec<String> = record.violations.iter().flat_map(|v| v.paths.iter().cloned()).collect();
    if !outside.is_empty() && !results.is_empty() && results.iter().all(|r| r.passed) {
        return Some(crate::report::held_but_wrote_outside(&outside));
    }
    if let Some(limit) = record.limits.iter().rev().find(|l| l.ends == Ends::Attempt) {
        return Some(format!("the attempt ended at `{} {}`", limit.limit, limit.value));
    }
    let failed: Vec<String> = results.iter().filter(|r| !r.passed).map(|r| format!("`{}` failed", r.statement)).collect();
    (!failed.is_empty()).then(|| failed.join(", "))
}

/// Whether an ended, failed attempt took part in the verdicts after it (rollback, `stuck`):
/// one cut short by a signal, or one a run-wide limit ended, was never judged so.
fn judged(attempt: &Attempt) -> bool {
    let run_limit = attempt.limits.iter().any(|l| matches!(l.limit, Limit::Timeout | Limit::Tokens | Limit::Cost | Limit::Quota));
    attempt.end.as_ref().is_some_and(|e| !e.passed) && !cut_short(attempt) && !run_limit
}

/// How many attempts in a row, up to the last judged one, failed with the same signature.
pub fn stuck_repeats(history: &History) -> u64 {
    let signatures = history.attempts.iter().filter(|a| judged(a) && a.rollback.as_ref().is_none_or(|(r, _)| r.then != RollbackThen::Stop)).filter_map(|a| a.end.as_ref()?.signature.as_deref());
    let mut repeats: u64 = 0;
    let mut last: Option<&str> = None;
    for signature in signatures {
        repeats = if last == Some(signature) { repeats.saturating_add(1) } else { 1 };
        last = Some(signature);
    }
    repeats
}

/// The newest commit the run branch was at after a judged attempt whose results did not
/// meet the rollback condition: where `rollback to last-green` resets to. The start commit
/// (`None`) when there is none.
pub fn last_green(history: &History, plan: &Plan) -> Option<String> {
    plan.rollback.as_ref()?;
    let when = rollback_when(plan);
    let baseline = baseline(history);
    history
        .attempts
        .iter()
        .filter(|a| judged(a) && a.rollback.is_none())
        .filter(|a| {
            let results = a.verified.as_ref().map_or(&[][..], |v| v.results.as_slice());
            rollback_condition(plan, results, baseline.as_ref(), when).is_ok_and(|(holds, _)| !holds)
        })
        .filter_map(|a| a.end.as_ref().map(|e| e.head.clone()))
        .next_back()
}

/// The plan's `rollback when`, or its default `failing > baseline`.
pub fn rollback_when(plan: &Plan) -> RollbackWhen {
    let default = RollbackWhen { metric: TestMetric::Failing, comparison: Comparison::Greater, target: Target::Baseline };
    plan.rollback.as_ref().and_then(|r| r.when.as_ref()).map_or(default, |w| w.value)
}

/// The condition as written, e.g. `failing > baseline`.
pub fn condition_text(when: RollbackWhen) -> String {
    format!("{} {} {}", metric(when.metric), when.comparison, when.target)
}

pub(crate) fn metric(metric: TestMetric) -> &'static str {
    match metric {
        TestMetric::Failing => "failing",
        TestMetric::Passing => "passing",
    }
}

mod condition;

pub use condition::{rollback_condition, Undecided};

#[cfg(test)]
mod tests;
