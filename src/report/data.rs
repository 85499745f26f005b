//! [`ReportData`]: what the reports show, read off a [`History`]. It is also the document
//! `report.json` serialises (docs/report-json.md), so its field names and the words its values
//! serialise to do not change.

use crate::ast::{Event as NotifyEvent, OnViolation, RollbackThen, RollbackTo, Sandbox};
use crate::record::audit::Denied;
use crate::record::event::seconds;
use crate::record::history::History;
use crate::record::{AttemptEndReason, CommitRecord, DeliveredBy, DeliveryRecord, DeliveryStatus, DeliveryStepRecord, DiffRecord, Outcome, SessionEndReason, SuccessRecord};
use serde::Serialize;

/// Everything the report shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReportData {
    /// The run id.
    pub run_id: String,
    /// The run name.
    pub name: String,
    /// The runbook's path.
    pub runbook: String,
    /// The repository.
    pub repo: String,
    /// Where the agent worked.
    pub work_dir: String,
    /// The run branch.
    pub branch: String,
    /// The branch the checkout was on.
    pub original_branch: Option<String>,
    /// The run worked in its own worktree.
    pub worktree: bool,
    /// The branch the user's checkout was on when the run ended, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout: Option<String>,
    /// The start commit.
    pub start_commit: String,
    /// The agent kind and command.
    pub agent: String,
    /// The limits as written.
    pub limits: Vec<(String, String)>,
    /// When it started.
    pub started_at: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
    /// How long it lasted: supervised time, counted on across `night resume`.
    pub duration_ms: Option<u64>,
    /// Wall-clock time from the first start to the end (for a run that died, to its last
    /// journal line), the time no supervisor ran included; `None` while it goes on.
    pub wall_ms: Option<u64>,
    /// Wall-clock time from the last `night resume` to the same end (`None`: never resumed,
    /// or going on).
    pub since_resume_ms: Option<u64>,
    /// The outcome (`None`: the journal has no end; the run is going on or night died).
    pub outcome: Option<Outcome>,
    /// Why it ended.
    pub reason: Option<String>,
    /// Exit status.
    pub exit_code: Option<u8>,
    /// Keep-awake: held, how, or why not.
    pub keep_awake: Option<(bool, String)>,
    /// The baseline checks.
    pub baseline: Vec<SuccessRecord>,
    /// Each attempt.
    pub attempts: Vec<AttemptReport>,
    /// The most attempts.
    pub max_attempts: Option<u64>,
    /// Commits on the run branch, oldest first.
    pub commits: Vec<CommitRecord>,
    /// From the start commit to the head at the end.
    pub diffstat: DiffRecord,
    /// The head at the end.
    pub head: Option<String>,
    /// Writes outside `write`.
    pub violations: Vec<ViolationReport>,
    /// Rollbacks.
    pub rollbacks: Vec<RollbackReport>,
    /// Notifications delivered or failed.
    pub notifications: Vec<NotificationReport>,
    /// Waived checklist rules and why.
    pub waivers: Vec<(String, String)>,
    /// Notes (enforcement layers, no-ops, problems).
    pub notes: Vec<(String, String)>,
    /// The OS sandbox: mode, layers, gaps, network.
    pub sandbox: Option<SandboxReport>,
    /// What the agent tried that the sandbox refused or night undid, per session.
    pub agent_tried: Vec<AgentTriedReport>,
    /// Tokens used.
    pub tokens: u64,
    /// Cost, US dollars.
    pub cost_usd: f64,
    /// Whether the agent reported usage at all.
    pub usage_reported: bool,
    /// Times `night resume` took over after the supervisor died.
    pub resumes: Vec<ResumeReport>,
    /// Commands and tool calls the agent's hooks denied (`audit.jsonl`).
    pub denied: Vec<Denied>,
    /// Tool calls and commands recorded in `audit.jsonl` (`None`: no audit trail).
    pub audited_calls: Option<usize>,
    /// The supervisor died without writing the end (no live supervisor and no `run-end`).
    pub died: bool,
    /// The last step in the journal and when (heartbeats aside), to say where a run that died stopped.
    pub last_event: Option<(String, String)>,
    /// When the journal's last line was written, heartbeats included.
    pub last_at: Option<String>,
    /// The delivery (docs/deliver.md): its last try (`None`: never tried).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryReport>,
    /// Journal lines that could not be read, and why (only when there are some).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable_lines: Vec<(usize, String)>,
}

