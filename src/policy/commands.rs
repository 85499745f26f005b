//! What `deny`, `allow` and `deny irreversible` say about a command line.
//!
//! The line is read as a shell reads it ([`super::shell`]); each simple command it runs is then
//! looked at in every form a careful reader would see it in:
//!
//! - its program by name, whatever path reaches it (`/usr/bin/git push` is `git push`), with
//!   git's global options dropped and an alias given with `-c alias.NAME=…` put in its place
//!   (`git -c alias.p=push p` is `git push`);
//! - the commands inside an interpreter's one-liner (`python3 -c`, `perl -e`, `ruby -e`, `node
//!   -e`, `php -r` …, or its here-document): every string literal in the code, alone and joined
//!   with the literals listed next to it (`subprocess.run(['git', 'push'])` is `git push`);
//! - a script file it runs (`sh deploy.sh`, `./release.sh`, `python3 push.py`), when the caller
//!   can read it;
//! - task-runner targets named for shipping: `make deploy`, `npm run release`, `just publish` …
//!
//! The first form that an `allow` pattern matches exempts that command; else the first that a
//! `deny` pattern or (with `deny irreversible`) the built-in set matches refuses the line.

use super::irreversible::{matching_rule, IrreversibleRule};
use super::shell::{self, Command, RedirectKind, Word};
use crate::ast::CommandPattern;
use crate::plan::PlanPermissions;

/// How deep script files and one-liners inside one-liners are followed.
const MAX_DEPTH: usize = 4;

/// Why a command line is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The command that is refused, as night shows it (`git push origin main`).
    pub command: String,
    /// Where it was found, when not on the line itself (`in a \`python3 -c\` one-liner`).
    pub inside: Option<String>,
    /// What refuses it.
    pub rule: Rule,
}

/// What refuses a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A pattern of the built-in irreversible set.
    Irreversible(&'static IrreversibleRule),
    /// A task-runner target named for shipping (`make deploy`).
    Target {
        /// `deploy` or `publish`.
        category: &'static str,
        /// The runner, e.g. `make`, `npm run`.
        runner: String,
        /// The target.
        target: String,
    },
    /// `find … -delete` (or `-exec rm`) starting outside the repository.
    FindDelete,
    /// One of the runbook's `deny` patterns.
    Denied(String),
}

impl Rule {
    /// The category of the built-in set, `None` for a runbook pattern.
    pub fn category(&self) -> Option<&'static str> {
        match self {
            Rule::Irreversible(rule) => Some(rule.category),
            Rule::Target { category, .. } => Some(category),
            Rule::FindDelete => Some("delete outside the repository"),
            Rule::Denied(_) => None,
        }
    }
}

impl Refusal {
    /// `irreversible (push)` or `` `git push*` ``, with where it was found.
    pub fn why(&self) -> String {
        let inside = self.inside.as_ref().map(|i| format!(", {i}")).unwrap_or_default();
        match &self.rule {
            Rule::Denied(pattern) => format!("`{pattern}`{inside}"),
            Rule::Target { category, runner, target } => format!("irreversible ({category}: `{runner}` target `{target}`{inside})"),
            rule => format!("irreversible ({}{inside})", rule.category().unwrap_or_default()),
        }
    }
}

/// The rules of one runbook's `permissions`.
#[derive(Debug, Clone, Copy)]
pub struct CommandRules<'a> {
    /// `deny` patterns.
    pub deny: &'a [CommandPattern],
    /// `allow` patterns.
    pub allow: &'a [CommandPattern],
    /// `deny irreversible`.
    pub irreversible: bool,
}

impl<'a> CommandRules<'a> {
    /// `deny`, `allow` and `deny irreversible` of a checked runbook.
    pub fn of(permissions: &'a PlanPermissions) -> Self {
        CommandRules { deny: &permissions.deny, allow: &permissions.allow, irreversible: permissions.deny_irreversible }
    }

    /// The first refusal on a command line; `read_file` reads a script file the line runs
    /// (relative paths are the caller's to resolve), or returns `None`.
    pub fn refusal(&self, line: &str, read_file: &dyn Fn(&str) -> Option<String>) -> Option<Refusal> {
        self.refusal_in(&shell::parse(line), read_file)
    }

