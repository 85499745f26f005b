//! `no-stuck-limit`, `no-budget`, `long-session` and `no-rollback`: the run cannot go wrong all night.

use super::Context;
use crate::ast::wrote;
use crate::diagnostic::{Code, Diagnostic};
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
            findings.push(
                Diagnostic::warning(Code::NoStuckLimit, format!("no {} limit: a loop could run all night", list.join(", ")))
                    .label(limits.span, "add the missing limits here")
                    .help("Stop a run that goes in circles, e.g. `attempts 5`, `stuck 3` and `idle 45m`."),
            );
        }

        if !wrote(&limits.written, "tokens") && !wrote(&limits.written, "cost") {
            let agent = context.agent_kind();
            let message = format!("spending is not capped for `{}`", agent.name());
            let diagnostic = if agent.reports_usage() {
                Diagnostic::error(Code::NoBudget, message)
            } else {
                Diagnostic::warning(Code::NoBudget, message)
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

    if context.runbook.rollback.is_none() {
        findings.push(
            Diagnostic::warning(Code::NoRollback, "regressions are not rolled back")
                .help("Add `rollback { when failing > baseline; to last-green; then stop }` so work that breaks more than it fixes is undone."),
        );
    }
}
