//! `success-missing` and `success-unverifiable`: night must be able to tell success from failure.

use super::Context;
use crate::ast::{SuccessCheck, Comparison, Target};
use crate::diagnostic::{Code, Diagnostic};

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let Some(success) = &context.runbook.success else {
        if context.runbook.is_unresolved("success") {
            return;
        }
        findings.push(
            Diagnostic::error(Code::SuccessMissing, "the runbook has no `success` block")
                .help("Add a `success` block that night can verify itself, e.g. `success { tests \"npm test\" }`; without it, \"done\" is only the agent's word."),
        );
        return;
    };
    if success.written.is_empty() {
        findings.push(
            Diagnostic::error(Code::SuccessMissing, "the `success` block has no checks")
                .label(success.span, "empty")
                .help("Add at least one check night runs itself, e.g. `tests \"npm test\"`."),
        );
        return;
    }
    for check in &success.checks {
        let reason = match &check.value {
            SuccessCheck::Run { command, .. } | SuccessCheck::Tests { command, .. } => {
                always_succeeds(command, &context.simple_commands(command)).map(|why| (command.span, why))
            }
            SuccessCheck::Count { comparison, target, .. } => match (comparison.value, target.value) {
                (Comparison::GreaterOrEqual, Target::Number(0)) => Some((target.span, "a count is never below zero".to_string())),
                _ => None,
            },
            SuccessCheck::Exists(path) if matches!(path.value.trim(), "" | "." | "./" | "/") => {
                Some((path.span, "the repository itself always exists".to_string()))
            }
            _ => None,
        };
        if let Some((span, why)) = reason {
            findings.push(
                Diagnostic::error(Code::SuccessUnverifiable, format!("this `{}` check cannot fail", check.value.keyword()))
                    .label(span, why)
                    .help("Use a command that fails when the work is not done, such as the test suite or a linter."),
            );
        }
    }
}

/// Why a shell command always exits 0, if it does (`parts`: its simple commands).
fn always_succeeds(command: &str, parts: &[String]) -> Option<String> {
    let trimmed = command.trim();
    if trimmed.is_empty() {
        return Some("an empty command".into());
    }
    for suffix in ["|| true", "|| :", "|| exit 0", "; true", "; exit 0", "; :"] {
        if trimmed.ends_with(suffix) {
            return Some(format!("`{suffix}` makes it succeed whatever happens"));
        }
    }
    let last = parts.last()?;
    let first_word = last.split_whitespace().next().unwrap_or("");
    let trivially_true = matches!(first_word, "true" | ":" | "echo" | "printf")
        || (first_word == "exit" && matches!(last.split_whitespace().nth(1), None | Some("0")));
    let all_trivial = parts.iter().all(|part| {
        let word = part.split_whitespace().next().unwrap_or("");
        matches!(word, "true" | ":" | "echo" | "printf" | "exit" | "sleep" | "cd" | "set")
    });
    (trivially_true && all_trivial).then(|| format!("`{first_word}` always succeeds"))
}

#[cfg(test)]
mod tests {
    use super::always_succeeds;

    #[test]
    fn trivial_commands() {
        for command in ["true", ":", "echo done", "exit 0", "printf ok", "npm test || true", "cd x && echo ok", "make; true"] {
            assert!(always_succeeds(command, &crate::policy::shell::simple_commands(command)).is_some(), "{command}");
        }
        for command in ["npm test", "cargo test", "echo x | grep y", "test -f x", "exit 1", "npm test && echo ok"] {
            assert!(always_succeeds(command, &crate::policy::shell::simple_commands(command)).is_none(), "{command}");
        }
    }
}