/// One `night resume`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResumeReport {
    /// When.
    pub at: String,
    /// The dead supervisor's process id.
    pub previous_pid: Option<u32>,
    /// The attempt that went on.
    pub continues_attempt: Option<u64>,
    /// What was left of the agent and what night did.
    pub leftover: String,
}

/// One attempt.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AttemptReport {
    /// 1-based.
    pub number: u64,
    /// Its sessions.
    pub sessions: Vec<SessionReport>,
    /// The checks after it.
    pub checks: Vec<SuccessRecord>,
    /// It succeeded.
    pub passed: Option<bool>,
    /// Why it ended.
    pub reason: Option<AttemptEndReason>,
    /// Limits that fired during it.
    pub limits: Vec<String>,
    /// Where its state is kept.
    pub kept_ref: Option<String>,
}

impl AttemptReport {
    /// How the attempt ended, in words.
    pub fn verdict(&self) -> &'static str {
        match self.passed {
            Some(true) => "succeeded",
            Some(false) => "failed",
            None => "did not finish",
        }
    }
}

/// One session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionReport {
    /// 1-based within the attempt.
    pub number: u64,
    /// Why it ended.
    pub reason: SessionEndReason,
    /// Exit status.
    pub exit_code: Option<i32>,
    /// The signal that ended the agent, when it did not exit by itself (e.g. 9: the OOM killer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// How long.
    pub duration_ms: u64,
    /// SIGKILL was needed.
    pub killed: bool,
}

/// The OS sandbox of the run.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxReport {
    /// `auto`, `on`, `off`.
    pub mode: Sandbox,
    /// The layers in force.
    pub layers: Vec<String>,
    /// What was not enforced and why.
    pub gaps: Vec<String>,
    /// The agent's network, in words.
    pub network: String,
    /// What `deny irreversible` kept from the agent.
    pub hidden: Vec<String>,
}

/// What the agent tried in one session.
#[derive(Debug, Clone, Serialize)]
pub struct AgentTriedReport {
    /// The attempt.
    pub attempt: u64,
    /// The session.
    pub session: u64,
    /// One phrase each.
    pub what: Vec<String>,
    /// Destinations the proxy let through.
    pub reached: Vec<String>,
    /// Lines of the agent's output where the OS sandbox refused something (the first ones).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
    /// How many such lines there were.
    #[serde(skip_serializing_if = "is_zero")]
    pub refused_total: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One permission violation.
#[derive(Debug, Clone, Serialize)]
pub struct ViolationReport {
    /// The attempt.
    pub attempt: u64,
    /// The paths.
    pub paths: Vec<String>,
    /// `revert` or `stop`.
    pub action: OnViolation,
    /// The restoring commit.
    pub revert_commit: Option<String>,
}

/// One rollback.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    /// The attempt.
    pub attempt: u64,
    /// The condition.
    pub condition: String,
    /// What was measured.
    pub measured: String,
    /// `start` or `last-green`.
    pub to: RollbackTo,
    /// The commit reset to.
    pub target: String,
    /// Where the work is kept.
    pub kept_ref: String,
    /// `stop` or `retry`.
    pub then: RollbackThen,
}

