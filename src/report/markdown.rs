//! `report.md`: one screen at the top that answers the morning's questions (did it work,
//! what changed, what it cost, why it stopped, what to do next), the details below.

use super::{check_result, continue_commands, duration_text, plural, short, word, ReportData};
use crate::ast::OnViolation;
use crate::record::{SessionEndReason, SuccessRecord};
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
    delivery(&mut out, data);
    notifications(&mut out, data);
    waivers_and_notes(&mut out, data);
    out
}

/// The report's first screen alone: the body of the pull request night opens.
pub fn first_screen(data: &ReportData) -> String {
    let mut out = String::new();
    top(&mut out, data);
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
    if let Some(delivery) = &data.delivery {
        row("delivered", delivery.summary(&data.branch));
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
    let mut text = data.duration_phrase(duration_text).unwrap_or_else(|| "not over yet".to_string());
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
        let _ = write!(text, "; after attempt {}: {}", attempt.number, super::attempt_checks_phrase(data, attempt));
        for check in attempt.checks.iter().filter(|c| c.tests.is_some()) {
            if let Some(tests) = &check.tests {
                let partial = |record: &SuccessRecord| if record.partial.is_some() { ", partial" } else { "" };
                let _ = write!(text, ", {} passed {} failed{}", tests.passed, tests.failed, partial(check));
                if let Some(lost) = check.lost.as_ref().filter(|l| l.lost > 0) {
                    let _ = write!(text, " {} lost", lost.lost);
                }
                let base = data.baseline.iter().find(|b| b.index == check.index);
                if let Some((base, counts)) = base.and_then(|b| Some((b, b.tests?))) {
                    let _ = write!(text, " (baseline {} passed {} failed{})", counts.passed, counts.failed, partial(base));
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
    format!("{commits} on `{}`; {}, +{} −{} since `{}`", data.branch, plural(d.files, "file"), d.insertions, d.deletions, short(&data.start_commit))
}

pub(super) fn permissions_row(data: &ReportData) -> String {
    // Only what night checked: the paths changed in each session against `write`, the hook's
    // decisions, and what the sandbox's refusals left in the agent's output or its tools' results.
    let violations = match data.violations.len() {
        0 => "no changed path outside `write`".to_string(),
        n => {
            let paths: usize = data.violations.iter().map(|v| v.paths.len()).sum();
            format!("{}, {} written outside `write`", plural(n, "violation"), plural(paths, "path"))
        }
    };
    let before = data.denied.iter().filter(|d| !d.while_running).count();
    let running = data.denied.iter().filter(|d| d.while_running).count() as u64 + data.sandbox_refusals();
    let denied = match (data.audited_calls, before) {
        (None, _) => "no audit trail (this agent reports no tool calls)".to_string(),
        (Some(0), _) => "the hook audited no tool call".to_string(),
        (Some(1), 0) => "the hook allowed the one audited call".to_string(),
        (Some(calls), 0) => format!("the hook denied none of {calls} audited calls"),
        (Some(calls), n) => format!("the hook denied {n} of {}", plural(calls, "audited call")),
    };
    let refused = match running {
        0 => String::new(),
        1 => "; 1 refusal by the sandbox while the agent worked".to_string(),
        n => format!("; {n} refusals by the sandbox while the agent worked"),
    };
    format!("{violations}; {denied}{refused}")
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

/// The details' table of the run (also in `report.html`): key, value with `code` spans.
pub(super) fn run_rows(data: &ReportData) -> Vec<(&'static str, String)> {
    let mut rows = vec![("runbook", format!("`{}`", data.runbook)), ("agent", data.agent.clone())];
    let from = data.original_branch.as_ref().map(|b| format!("`{b}` at ")).unwrap_or_default();
    rows.push(("branch", format!("`{}`, from {from}`{}`", data.branch, short(&data.start_commit))));
    if data.worktree {
        rows.push(("worktree", format!("`{}`", data.work_dir)));
    }
    rows.push(("started", data.started_at.clone().unwrap_or_default()));
    if let Some(ended) = &data.ended_at {
        rows.push(("ended", ended.clone()));
    }
    let limits = data.limits.iter().map(|(k, v)| format!("`{k} {v}`")).collect::<Vec<_>>().join(", ");
    rows.push(("limits", limits));
    if let Some((held, how)) = &data.keep_awake {
        rows.push(("kept awake", if *held { format!("yes, by `{how}`") } else { format!("no: {how}") }));
    }
    for resume in &data.resumes {
        let from = resume.continues_attempt.map(|a| format!(", attempt {a} went on")).unwrap_or_default();
        rows.push(("resumed", format!("{}{from}; {}", resume.at, resume.leftover)));
    }
    rows
}

fn run_table(out: &mut String, data: &ReportData) {
    out.push_str("| run | |\n|---|---|\n");
    for (key, value) in run_rows(data) {
        let _ = writeln!(out, "| {key} | {} |", value.replace('|', "\\|"));
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
        "### Commits on `{}`\n\n{}; {} changed, +{} −{} since the start.\n",
        data.branch,
        plural(data.commits.len(), "commit"),
        plural(data.diffstat.files, "file"),
        data.diffstat.insertions,
        data.diffstat.deletions
    );
    for commit in &data.commits {
        let during = if commit.attempt > 0 { format!(" (attempt {})", commit.attempt) } else { String::new() };
        let _ = writeln!(out, "- `{}` {}{during}: {}, +{} −{}", commit.short, commit.summary, plural(commit.files, "file"), commit.insertions, commit.deletions);
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
        out.push_str("No changed path outside `write`: night compared every path changed in each session with `write`.\n");
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
    for (while_running, heading) in [(false, "Denied by the hooks before they ran"), (true, "Refused while they ran (the OS sandbox, git's push helper or night's proxy)")] {
        let listed: Vec<_> = data.denied.iter().filter(|d| d.while_running == while_running).collect();
        if listed.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{heading}:\n");
        for denied in listed {
            let reason = denied.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
            let _ = writeln!(out, "- {} `{}`{reason}", denied.tool, denied.what.replace('`', "'"));
        }
    }
    for (line, items) in enforcement(data) {
        let _ = writeln!(out, "\n{line}");
        for item in items {
            let _ = writeln!(out, "- {item}");
        }
    }
    out.push('\n');
    agent_tried(out, data);
}

/// How the permissions were enforced (also in `report.html`): paragraphs, each with its list
/// — the agent's hooks, the OS sandbox with what it does not enforce, what was hidden.
pub(super) fn enforcement(data: &ReportData) -> Vec<(String, Vec<String>)> {
    let mut paragraphs: Vec<(String, Vec<String>)> =
        data.notes.iter().filter(|(topic, _)| topic == "deny-not-enforced").map(|(_, message)| (format!("Enforcement: {message}."), Vec::new())).collect();
    if let Some(sandbox) = &data.sandbox {
        let shown = if sandbox.layers.is_empty() { "no OS layer".to_string() } else { sandbox.layers.join(", ") };
        let gaps = sandbox.gaps.iter().map(|gap| format!("not enforced: {gap}")).collect();
        paragraphs.push((format!("Sandbox (`sandbox {}`): {shown}; network: {}.", word(&sandbox.mode), sandbox.network), gaps));
        if !sandbox.hidden.is_empty() {
            paragraphs.push((format!("Hidden from the agent and the success checks (`deny irreversible`): {}.", sandbox.hidden.join("; ")), Vec::new()));
        }
    }
    paragraphs
}

/// What the sandbox refused or night undid, session by session.
fn agent_tried(out: &mut String, data: &ReportData) {
    let lines = agent_tried_lines(data);
    if lines.is_empty() {
        return;
    }
    out.push_str("### What the agent tried\n\n");
    for line in lines {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
}

/// One line for each thing the agent tried that the sandbox refused or night undid (also in
/// `report.html`).
pub(super) fn agent_tried_lines(data: &ReportData) -> Vec<String> {
    let mut lines = Vec::new();
    for tried in &data.agent_tried {
        let at = format!("attempt {}, session {}", tried.attempt, tried.session);
        lines.extend(tried.what.iter().map(|what| format!("{at}: {what}")));
        lines.extend(tried.refused.iter().map(|line| format!("{at}: the sandbox refused: `{}`", line.replace('`', "'"))));
        let unlisted = tried.refused_total.saturating_sub(tried.refused.len() as u64);
        if unlisted > 0 {
            let unlisted = plural(usize::try_from(unlisted).unwrap_or(usize::MAX), "more refusal");
            lines.push(format!("{at}: {unlisted} in `agent.log`"));
        }
        if !tried.reached.is_empty() {
            lines.push(format!("{at}: reached through the proxy: {}", tried.reached.join(", ")));
        }
    }
    lines
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

fn delivery(out: &mut String, data: &ReportData) {
    let Some(delivery) = &data.delivery else { return };
    out.push_str("### Delivery\n\n");
    let by = match delivery.by {
        crate::record::DeliveredBy::Run => "at the end of the run",
        crate::record::DeliveredBy::Hand => "by hand (`night deliver`)",
    };
    let tries = if delivery.tries > 1 { format!(", try {}", delivery.tries) } else { String::new() };
    let _ = writeln!(out, "Delivered {by} for `{}`{tries}: {}.\n", delivery.outcome, delivery.status);
    for (what, step) in [("push", &delivery.push), ("pull request", &delivery.pull_request)] {
        let Some(step) = step else { continue };
        let mut line = format!("- {what}: {}", word(&step.status));
        if what == "push" {
            line.push_str(&format!(" to `{}` ({})", delivery.remote, delivery.url));
            if let Some(commit) = &step.commit {
                line.push_str(&format!(", `{}` at {}", step.branch.as_deref().unwrap_or(&data.branch), short(commit)));
            }
        } else if let Some(url) = &step.url {
            let verb = if step.created { "opened" } else { "updated" };
            line.push_str(&format!(", {verb} {url}{}", if step.draft { " (draft)" } else { "" }));
        }
        if step.tries > 1 {
            line.push_str(&format!(" after {} tries", step.tries));
        }
        if let Some(error) = &step.error {
            line.push_str(&format!(": {error}"));
        }
        let _ = writeln!(out, "{line}");
        for note in &step.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    if let Some(retry) = &delivery.retry {
        let _ = writeln!(out, "\nThe work stays on `{}`. Try again with `{retry}` once the cause is fixed.", data.branch);
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
    let notes = note_lines(data);
    if !notes.is_empty() {
        out.push_str("### Notes\n\n");
        for line in notes {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
}

/// The notes (also in `report.html`): what night noted on the way, and journal lines it skipped.
pub(super) fn note_lines(data: &ReportData) -> Vec<String> {
    let notes = data.notes.iter().filter(|(topic, _)| topic != "deny-not-enforced" && topic != "denied").map(|(topic, message)| format!("{topic}: {message}"));
    let skipped = data.unreadable_lines.iter().map(|(line, why)| format!("journal: line {line} was skipped: {why}"));
    notes.chain(skipped).collect()
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
