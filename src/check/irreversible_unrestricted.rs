//! `irreversible-unrestricted`: `deny irreversible`, or deny patterns covering the built-in set.

use super::Context;
use crate::diagnostic::{Code, Diagnostic};
use crate::irreversible::BUILT_IN;

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(permissions) = &context.runbook.permissions else { return };
    if permissions.deny_irreversible.is_some() || context.runbook.is_unresolved("permissions.deny") {
        return;
    }
    let mut uncovered: Vec<&str> = Vec::new();
    for rule in BUILT_IN {
        if !permissions.deny.iter().any(|deny| deny.value.is_match(rule.example)) && !uncovered.contains(&rule.category) {
            uncovered.push(rule.category);
        }
    }
    if uncovered.is_empty() {
        return;
    }
    let help = if permissions.deny.is_empty() {
        "Add `deny irreversible` to `permissions`: it blocks pushes, publishing, deploys, destructive git, deletes outside the repository, `sudo`, mutating HTTP requests and database drops (docs/irreversible.md).".to_string()
    } else {
        format!("Your `deny` patterns leave open: {}. Add `deny irreversible` to `permissions` (docs/irreversible.md).", uncovered.join(", "))
    };
    findings.push(
        Diagnostic::error(Code::IrreversibleUnrestricted, "irreversible commands are not denied")
            .label(permissions.span, "add `deny irreversible` here")
            .help(help),
    );
}
