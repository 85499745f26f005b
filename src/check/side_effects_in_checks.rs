//! `side-effects-in-checks`: success commands do nothing irreversible (night runs them after every attempt).

use super::Context;
use crate::diagnostic::{Code, Diagnostic};

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(success) = &context.runbook.success else { return };
    for check in &success.checks {
        let Some(command) = check.value.command() else { continue };
        let parts = context.simple_commands(&command.value);
        let found = parts.iter().find_map(|part| crate::irreversible::matching_rule(part).map(|rule| (part, rule)));
        if let Some((part, rule)) = found {
            findings.push(
                Diagnostic::error(Code::SideEffectsInChecks, format!("the success command runs `{part}`"))
                    .label(command.span, format!("irreversible: {}", rule.category))
                    .help("Success checks run after every attempt and must only observe; move this step out of `success`."),
            );
        }
    }
}
