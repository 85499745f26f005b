//! The morning report, built from the journal alone: [`ReportData`] gathers what happened,
//! and each format renders it: [`markdown`] (`report.md`), [`json`] (`report.json`) and
//! [`html`] (`report.html`, with the [`timeline`] of the night).

pub mod audit;
pub mod html;
pub mod json;
mod markdown;
pub mod timeline;
mod write;

pub use markdown::markdown;
pub use write::{load, write_reports, Formats};

use crate::run::journal::{CheckRecord, CommitRecord, DiffRecord, Entry, Event};
use serde::Serialize;
use std::fmt::Write as _;

/// Everything the report shows, gathered from journal events.
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
    /// How long it lasted.
    pub duration_ms: Option<u64>,
    /// The outcome (`None`: the journal has no end; the run is going on or night died).
    pub outcome: Option<String>,
    /// Why it ended.
    pub reason: Option<String>,
    /// Exit status.
    pub exit_code: Option<u8>,
    /// Keep-awake: held, how, or why not.
    pub keep_awake: Option<(bool, String)>,
    /// The baseline checks.
    pub baseline: Vec<CheckRecord>,
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
    pub denied: Vec<audit::Denied>,
    /// Tool calls and commands recorded in `audit.jsonl` (`None`: no audit trail).
    pub audited_calls: Option<usize>,
    /// The supervisor died without writing the end (no live supervisor and no `run-end`).
    pub died: bool,
    /// The last step in the journal and when (heartbeats aside), to say where a run that died stopped.
    pub last_event: Option<(String, String)>,
    /// When the journal's last line was written, heartbeats included.
    pub last_at: Option<String>,
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
    pub checks: Vec<CheckRecord>,
    /// It succeeded.
    pub passed: Option<bool>,
    /// Why it ended.
    pub reason: Option<String>,
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
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionReport {
    /// 1-based within the attempt.
    pub number: u64,
    /// Why it ended.
    pub reason: String,
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
    pub mode: String,
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
}

/// One permission violation.
#[derive(Debug, Clone, Serialize)]
pub struct ViolationReport {
    /// The attempt.
    pub attempt: u64,
    /// The paths.
    pub paths: Vec<String>,
    /// `revert` or `stop`.
    pub action: String,
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
    pub to: String,
    /// The commit reset to.
    pub target: String,
    /// Where the work is kept.
    pub kept_ref: String,
    /// `stop` or `retry`.
    pub then: String,
}

/// One notification.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationReport {
    /// The notifier.
    pub notifier: String,
    /// The event.
    pub event: String,
    /// Delivered.
    pub delivered: bool,
    /// Tries.
    pub tries: u32,
    /// The last error.
    pub error: Option<String>,
}

impl ReportData {
    /// Gather the report from journal entries, in order.
    pub fn from_journal(entries: &[Entry]) -> Self {
        let mut data = ReportData::default();
        for entry in entries {
            data.apply(entry);
        }
        data
    }

