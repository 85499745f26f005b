//! `command-not-found`: the first word of each success command (and of a command agent)
//! resolves, and the agent's own program is installed and usable, as `night run` will require.
//! The first word of each `command` notifier is checked the same way, under `notify-missing`:
//! a notifier that cannot start tells nobody.

use super::Context;
use crate::agent_program::{program_of, PreflightError};
use crate::ast::{AgentKind, Channel};
use crate::diagnostic::{Code, Diagnostic};
use crate::policy::shell;
use crate::source::{Span, Spanned};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

const SHELL_BUILTINS: &[&str] = &[
    "cd", "test", "[", "[[", "echo", "printf", "true", "false", ":", "exit", "export", "set", "unset", "source", ".",
    "eval", "exec", "read", "type", "command", "builtin", "wait", "trap", "shift", "if", "then", "else", "fi", "for",
    "while", "do", "done", "case", "esac", "!", "{", "}", "pushd", "popd", "ulimit", "umask", "let", "local",
];

/// Where commands run and how programs are found, with each program looked up once.
struct Lookup<'a> {
    context: &'a Context<'a>,
    base: PathBuf,
    path_var: String,
    found: RefCell<HashMap<String, bool>>,
    commands: RefCell<HashMap<String, Vec<String>>>,
}

impl Lookup<'_> {
    fn resolves(&self, program: &str) -> bool {
        if let Some(found) = self.found.borrow().get(program) {
            return *found;
        }
        let found = self.context.host.resolves(program, &self.base, &self.path_var);
        self.found.borrow_mut().insert(program.to_string(), found);
        found
    }

    /// The programs of `command` given as a path in the repository that the last commit does
    /// not hold: found here, but absent from the new checkout `worktree on` runs in (a
    /// `.venv/bin/pytest` that git ignores, a script not yet committed).
    fn not_committed(&self, command: &str) -> Vec<String> {
        let Some(repository) = self.context.repository.as_ref() else { return Vec::new() };
        let Some(tree) = repository.head().ok().and_then(|head| head.peel_to_tree().ok()) else { return Vec::new() };
        let mut found: Vec<String> = Vec::new();
        for part in programs(&self.context.script(command)) {
            let Some(program) = first_word(&part) else { continue };
            let relative = program.trim_start_matches("./");
            let in_repository = program.contains('/') && !program.starts_with(['/', '~', '$']) && !relative.starts_with("../");
            if !in_repository || found.contains(&program) || !self.resolves(&program) || tree.get_path(std::path::Path::new(relative)).is_ok() {
                continue;
            }
            found.push(program);
        }
        found
    }

    /// The programs of `command` that are not found (each command line read once).
    fn missing(&self, command: &str) -> Vec<String> {
        if let Some(missing) = self.commands.borrow().get(command) {
            return missing.clone();
        }
        let mut missing: Vec<String> = Vec::new();
        for part in programs(&self.context.script(command)) {
            let Some(program) = first_word(&part) else { continue };
            if SHELL_BUILTINS.contains(&program.as_str()) || program.contains('$') || missing.contains(&program) || self.resolves(&program) {
                continue;
            }
            missing.push(program);
        }
        self.commands.borrow_mut().insert(command.to_string(), missing.clone());
        missing
    }
}

/// The commands a line runs, each from the program that must be installed: a package runner
/// (`npx tsc`, `uvx ruff`) fetches what it runs, so the runner is what must exist.
fn programs(script: &shell::Script) -> Vec<String> {
    const RUNNERS: &[&str] = &["npx", "bunx", "pnpx", "uvx", "pnpm dlx", "yarn dlx", "npm exec", "pipx run", "uv run", "poetry run", "pipenv run", "pdm run", "hatch run", "rye run", "bundle exec", "direnv exec"];
    script
        .commands
        .iter()
        .map(|command| match command.wrappers.iter().find(|w| RUNNERS.contains(&w.as_str())) {
            Some(runner) => runner.clone(),
            None => command.line(),
        })
        .filter(|line| !line.is_empty())
        .collect()
}

pub fn check(context: &Context<'_>, findings: &mut Vec<Diagnostic>) {
    let lookup = Lookup {
        context,
        base: context.repo.clone().unwrap_or_else(|| context.runbook_dir.clone()),
        path_var: (context.env)("PATH").unwrap_or_default(),
        found: RefCell::new(HashMap::new()),
        commands: RefCell::new(HashMap::new()),
    };
    // The run works in a new checkout with `worktree on`, and always as one of a batch.
    let worktree_on = context.runbook.task.as_ref().and_then(|t| t.worktree.as_ref()).filter(|w| w.value).map(|w| w.span);
    let worktree = match worktree_on {
        Some(span) => Some(Worktree::On(span)),
        None if context.batch_member => Some(Worktree::Batch),
        None => None,
    };
    if let Some(success) = &context.runbook.success {
        for check in &success.checks {
            if let Some(command) = check.value.command() {
                report(&lookup, command, Code::CommandNotFound, "success commands run in the repository", findings);
                if let Some(worktree) = worktree {
                    report_not_committed(&lookup, command, worktree, findings);
                }
            }
        }
    }
    match context.agent_kind() {
        Some(AgentKind::Command(command)) => {
            report(&lookup, &command, Code::CommandNotFound, "the agent command runs in the repository", findings);
            if let Some(worktree) = worktree {
                report_not_committed(&lookup, &command, worktree, findings);
            }
        }
        Some(kind) => agent_program(&lookup, &kind, findings),
        None => {}
    }
    let notifiers = context.runbook.notify.as_ref().map(|n| n.notifiers.as_slice()).unwrap_or_default();
    for notifier in notifiers {
        if let Channel::Command { command } = &notifier.value.channel {
            report(&lookup, command, Code::NotifyMissing, "notifier commands run in the repository", findings);
        }
    }
}

