//! `irreversible-unrestricted`: `deny irreversible`, or deny patterns covering the built-in set.
//! With `deny irreversible`, two warnings: an open network for an agent whose API host night
//! cannot know, and an `allow` for a push that git will refuse anyway.

use super::Context;
use crate::ast::{AgentKind, Network};
use crate::diagnostic::{Code, Diagnostic};
use crate::irreversible::BUILT_IN;

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(permissions) = &context.runbook.permissions else { return };
    if let Some(span) = permissions.deny_irreversible {
        open_network(context, span, findings);
        dead_push_allows(permissions, findings);
        return;
    }
    if context.runbook.is_unresolved("permissions.deny") {
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

/// `network on` (written, or the default of `auto`) for an agent whose API host night cannot know.
fn open_network(context: &Context<'_>, deny: crate::source::Span, findings: &mut Vec<Diagnostic>) {
    let Some(permissions) = &context.runbook.permissions else { return };
    let agent = context.runbook.task.as_ref().and_then(|t| t.agent.as_ref());
    let kind = agent.map_or(AgentKind::Claude, |a| a.value.kind.clone());
    let written = permissions.network.as_ref();
    let open = match written.map(|n| &n.value) {
        None | Some(Network::Auto) => !crate::policy::network::knows_api(&kind),
        Some(Network::On) => true,
        Some(Network::Off | Network::Allow(_)) => false,
    };
    if !open {
        return;
    }
    let (span, label) = match written {
        Some(network) => (network.span, "the agent and the success checks reach any host".to_string()),
        None => (agent.map_or(deny, |a| a.span), format!("night cannot know which hosts `{}` needs: the network stays open", kind.name())),
    };
    findings.push(
        Diagnostic::warning(Code::IrreversibleUnrestricted, "the network is open to the agent")
            .label(span, label)
            .help("List the hosts the agent needs, e.g. `network allow \"api.example.com\" \"registry.npmjs.org\"`: night's proxy then refuses the rest. Hidden credentials still stop pushes and publishes (docs/sandbox.md)."),
    );
}

/// `allow "git push …"`: git refuses every push during the run, whatever `allow` says.
fn dead_push_allows(permissions: &crate::ast::Permissions, findings: &mut Vec<Diagnostic>) {
    for allow in &permissions.allow {
        let pattern = allow.value.pattern.trim();
        let pushes = pattern.starts_with("git push") || allow.value.is_match("git push origin night/x") || allow.value.is_match("git push origin HEAD");
        if pushes {
            findings.push(
                Diagnostic::warning(Code::IrreversibleUnrestricted, format!("`allow \"{pattern}\"` cannot work"))
                    .label(allow.span, "git refuses every push during the run")
                    .help("Under `deny irreversible` the agent has no credentials and git sends every push to night's helper, which refuses it; night's `deliver` block pushes the run branch after the run (docs/deliver.md). Remove this `allow`."),
            );
        }
    }
}