    /// Mark a run whose journal has no end and whose supervisor is gone as `crashed`, saying
    /// where it stopped; `night resume` continues it.
    pub fn mark_died(&mut self) {
        if self.outcome.is_some() {
            return;
        }
        self.died = true;
        self.outcome = Some("crashed".into());
        let at = match &self.last_event {
            Some((name, at)) => format!("; its last event was `{name}` at {at}"),
            None => String::new(),
        };
        self.reason = Some(format!("the supervisor stopped without finishing{at}"));
        self.exit_code = Some(1);
        self.ended_at.clone_from(&self.last_at);
        if let (Some(from), Some(to)) = (&self.started_at, &self.last_at) {
            let between = chrono::DateTime::parse_from_rfc3339(to).ok().zip(chrono::DateTime::parse_from_rfc3339(from).ok()).map(|(to, from)| to - from);
            self.duration_ms = between.and_then(|d| u64::try_from(d.num_milliseconds()).ok());
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

    fn limit(&self, name: &str) -> Option<&str> {
        self.limits.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether `night resume` can continue this run: its supervisor died, it crashed, or it
    /// was interrupted; a run that ended otherwise has nothing left to continue.
    pub fn resumable(&self) -> bool {
        self.died || matches!(self.outcome.as_deref(), Some("crashed" | "interrupted"))
    }

    fn attempt_mut(&mut self, number: u64) -> &mut AttemptReport {
        if let Some(index) = self.attempts.iter().position(|a| a.number == number) {
            return &mut self.attempts[index];
        }
        self.attempts.push(AttemptReport { number, ..AttemptReport::default() });
        let last = self.attempts.len() - 1;
        &mut self.attempts[last]
    }

    fn apply(&mut self, entry: &Entry) {
        self.last_at = Some(entry.at.clone());
        if !matches!(entry.event, Event::Heartbeat { .. }) {
            self.last_event = Some((event_name(&entry.event).to_string(), entry.at.clone()));
        }
        match &entry.event {
            Event::RunStart(start) => {
                self.run_id.clone_from(&start.run_id);
                self.name.clone_from(&start.name);
                self.runbook.clone_from(&start.runbook);
                self.repo.clone_from(&start.repo);
                self.work_dir.clone_from(&start.work_dir);
                self.branch.clone_from(&start.branch);
                self.original_branch.clone_from(&start.original_branch);
                self.worktree = start.worktree;
                self.start_commit.clone_from(&start.start_commit);
                self.agent = match &start.agent_command {
                    Some(command) => format!("{} `{command}`", start.agent),
                    None => start.agent.clone(),
                };
                self.limits.clone_from(&start.limits);
                self.waivers.clone_from(&start.waivers);
                self.started_at = Some(entry.at.clone());
                self.max_attempts = start.limits.iter().find(|(name, _)| name == "attempts").and_then(|(_, n)| n.parse().ok());
            }
            Event::KeepAwake { available, method, detail } => {
                let how = if *available { method.clone().unwrap_or_default() } else { detail.clone().unwrap_or_default() };
                self.keep_awake = Some((*available, how));
            }
            Event::Note { topic, message } => self.notes.push((topic.clone(), message.clone())),
            Event::Sandbox { mode, layers, gaps, network, hidden, .. } => {
                self.sandbox = Some(SandboxReport { mode: mode.clone(), layers: layers.clone(), gaps: gaps.clone(), network: network.clone(), hidden: hidden.clone() });
            }
            Event::AgentTried { attempt, session, what, reached } => {
                self.agent_tried.push(AgentTriedReport { attempt: *attempt, session: *session, what: what.clone(), reached: reached.clone() });
            }
            Event::Baseline { checks } => self.baseline.clone_from(checks),
            Event::AttemptStart { attempt, .. } => {
                self.attempt_mut(*attempt);
            }
            Event::SessionStart { .. } | Event::Checkpoint { .. } => {}
            // `run-end` has the authoritative list; until then (or without one) the events tell.
            Event::Commit(commit) => {
                if !self.commits.iter().any(|c| c.id == commit.id) {
                    self.commits.push(commit.clone());
                }
            }
            Event::SessionEnd { attempt, session, reason, exit_code, signal, duration_ms, killed, .. } => {
                let report = SessionReport { number: *session, reason: reason.clone(), exit_code: *exit_code, signal: *signal, duration_ms: *duration_ms, killed: *killed };
                self.attempt_mut(*attempt).sessions.push(report);
            }
            Event::Usage { total_tokens, total_cost_usd, .. } => {
                self.usage_reported = true;
                self.tokens = *total_tokens;
                self.cost_usd = *total_cost_usd;
            }
            Event::Limit { limit, value, attempt, .. } => {
                self.attempt_mut(*attempt).limits.push(format!("`{limit} {value}`"));
            }
            Event::AttemptKept { attempt, refname, .. } => self.attempt_mut(*attempt).kept_ref = Some(refname.clone()),
            Event::Violation { attempt, paths, action, revert_commit } => self.violations.push(ViolationReport {
                attempt: *attempt,
                paths: paths.clone(),
                action: format!("{action:?}").to_lowercase(),
                revert_commit: revert_commit.clone(),
            }),
            Event::Checks { attempt, checks, .. } => self.attempt_mut(*attempt).checks.clone_from(checks),
            Event::AttemptEnd { attempt, passed, reason, .. } => {
                let report = self.attempt_mut(*attempt);
                report.passed = Some(*passed);
                report.reason = Some(reason.clone());
            }
            Event::Rollback { attempt, condition, measured, to, target, kept_ref, then } => self.rollbacks.push(RollbackReport {
                attempt: *attempt,
                condition: condition.clone(),
                measured: measured.clone(),
                to: if *to == crate::ast::RollbackTo::Start { "start".into() } else { "last-green".into() },
                target: target.clone(),
                kept_ref: kept_ref.clone(),
                then: if *then == crate::ast::RollbackThen::Stop { "stop".into() } else { "retry".into() },
            }),
            Event::Notification { notifier, on, delivered, tries, error } => self.notifications.push(NotificationReport {
                notifier: notifier.clone(),
                event: on.clone(),
                delivered: *delivered,
                tries: *tries,
                error: error.clone(),
            }),
            Event::AgentProcess(_) | Event::Heartbeat { .. } => {}
            Event::Resume(resume) => {
                self.resumes.push(ResumeReport {
                    at: entry.at.clone(),
                    previous_pid: resume.previous_pid,
                    continues_attempt: resume.continues_attempt,
                    leftover: resume.leftover.clone(),
                });
                // A run resumed after a `crashed` end goes on: that end is no longer the outcome.
                self.outcome = None;
                self.reason = None;
                self.exit_code = None;
                self.ended_at = None;
            }
            Event::RunEnd(end) => {
                self.outcome = Some(end.outcome.clone());
                self.reason = Some(end.reason.clone());
                self.exit_code = Some(end.exit_code);
                self.duration_ms = Some(end.duration_ms);
                self.ended_at = Some(entry.at.clone());
                self.commits.clone_from(&end.commits);
                self.diffstat = end.diffstat.clone();
                self.head = Some(end.head.clone());
                if end.tokens > 0 || end.cost_usd > 0.0 {
                    self.tokens = end.tokens;
                    self.cost_usd = end.cost_usd;
                }
            }
        }
    }
}

/// The journal's name of an event (its `event` tag).
pub fn event_name(event: &Event) -> &'static str {
    match event {
        Event::RunStart(_) => "run-start",
        Event::KeepAwake { .. } => "keep-awake",
        Event::Note { .. } => "note",
        Event::Baseline { .. } => "baseline",
        Event::AttemptStart { .. } => "attempt-start",
        Event::SessionStart { .. } => "session-start",
        Event::SessionEnd { .. } => "session-end",
        Event::Commit(_) => "commit",
        Event::Usage { .. } => "usage",
        Event::Limit { .. } => "limit",
        Event::Checkpoint { .. } => "checkpoint",
        Event::AttemptKept { .. } => "attempt-kept",
        Event::Violation { .. } => "violation",
        Event::Checks { .. } => "checks",
        Event::AttemptEnd { .. } => "attempt-end",
        Event::Rollback { .. } => "rollback",
        Event::Notification { .. } => "notification",
        Event::RunEnd(_) => "run-end",
        Event::AgentProcess(_) => "agent-process",
        Event::Heartbeat { .. } => "heartbeat",
        Event::Resume(_) => "resume",
        Event::Sandbox { .. } => "sandbox",
        Event::AgentTried { .. } => "agent-tried",
    }
}

fn short(id: &str) -> &str {
    id.get(..7).unwrap_or(id)
}

fn duration_text(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    crate::time::format_duration(std::time::Duration::from_millis(ms))
}

/// A check's result in one phrase: `passed`, or `FAILED: reason`, with counts.
fn check_result(check: &CheckRecord) -> String {
    let mut out = if check.passed { "passed".to_string() } else { "FAILED".to_string() };
    if let Some(tests) = &check.tests {
        let _ = write!(out, " ({} passed, {} failed", tests.passed, tests.failed);
        if tests.skipped > 0 {
            let _ = write!(out, ", {} skipped", tests.skipped);
        }
        out.push(')');
    }
    if let Some(count) = check.count {
        let _ = write!(out, " (count {count})");
    }
    if !check.passed {
        if let Some(reason) = &check.reason {
            let _ = write!(out, ": {reason}");
        }
    }
    out.replace('|', "\\|")
}

/// The commands that continue from where the run left off, each with a comment.
pub fn continue_commands(data: &ReportData) -> Vec<(String, String)> {
    let mut commands = Vec::new();
    if data.worktree {
        commands.push((format!("cd {}", data.work_dir), format!("the run's worktree, on `{}`", data.branch)));
        commands.push((
            format!("git switch {}", data.branch),
            format!("in your checkout, once the worktree is removed (`git worktree remove {}`)", data.work_dir),
        ));
    } else {
        commands.push((format!("git switch {}", data.branch), "the work (your checkout may already be on it)".to_string()));
        if let Some(original) = &data.original_branch {
            commands.push((format!("git switch {original}"), "back to where you were".to_string()));
        }
    }
    for rollback in &data.rollbacks {
        commands.push((format!("git diff {} {}", short(&rollback.target), rollback.kept_ref), format!("the work rolled back after attempt {}", rollback.attempt)));
    }
    if !data.run_id.is_empty() && data.resumable() {
        commands.push((format!("night resume {}", data.run_id), "go on from the journal".to_string()));
    }
    commands
}

/// The one-screen summary printed when the run ends.
pub fn summary(data: &ReportData, report_path: &str) -> String {
    let mut out = String::new();
    let outcome = data.outcome.as_deref().unwrap_or("not finished");
    let _ = writeln!(out, "\nnight: {outcome} — {}", data.reason.as_deref().unwrap_or(""));
    let duration = data.duration_ms.map(duration_text).unwrap_or_default();
    let _ = writeln!(out, "  run       {} ({duration})", data.run_id);
    if let Some(last) = data.attempts.last() {
        let held = last.checks.iter().filter(|c| c.passed).count();
        let _ = writeln!(out, "  attempts  {} (last: {held}/{} checks hold)", data.attempts.len(), last.checks.len());
    }
    let _ = writeln!(
        out,
        "  branch    {} ({} commits, {} files, +{} -{})",
        data.branch,
        data.commits.len(),
        data.diffstat.files,
        data.diffstat.insertions,
        data.diffstat.deletions
    );
    if data.worktree {
        let _ = writeln!(out, "  worktree  {}", data.work_dir);
    }
    if !data.violations.is_empty() {
        let paths = data.violations.iter().map(|v| v.paths.len()).sum::<usize>();
        let _ = writeln!(out, "  outside   {paths} {} written outside `write`", if paths == 1 { "path" } else { "paths" });
    }
    if !data.rollbacks.is_empty() {
        let kept = data.rollbacks.iter().map(|r| r.kept_ref.as_str()).collect::<Vec<_>>().join(", ");
        let _ = writeln!(out, "  rolled back; work kept at {kept}");
    }
    let _ = writeln!(out, "  report    {report_path}");
    for (command, _) in continue_commands(data) {
        let _ = writeln!(out, "  next      {command}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::journal::{RunEnd, RunStart, SCHEMA_VERSION};

    fn entry(event: Event) -> Entry {
        Entry { v: SCHEMA_VERSION, at: "2025-01-01T00:00:00Z".into(), event }
    }

    #[test]
    fn the_report_is_built_from_journal_events() {
        let start = RunStart {
            schema: 1,
            night_version: "0".into(),
            run_id: "demo-20250101-000000".into(),
            name: "demo".into(),
            runbook: "demo.night".into(),
            repo: "/r".into(),
            work_dir: "/r".into(),
            branch: "night/demo/20250101-0000".into(),
            original_branch: Some("main".into()),
            start_commit: "0123456789abcdef".into(),
            worktree: false,
            agent: "command".into(),
            agent_command: Some("./agent.sh".into()),
            limits: vec![("timeout".into(), "1h".into()), ("attempts".into(), "3".into())],
            checks: vec![],
            waivers: vec![("no-budget".into(), "a script spends nothing".into())],
            pid: 1,
        };
        let failing = CheckRecord {
            index: 0,
            statement: "tests \"sh t.sh\" format tap".into(),
            passed: false,
            tests: Some(crate::run::journal::TestCountsRecord { passed: 1, failed: 1, skipped: 0 }),
            count: None,
            exit_code: Some(1),
            timed_out: false,
            reason: Some("1 test failed".into()),
            duration_ms: 5,
            output_tail: String::new(),
        };
        let entries = vec![
            entry(Event::RunStart(start)),
            entry(Event::Baseline { checks: vec![failing.clone()] }),
            entry(Event::AttemptStart { attempt: 1, of: Some(3) }),
            entry(Event::Checks { attempt: 1, passed: false, checks: vec![failing], signature: Some("s".into()) }),
            entry(Event::AttemptEnd { attempt: 1, passed: false, reason: "exited".into(), signature: Some("s".into()), head: "x".into() }),
            entry(Event::Notification { notifier: "command".into(), on: "end".into(), delivered: true, tries: 1, error: None }),
            entry(Event::RunEnd(RunEnd {
                outcome: "failed".into(),
                reason: "1 attempts used up without success".into(),
                exit_code: 1,
                attempts: 1,
                head: "x".into(),
                commits: vec![],
                diffstat: DiffRecord::default(),
                duration_ms: 61_000,
                tokens: 0,
                cost_usd: 0.0,
            })),
        ];
        let data = ReportData::from_journal(&entries);
        assert_eq!(data.attempts.len(), 1);
        let text = markdown(&data);
        assert!(text.starts_with("# night run `demo-20250101-000000`: failed"), "{text}");
        assert!(text.contains("| duration | 1m1s, 00:00:00 → 00:00:00 UTC (timeout 1h) |"), "{text}");
        assert!(text.contains("FAILED (1 passed, 1 failed): 1 test failed"));
        assert!(text.contains("`no-budget`: a script spends nothing"));
        assert!(text.contains("`end` to command: sent"));
        assert!(text.contains("git switch night/demo/20250101-0000"));
        assert!(!text.contains("night resume"), "a failed run has nothing to resume");
    }

    #[test]
    fn the_end_summary_aligns_its_labels() {
        let mut data = ReportData::from_journal(&[]);
        data.run_id = "demo-20250101-000000".into();
        data.branch = "night/demo/20250101-0000".into();
        data.work_dir = "/r/.night/worktrees/demo".into();
        data.worktree = true;
        data.violations.push(ViolationReport { attempt: 1, paths: vec!["a".into(), "b".into()], action: "revert".into(), revert_commit: None });
        let text = summary(&data, "report.md");
        assert!(text.contains("  outside   2 paths written outside `write`"), "{text}");
        for line in text.lines().filter(|line| line.starts_with("  ")) {
            let value_at = line[2..].find(' ').map(|label_end| 2 + label_end + line[2 + label_end..].len() - line[2 + label_end..].trim_start().len());
            assert_eq!(value_at, Some(12), "`{line}` is not aligned in\n{text}");
        }
    }
}
