//! `no-stuck-limit`, `no-budget`, `long-session` and `no-rollback`: the run cannot go wrong all night.

use super::Context;
use crate::ast::{wrote, AgentKind};
use crate::diagnostic::{Code, Diagnostic, Severity};
use std::time::Duration;

const LONGEST_SESSION: Duration = Duration::from_secs(4 * 3600);

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    if let Some(limits) = &context.runbook.limits {
        let missing: Vec<&str> = [
            ("attempts", wrote(&limits.written, "attempts")),
            ("stuck", wrote(&limits.written, "stuck")),
            ("idle", wrote(&limits.written, "idle")),
        ]
        .iter()
        .filter(|(_, present)| !present)
        .map(|(name, _)| *name)
        .collect();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
            let (list, limits_word) = match list.as_slice() {
                [one] => (one.clone(), "limit"),
                [init @ .., last] => (format!("{} or {last}", init.join(", ")), "limits"),
                [] => (String::new(), "limits"),
            };
            findings.push(
                Diagnostic::warning(Code::NoStuckLimit, format!("no {list} {limits_word}: a loop could run all night"))
                    .label(limits.span, "add the missing limits here")
                    .help("Stop a run that goes in circles, e.g. `attempts 5`, `stuck 3` and `idle 45m`."),
            );
        }

        let capped = wrote(&limits.written, "tokens") || wrote(&limits.written, "cost");
        if let (Some((agent, severity)), false) = (budget_severity(context), capped) {
            let message = format!("spending is not capped for `{}`", agent.name());
            let diagnostic = match severity {
                Severity::Error => Diagnostic::error(Code::NoBudget, message),
                Severity::Warning => Diagnostic::warning(Code::NoBudget, message),
            };
            findings.push(
                diagnostic
                    .label(limits.span, "no `tokens` or `cost`")
                    .help("Cap the run's spending, e.g. `cost $25` or `tokens 3M`; night counts what the agent reports."),
            );
        }

        let session = limits.session.as_ref().map(|s| (s.value, s.span, "session")).or_else(|| {
            limits.timeout.as_ref().filter(|t| t.value > LONGEST_SESSION).map(|t| (t.value, t.span, "timeout"))
        });
        if let Some((length, span, source)) = session.filter(|(length, _, _)| *length > LONGEST_SESSION) {
            let label = if source == "session" {
                "longer than 4h".to_string()
            } else {
                "with no `session`, one session may last the whole timeout".to_string()
            };
            findings.push(
                Diagnostic::warning(Code::LongSession, format!("an agent session may last {}", crate::time::format_duration(length)))
                    .label(span, label)
                    .help("Keep sessions at most 4h so the agent's context does not run out, e.g. `session 2h30m`; night checkpoints and starts a fresh one."),
            );
        }
    }

    if context.runbook.rollback.is_none() && !context.runbook.is_unresolved("rollback") {
        findings.push(
            Diagnostic::warning(Code::NoRollback, "regressions are not rolled back")
                .help("Add `rollback { when failing > baseline; to last-green; then stop }` so work that breaks more than it fixes is undone."),
        );
    }
}

/// How bad a missing budget is for the run's agent: an error where night counts the usage the
/// agent reports (claude, codex, gemini), a warning for aider (which prints its usage as text),
/// and nothing where `tokens` and `cost` could measure nothing (`command`, goose) — or when the
/// `agent` statement could not be read, which has its own error.
fn budget_severity(context: &Context<'_>) -> Option<(AgentKind, Severity)> {
    let agent = context.agent_kind()?;
    let severity = match agent {
        _ if agent.reports_usage() => Severity::Error,
        AgentKind::Aider => Severity::Warning,
        _ => return None,
    };
    Some((agent, severity))
}
