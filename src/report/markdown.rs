//! `report.md`: one screen at the top that answers the morning's questions (did it work,
//! what changed, what it cost, why it stopped, what to do next), the details below.

use super::{check_result, continue_commands, duration_text, short, word, ReportData};
use crate::ast::OnViolation;
use crate::record::SessionEndReason;
use std::fmt::Write as _;

/// `report.md`.
pub fn markdown(data: &ReportData) -> String {
    let mut out = String::new();
    top(&mut out, data);
    out.push_str("\n---\n\n## Details\n\n");
    run_table(&mut out, data);
    attempts(&mut out, data);
    commits(&mut out, data);
    permissions(&mut out, data);
    rollbacks(&mut out, data);
    notifications(&mut out, data);
    waivers_and_notes(&mut out, data);
    out
}

/// The first screen: at most about 22 lines whatever happened in the night.
fn top(out: &mut String, data: &ReportData) {
    let outcome = data.outcome_name();
    let _ = writeln!(out, "# night run `{}`: {outcome}\n", data.run_id);
    match &data.reason {
        Some(reason) => {
            let _ = writeln!(out, "**{outcome}** — {reason}.\n");
        }
        None => out.push_str("The journal has no end yet: the run is still going.\n\n"),
    }
    out.push_str("| | |\n|---|---|\n");
    let mut row = |key: &str, value: String| {
        let _ = writeln!(out, "| {key} | {} |", value.replace('|', "\\|"));
    };
    row("duration", duration_row(data));
    row("attempts", attempts_row(data));
    row("changes", changes_row(data));
    row("permissions", permissions_row(data));
    row("tokens and cost", usage_row(data));
    if !data.rollbacks.is_empty() {
        let rolled: Vec<String> = data
            .rollbacks
            .iter()
            .map(|r| format!("attempt {} reset to {} `{}`, work kept at `{}`", r.attempt, word(&r.to), short(&r.target), r.kept_ref))
            .collect();
        row("rolled back", rolled.join("; "));
    }
    row("notifications", notifications_row(data));
    if !data.waivers.is_empty() {
        let codes: Vec<String> = data.waivers.iter().map(|(code, _)| format!("`{code}`")).collect();
        row("waived", codes.join(", "));
    }
    out.push_str("\nNext:\n\n```sh\n");
    let commands = continue_commands(data);
    let width = commands.iter().map(|(c, _)| c.chars().count()).max().unwrap_or(0);
    for (command, comment) in commands {
        let _ = writeln!(out, "{command:width$}  # {comment}");
    }
    out.push_str("```\n");
}

pub(super) fn duration_row(data: &ReportData) -> String {
    let mut text = match data.duration_ms {
        Some(ms) => duration_text(ms),
        None => "not over yet".to_string(),
    };
    if let Some(started) = &data.started_at {
        let start = clock(started);
        match data.ended_at.as_deref() {
            Some(ended) => {
                let _ = write!(text, ", {start} → {} UTC", clock(ended));
            }
            None => {
                let _ = write!(text, ", since {start} UTC");
            }
        }
    }
    if let Some(timeout) = data.limits.iter().find(|(k, _)| k == "timeout").map(|(_, v)| v) {
        let _ = write!(text, " (timeout {timeout})");
    }
    match data.resumes.len() {
        0 => {}
        1 => text.push_str("; resumed once"),
        n => {
            let _ = write!(text, "; resumed {n} times");
        }
    }
    text
}

/// `2025-01-01T23:05:09Z` → `23:05:09`.
fn clock(at: &str) -> String {
    at.get(11..19).unwrap_or(at).to_string()
}

pub(super) fn attempts_row(data: &ReportData) -> String {
    let of = data.max_attempts.map(|n| format!(" of {n}")).unwrap_or_default();
    let mut text = format!("{}{of}", data.attempts.len());
    let last_checked = data.attempts.iter().rev().find(|a| !a.checks.is_empty());
    if let Some(attempt) = last_checked {
        let held = attempt.checks.iter().filter(|c| c.passed).count();
        let _ = write!(text, "; after attempt {}: {held}/{} checks hold", attempt.number, attempt.checks.len());
        for check in attempt.checks.iter().filter(|c| c.tests.is_some()) {
            if let Some(tests) = &check.tests {
                let _ = write!(text, ", {} passed {} failed", tests.passed, tests.failed);
                let base = data.baseline.iter().find(|b| b.index == check.index).and_then(|b| b.tests);
                if let Some(base) = base {
                    let _ = write!(text, " (baseline {} passed {} failed)", base.passed, base.failed);
                }
            }
        }
    } else if !data.baseline.is_empty() {
        let held = data.baseline.iter().filter(|c| c.passed).count();
        let _ = write!(text, "; baseline: {held}/{} checks hold", data.baseline.len());
    }
    text
}