/// The delivery's last try.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryReport {
    /// `delivered`, `failed`, or `under-way` (started, no result: under way, or the
    /// supervisor died delivering).
    pub status: &'static str,
    /// The run's end (`run`) or `night deliver` (`hand`).
    pub by: DeliveredBy,
    /// The outcome delivered for.
    pub outcome: Outcome,
    /// The remote's name and URL (credentials removed).
    pub remote: String,
    /// Its URL.
    pub url: String,
    /// The pull request's web page.
    pub pull_request_url: Option<String>,
    /// The push's result (`None` while under way).
    pub push: Option<DeliveryStepRecord>,
    /// The pull request's result.
    pub pull_request: Option<DeliveryStepRecord>,
    /// Times delivery was tried.
    pub tries: u32,
    /// The command that tries again, when the last try did not complete.
    pub retry: Option<String>,
}

impl DeliveryReport {
    fn new(history: &History) -> Option<Self> {
        let delivery = &history.delivery;
        let (start, _) = delivery.started.as_ref()?;
        let last = delivery.last.as_ref().map(|(record, _)| record);
        let status = match last {
            Some(record) if record.is_complete() => "delivered",
            Some(_) => "failed",
            None => "under-way",
        };
        let retry = (status != "delivered").then(|| format!("night deliver {}", history.run_id()));
        Some(DeliveryReport {
            status,
            by: start.by,
            outcome: start.outcome,
            remote: start.remote.clone(),
            url: start.url.clone(),
            pull_request_url: last.and_then(DeliveryRecord::pull_request_url).map(str::to_string),
            push: last.map(|record| record.push.clone()),
            pull_request: last.map(|record| record.pull_request.clone()),
            tries: delivery.tries,
            retry,
        })
    }

    /// The first failure, in one line.
    pub fn failure(&self) -> Option<String> {
        [("push", &self.push), ("pull request", &self.pull_request)]
            .into_iter()
            .filter_map(|(what, step)| step.as_ref().map(|step| (what, step)))
            .find(|(_, step)| step.status == DeliveryStatus::Failed)
            .map(|(what, step)| format!("{what}: {}", step.error.as_deref().unwrap_or("failed")))
    }

    /// What was delivered, in one line: the push and the pull request.
    pub fn summary(&self, branch: &str) -> String {
        let mut parts = Vec::new();
        match self.push.as_ref().map(|step| step.status) {
            Some(DeliveryStatus::Done) => parts.push(format!("`{branch}` pushed to `{}`", self.remote)),
            Some(DeliveryStatus::NothingToDeliver) => parts.push(format!("nothing to deliver: `{branch}` is still at the start commit")),
            None => parts.push(format!("under way (pushing `{branch}` to `{}`), or night stopped while delivering", self.remote)),
            _ => {}
        }
        if let Some(url) = &self.pull_request_url {
            let draft = if self.pull_request.as_ref().is_some_and(|step| step.draft) { " (draft)" } else { "" };
            parts.push(format!("pull request {url}{draft}"));
        }
        if let Some(failure) = self.failure() {
            parts.push(format!("FAILED: {failure}"));
        }
        parts.join("; ")
    }
}

/// One notification.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationReport {
    /// The notifier.
    pub notifier: String,
    /// The event.
    pub event: NotifyEvent,
    /// Delivered.
    pub delivered: bool,
    /// Tries.
    pub tries: u32,
    /// The last error.
    pub error: Option<String>,
}

