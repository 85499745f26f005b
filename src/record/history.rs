//! The one fold of a run's events: [`History`]. The report renders it, the live status line
//! and `night status` show where it stands, and `night resume` continues from it; the
//! supervisor itself folds every event it records into one, so that what it does next and what
//! a resumed supervisor would do next are read from the same data.
//!
//! The fold trusts nothing it reads: events in an odd order, out-of-range numbers or a
//! journal edited by hand fold to a history that says less, never to a panic; nothing is
//! sized by a number from the journal.

use crate::ast::OnViolation;
use crate::record::audit::AuditSummary;
use crate::record::{
    AgentProcess, AttemptEndReason, SuccessRecord, CommitRecord, DeliveryReady, DeliveryRecord, DeliveryStart, Ends, Entry, Event, Limit, PromptKind, Resume, RollbackRecord, RunEnd, RunStart, SessionEndReason,
};
use crate::record::journal::{Lines, Skipped};
use crate::record::Outcome;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Everything a run's journal says, folded.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The `run-start` event and when it was written.
    pub start: Option<(RunStart, DateTime<Utc>)>,
    /// Keep-awake: held, by what, or why not.
    pub keep_awake: Option<KeepAwake>,
    /// Notes, `(topic, message)`, in order.
    pub notes: Vec<(String, String)>,
    /// The OS sandbox of the sessions (the last journaled).
    pub sandbox: Option<SandboxRecord>,
    /// What the agent tried that the sandbox refused or night undid, per session.
    pub agent_tried: Vec<AgentTried>,
    /// The success checks on the start commit.
    pub baseline: Option<Vec<SuccessRecord>>,
    /// When the baseline was journaled.
    pub baseline_at: Option<DateTime<Utc>>,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
    /// Commits seen on the run branch, oldest first, once each, with when they were journaled.
    pub commits: Vec<(CommitRecord, DateTime<Utc>)>,
    /// Tokens used so far.
    pub tokens: u64,
    /// Cost so far, US dollars.
    pub cost_usd: f64,
    /// Whether the agent reported usage at all.
    pub usage_reported: bool,
    /// Notifications delivered or given up.
    pub notifications: Vec<NotificationRecord>,
    /// Each `night resume`.
    pub resumes: Vec<ResumeRecord>,
    /// The end, while no later resume went on from it.
    pub end: Option<(RunEnd, DateTime<Utc>)>,
    /// Where the run stands.
    pub phase: Phase,
    /// The last event (heartbeats aside) and when.
    pub last_event: Option<(&'static str, DateTime<Utc>)>,
    /// When the journal's last line was written, heartbeats included.
    pub last_at: Option<DateTime<Utc>>,
    /// Supervised time known from a monotonic clock (the start, a heartbeat, a resume), and
    /// the line that said so.
    pub counted: (Duration, Option<DateTime<Utc>>),
    /// The pid of the supervisor that wrote last: the run's, or the last resume's.
    pub supervisor_pid: Option<u32>,
    /// Journal lines that could not be read.
    pub skipped: Vec<Skipped>,
    /// What the agent's hooks audited (`audit.jsonl`), when the run folder has a trail.
    pub audit: Option<AuditSummary>,
    /// The delivery: its preflight, its last attempt and result.
    pub delivery: DeliveryHistory,
}

/// The delivery as journaled: what the preflight recorded, and each try to deliver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryHistory {
    /// The preflight passed at the start; the remote as recorded then.
    pub ready: Option<DeliveryReady>,
    /// The last `delivery-start`, and when.
    pub started: Option<(DeliveryStart, DateTime<Utc>)>,
    /// The last result (`delivered` or `delivery-failed`), and when; `None` while the last
    /// start has none (a delivery under way, or a supervisor that died delivering).
    pub last: Option<(DeliveryRecord, DateTime<Utc>)>,
    /// The commit this run last pushed to its branch (for the next push's lease).
    pub pushed: Option<String>,
    /// Times delivery was tried.
    pub tries: u32,
}

/// Keep-awake, as journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepAwake {
    /// Held.
    pub available: bool,
    /// By what.
    pub method: Option<String>,
    /// Why not.
    pub detail: Option<String>,
}

