//! `irreversible-unrestricted`: `deny irreversible`, or deny patterns covering the built-in set.

use super::Context;
use crate::diagnostic::{Code, Diagnostic};
use crate::irreversible::BUILT_IN;

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(permissions) = &context.runbook.permissions else { return };
    if permissions.deny_irreversible.is_some() {
        return;
    }
    let mut uncovered: Vec<&str> = BUILT_IN
        .iter()
        .filter(|rule| !permissions.deny.iter().any(|deny| deny.value.is_match(rule.example)))
        .map(|rule| rule.category)
        .collect();
    uncovered.dedup();
    if uncovered.is_empty() {
        return;
    }
    findings.push(
        Diagnostic::error(Code::IrreversibleUnrestricted, "irreversible commands are not denied")
            .label(permissions.span, format!("the agent could run: {}", uncovered.join(", ")))
            .help("Add `deny irreversible` to `permissions`: it blocks pushes, publishing, deploys, destructive git, deletes outside the repository, mutating HTTP requests and database drops."),
    );
}