impl ReportData {
    /// What the report shows of `history`. `died`: no supervisor holds the run and the journal
    /// has no end; the run is shown as `crashed`, saying where it stopped.
    pub fn new(history: &History, died: bool) -> Self {
        let mut data = ReportData::default();
        if let Some((start, at)) = &history.start {
            data.run_id.clone_from(&start.run_id);
            data.name.clone_from(&start.name);
            data.runbook.clone_from(&start.runbook);
            data.repo.clone_from(&start.repo);
            data.work_dir.clone_from(&start.work_dir);
            data.branch.clone_from(&start.branch);
            data.original_branch.clone_from(&start.original_branch);
            data.worktree = start.worktree;
            data.start_commit.clone_from(&start.start_commit);
            data.agent = match &start.agent_command {
                Some(command) => format!("{} `{command}`", start.agent),
                None => start.agent.clone(),
            };
            data.limits.clone_from(&start.limits);
            data.waivers.clone_from(&start.waivers);
            data.started_at = Some(seconds::text(at));
        }
        data.max_attempts = history.max_attempts();
        data.keep_awake = history.keep_awake.as_ref().map(|k| {
            let how = if k.available { k.method.clone() } else { k.detail.clone() };
            (k.available, how.unwrap_or_default())
        });
        data.notes.clone_from(&history.notes);
        data.sandbox = history.sandbox.as_ref().map(|s| SandboxReport { mode: s.mode, layers: s.layers.clone(), gaps: s.gaps.clone(), network: s.network.clone(), hidden: s.hidden.clone() });
        data.agent_tried = history
            .agent_tried
            .iter()
            .map(|t| AgentTriedReport { attempt: t.attempt, session: t.session, what: t.what.clone(), reached: t.reached.clone(), refused: t.refused.clone(), refused_total: t.refused_total })
            .collect();
        data.baseline = history.baseline.clone().unwrap_or_default();
        for check in &mut data.baseline {
            // Every test's name is the run folder's, for the attempts to compare with; the
            // reports show what was lost, not the whole list.
            check.names = None;
            check.names_file = None;
        }
        data.attempts = history.attempts.iter().map(attempt_report).collect();
        data.commits = history.commits.iter().map(|(commit, _)| commit.clone()).collect();
        data.violations = history
            .violations()
            .map(|v| ViolationReport { attempt: v.attempt, paths: v.paths.clone(), action: v.action, revert_commit: v.revert_commit.clone() })
            .collect();
        data.rollbacks = history
            .rollbacks()
            .map(|(r, _)| RollbackReport { attempt: r.attempt, condition: r.condition.clone(), measured: r.measured.clone(), to: r.to, target: r.target.clone(), kept_ref: r.kept_ref.clone(), then: r.then })
            .collect();
        data.notifications = history
            .notifications
            .iter()
            .map(|n| NotificationReport { notifier: n.notifier.clone(), event: n.on, delivered: n.delivered, tries: n.tries, error: n.error.clone() })
            .collect();
        data.tokens = history.tokens;
        data.cost_usd = history.cost_usd;
        data.usage_reported = history.usage_reported;
        data.resumes = history
            .resumes
            .iter()
            .map(|r| ResumeReport { at: seconds::text(&r.at), previous_pid: r.resume.previous_pid, continues_attempt: r.resume.continues_attempt, leftover: r.resume.leftover.clone() })
            .collect();
        if let Some((end, at)) = &history.end {
            data.outcome = Some(end.outcome);
            data.reason = Some(end.reason.clone());
            data.exit_code = Some(end.exit_code);
            data.duration_ms = Some(end.duration_ms);
            data.ended_at = Some(seconds::text(at));
            data.set_wall(history, *at);
            data.commits.clone_from(&end.commits);
            data.diffstat = end.diffstat.clone();
            data.head = Some(end.head.clone());
            data.checkout.clone_from(&end.checkout);
        }
        if let Some(audit) = &history.audit {
            // The sandbox makes an empty `audit.jsonl` for any agent; only agents with hooks fill it.
            let hookless = data.agent == "command" || data.agent.starts_with("command `");
            data.audited_calls = if hookless && audit.calls == 0 { None } else { Some(audit.calls) };
            data.denied.clone_from(&audit.denied);
        }
        data.last_event = history.last_event.map(|(name, at)| (name.to_string(), seconds::text(&at)));
        data.last_at = history.last_at.as_ref().map(seconds::text);
        data.delivery = DeliveryReport::new(history);
        data.unreadable_lines = history.skipped.iter().map(|s| (s.line, s.why.clone())).collect();
        if died && data.outcome.is_none() {
            data.mark_died(history);
        }
        data
    }