/// The `sandbox` event.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxRecord {
    /// `auto`, `on`, `off`.
    pub mode: crate::ast::Sandbox,
    /// The layers in force.
    pub layers: Vec<String>,
    /// What was not enforced and why.
    pub gaps: Vec<String>,
    /// What the agent may write.
    pub writable: Vec<String>,
    /// The agent's network, in words.
    pub network: String,
    /// What `deny irreversible` kept from the agent.
    pub hidden: Vec<String>,
}

/// What the agent tried in one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentTried {
    /// The attempt.
    pub attempt: u64,
    /// The session.
    pub session: u64,
    /// One phrase each.
    pub what: Vec<String>,
    /// Destinations the proxy let through.
    pub reached: Vec<String>,
    /// Lines of the agent's output where the OS refused something under the sandbox (first ones).
    pub refused: Vec<String>,
    /// How many such lines there were.
    pub refused_total: u64,
}

/// A notification's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// The notifier, redacted.
    pub notifier: String,
    /// The event.
    pub on: crate::ast::Event,
    /// Delivered.
    pub delivered: bool,
    /// Tries.
    pub tries: u32,
    /// The last error.
    pub error: Option<String>,
    /// When the result was journaled.
    pub at: DateTime<Utc>,
}

/// A `resume` event.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeRecord {
    /// The event.
    pub resume: Resume,
    /// When the new supervisor took over.
    pub at: DateTime<Utc>,
    /// The dead supervisor's last line before it.
    pub last_heard: Option<DateTime<Utc>>,
}

/// Where a run stands, by its last step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Phase {
    /// Before the baseline's result.
    #[default]
    Baseline,
    /// The agent is working.
    Agent {
        /// Since when.
        since: DateTime<Utc>,
        /// Its pid.
        pid: Option<u32>,
    },
    /// After the attempt's sessions: keeping its state, permissions, checks.
    Checking,
    /// Between attempts.
    Between,
    /// The journal has the end; the supervisor may still be notifying.
    Ended {
        /// The outcome.
        outcome: Outcome,
        /// Why.
        reason: String,
    },
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attempt {
    /// 1-based.
    pub number: u64,
    /// The most attempts, as the attempt was told.
    pub of: Option<u64>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// Its sessions, in order.
    pub sessions: Vec<Session>,
    /// Limits that fired during it.
    pub limits: Vec<LimitFired>,
    /// Writes outside `write`.
    pub violations: Vec<ViolationRecord>,
    /// Where its whole state is kept.
    pub kept_ref: Option<String>,
    /// The success checks after it.
    pub verified: Option<Verified>,
    /// How it ended.
    pub end: Option<AttemptEnded>,
    /// The rollback it caused, and when.
    pub rollback: Option<(RollbackRecord, DateTime<Utc>)>,
}

/// A limit that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitFired {
    /// Which.
    pub limit: Limit,
    /// As written.
    pub value: String,
    /// What it ended.
    pub ends: Ends,
    /// When.
    pub at: DateTime<Utc>,
}

/// A `violation` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationRecord {
    /// The attempt.
    pub attempt: u64,
    /// The paths.
    pub paths: Vec<String>,
    /// `revert` or `stop`.
    pub action: OnViolation,
    /// The restoring commit.
    pub revert_commit: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The `checks` event: the success checks after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// Every check held.
    pub passed: bool,
    /// Each check's result.
    pub results: Vec<SuccessRecord>,
    /// The failure signature.
    pub signature: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The `attempt-end` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptEnded {
    /// It succeeded.
    pub passed: bool,
    /// Why its sessions ended.
    pub reason: AttemptEndReason,
    /// The failure signature compared by `stuck`.
    pub signature: Option<String>,
    /// The run branch's head after it.
    pub head: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One agent session.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Session {
    /// 1-based within the attempt.
    pub number: u64,
    /// When it started (`None`: the journal has only its end).
    pub started_at: Option<DateTime<Utc>>,
    /// The agent's pid.
    pub pid: Option<u32>,
    /// Its prompt's kind.
    pub prompt_kind: Option<PromptKind>,
    /// The agent's process group, for `night resume`.
    pub process: Option<AgentProcess>,
    /// How it ended.
    pub end: Option<SessionEnded>,
}

/// The `session-end` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnded {
    /// Why.
    pub reason: SessionEndReason,
    /// Exit status.
    pub exit_code: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// How long it ran.
    pub duration_ms: u64,
    /// SIGKILL was needed.
    pub killed: bool,
    /// When it was journaled.
    pub at: DateTime<Utc>,
}