fn report(lookup: &Lookup<'_>, command: &Spanned<String>, code: Code, where_: &str, findings: &mut Vec<Diagnostic>) {
    for program in lookup.missing(&command.value) {
        let help = if program.contains('/') {
            format!("`{program}` is not an executable file; {where_}, so paths are relative to its root. Check the path and `chmod +x` it.")
        } else {
            format!("Install `{program}` or put it on PATH before the run; {where_}, with the PATH night is started with.")
        };
        let help = if code == Code::NotifyMissing {
            format!("{help} `night notify --test FILE` sends a test message through every notifier.")
        } else {
            help
        };
        findings.push(
            Diagnostic::error(code, format!("command `{program}` not found"))
                .label(command.span, format!("`{program}` is not on PATH or in the repository"))
                .help(help),
        );
    }
}

/// Why the run works in a new checkout of the last commit.
#[derive(Clone, Copy)]
enum Worktree {
    /// The runbook says `worktree on` here.
    On(Span),
    /// The runbook is one of a batch, whose runs each work in a worktree of their own.
    Batch,
}

/// Programs found in the checkout that the run's worktree will not have.
fn report_not_committed(lookup: &Lookup<'_>, command: &Spanned<String>, worktree: Worktree, findings: &mut Vec<Diagnostic>) {
    for program in lookup.not_committed(&command.value) {
        let diagnostic = Diagnostic::error(Code::CommandNotFound, format!("command `{program}` is not in the run's worktree"))
            .label(command.span, format!("`{program}` is here, but not in the last commit"));
        findings.push(match worktree {
            Worktree::On(span) => diagnostic
                .label(span, "the run works in a new checkout of the last commit")
                .help("With `worktree on` the run works in a worktree made from the last commit, without the files git ignores or does not track (a `.venv`, `node_modules`, a new script). Give the program by its absolute path in this checkout, commit it, or leave out `worktree on`."),
            Worktree::Batch => diagnostic.help("Each run of a batch works in a worktree made from the last commit, without the files git ignores or does not track (a `.venv`, `node_modules`, a new script). Give the program by its absolute path in this checkout, or commit it."),
        });
    }
}

/// The agent's own program: found, and new enough where `night run` reads its version.
fn agent_program(lookup: &Lookup<'_>, kind: &AgentKind, findings: &mut Vec<Diagnostic>) {
    let Some(program) = program_of(kind) else { return };
    let agent = lookup.context.runbook.task.as_ref().and_then(|task| task.agent.as_ref());
    let bin = agent.and_then(|agent| agent.value.bin.as_ref());
    let name = bin.map_or(program.default, |bin| bin.value.as_str());
    let Err(error) = lookup.context.host.agent_usable(program, name, &lookup.base, &lookup.path_var) else { return };
    let (span, label): (Option<Span>, String) = match (bin, agent) {
        (Some(bin), _) => (Some(bin.span), format!("`{name}` is not usable")),
        (None, Some(agent)) => (Some(kind_span(lookup.context, agent.span, program.kind)), format!("`agent {}` runs `{name}`", program.kind)),
        (None, None) => (lookup.context.runbook.task.as_ref().map(|t| t.span), format!("no `agent`: the default `agent claude` runs `{name}`")),
    };
    let diagnostic = match &error {
        PreflightError::Missing { install, .. } => {
            let fix = if name.contains('/') { "Check the path in `bin`, or install it" } else { "Install it" };
            Diagnostic::error(Code::CommandNotFound, format!("agent program `{name}` not found")).help(format!(
                "{fix} ({install}), or set `bin \"/path/to/{}\"` in the `agent {}` block; `night run` refuses to start without it.",
                program.default, program.kind
            ))
        }
        PreflightError::TooOld { .. } | PreflightError::Unreadable { .. } => {
            Diagnostic::error(Code::CommandNotFound, format!("agent program `{name}` cannot be used")).help(format!("{}.", capitalised(&error.to_string())))
        }
    };
    findings.push(match span {
        Some(span) => diagnostic.label(span, label),
        None => diagnostic,
    });
}

/// The `agent KIND` words at the start of the agent statement at `statement`.
fn kind_span(context: &Context<'_>, statement: Span, kind: &str) -> Span {
    let text = context.source.text.get(statement.start..statement.end).unwrap_or_default();
    let end = text.find(kind).map_or(statement.end, |at| statement.start + at + kind.len());
    Span::new(statement.start, end.min(statement.end))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn first_word(part: &str) -> Option<String> {
    let word = part.split_whitespace().next()?;
    let unquoted = word.trim_matches(|c| c == '\'' || c == '"');
    (!unquoted.is_empty() && !unquoted.starts_with(['(', '<', '>'])).then(|| unquoted.to_string())
}