    /// [`CommandRules::refusal`] on a line already read.
    pub fn refusal_in(&self, script: &shell::Script, read_file: &dyn Fn(&str) -> Option<String>) -> Option<Refusal> {
        script.commands.iter().find_map(|command| self.refusal_of(command, None, read_file, 0))
    }

    fn refusal_of(&self, command: &Command, inside: Option<&str>, read_file: &dyn Fn(&str) -> Option<String>, depth: usize) -> Option<Refusal> {
        let forms = forms(command);
        let refuse = |shown: &str, rule: Rule| Some(Refusal { command: shown.to_string(), inside: inside.map(str::to_string), rule });
        if forms.iter().any(|form| self.allow.iter().any(|allow| allow.is_match(form))) {
            return None;
        }
        for form in &forms {
            if let Some(pattern) = self.deny.iter().find(|deny| deny.is_match(form)) {
                return refuse(form, Rule::Denied(pattern.pattern.clone()));
            }
        }
        if self.irreversible {
            for form in &forms {
                if let Some(rule) = matching_rule(form) {
                    return refuse(form, Rule::Irreversible(rule));
                }
            }
            if let Some((category, runner, target)) = shipping_target(command) {
                return refuse(&command.line(), Rule::Target { category, runner, target });
            }
            if find_deletes_outside(command) {
                return refuse(&command.line(), Rule::FindDelete);
            }
        }
        if depth >= MAX_DEPTH {
            return None;
        }
        // Commands hidden in code or in a script file the command runs.
        for (label, lines) in hidden_commands(command, read_file) {
            for line in lines {
                let inner = shell::parse(&line);
                let label = inside.map_or(label.clone(), |outer| format!("{label}, {outer}"));
                if let Some(found) = inner.commands.iter().find_map(|c| self.refusal_of(c, Some(&label), read_file, depth + 1)) {
                    return Some(found);
                }
            }
        }
        None
    }
}

/// The first command of the built-in set on a line (for `side-effects-in-checks`).
pub fn irreversible_in(line: &str) -> Option<(String, &'static IrreversibleRule)> {
    irreversible_in_script(&shell::parse(line))
}

/// [`irreversible_in`] on a line already read.
pub fn irreversible_in_script(script: &shell::Script) -> Option<(String, &'static IrreversibleRule)> {
    let rules = CommandRules { deny: &[], allow: &[], irreversible: true };
    let refusal = rules.refusal_in(script, &|_| None)?;
    match refusal.rule {
        Rule::Irreversible(rule) => Some((refusal.command, rule)),
        Rule::Target { .. } | Rule::FindDelete => {
            let category = refusal.rule.category()?;
            let rule = super::irreversible::BUILT_IN.iter().find(|r| r.category == category)?;
            Some((refusal.command, rule))
        }
        Rule::Denied(_) => None,
    }
}

/// The forms a command is matched in: as written (values where known), and by program name
/// with git's aliases given on the line put in place.
fn forms(command: &Command) -> Vec<String> {
    let written = command.line();
    let mut forms = vec![written.clone()];
    let Some(name) = command.name() else { return forms };
    let mut words: Vec<String> = std::iter::once(name.to_string()).chain(command.args().iter().map(|w| w.text().to_string())).collect();
    if name == "git" {
        words = git_with_aliases(&words);
    }
    let named = words.join(" ");
    if named != written {
        forms.push(named);
    }
    if let Some(module) = python_module(&words) {
        forms.push(module);
    }
    forms
}

/// `python3 -m twine upload dist/*` → `twine upload dist/*`: a module run as a program.
fn python_module(words: &[String]) -> Option<String> {
    let name = words.first()?;
    if !matches!(name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.'), "python" | "pypy") {
        return None;
    }
    let mut i = 1;
    loop {
        match words.get(i)?.as_str() {
            "-m" => return (i + 1 < words.len()).then(|| words[i + 1..].join(" ")),
            "-W" | "-X" => i += 2,
            w if w.starts_with('-') && w != "-" && !w.starts_with("-c") => i += 1,
            _ => return None,
        }
    }
}