impl History {
    /// Fold a journal as read, with the run folder's audit summary.
    pub fn from_lines(lines: &Lines, audit: Option<AuditSummary>) -> Self {
        let mut history = Self::from_entries(&lines.entries);
        history.skipped.clone_from(&lines.skipped);
        history.audit = audit;
        history
    }

    /// Fold entries, in order.
    pub fn from_entries(entries: &[Entry]) -> Self {
        let mut history = Self::default();
        for entry in entries {
            history.apply(entry);
        }
        history
    }

    /// Fold one more entry.
    pub fn apply(&mut self, entry: &Entry) {
        let at = entry.at;
        let heard_before = self.last_at;
        self.last_at = Some(at);
        if !matches!(entry.event, Event::Heartbeat { .. }) {
            self.last_event = Some((entry.event.name(), at));
        }
        match &entry.event {
            Event::RunStart(start) => {
                self.supervisor_pid = Some(start.pid);
                self.counted = (Duration::ZERO, Some(at));
                self.start = Some((start.clone(), at));
            }
            Event::KeepAwake { available, method, detail } => {
                self.keep_awake = Some(KeepAwake { available: *available, method: method.clone(), detail: detail.clone() });
            }
            Event::Note { topic, message } => self.notes.push((topic.clone(), message.clone())),
            Event::Sandbox { mode, layers, gaps, writable, network, hidden } => {
                self.sandbox = Some(SandboxRecord { mode: *mode, layers: layers.clone(), gaps: gaps.clone(), writable: writable.clone(), network: network.clone(), hidden: hidden.clone() });
            }
            Event::AgentTried { attempt, session, what, reached, refused, refused_total } => {
                let (refused, refused_total) = (refused.clone(), *refused_total);
                self.agent_tried.push(AgentTried { attempt: *attempt, session: *session, what: what.clone(), reached: reached.clone(), refused, refused_total });
            }
            Event::Baseline { results } => {
                self.baseline = Some(results.clone());
                self.baseline_at = Some(at);
                self.phase = Phase::Between;
            }
            Event::AttemptStart { attempt, of } => {
                let record = self.attempt_mut(*attempt);
                record.of = *of;
                record.started_at = Some(at);
            }
            Event::SessionStart { attempt, session, pid, prompt_kind, .. } => {
                let record = self.session_mut(*attempt, *session);
                record.started_at = Some(at);
                record.pid = *pid;
                record.prompt_kind = Some(*prompt_kind);
                self.phase = Phase::Agent { since: at, pid: *pid };
            }
            Event::AgentProcess(process) => self.session_mut(process.attempt, process.session).process = Some(process.clone()),
            Event::SessionEnd { attempt, session, reason, exit_code, signal, duration_ms, killed, .. } => {
                let ended = SessionEnded { reason: *reason, exit_code: *exit_code, signal: *signal, duration_ms: *duration_ms, killed: *killed, at };
                let record = self.session_mut(*attempt, *session);
                // A second end of the same session (a resume closing one that had ended after
                // all) starts a new record: the report shows both.
                if record.end.is_some() {
                    self.attempt_mut(*attempt).sessions.push(Session { number: *session, end: Some(ended), ..Session::default() });
                } else {
                    record.end = Some(ended);
                }
                self.phase = Phase::Checking;
            }
            Event::Commit(commit) => {
                if !self.commits.iter().any(|(c, _)| c.id == commit.id) {
                    self.commits.push((commit.clone(), at));
                }
            }
            Event::Usage { total_tokens, total_cost_usd, .. } => {
                self.usage_reported = true;
                self.tokens = *total_tokens;
                self.cost_usd = *total_cost_usd;
            }
            Event::Limit { limit, value, attempt, ends } => {
                self.attempt_mut(*attempt).limits.push(LimitFired { limit: *limit, value: value.clone(), ends: *ends, at });
            }
            Event::Checkpoint { .. } => {}
            Event::AttemptKept { attempt, refname, .. } => {
                self.attempt_mut(*attempt).kept_ref = Some(refname.clone());
                self.phase = Phase::Checking;
            }
            Event::Violation { attempt, paths, action, revert_commit } => {
                let record = ViolationRecord { attempt: *attempt, paths: paths.clone(), action: *action, revert_commit: revert_commit.clone(), at };
                self.attempt_mut(*attempt).violations.push(record);
            }
            Event::Verified { attempt, passed, results, signature } => {
                self.attempt_mut(*attempt).verified = Some(Verified { passed: *passed, results: results.clone(), signature: signature.clone(), at });
            }
            Event::AttemptEnd { attempt, passed, reason, signature, head } => {
                self.attempt_mut(*attempt).end = Some(AttemptEnded { passed: *passed, reason: *reason, signature: signature.clone(), head: head.clone(), at });
                self.phase = Phase::Between;
            }
            Event::Rollback(rollback) => self.attempt_mut(rollback.attempt).rollback = Some((rollback.clone(), at)),
            Event::Notification { notifier, on, delivered, tries, error } => self.notifications.push(NotificationRecord {
                notifier: notifier.clone(),
                on: *on,
                delivered: *delivered,
                tries: *tries,
                error: error.clone(),
                at,
            }),
            Event::Heartbeat { elapsed_ms } => self.counted = (self.counted.0.max(Duration::from_millis(*elapsed_ms)), Some(at)),
            Event::Resume(resume) => {
                self.supervisor_pid = Some(resume.pid);
                self.counted = (Duration::from_millis(resume.elapsed_ms), Some(at));
                self.resumes.push(ResumeRecord { resume: resume.clone(), at, last_heard: heard_before });
                // A run resumed after a `crashed` end goes on: that end is no longer the outcome.
                self.end = None;
                self.phase = Phase::Between;
            }
            Event::DeliveryReady(ready) => self.delivery.ready = Some(ready.clone()),
            Event::DeliveryStart(start) => {
                self.delivery.started = Some((start.clone(), at));
                self.delivery.last = None;
                self.delivery.tries = self.delivery.tries.saturating_add(1);
            }
            Event::Delivered(record) | Event::DeliveryFailed(record) => {
                if let Some(commit) = record.pushed_commit() {
                    self.delivery.pushed = Some(commit.to_string());
                }
                self.delivery.last = Some((record.clone(), at));
            }
            Event::RunEnd(end) => {
                self.phase = Phase::Ended { outcome: end.outcome, reason: end.reason.clone() };
                if end.tokens > 0 || end.cost_usd > 0.0 {
                    self.tokens = end.tokens;
                    self.cost_usd = end.cost_usd;
                }
                // The end lists the branch's commits from git; a journal written before night
                // journaled its own revert commits lacks them: count them all the same.
                for commit in &end.commits {
                    if !self.commits.iter().any(|(c, _)| c.id == commit.id) {
                        self.commits.push((commit.clone(), at));
                    }
                }
                self.end = Some((end.clone(), at));
            }
        }
    }