pub(super) fn changes_row(data: &ReportData) -> String {
    let commits = match data.commits.len() {
        1 => "1 commit".to_string(),
        n => format!("{n} commits"),
    };
    let d = &data.diffstat;
    if data.head.is_none() {
        // No `run-end`: the diffstat is taken at the end; the commits' own counts say enough.
        let (added, removed) = data.commits.iter().fold((0, 0), |(a, r), c| (a + c.insertions, r + c.deletions));
        return format!("{commits} on `{}` so far, +{added} −{removed} in them", data.branch);
    }
    format!("{commits} on `{}`; {} file(s), +{} −{} since `{}`", data.branch, d.files, d.insertions, d.deletions, short(&data.start_commit))
}

pub(super) fn permissions_row(data: &ReportData) -> String {
    let violations = match data.violations.len() {
        0 => "no violation".to_string(),
        n => {
            let paths: usize = data.violations.iter().map(|v| v.paths.len()).sum();
            format!("{n} violation(s), {paths} path(s) written outside `write`")
        }
    };
    let denied = match (data.audited_calls, data.denied.len()) {
        (None, _) => "no audit trail (this agent reports no tool calls)".to_string(),
        (Some(calls), 0) => format!("nothing denied in {calls} audited call(s)"),
        (Some(calls), n) => format!("{n} of {calls} audited call(s) denied"),
    };
    format!("{violations}; {denied}")
}

pub(super) fn usage_row(data: &ReportData) -> String {
    if !data.usage_reported {
        return "not reported by this agent".to_string();
    }
    let tokens = match data.token_limit() {
        Some(max) => format!("{} of {max} tokens", data.tokens),
        None => format!("{} tokens", data.tokens),
    };
    let cost = match data.cost_limit() {
        Some(max) => format!("${:.2} of {max}", data.cost_usd),
        None => format!("${:.2}", data.cost_usd),
    };
    format!("{tokens}, {cost}")
}

pub(super) fn notifications_row(data: &ReportData) -> String {
    let sent = data.notifications.iter().filter(|n| n.delivered).count();
    let failed: Vec<String> = data.notifications.iter().filter(|n| !n.delivered).map(|n| format!("`{}` to {}", n.event, n.notifier)).collect();
    if failed.is_empty() {
        return format!("{sent} sent");
    }
    format!("{sent} sent, {} FAILED: {}", failed.len(), failed.join(", "))
}

fn run_table(out: &mut String, data: &ReportData) {
    out.push_str("| run | |\n|---|---|\n");
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
    if let Some(ended) = &data.ended_at {
        row("ended", ended.clone());
    }
    let limits = data.limits.iter().map(|(k, v)| format!("`{k} {v}`")).collect::<Vec<_>>().join(", ");
    row("limits", limits);
    if let Some((held, how)) = &data.keep_awake {
        row("kept awake", if *held { format!("yes, by `{how}`") } else { format!("no: {how}") });
    }
    for resume in &data.resumes {
        let from = resume.continues_attempt.map(|a| format!(", attempt {a} went on")).unwrap_or_default();
        row("resumed", format!("{}{from}; {}", resume.at, resume.leftover));
    }
    out.push('\n');
}

