//! `side-effects-in-checks`: success commands do nothing irreversible (night runs them after every attempt).

use super::Context;
use crate::diagnostic::{Code, Diagnostic};
use crate::policy::irreversible::IrreversibleRule;
use std::collections::HashMap;

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(success) = &context.runbook.success else { return };
    // Read as the hook reads it (wrappers, `sh -c`, targets); each command line once.
    let mut seen: HashMap<&str, Option<(String, &'static IrreversibleRule)>> = HashMap::new();
    for check in &success.checks {
        let Some(command) = check.value.command() else { continue };
        let found = seen.entry(command.value.as_str()).or_insert_with(|| crate::policy::commands::irreversible_in_script(&context.script(&command.value)));
        if let Some((part, rule)) = found {
            findings.push(
                Diagnostic::error(Code::SideEffectsInChecks, format!("the success command runs `{part}`"))
                    .label(command.span, format!("irreversible: {}", rule.category))
                    .help("Success checks run after every attempt and must only observe; move this step out of `success`."),
            );
        }
    }
}