    fn attempt_mut(&mut self, number: u64) -> &mut Attempt {
        let index = match self.attempts.iter().position(|a| a.number == number) {
            Some(index) => index,
            None => {
                self.attempts.push(Attempt { number, ..Attempt::default() });
                self.attempts.len() - 1
            }
        };
        &mut self.attempts[index]
    }

    fn session_mut(&mut self, attempt: u64, session: u64) -> &mut Session {
        let record = self.attempt_mut(attempt);
        let index = match record.sessions.iter().rposition(|s| s.number == session) {
            Some(index) => index,
            None => {
                record.sessions.push(Session { number: session, ..Session::default() });
                record.sessions.len() - 1
            }
        };
        &mut record.sessions[index]
    }

    /// The run id (empty before `run-start`).
    pub fn run_id(&self) -> &str {
        self.start.as_ref().map_or("", |(start, _)| start.run_id.as_str())
    }

    /// When the run started.
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.start.as_ref().map(|(_, at)| *at)
    }

    /// A limit as written in the runbook, by name (`timeout`, `tokens`, `cost` …).
    pub fn limit(&self, name: &str) -> Option<&str> {
        self.start.as_ref().and_then(|(start, _)| start.limit(name))
    }

    /// The most attempts.
    pub fn max_attempts(&self) -> Option<u64> {
        self.limit("attempts").and_then(|n| n.parse().ok())
    }

    /// The outcome, once the journal has the end.
    pub fn outcome(&self) -> Option<Outcome> {
        self.end.as_ref().map(|(end, _)| end.outcome)
    }

    /// The highest attempt started (0: none yet).
    pub fn attempt_count(&self) -> u64 {
        self.attempts.iter().filter(|a| a.started_at.is_some()).map(|a| a.number).max().unwrap_or(0)
    }

    /// Attempt `number`, if the journal knows it.
    pub fn attempt(&self, number: u64) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.number == number)
    }

    /// The attempt under way or last ended.
    pub fn current_attempt(&self) -> Option<&Attempt> {
        self.attempt(self.attempt_count())
    }

    /// The success checks' results of the last attempt that ran them.
    pub fn last_results(&self) -> Option<&[SuccessRecord]> {
        self.last_verified().map(|(_, verified)| verified.results.as_slice())
    }

    /// The last attempt that ran the success checks, and what they said.
    pub fn last_verified(&self) -> Option<(u64, &Verified)> {
        self.attempts.iter().rev().find_map(|a| a.verified.as_ref().map(|v| (a.number, v)))
    }

    /// Whether a session was stopped by the provider's usage limit: `quota wait` waits once.
    pub fn quota_waited(&self) -> bool {
        self.sessions().any(|s| s.end.as_ref().is_some_and(|e| e.reason == SessionEndReason::Limit(Limit::Quota)))
    }

    /// Every session, in order.
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.attempts.iter().flat_map(|a| a.sessions.iter())
    }

    /// Every violation, in order.
    pub fn violations(&self) -> impl Iterator<Item = &ViolationRecord> {
        self.attempts.iter().flat_map(|a| a.violations.iter())
    }

    /// Every rollback, in order.
    pub fn rollbacks(&self) -> impl Iterator<Item = &(RollbackRecord, DateTime<Utc>)> {
        self.attempts.iter().filter_map(|a| a.rollback.as_ref())
    }

    /// Every limit that fired, in order.
    pub fn limits_fired(&self) -> impl Iterator<Item = &LimitFired> {
        self.attempts.iter().flat_map(|a| a.limits.iter())
    }

    /// The baseline's count of a check, by its position in `success`.
    pub fn baseline_check(&self, index: usize) -> Option<&SuccessRecord> {
        self.baseline.as_ref()?.iter().find(|c| c.index == index)
    }

    /// Supervised time at `now` by the last supervisor's clock: what earlier supervisors
    /// counted before the last resume, plus the time since it (or since the start).
    pub fn elapsed_at(&self, now: DateTime<Utc>) -> Duration {
        let (before, from) = match self.resumes.last() {
            Some(record) => (Duration::from_millis(record.resume.elapsed_ms), Some(record.at)),
            None => (Duration::ZERO, self.started_at()),
        };
        before.saturating_add(from.and_then(|from| (now - from).to_std().ok()).unwrap_or_default())
    }

    /// Wall-clock time from the run's first start to `until`: the time no supervisor ran
    /// (between a supervisor's death and `night resume`) included.
    pub fn wall_at(&self, until: DateTime<Utc>) -> Option<Duration> {
        self.started_at().and_then(|from| (until - from).to_std().ok())
    }

    /// Wall-clock time from the last `night resume` to `until` (`None`: never resumed).
    pub fn since_resume_at(&self, until: DateTime<Utc>) -> Option<Duration> {
        self.resumes.last().and_then(|record| (until - record.at).to_std().ok())
    }

    /// Supervised time up to the journal's last line, for a supervisor that takes over. It
    /// comes from monotonic clocks: the start (0), each heartbeat and each resume. The
    /// journal's stamps are wall-clock time, which jumps (NTP, a resumed laptop, `date -s`):
    /// from the last monotonic figure to the last line they count, but never for more than
    /// `most_unheard` (a supervisor writes a heartbeat more often than that). A clock jumped
    /// ahead must not use up `timeout`, nor one jumped back give the run more.
    pub fn supervised(&self, most_unheard: Duration) -> Duration {
        let (counted, since) = self.counted;
        let unheard = since.zip(self.last_at).and_then(|(from, to)| (to - from).to_std().ok()).unwrap_or_default();
        counted.saturating_add(unheard.min(most_unheard))
    }
}

#[cfg(test)]
mod tests;