fn attempts(out: &mut String, data: &ReportData) {
    out.push_str("### Attempts\n\n");
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
        let verdict = attempt.verdict();
        let why = attempt.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
        let _ = writeln!(out, "#### Attempt {}: {verdict}{why}\n", attempt.number);
        let sessions: Vec<String> = attempt
            .sessions
            .iter()
            .map(|s| {
                let exit = match (s.exit_code, s.signal) {
                    // A shell says "my child was killed by signal N" as 128 + N.
                    (Some(code @ 129..=159), _) => format!(", exit {code} (killed by signal {}{})", code - 128, signal_name(code - 128)),
                    (Some(code), _) => format!(", exit {code}"),
                    // Killed from outside night (the OOM killer's SIGKILL, a user's kill): say so.
                    (None, Some(signal)) if s.reason == SessionEndReason::Exited => format!(", killed by signal {signal}{}", signal_name(signal)),
                    _ => String::new(),
                };
                let killed = if s.killed { ", killed" } else { "" };
                if s.reason == SessionEndReason::SupervisorDied {
                    return format!("session {}: its supervisor died after {}", s.number, duration_text(s.duration_ms));
                }
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
}

fn commits(out: &mut String, data: &ReportData) {
    let _ = writeln!(
        out,
        "### Commits on `{}`\n\n{} commit(s); {} file(s) changed, +{} −{} since the start.\n",
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
}

fn permissions(out: &mut String, data: &ReportData) {
    out.push_str("### Permission violations and denied commands\n\n");
    if data.violations.is_empty() {
        out.push_str("No violation: every changed path was inside `write`.\n");
    }
    for violation in &data.violations {
        let paths = violation.paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
        let action = match (violation.action, &violation.revert_commit) {
            (OnViolation::Revert, Some(commit)) => format!("restored by `{}`", short(commit)),
            (OnViolation::Revert, None) => "restored".to_string(),
            (OnViolation::Stop, _) => "the run stopped; the paths were left for review".to_string(),
        };
        let _ = writeln!(out, "- attempt {}: {paths}; {action}", violation.attempt);
    }
    if !data.denied.is_empty() {
        out.push_str("\nDenied by the hooks before they ran:\n\n");
        for denied in &data.denied {
            let reason = denied.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
            let _ = writeln!(out, "- {} `{}`{reason}", denied.tool, denied.what.replace('`', "'"));
        }
    }
    let layers: Vec<&(String, String)> = data.notes.iter().filter(|(topic, _)| topic == "deny-not-enforced").collect();
    for (_, message) in layers {
        let _ = writeln!(out, "\nEnforcement: {message}.");
    }
    if let Some(sandbox) = &data.sandbox {
        let shown = if sandbox.layers.is_empty() { "no OS layer".to_string() } else { sandbox.layers.join(", ") };
        let _ = writeln!(out, "\nSandbox (`sandbox {}`): {shown}; network: {}.", word(&sandbox.mode), sandbox.network);
        for gap in &sandbox.gaps {
            let _ = writeln!(out, "- not enforced: {gap}");
        }
        if !sandbox.hidden.is_empty() {
            let _ = writeln!(out, "\nHidden from the agent and the success checks (`deny irreversible`): {}.", sandbox.hidden.join("; "));
        }
    }
    out.push('\n');
    agent_tried(out, data);
}

/// What the sandbox refused or night undid, session by session.
fn agent_tried(out: &mut String, data: &ReportData) {
    if data.agent_tried.is_empty() {
        return;
    }
    out.push_str("### What the agent tried\n\n");
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

fn rollbacks(out: &mut String, data: &ReportData) {
    out.push_str("### Rollbacks\n\n");
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
            word(&rollback.to),
            short(&rollback.target),
            word(&rollback.then),
            rollback.kept_ref
        );
    }
    out.push('\n');
}

fn notifications(out: &mut String, data: &ReportData) {
    out.push_str("### Notifications\n\n");
    if data.notifications.is_empty() {
        out.push_str("None recorded.\n");
    }
    for notification in &data.notifications {
        let status = if notification.delivered { "sent".to_string() } else { format!("FAILED after {} tries", notification.tries) };
        let error = notification.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default();
        let _ = writeln!(out, "- `{}` to {}: {status}{error}", notification.event, notification.notifier);
    }
    out.push('\n');
}

fn waivers_and_notes(out: &mut String, data: &ReportData) {
    if !data.waivers.is_empty() {
        out.push_str("### Waived checklist rules\n\n");
        for (code, reason) in &data.waivers {
            let _ = writeln!(out, "- `{code}`: {reason}");
        }
        out.push('\n');
    }
    let notes: Vec<&(String, String)> = data.notes.iter().filter(|(topic, _)| topic != "deny-not-enforced" && topic != "denied").collect();
    if !notes.is_empty() || !data.unreadable_lines.is_empty() {
        out.push_str("### Notes\n\n");
        for (topic, message) in notes {
            let _ = writeln!(out, "- {topic}: {message}");
        }
        for (line, why) in &data.unreadable_lines {
            let _ = writeln!(out, "- journal: line {line} was skipped: {why}");
        }
        out.push('\n');
    }
}

/// ` (SIGKILL)` for the signals an agent is commonly ended by.
fn signal_name(signal: i32) -> &'static str {
    match signal {
        9 => " (SIGKILL)",
        15 => " (SIGTERM)",
        2 => " (SIGINT)",
        6 => " (SIGABRT)",
        11 => " (SIGSEGV)",
        _ => "",
    }
}