    /// A run whose journal has no end and whose supervisor is gone is `crashed`, saying where
    /// it stopped; `night resume` continues it.
    fn mark_died(&mut self, history: &History) {
        self.died = true;
        self.outcome = Some(Outcome::Crashed);
        let at = match &self.last_event {
            Some((name, at)) => format!("; its last event was `{name}` at {at}"),
            None => String::new(),
        };
        self.reason = Some(format!("the supervisor stopped without finishing{at}"));
        self.exit_code = Some(Outcome::Crashed.exit_code());
        self.ended_at.clone_from(&self.last_at);
        let between = history.started_at().zip(history.last_at).map(|(from, to)| to - from);
        self.duration_ms = between.and_then(|d| u64::try_from(d.num_milliseconds()).ok());
        if let Some(last) = history.last_at {
            self.set_wall(history, last);
        }
    }

    /// `wall_ms` and `since_resume_ms`, for a run that ended (or was last heard of) at `until`.
    pub fn set_wall(&mut self, history: &History, until: chrono::DateTime<chrono::Utc>) {
        self.wall_ms = history.wall_at(until).map(crate::time::millis);
        self.since_resume_ms = history.since_resume_at(until).map(crate::time::millis);
    }

    /// How long the run took, in words (`text` renders milliseconds): its supervised time;
    /// for a resumed run, the wall time from its first start and the time since the resume.
    pub fn duration_phrase(&self, text: fn(u64) -> String) -> Option<String> {
        match (self.wall_ms, self.since_resume_ms) {
            (Some(wall), Some(since)) => Some(format!("{} ({} since {})", text(wall), text(since), resume_word(self.resumes.len()))),
            _ => self.duration_ms.map(text),
        }
    }

    /// The most tokens, from the runbook's limits.
    pub fn token_limit(&self) -> Option<u64> {
        self.limit("tokens").and_then(|v| v.replace(['_', ','], "").parse().ok())
    }

    /// The most cost as written (e.g. `$5.00`), from the runbook's limits.
    pub fn cost_limit(&self) -> Option<&str> {
        self.limit("cost")
    }

    /// A limit as written.
    pub fn limit(&self, name: &str) -> Option<&str> {
        self.limits.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether `night resume` can continue this run: its supervisor died, it crashed, or it
    /// was interrupted; a run that ended otherwise has nothing left to continue.
    pub fn resumable(&self) -> bool {
        self.died || matches!(self.outcome, Some(Outcome::Crashed | Outcome::Interrupted))
    }

    /// How many times the agent's output said the OS sandbox refused something.
    pub fn sandbox_refusals(&self) -> u64 {
        self.agent_tried.iter().map(|t| t.refused_total).sum()
    }

    /// The outcome's name, or `running` without one.
    pub fn outcome_name(&self) -> &'static str {
        self.outcome.map_or("running", Outcome::name)
    }
}

fn attempt_report(attempt: &crate::record::history::Attempt) -> AttemptReport {
    AttemptReport {
        number: attempt.number,
        sessions: attempt
            .sessions
            .iter()
            .filter_map(|s| {
                let end = s.end.as_ref()?;
                Some(SessionReport { number: s.number, reason: end.reason, exit_code: end.exit_code, signal: end.signal, duration_ms: end.duration_ms, killed: end.killed })
            })
            .collect(),
        checks: attempt.verified.as_ref().map(|v| v.results.clone()).unwrap_or_default(),
        passed: attempt.end.as_ref().map(|e| e.passed),
        reason: attempt.end.as_ref().map(|e| e.reason),
        limits: attempt.limits.iter().map(|l| format!("`{} {}`", l.limit, l.value)).collect(),
        kept_ref: attempt.kept_ref.clone(),
    }
}

/// Which resume the time since it counts from.
fn resume_word(resumes: usize) -> &'static str {
    if resumes > 1 {
        "the last resume"
    } else {
        "the resume"
    }
}
