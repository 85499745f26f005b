//! `command-not-found`: the first word of each success command (and of a command agent) resolves.

use super::Context;
use crate::ast::AgentKind;
use crate::diagnostic::{Code, Diagnostic};
use crate::policy::shell;
use crate::source::Spanned;
use std::path::Path;

const SHELL_BUILTINS: &[&str] = &[
    "cd", "test", "[", "[[", "echo", "printf", "true", "false", ":", "exit", "export", "set", "unset", "source", ".",
    "eval", "exec", "read", "type", "command", "builtin", "wait", "trap", "shift", "if", "then", "else", "fi", "for",
    "while", "do", "done", "case", "esac", "!", "{", "}", "pushd", "popd", "ulimit", "umask", "let", "local",
];

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let base = context.repo.clone().unwrap_or_else(|| context.runbook_dir.clone());
    if let Some(success) = &context.runbook.success {
        for check in &success.checks {
            if let Some(command) = check.value.command() {
                report_missing(command, &base, "success commands run in the repository", context, findings);
            }
        }
    }
    if let AgentKind::Command(command) = context.agent_kind() {
        report_missing(&command, &base, "the agent command runs in the repository", context, findings);
    }
}

/// The commands a line runs, each from the program that must be installed: a package runner
/// (`npx tsc`, `uvx ruff`) fetches what it runs, so the runner is what must exist.
fn programs(line: &str) -> Vec<String> {
    const RUNNERS: &[&str] = &["npx", "bunx", "pnpx", "uvx", "pnpm dlx", "yarn dlx", "npm exec", "pipx run", "uv run", "poetry run", "pipenv run", "pdm run", "hatch run", "rye run", "bundle exec", "direnv exec"];
    shell::parse(line)
        .commands
        .iter()
        .map(|command| match command.wrappers.iter().find(|w| RUNNERS.contains(&w.as_str())) {
            Some(runner) => runner.clone(),
            None => command.line(),
        })
        .filter(|line| !line.is_empty())
        .collect()
}

fn report_missing(command: &Spanned<String>, base: &Path, where_: &str, context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let path_var = (context.env)("PATH").unwrap_or_default();
    for part in programs(&command.value) {
        let Some(program) = first_word(&part) else { continue };
        if SHELL_BUILTINS.contains(&program.as_str()) || program.contains('$') || context.host.resolves(&program, base, &path_var) {
            continue;
        }
        let help = if program.contains('/') {
            format!("`{program}` is not an executable file; {where_}, so paths are relative to its root. Check the path and `chmod +x` it.")
        } else {
            format!("Install `{program}` or put it on PATH before the run; {where_}, with the PATH night is started with.")
        };
        findings.push(
            Diagnostic::error(Code::CommandNotFound, format!("command `{program}` not found"))
                .label(command.span, format!("`{program}` is not on PATH or in the repository"))
                .help(help),
        );
    }
}

fn first_word(part: &str) -> Option<String> {
    let word = part.split_whitespace().next()?;
    let unquoted = word.trim_matches(|c| c == '\'' || c == '"');
    (!unquoted.is_empty() && !unquoted.starts_with(['(', '<', '>'])).then(|| unquoted.to_string())
}