/// `git -c alias.p=push p origin` → `git push origin`; other words unchanged.
fn git_with_aliases(words: &[String]) -> Vec<String> {
    let mut aliases = Vec::new();
    let mut index = 1;
    while index < words.len() {
        let word = words[index].as_str();
        match word {
            "-c" => {
                if let Some((key, value)) = words.get(index + 1).and_then(|kv| kv.split_once('=')) {
                    if let Some(alias) = key.strip_prefix("alias.") {
                        aliases.push((alias.to_ascii_lowercase(), value.to_string()));
                    }
                }
                index += 2;
            }
            "-C" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path" | "--config-env" => index += 2,
            w if w.starts_with('-') => index += 1,
            _ => break,
        }
    }
    let Some(sub) = words.get(index) else { return words.to_vec() };
    let Some((_, value)) = aliases.iter().rev().find(|(name, _)| *name == sub.to_ascii_lowercase()) else {
        return words.to_vec();
    };
    let mut out: Vec<String> = words[..index].to_vec();
    match value.strip_prefix('!') {
        // A shell alias runs its text as a command line instead of git's subcommand.
        Some(shell) => return shell.split_whitespace().map(str::to_string).chain(words[index + 1..].iter().cloned()).collect(),
        None => out.extend(value.split_whitespace().map(str::to_string)),
    }
    out.extend(words[index + 1..].iter().cloned());
    out
}

/// Interpreters and the option that gives them code on the command line.
fn code_option(name: &str) -> Option<&'static [&'static str]> {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match base {
        "python" | "pypy" => &["-c"],
        "perl" => &["-e", "-E"],
        "ruby" | "lua" | "Rscript" => &["-e"],
        "node" | "nodejs" | "bun" => &["-e", "--eval", "-p", "--print"],
        "php" => &["-r"],
        "deno" => &["eval"],
        _ => return None,
    })
}

/// Commands hidden in what this command runs: its one-liner's string literals, its
/// here-document, or the script file it executes. Each with a label for the report.
fn hidden_commands(command: &Command, read_file: &dyn Fn(&str) -> Option<String>) -> Vec<(String, Vec<String>)> {
    let Some(name) = command.name() else { return Vec::new() };
    let args = command.args();
    let here = command.redirects.iter().find(|r| r.kind == RedirectKind::Here).and_then(|r| r.target.value.clone());
    let mut found = Vec::new();
    if let Some(options) = code_option(name) {
        let code_at = args.iter().position(|a| {
            let text = a.text();
            options.contains(&text) || (text.starts_with('-') && !text.starts_with("--") && options.iter().any(|o| o.len() == 2 && text.ends_with(&o[1..])))
        });
        let code = match code_at {
            Some(at) => args.get(at + 1).map(|w| w.text().to_string()),
            None => match args.iter().find(|a| !a.text().starts_with('-')) {
                Some(file) => read_file(file.text()),
                None => here,
            },
        };
        if let Some(code) = code {
            found.push((format!("in a `{name}` one-liner"), code_strings(&code)));
        }
        return found;
    }
    // A shell running a script file, or a script run by its path.
    let shells = ["sh", "bash", "zsh", "dash", "ksh", "source", "."];
    let file: Option<&Word> = if shells.contains(&name) {
        args.iter().find(|a| !a.text().starts_with('-'))
    } else if command.program().is_some_and(|p| p.contains('/')) {
        command.words.first()
    } else {
        None
    };
    if let Some(file) = file.and_then(|f| f.value.as_deref()) {
        if let Some(text) = read_file(file) {
            let first = text.lines().next().unwrap_or_default();
            let interpreter = first.strip_prefix("#!").and_then(|s| s.split_whitespace().last()).map(|p| p.rsplit('/').next().unwrap_or(p).to_string());
            match interpreter.as_deref().filter(|i| code_option(i).is_some()) {
                Some(interpreter) => found.push((format!("in the `{interpreter}` script `{file}`"), code_strings(&text))),
                None => found.push((format!("in the script `{file}`"), vec![text])),
            }
        }
    }
    found
}

