//! The morning report, built from the journal alone: [`ReportData`] gathers what happened,
//! and each format renders it (`report.md` here; JSON and HTML come later).

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

/// One session.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionReport {
    /// 1-based within the attempt.
    pub number: u64,
    /// Why it ended.
    pub reason: String,
    /// Exit status.
    pub exit_code: Option<i32>,
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

    fn attempt_mut(&mut self, number: u64) -> &mut AttemptReport {
        if let Some(index) = self.attempts.iter().position(|a| a.number == number) {
            return &mut self.attempts[index];
        }
        self.attempts.push(AttemptReport { number, ..AttemptReport::default() });
        let last = self.attempts.len() - 1;
        &mut self.attempts[last]
    }

    fn apply(&mut self, entry: &Entry) {
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
            Event::Sandbox { mode, layers, gaps, network, .. } => {
                self.sandbox = Some(SandboxReport { mode: mode.clone(), layers: layers.clone(), gaps: gaps.clone(), network: network.clone() });
            }
            Event::AgentTried { attempt, session, what, reached } => {
                self.agent_tried.push(AgentTriedReport { attempt: *attempt, session: *session, what: what.clone(), reached: reached.clone() });
            }
            Event::Baseline { checks } => self.baseline.clone_from(checks),
            Event::AttemptStart { attempt, .. } => {
                self.attempt_mut(*attempt);
            }
            Event::SessionStart { .. } | Event::Checkpoint { .. } | Event::Commit(_) => {}
            Event::SessionEnd { attempt, session, reason, exit_code, duration_ms, killed, .. } => {
                let report = SessionReport { number: *session, reason: reason.clone(), exit_code: *exit_code, duration_ms: *duration_ms, killed: *killed };
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
    if !data.run_id.is_empty() && data.outcome.as_deref() != Some("success") {
        commands.push((format!("night resume {}", data.run_id), "go on from the journal".to_string()));
    }
    commands
}

/// `report.md`.
pub fn markdown(data: &ReportData) -> String {
    let mut out = String::new();
    let outcome = data.outcome.as_deref().unwrap_or("not finished");
    let _ = writeln!(out, "# night run `{}`: {outcome}\n", data.run_id);
    match &data.reason {
        Some(reason) => {
            let _ = writeln!(out, "**{outcome}** — {reason}.\n");
        }
        None => out.push_str("The journal has no end: the run is still going, or night stopped without finishing (`night resume` continues it).\n\n"),
    }

    out.push_str("| | |\n|---|---|\n");
    let mut row = |key: &str, value: String| {
        let _ = writeln!(out, "| {key} | {} |", value.replace('|', "\\|"));
    };
    row("runbook", format!("`{}`", data.runbook));
    row("agent", data.agent.clone());
    let from = data.original_branch.as_ref().map(|b| format!("`{b}` at ")).unwrap_or_default();
    row("branch", format!("`{}`, from {from}`{}`", data.branch, short(&data.start_commit)));
    if data.worktree {
        row("worktree", format!("`{}`", data.work_dir));
    }
    row("started", data.started_at.clone().unwrap_or_default());
    if let Some(ms) = data.duration_ms {
        row("duration", duration_text(ms));
    }
    let of = data.max_attempts.map(|n| format!(" of {n}")).unwrap_or_default();
    row("attempts", format!("{}{of}", data.attempts.len()));
    let usage = if data.usage_reported {
        format!("{} tokens, ${:.2}", data.tokens, data.cost_usd)
    } else {
        "not reported by this agent".to_string()
    };
    row("tokens and cost", usage);
    let limits = data.limits.iter().map(|(k, v)| format!("`{k} {v}`")).collect::<Vec<_>>().join(", ");
    row("limits", limits);
    if let Some((held, how)) = &data.keep_awake {
        row("kept awake", if *held { format!("yes, by `{how}`") } else { format!("no: {how}") });
    }
    out.push('\n');

    out.push_str("## Attempts\n\n");
    if data.attempts.is_empty() {
        out.push_str("The agent never started.\n\n");
    }
    if !data.baseline.is_empty() {
        out.push_str("Baseline, on the start commit:\n\n");
        for check in &data.baseline {
            let _ = writeln!(out, "- `{}`: {}", check.statement, check_result(check));
        }
        out.push('\n');
    }
    for attempt in &data.attempts {
        let verdict = match attempt.passed {
            Some(true) => "succeeded",
            Some(false) => "failed",
            None => "did not finish",
        };
        let why = attempt.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
        let _ = writeln!(out, "### Attempt {}: {verdict}{why}\n", attempt.number);
        let sessions: Vec<String> = attempt
            .sessions
            .iter()
            .map(|s| {
                let exit = s.exit_code.map(|c| format!(", exit {c}")).unwrap_or_default();
                let killed = if s.killed { ", killed" } else { "" };
                format!("session {}: {} after {}{exit}{killed}", s.number, s.reason, duration_text(s.duration_ms))
            })
            .collect();
        if !sessions.is_empty() {
            let _ = writeln!(out, "{}.", sessions.join("; "));
        }
        if !attempt.limits.is_empty() {
            let _ = writeln!(out, "Limits fired: {}.", attempt.limits.join(", "));
        }
        if let Some(kept) = &attempt.kept_ref {
            let _ = writeln!(out, "State kept at `{kept}`.");
        }
        if !attempt.checks.is_empty() {
            out.push_str("\n| check | baseline | after this attempt |\n|---|---|---|\n");
            for check in &attempt.checks {
                let baseline = data.baseline.iter().find(|b| b.index == check.index).map(check_result).unwrap_or_default();
                let _ = writeln!(out, "| `{}` | {baseline} | {} |", check.statement.replace('|', "\\|"), check_result(check));
            }
        }
        out.push('\n');
    }

    let _ = writeln!(
        out,
        "## Commits on `{}`\n\n{} commit(s); {} file(s) changed, +{} −{} since the start.\n",
        data.branch,
        data.commits.len(),
        data.diffstat.files,
        data.diffstat.insertions,
        data.diffstat.deletions
    );
    for commit in &data.commits {
        let during = if commit.attempt > 0 { format!(" (attempt {})", commit.attempt) } else { String::new() };
        let _ = writeln!(out, "- `{}` {}{during}: {} file(s), +{} −{}", commit.short, commit.summary, commit.files, commit.insertions, commit.deletions);
    }
    if !data.diffstat.per_file.is_empty() {
        out.push_str("\n```\n");
        for (path, added, removed) in &data.diffstat.per_file {
            let _ = writeln!(out, "{path} | +{added} -{removed}");
        }
        out.push_str("```\n");
    }
    out.push('\n');

    out.push_str("## Permission violations\n\n");
    if data.violations.is_empty() {
        out.push_str("None: every changed path was inside `write`.\n");
    }
    for violation in &data.violations {
        let paths = violation.paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
        let action = match (violation.action.as_str(), &violation.revert_commit) {
            ("revert", Some(commit)) => format!("restored by `{}`", short(commit)),
            ("revert", None) => "restored".to_string(),
            _ => "the run stopped; the paths were left for review".to_string(),
        };
        let _ = writeln!(out, "- attempt {}: {paths}; {action}", violation.attempt);
    }
    let layers: Vec<&(String, String)> = data.notes.iter().filter(|(topic, _)| topic == "deny-not-enforced").collect();
    for (_, message) in layers {
        let _ = writeln!(out, "\nEnforcement: {message}.");
    }
    if let Some(sandbox) = &data.sandbox {
        let shown = if sandbox.layers.is_empty() { "no OS layer".to_string() } else { sandbox.layers.join(", ") };
        let _ = writeln!(out, "\nSandbox (`sandbox {}`): {shown}; network: {}.", sandbox.mode, sandbox.network);
        for gap in &sandbox.gaps {
            let _ = writeln!(out, "- not enforced: {gap}");
        }
    }
    out.push('\n');

    if !data.agent_tried.is_empty() {
        out.push_str("## What the agent tried\n\n");
        for tried in &data.agent_tried {
            for what in &tried.what {
                let _ = writeln!(out, "- attempt {}, session {}: {what}", tried.attempt, tried.session);
            }
            if !tried.reached.is_empty() {
                let _ = writeln!(out, "- attempt {}, session {}: reached through the proxy: {}", tried.attempt, tried.session, tried.reached.join(", "));
            }
        }
        out.push('\n');
    }

    out.push_str("## Rollbacks\n\n");
    if data.rollbacks.is_empty() {
        out.push_str("None.\n");
    }
    for rollback in &data.rollbacks {
        let _ = writeln!(
            out,
            "- attempt {}: `{}` held ({}); reset to {} (`{}`), then {}. The rolled-back work is kept at `{}`.",
            rollback.attempt,
            rollback.condition,
            rollback.measured,
            rollback.to,
            short(&rollback.target),
            rollback.then,
            rollback.kept_ref
        );
    }
    out.push('\n');

    out.push_str("## Notifications\n\n");
    if data.notifications.is_empty() {
        out.push_str("None recorded.\n");
    }
    for notification in &data.notifications {
        let status = if notification.delivered { "sent".to_string() } else { format!("FAILED after {} tries", notification.tries) };
        let error = notification.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default();
        let _ = writeln!(out, "- `{}` to {}: {status}{error}", notification.event, notification.notifier);
    }
    out.push('\n');

    if !data.waivers.is_empty() {
        out.push_str("## Waived checklist rules\n\n");
        for (code, reason) in &data.waivers {
            let _ = writeln!(out, "- `{code}`: {reason}");
        }
        out.push('\n');
    }

    let notes: Vec<&(String, String)> = data.notes.iter().filter(|(topic, _)| topic != "deny-not-enforced").collect();
    if !notes.is_empty() {
        out.push_str("## Notes\n\n");
        for (topic, message) in notes {
            let _ = writeln!(out, "- {topic}: {message}");
        }
        out.push('\n');
    }

    out.push_str("## To continue\n\n```sh\n");
    for (command, comment) in continue_commands(data) {
        let _ = writeln!(out, "{command}    # {comment}");
    }
    out.push_str("```\n");
    out
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
        let _ = writeln!(out, "  violations {}", data.violations.len());
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
        assert!(text.contains("| duration | 1m1s |"));
        assert!(text.contains("FAILED (1 passed, 1 failed): 1 test failed"));
        assert!(text.contains("`no-budget`: a script spends nothing"));
        assert!(text.contains("`end` to command: sent"));
        assert!(text.contains("git switch night/demo/20250101-0000"));
        assert!(text.contains("night resume demo-20250101-000000"));
    }
}