/// Command lines hidden in code: every string literal alone, and runs of literals separated
/// only by commas, brackets and parentheses (an argument list) or `+` (a concatenation) joined.
pub fn code_strings(code: &str) -> Vec<String> {
    let literals = string_literals(code);
    let mut lines: Vec<String> = literals.iter().map(|(_, _, text)| text.clone()).collect();
    let mut run: Vec<String> = Vec::new();
    let mut concatenated = false;
    let mut previous_end = None;
    let flush = |run: &mut Vec<String>, concatenated: &mut bool, lines: &mut Vec<String>| {
        if run.len() > 1 || *concatenated {
            lines.push(run.join(" "));
        }
        run.clear();
        *concatenated = false;
    };
    for (start, end, text) in &literals {
        let between = previous_end.map(|e: usize| &code[e..*start]);
        let joins = between.is_some_and(|b| b.chars().all(|c| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '(' | ')' | '+')));
        if !joins {
            flush(&mut run, &mut concatenated, &mut lines);
            run.push(text.clone());
        } else if between.is_some_and(|b| b.contains('+')) {
            concatenated = true;
            if let Some(last) = run.last_mut() {
                last.push_str(text);
            }
        } else {
            run.push(text.clone());
        }
        previous_end = Some(*end);
    }
    flush(&mut run, &mut concatenated, &mut lines);
    lines.retain(|l| !l.trim().is_empty());
    lines
}

/// `(start, end, text)` of each quoted string in code, escapes resolved roughly.
fn string_literals(code: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let quote = bytes[i];
        if matches!(quote, b'\'' | b'"' | b'`') {
            let start = i;
            let mut text = Vec::new();
            i += 1;
            while i < bytes.len() && bytes[i] != quote {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                    text.push(match bytes[i] {
                        b'n' => b'\n',
                        b't' => b'\t',
                        other => other,
                    });
                } else {
                    text.push(bytes[i]);
                }
                i += 1;
            }
            out.push((start, (i + 1).min(bytes.len()), String::from_utf8_lossy(&text).into_owned()));
        }
        i += 1;
    }
    out
}

/// Task runners and the words before their target.
fn shipping_target(command: &Command) -> Option<(&'static str, String, String)> {
    let name = command.name()?;
    let args: Vec<&str> = command.args().iter().map(Word::text).collect();
    let (runner, targets): (String, Vec<&str>) = match (name, args.first().copied()) {
        ("make" | "gmake" | "just" | "task" | "rake" | "mage" | "gulp" | "grunt", _) => {
            let mut targets = Vec::new();
            let mut skip = false;
            for arg in &args {
                if skip {
                    skip = false;
                } else if matches!(*arg, "-C" | "-f" | "-j" | "-l" | "-o" | "-W" | "--directory" | "--file" | "--justfile") {
                    skip = true;
                } else if !arg.starts_with('-') && !arg.contains('=') {
                    targets.push(*arg);
                }
            }
            (name.to_string(), targets)
        }
        ("npm" | "pnpm" | "yarn" | "bun", Some("run" | "run-script" | "rr")) => (format!("{name} run"), args.get(1).copied().into_iter().collect()),
        ("pnpm" | "yarn", Some(script)) if !script.starts_with('-') => (name.to_string(), vec![script]),
        ("cargo", Some("make")) => ("cargo make".to_string(), args.iter().skip(1).filter(|a| !a.starts_with('-')).copied().collect()),
        _ => return None,
    };
    targets.into_iter().find_map(|target| {
        let parts: Vec<String> = target.split(['-', '_', ':', '.', '/']).map(str::to_ascii_lowercase).collect();
        // `make release-notes`, `make deploy-check`, `npm run publish:dry-run` only look.
        if parts.iter().any(|p| matches!(p.as_str(), "dry" | "dryrun" | "check" | "test" | "notes" | "build" | "lint" | "docs" | "changelog")) {
            return None;
        }
        let category = parts.iter().find_map(|part| match part.as_str() {
            "deploy" | "ship" | "rollout" => Some("deploy"),
            "publish" | "release" | "upload" => Some("publish"),
            _ => None,
        })?;
        Some((category, runner.clone(), target.to_string()))
    })
}

/// `find` with `-delete` (or `-exec rm`) from an absolute, home, parent or variable path.
fn find_deletes_outside(command: &Command) -> bool {
    if command.name() != Some("find") {
        return false;
    }
    let args: Vec<&str> = command.args().iter().map(Word::text).collect();
    let deletes = args.contains(&"-delete") || args.windows(2).any(|w| matches!(w[0], "-exec" | "-execdir") && w[1].rsplit('/').next() == Some("rm"));
    let starts: Vec<&str> = args.iter().take_while(|a| !a.starts_with('-') && !matches!(**a, "(" | "!")).copied().collect();
    deletes && starts.iter().any(|s| s.starts_with('/') || s.starts_with('~') || s.starts_with("..") || s.starts_with('$'))
}

#[cfg(test)]
mod tests;
