//! Lowering: the generic statement tree checked against the schema and turned into the typed AST.
//! One `lower_<block>` function per block; every problem is collected, none stops the pass.
//!
//! Over 600 lines, for now: every `lower_<block>` shares the argument readers at the top
//! (`Args`, the `Lowerer`'s value readers) and they follow the grammar's order; a block that
//! grows helpers of its own moves out the way `deliver` did (`lower/deliver.rs`). The readers
//! are the next cut (`lower/args.rs`), left while the grammar is being changed elsewhere.

use super::tree::{Argument, ArgumentKind, Statement};
use super::values;
use crate::ast::*;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::source::{Span, Spanned};
use std::time::Duration;

mod deliver;

/// The statements each block accepts.
pub const TOP_LEVEL: &[&str] = &["name", "task", "success", "permissions", "limits", "rollback", "notify", "deliver", "waive"];
/// Statements of `task`.
pub const TASK: &[&str] = &["prompt", "agent", "repo", "branch", "worktree"];
/// Statements of an `agent` block.
pub const AGENT: &[&str] = &["model", "max_turns", "args", "bin"];
/// Statements of `success`.
pub const SUCCESS: &[&str] = &["run", "tests", "count", "exists", "absent", "changed", "committed"];
/// Statements of `permissions`.
pub const PERMISSIONS: &[&str] = &["read", "write", "deny", "allow", "pass", "reveal", "network", "sandbox", "on"];
/// Statements of `limits`.
pub const LIMITS: &[&str] = &["timeout", "session", "attempts", "stuck", "idle", "silence", "tokens", "cost", "quota"];
/// Statements of `rollback`.
pub const ROLLBACK: &[&str] = &["when", "to", "then"];
/// Statements of `notify`.
pub const NOTIFY: &[&str] = &["webhook", "slack", "discord", "ntfy", "email", "sms", "command"];
/// Statements of `deliver`.
pub const DELIVER: &[&str] = &["push", "pull-request"];

const BLOCKS: &[(&str, &[&str])] = &[
    ("task", TASK),
    ("success", SUCCESS),
    ("permissions", PERMISSIONS),
    ("limits", LIMITS),
    ("rollback", ROLLBACK),
    ("notify", NOTIFY),
    ("deliver", DELIVER),
    ("agent", AGENT),
];

/// Lower a parsed statement list into a runbook, collecting every diagnostic.
pub fn lower(statements: &[Statement]) -> (Runbook, Vec<Diagnostic>) {
    let mut lowerer = Lowerer::default();
    let mut runbook = lowerer.lower_runbook(statements);
    runbook.unresolved = lowerer.unresolved;
    // Sorted: the runbook means the same whatever order its blocks are written in (`night fmt`).
    runbook.unresolved.sort();
    (runbook, lowerer.diagnostics)
}

#[derive(Default)]
struct Lowerer {
    diagnostics: Vec<Diagnostic>,
    /// See [`Runbook::unresolved`].
    unresolved: Vec<String>,
}

/// A cursor over a statement's arguments.
struct Args<'a> {
    statement: &'a Statement,
    position: usize,
}

impl<'a> Args<'a> {
    fn new(statement: &'a Statement) -> Self {
        Self { statement, position: 0 }
    }

    fn peek(&self) -> Option<&'a Argument> {
        self.statement.arguments.get(self.position)
    }

    fn next(&mut self) -> Option<&'a Argument> {
        let argument = self.peek()?;
        self.position += 1;
        Some(argument)
    }

    fn peek_word(&self) -> Option<&'a str> {
        match self.peek().map(|argument| &argument.kind) {
            Some(ArgumentKind::Word(word)) => Some(word),
            _ => None,
        }
    }

    /// Consume the word if it comes next.
    fn take_word(&mut self, word: &str) -> Option<Span> {
        (self.peek_word() == Some(word)).then(|| self.next().map(|argument| argument.span)).flatten()
    }

    /// Where a missing argument would go: just after what was read so far.
    fn missing_span(&self) -> Span {
        let end = self
            .position
            .checked_sub(1)
            .and_then(|i| self.statement.arguments.get(i))
            .map_or(self.statement.head.span.end, |argument| argument.span.end);
        Span::new(end, end)
    }

    fn head(&self) -> &'a str {
        &self.statement.head.value
    }

    fn is_done(&self) -> bool {
        self.position >= self.statement.arguments.len()
    }
}

impl Lowerer {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    // ------------------------------------------------------- arguments --

    fn missing(&mut self, args: &Args<'_>, what: &str, example: &str) {
        let head = args.head();
        self.push(
            Diagnostic::error(Code::MissingArgument, format!("`{head}` needs {what}"))
                .label(args.missing_span(), format!("expected {what} here"))
                .help(format!("Write it like `{example}`.")),
        );
    }

    fn wrong(&mut self, args: &Args<'_>, argument: &Argument, what: &str, example: &str) {
        let head = args.head();
        let help = match &argument.kind {
            ArgumentKind::Word(word) if what.contains("string") => {
                format!("Paths, commands and text are strings in double quotes: `\"{word}\"`.")
            }
            _ => format!("Write it like `{example}`."),
        };
        self.push(
            Diagnostic::error(Code::WrongArgument, format!("`{head}` expects {what}, found {}", argument.kind.describe()))
                .label(argument.span, format!("expected {what}"))
                .help(help),
        );
    }

    fn string(&mut self, args: &mut Args<'_>, example: &str) -> Option<Spanned<String>> {
        let Some(argument) = args.next() else {
            self.missing(args, "a string", example);
            return None;
        };
        match &argument.kind {
            ArgumentKind::String(text) | ArgumentKind::BlockString(text) => Some(Spanned::new(text.clone(), argument.span)),
            _ => {
                self.wrong(args, argument, "a string", example);
                None
            }
        }
    }

    /// One or more strings up to the next non-string.
    fn strings(&mut self, args: &mut Args<'_>, example: &str) -> Vec<Spanned<String>> {
        let mut out = Vec::new();
        while let Some(ArgumentKind::String(_) | ArgumentKind::BlockString(_)) = args.peek().map(|a| &a.kind) {
            out.extend(self.string(args, example));
        }
        if out.is_empty() {
            self.string(args, example);
        }
        out
    }

    fn value(&mut self, args: &mut Args<'_>, example: &str) -> Option<Spanned<Value>> {
        let Some(argument) = args.next() else {
            self.missing(args, "a string or `env.NAME`", example);
            return None;
        };
        match &argument.kind {
            ArgumentKind::String(text) => Some(Spanned::new(Value::Literal(text.clone()), argument.span)),
            ArgumentKind::Env(name) => Some(Spanned::new(Value::Env(name.clone()), argument.span)),
            _ => {
                self.wrong(args, argument, "a string or `env.NAME`", example);
                None
            }
        }
    }

    fn number_token(&mut self, args: &mut Args<'_>, what: &str, example: &str) -> Option<(&'static str, String, Span)> {
        let Some(argument) = args.next() else {
            self.missing(args, what, example);
            return None;
        };
        match &argument.kind {
            ArgumentKind::Number(text) => Some(("", text.clone(), argument.span)),
            _ => {
                self.wrong(args, argument, what, example);
                None
            }
        }
    }

    fn duration(&mut self, args: &mut Args<'_>, example: &str) -> Option<Spanned<Duration>> {
        let (_, text, span) = self.number_token(args, "a duration", example)?;
        // `6 hours`: the unit as a word of its own is one mistake, said once.
        let word = args.peek_word().filter(|_| text.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        if let Some((word, (unit, seconds))) = word.and_then(|word| Some((word, values::unit_word(word)?))) {
            let word_span = args.next().map_or(span, |argument| argument.span);
            let usage = "Durations use `s`, `m` and `h`, largest first, like `90s`, `45m`, `6h` or `2h30m`.";
            // `1.5 hours` is `1h30m`.
            let canonical = match text.parse::<u64>() {
                Ok(days) if seconds == 86_400 => Some(format!("{}{unit}", days.saturating_mul(24))),
                Ok(_) => Some(format!("{text}{unit}")),
                Err(_) => values::decimal(&format!("{text}{word}")),
            };
            let diagnostic = match canonical {
                Some(canonical) => Diagnostic::error(Code::BadDuration, format!("`{text} {word}` is written `{canonical}`"))
                    .help(format!("Did you mean `{canonical}`? {usage}")),
                None => Diagnostic::error(Code::BadDuration, format!("`{text} {word}` is not a whole number of seconds")).help(usage),
            };
            self.push(diagnostic.label(span.to(word_span), "the number and its unit are one word"));
            return None;
        }
        self.ok(values::duration(&text, span)).map(|value| Spanned::new(value, span))
    }

    fn integer(&mut self, args: &mut Args<'_>, example: &str) -> Option<Spanned<u64>> {
        let (_, text, span) = self.number_token(args, "a number", example)?;
        self.ok(values::integer(&text, span)).map(|value| Spanned::new(value, span))
    }

    fn positive(&mut self, args: &mut Args<'_>, example: &str) -> Option<Spanned<u64>> {
        let value = self.integer(args, example)?;
        if value.value == 0 {
            let head = args.head();
            self.push(
                Diagnostic::error(Code::BadNumber, format!("`{head}` must be at least 1"))
                    .label(value.span, "zero")
                    .help(format!("Write it like `{example}`.")),
            );
            return None;
        }
        Some(value)
    }

    fn money(&mut self, args: &mut Args<'_>, example: &str) -> Option<Spanned<Money>> {
        let Some(argument) = args.next() else {
            self.missing(args, "an amount", example);
            return None;
        };
        match &argument.kind {
            ArgumentKind::Money(text) => self.ok(values::money(text, argument.span)).map(|m| Spanned::new(m, argument.span)),
            ArgumentKind::Number(text) => {
                self.push(
                    Diagnostic::error(Code::BadMoney, format!("amounts start with `$`: `${text}`"))
                        .label(argument.span, "missing `$`")
                        .help(format!("Write it like `{example}`.")),
                );
                None
            }
            _ => {
                self.wrong(args, argument, "an amount", example);
                None
            }
        }
    }

    fn regex(&mut self, args: &mut Args<'_>, example: &str) -> Option<Spanned<Regex>> {
        let Some(argument) = args.next() else {
            self.missing(args, "a regex", example);
            return None;
        };
        match &argument.kind {
            ArgumentKind::Regex { pattern, flags } => {
                self.ok(values::regex(pattern, flags, argument.span)).map(|r| Spanned::new(r, argument.span))
            }
            _ => {
                self.wrong(args, argument, "a regex", example);
                None
            }
        }
    }

    fn comparison(&mut self, args: &mut Args<'_>, example: &str) -> Option<Spanned<Comparison>> {
        let Some(argument) = args.next() else {
            self.missing(args, "a comparison (`<`, `<=`, `>`, `>=`, `==`)", example);
            return None;
        };
        match &argument.kind {
            ArgumentKind::Comparison(op) => Comparison::from_symbol(op).map(|c| Spanned::new(c, argument.span)),
            _ => {
                self.wrong(args, argument, "a comparison (`<`, `<=`, `>`, `>=`, `==`)", example);
                None
            }
        }
    }

    fn target(&mut self, args: &mut Args<'_>, example: &str) -> Option<Spanned<Target>> {
        let Some(argument) = args.next() else {
            self.missing(args, "a number or `baseline`", example);
            return None;
        };
        match &argument.kind {
            ArgumentKind::Word(word) if word == "baseline" => Some(Spanned::new(Target::Baseline, argument.span)),
            ArgumentKind::Number(text) => {
                self.ok(values::integer(text, argument.span)).map(|n| Spanned::new(Target::Number(n), argument.span))
            }
            _ => {
                self.wrong(args, argument, "a number or `baseline`", example);
                None
            }
        }
    }

    /// One of a fixed set of words.
    fn choice<'w>(&mut self, args: &mut Args<'_>, choices: &[&'w str], example: &str) -> Option<Spanned<&'w str>> {
        if let Some(ArgumentKind::Word(word)) = args.peek().map(|argument| &argument.kind) {
            if let Some(choice) = choices.iter().find(|choice| **choice == word) {
                return args.next().map(|argument| Spanned::new(*choice, argument.span));
            }
        }
        let what = format!("one of {}", quoted_list(choices));
        let Some(argument) = args.next() else {
            self.missing(args, &what, example);
            return None;
        };
        if let ArgumentKind::Word(word) = &argument.kind {
            let head = args.head();
            let mut diagnostic = Diagnostic::error(Code::UnknownValue, format!("`{word}` is not a choice for `{head}`"))
                .label(argument.span, format!("expected {what}"));
            diagnostic = match did_you_mean(word, choices.iter().copied()) {
                Some(suggestion) => diagnostic.help(format!("Did you mean `{suggestion}`?")),
                None => diagnostic.help(format!("Write it like `{example}`.")),
            };
            self.push(diagnostic);
            return None;
        }
        self.wrong(args, argument, &what, example);
        None
    }

    /// Report anything left after the statement's arguments, and a block it does not take.
    fn finish(&mut self, args: &Args<'_>, example: &str) {
        if let Some(extra) = args.statement.arguments.get(args.position..).filter(|rest| !rest.is_empty()) {
            let span = extra[0].span.to(extra[extra.len() - 1].span);
            let head = args.head();
            self.push(
                Diagnostic::error(Code::ExtraArgument, format!("too many arguments for `{head}`"))
                    .label(span, "unexpected")
                    .help(format!("Write it like `{example}`; quote text that contains spaces.")),
            );
        }
        self.no_block(args.statement);
    }

    fn no_block(&mut self, statement: &Statement) {
        if let Some(block) = &statement.block {
            let head = &statement.head.value;
            self.push(
                Diagnostic::error(Code::ExtraArgument, format!("`{head}` takes no block"))
                    .label(block.span, "unexpected block")
                    .help("Remove the `{ … }` block."),
            );
        }
    }

    fn ok<T>(&mut self, result: Result<T, Diagnostic>) -> Option<T> {
        result.map_err(|diagnostic| self.push(diagnostic)).ok()
    }

    // -------------------------------------------------------- statements --

    /// Report a statement this block does not know; returns the keyword of the block it was
    /// taken to mean (a misspelling, or the wrong case), recorded as unresolved so that the
    /// rules that would call that statement missing stay quiet: one typo, one error.
    fn unknown(&mut self, statement: &Statement, block: &str, known: &[&'static str]) -> Option<&'static str> {
        let head = &statement.head;
        let lower = head.value.to_lowercase();
        let place = if block.is_empty() { "at the top level".to_string() } else { format!("in `{block}`") };
        let mut diagnostic = Diagnostic::error(Code::UnknownStatement, format!("unknown statement `{}` {place}", head.value))
            .label(head.span, "not known here");
        let mut meant = None;
        if let Some(keyword) = known.iter().find(|keyword| **keyword == lower) {
            diagnostic = diagnostic.help(format!("Keywords are lower case: did you mean `{lower}`?"));
            meant = Some(*keyword);
        } else if let Some(home) = BLOCKS.iter().find(|(name, words)| *name != block && words.contains(&lower.as_str())) {
            diagnostic = diagnostic.help(format!("`{lower}` belongs in the `{}` block.", home.0));
        } else if let Some(suggestion) = did_you_mean(&head.value, known.iter().copied()) {
            diagnostic = diagnostic.help(format!("Did you mean `{suggestion}`?"));
            meant = Some(suggestion);
        } else {
            diagnostic = diagnostic.help(format!("Known here: {}.", quoted_list(known)));
        }
        self.push(diagnostic);
        if let Some(keyword) = meant {
            self.unresolved(block, keyword);
        }
        meant
    }

    /// Record `block.keyword` (or a top-level `keyword`) as written but not understood.
    fn unresolved(&mut self, block: &str, keyword: &str) {
        let path = if block.is_empty() { keyword.to_string() } else { format!("{block}.{keyword}") };
        if !self.unresolved.contains(&path) {
            self.unresolved.push(path);
        }
    }

    /// Whether `block.keyword` was misspelt or could not be read.
    fn is_unresolved(&self, block: &str, keyword: &str) -> bool {
        let path = if block.is_empty() { keyword.to_string() } else { format!("{block}.{keyword}") };
        self.unresolved.contains(&path)
    }

    fn once<T>(&mut self, slot: &mut Option<T>, value: Option<T>, statement: &Statement, first: Option<Span>) {
        if slot.is_some() || first.is_some() {
            let head = &statement.head.value;
            let mut diagnostic = Diagnostic::error(Code::DuplicateStatement, format!("`{head}` is written twice"))
                .label(statement.head.span, "second one");
            if let Some(first) = first {
                diagnostic = diagnostic.label(first, "first one");
            }
            self.push(diagnostic.help(format!("Keep one `{head}` statement.")));
            return;
        }
        *slot = value;
    }

    fn block<'s>(&mut self, statement: &'s Statement, example: &str) -> Option<&'s [Statement]> {
        if !statement.arguments.is_empty() {
            let span = statement.arguments[0].span.to(statement.arguments[statement.arguments.len() - 1].span);
            self.push(
                Diagnostic::error(Code::ExtraArgument, format!("`{}` takes no arguments", statement.head.value))
                    .label(span, "unexpected")
                    .help(format!("Write it like `{example}`.")),
            );
        }
        match &statement.block {
            Some(block) => Some(&block.value),
            None => {
                let end = statement.span.end;
                self.push(
                    Diagnostic::error(Code::MissingArgument, format!("`{}` needs a block", statement.head.value))
                        .label(Span::new(end, end), "expected `{` here")
                        .help(format!("Write it like `{example}`.")),
                );
                None
            }
        }
    }

    // ------------------------------------------------------------ runbook --

    fn lower_runbook(&mut self, statements: &[Statement]) -> Runbook {
        let mut runbook = Runbook::default();
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for statement in statements {
            let head = statement.head.value.as_str();
            if matches!(head, "task" | "success" | "permissions" | "limits" | "rollback" | "notify" | "deliver" | "name") {
                if let Some((_, first)) = seen.iter().find(|(name, _)| *name == head) {
                    let code = if head == "name" { Code::DuplicateStatement } else { Code::DuplicateBlock };
                    let kind = if head == "name" { "statement" } else { "block" };
                    self.push(
                        Diagnostic::error(code, format!("the `{head}` {kind} is written twice"))
                            .label(statement.head.span, "second one")
                            .label(*first, "first one")
                            .help(format!("Merge them into one `{head}` {kind}.")),
                    );
                    continue;
                }
                seen.push((head, statement.head.span));
            }
            let read = match head {
                "name" => {
                    runbook.name = self.lower_name(statement);
                    runbook.name.is_some()
                }
                "task" => {
                    runbook.task = self.lower_task(statement);
                    runbook.task.is_some()
                }
                "success" => {
                    runbook.success = self.lower_success(statement);
                    runbook.success.is_some()
                }
                "permissions" => {
                    runbook.permissions = self.lower_permissions(statement);
                    runbook.permissions.is_some()
                }
                "limits" => {
                    runbook.limits = self.lower_limits(statement);
                    runbook.limits.is_some()
                }
                "rollback" => {
                    runbook.rollback = self.lower_rollback(statement);
                    runbook.rollback.is_some()
                }
                "notify" => {
                    runbook.notify = self.lower_notify(statement);
                    runbook.notify.is_some()
                }
                "deliver" => {
                    runbook.deliver = self.lower_deliver(statement);
                    runbook.deliver.is_some()
                }
                "waive" => {
                    runbook.waivers.extend(self.lower_waive(statement));
                    true
                }
                _ => {
                    self.unknown(statement, "", TOP_LEVEL);
                    true
                }
            };
            if !read {
                self.unresolved("", head);
            }
        }
        for (block, example) in [
            ("task", "task { prompt \"…\" }"),
            ("permissions", "permissions { write \"src/**\" }"),
            ("limits", "limits { timeout 6h }"),
        ] {
            if !seen.iter().any(|(name, _)| *name == block) && !self.is_unresolved("", block) {
                self.push(
                    Diagnostic::error(Code::MissingBlock, format!("the `{block}` block is missing"))
                        .help(format!("Every runbook needs a `{block}` block, like `{example}`.")),
                );
            }
        }
        runbook
    }

    fn lower_name(&mut self, statement: &Statement) -> Option<Spanned<String>> {
        let mut args = Args::new(statement);
        let name = self.string(&mut args, "name \"auth-jwt\"");
        self.finish(&args, "name \"auth-jwt\"");
        let name = name?;
        if !is_valid_ref_component(&name.value) {
            self.push(
                Diagnostic::error(Code::BadRef, format!("`{}` is not a valid git ref name", name.value))
                    .label(name.span, "used in the run branch and the run id")
                    .help("Use letters, digits, `-`, `_` and `.`, without spaces, slashes or `..`, e.g. `auth-jwt`."),
            );
            return None;
        }
        Some(name)
    }

    fn lower_waive(&mut self, statement: &Statement) -> Option<Waiver> {
        let mut args = Args::new(statement);
        let example = "waive no-rollback \"the branch is thrown away anyway\"";
        let code_argument = args.next();
        let reason = self.string(&mut args, example);
        self.finish(&args, example);
        let Some(code_argument) = code_argument else {
            self.missing(&args, "a rule code", example);
            return None;
        };
        let ArgumentKind::Word(word) = &code_argument.kind else {
            self.wrong(&args, code_argument, "a rule code", example);
            return None;
        };
        let rules = || Code::ALL.iter().filter(|code| code.is_checklist_rule()).map(|code| code.name());
        let code = match Code::from_name(word) {
            Some(code) if code.is_checklist_rule() => code,
            Some(_) => {
                self.push(
                    Diagnostic::error(Code::UnknownRule, format!("`{word}` cannot be waived"))
                        .label(code_argument.span, "a syntax or schema error, not a checklist rule")
                        .help("Only the checklist rules of `night check` can be waived; fix this error instead."),
                );
                return None;
            }
            None => {
                let mut diagnostic = Diagnostic::error(Code::UnknownRule, format!("unknown checklist rule `{word}`"))
                    .label(code_argument.span, "not a rule code");
                diagnostic = match did_you_mean(word, rules()) {
                    Some(suggestion) => diagnostic.help(format!("Did you mean `{suggestion}`?")),
                    None => diagnostic.help(format!("The rules are: {}.", rules().collect::<Vec<_>>().join(", "))),
                };
                self.push(diagnostic);
                return None;
            }
        };
        let reason = reason?;
        if reason.value.trim().is_empty() {
            self.push(
                Diagnostic::error(Code::MissingArgument, "a waiver needs a reason")
                    .label(reason.span, "empty reason")
                    .help("Say why the rule does not apply; the morning report repeats it."),
            );
            return None;
        }
        Some(Waiver { code: Spanned::new(code, code_argument.span), reason })
    }

    // --------------------------------------------------------------- task --

    fn lower_task(&mut self, statement: &Statement) -> Option<Task> {
        let body = self.block(statement, "task { prompt \"…\" }")?;
        let mut task =
            Task { span: statement.head.span, prompt: None, agent: None, repo: None, branch: None, worktree: None };
        for inner in body {
            let mut args = Args::new(inner);
            match inner.head.value.as_str() {
                "prompt" => {
                    let prompt = if let Some(file_span) = args.take_word("file") {
                        self.string(&mut args, "prompt file \"task.md\"").map(|path| {
                            let span = file_span.to(path.span);
                            Spanned::new(Prompt::File(path), span)
                        })
                    } else {
                        self.string(&mut args, "prompt \"Fix the failing tests\"").and_then(|text| {
                            if text.value.trim().is_empty() {
                                self.push(
                                    Diagnostic::error(Code::MissingArgument, "the prompt is empty")
                                        .label(text.span, "no task text")
                                        .help("Say what the agent should do, and when it is done."),
                                );
                                return None;
                            }
                            Some(text.map(Prompt::Inline))
                        })
                    };
                    self.finish(&args, "prompt \"…\"");
                    let first = task.prompt.as_ref().map(|p| p.span);
                    self.once(&mut task.prompt, prompt, inner, first);
                }
                "agent" => {
                    let agent = self.lower_agent(inner);
                    if agent.is_none() {
                        self.unresolved("task", "agent");
                    }
                    let first = task.agent.as_ref().map(|a| a.span);
                    self.once(&mut task.agent, agent, inner, first);
                }
                "repo" => {
                    let repo = self.string(&mut args, "repo \"../service\"");
                    self.finish(&args, "repo \"../service\"");
                    let first = task.repo.as_ref().map(|r| r.span);
                    self.once(&mut task.repo, repo, inner, first);
                }
                "branch" => {
                    let branch = self.string(&mut args, "branch \"night/{name}/{date}\"");
                    self.finish(&args, "branch \"night/{name}/{date}\"");
                    let branch = branch.filter(|branch| self.valid_branch(branch));
                    let first = task.branch.as_ref().map(|b| b.span);
                    self.once(&mut task.branch, branch, inner, first);
                }
                "worktree" => {
                    let on = self.choice(&mut args, &["on", "off"], "worktree on").map(|w| w.map(|w| w == "on"));
                    self.finish(&args, "worktree on");
                    let first = task.worktree.as_ref().map(|w| w.span);
                    self.once(&mut task.worktree, on, inner, first);
                }
                _ => {
                    self.unknown(inner, "task", TASK);
                }
            }
        }
        if task.prompt.is_none() && !body.iter().any(|s| s.head.value == "prompt") && !self.is_unresolved("task", "prompt") {
            self.push(
                Diagnostic::error(Code::MissingStatement, "the task has no `prompt`")
                    .label(statement.head.span, "this task")
                    .help("Add the task text: `prompt \"…\"`, `prompt \"\"\"…\"\"\"` or `prompt file \"task.md\"`."),
            );
        }
        Some(task)
    }

    fn valid_branch(&mut self, branch: &Spanned<String>) -> bool {
        let expanded = branch.value.replace("{name}", "name").replace("{date}", "20260101-0000");
        let valid = !expanded.is_empty() && expanded.split('/').all(is_valid_ref_component);
        if !valid {
            self.push(
                Diagnostic::error(Code::BadRef, format!("`{}` is not a valid branch name", branch.value))
                    .label(branch.span, "not a valid git branch")
                    .help("Use letters, digits, `-`, `_`, `.` and `/` between parts, without spaces or `..`; `{name}` and `{date}` are expanded."),
            );
        }
        valid
    }

    fn lower_agent(&mut self, statement: &Statement) -> Option<Spanned<Agent>> {
        let mut args = Args::new(statement);
        let example = "agent claude { model \"sonnet\" }";
        let kind = self.choice(&mut args, AgentKind::NAMES, example)?;
        let kind_value = match kind.value {
            "claude" => AgentKind::Claude,
            "codex" => AgentKind::Codex,
            "aider" => AgentKind::Aider,
            "gemini" => AgentKind::Gemini,
            "goose" => AgentKind::Goose,
            _ => AgentKind::Command(self.string(&mut args, "agent command \"./my-agent.sh\"")?),
        };
        if let Some(extra) = args.peek() {
            let span = extra.span.to(statement.arguments[statement.arguments.len() - 1].span);
            self.push(
                Diagnostic::error(Code::ExtraArgument, "too many arguments for `agent`")
                    .label(span, "unexpected")
                    .help("Settings go in the agent's block: `agent claude { model \"sonnet\" }`."),
            );
        }
        let mut agent = Agent::new(kind_value);
        if let Some(block) = &statement.block {
            for inner in &block.value {
                let mut args = Args::new(inner);
                match inner.head.value.as_str() {
                    "model" => {
                        let model = self.string(&mut args, "model \"sonnet\"");
                        self.finish(&args, "model \"sonnet\"");
                        let first = agent.model.as_ref().map(|m| m.span);
                        self.once(&mut agent.model, model, inner, first);
                    }
                    "max_turns" => {
                        let turns = self.positive(&mut args, "max_turns 300");
                        self.finish(&args, "max_turns 300");
                        let first = agent.max_turns.as_ref().map(|m| m.span);
                        self.once(&mut agent.max_turns, turns, inner, first);
                    }
                    "args" => {
                        let extra = self.strings(&mut args, "args \"--verbose\"");
                        self.finish(&args, "args \"--verbose\" \"--no-color\"");
                        agent.args.extend(extra);
                    }
                    "bin" => {
                        let bin = self.string(&mut args, "bin \"/usr/local/bin/claude\"");
                        self.finish(&args, "bin \"/usr/local/bin/claude\"");
                        let first = agent.bin.as_ref().map(|b| b.span);
                        self.once(&mut agent.bin, bin, inner, first);
                    }
                    _ => {
                        self.unknown(inner, "agent", AGENT);
                    }
                }
            }
        }
        Some(Spanned::new(agent, statement.span))
    }

    // ------------------------------------------------------------ success --

    fn lower_success(&mut self, statement: &Statement) -> Option<Success> {
        let body = self.block(statement, "success { tests \"cargo test\" }")?;
        let mut checks = Vec::with_capacity(body.len());
        let mut meant = Vec::new();
        for inner in body {
            let check = match inner.head.value.as_str() {
                "run" => self.lower_run(inner),
                "tests" => self.lower_tests(inner),
                "count" => self.lower_count(inner),
                "exists" | "absent" => {
                    let mut args = Args::new(inner);
                    let example = format!("{} \"src/auth/jwt.ts\"", inner.head.value);
                    let path = self.string(&mut args, &example);
                    self.finish(&args, &example);
                    path.map(|path| if inner.head.value == "exists" { SuccessCheck::Exists(path) } else { SuccessCheck::Absent(path) })
                }
                "changed" => {
                    let mut args = Args::new(inner);
                    let globs = self.strings(&mut args, "changed \"src/**\"");
                    self.finish(&args, "changed \"src/**\" \"docs/**\"");
                    let globs: Vec<_> = globs.into_iter().filter_map(|glob| self.glob(glob)).collect();
                    (!globs.is_empty()).then_some(SuccessCheck::Changed(globs))
                }
                "committed" => {
                    self.finish(&Args::new(inner), "committed");
                    Some(SuccessCheck::Committed)
                }
                _ => {
                    meant.extend(self.unknown(inner, "success", SUCCESS));
                    None
                }
            };
            checks.extend(check.map(|check| Spanned::new(check, inner.span)));
        }
        // A misspelt check counts as written: its own error says what is wrong with it.
        let written = body.iter().map(|s| s.head.value.clone()).chain(meant.into_iter().map(str::to_string)).collect();
        Some(Success { span: statement.head.span, written, checks })
    }

    fn lower_run(&mut self, statement: &Statement) -> Option<SuccessCheck> {
        let mut args = Args::new(statement);
        let example = "run \"make lint\" within 10m";
        let command = self.string(&mut args, example);
        let mut matches = None;
        let mut within = None;
        loop {
            if args.take_word("matches").is_some() {
                let regex = self.regex(&mut args, "run \"./status.sh\" matches /ready/");
                self.once_modifier(&mut matches, regex, "matches", statement);
            } else if args.take_word("within").is_some() {
                let duration = self.duration(&mut args, example);
                self.once_modifier(&mut within, duration, "within", statement);
            } else {
                break;
            }
        }
        self.finish_modifiers(&args, &["matches", "within"], example);
        Some(SuccessCheck::Run { command: command?, matches, within })
    }

    fn lower_tests(&mut self, statement: &Statement) -> Option<SuccessCheck> {
        let mut args = Args::new(statement);
        let example = "tests \"cargo test\" format cargo within 20m";
        let command = self.string(&mut args, example);
        let mut format: Option<Spanned<TestFormat>> = None;
        let mut within = None;
        let mut allow_lost = None;
        let mut ok = true;
        loop {
            if let Some(format_span) = args.take_word("format") {
                let parsed = match self.choice(&mut args, TestFormat::NAMES, "format pytest") {
                    Some(name) if name.value == "junit" => {
                        self.string(&mut args, "format junit \"target/reports/*.xml\"").and_then(|glob| {
                            let span = format_span.to(glob.span);
                            self.glob(glob.clone()).map(|_| Spanned::new(TestFormat::Junit { glob: glob.value }, span))
                        })
                    }
                    Some(name) => TestFormat::from_name(name.value).map(|f| Spanned::new(f, format_span.to(name.span))),
                    None => None,
                };
                ok &= parsed.is_some();
                self.once_modifier(&mut format, parsed, "format", statement);
            } else if args.take_word("within").is_some() {
                let duration = self.duration(&mut args, example);
                self.once_modifier(&mut within, duration, "within", statement);
            } else if let Some(allow_span) = args.take_word("allow") {
                let example = "tests \"pytest -rA\" allow lost 3";
                let lost = match args.take_word("lost") {
                    Some(_) => self.integer(&mut args, example).map(|n| Spanned::new(n.value, allow_span.to(n.span))),
                    None => {
                        match args.peek() {
                            Some(argument) => {
                                self.wrong(&args, argument, "`lost`", example);
                                args.next();
                            }
                            None => self.missing(&args, "`lost` and a number", example),
                        }
                        None
                    }
                };
                ok &= lost.is_some();
                self.once_modifier(&mut allow_lost, lost, "allow lost", statement);
            } else {
                break;
            }
        }
        self.finish_modifiers(&args, &["format", "within", "allow"], example);
        let command = command?;
        let format = format.unwrap_or_else(|| Spanned::new(TestFormat::Auto, command.span));
        ok.then_some(SuccessCheck::Tests { command, format, within, allow_lost })
    }

    fn lower_count(&mut self, statement: &Statement) -> Option<SuccessCheck> {
        let mut args = Args::new(statement);
        let example = "count /error TS\\d+/ in \"npx tsc --noEmit\" <= baseline";
        let regex = self.regex(&mut args, example);
        if args.take_word("in").is_none() {
            match args.peek() {
                Some(argument) => self.wrong(&args, argument, "`in`", example),
                None => self.missing(&args, "`in` and a command", example),
            }
            return None;
        }
        let command = self.string(&mut args, example);
        let comparison = self.comparison(&mut args, example);
        let target = self.target(&mut args, example);
        self.finish(&args, example);
        Some(SuccessCheck::Count { regex: regex?, command: command?, comparison: comparison?, target: target? })
    }

    fn once_modifier<T>(&mut self, slot: &mut Option<Spanned<T>>, value: Option<Spanned<T>>, word: &str, statement: &Statement) {
        if let (Some(first), Some(second)) = (slot.as_ref(), value.as_ref()) {
            self.push(
                Diagnostic::error(Code::DuplicateStatement, format!("`{word}` is written twice in one `{}`", statement.head.value))
                    .label(second.span, "second one")
                    .label(first.span, "first one")
                    .help(format!("Keep one `{word}`.")),
            );
            return;
        }
        if value.is_some() {
            *slot = value;
        }
    }

    fn finish_modifiers(&mut self, args: &Args<'_>, modifiers: &[&str], example: &str) {
        if let Some(ArgumentKind::Word(word)) = args.peek().map(|a| &a.kind) {
            if let Some(suggestion) = did_you_mean(word, modifiers.iter().copied()) {
                let span = args.peek().map_or_else(|| args.missing_span(), |a| a.span);
                self.push(
                    Diagnostic::error(Code::UnknownValue, format!("unknown option `{word}` for `{}`", args.head()))
                        .label(span, "not an option here")
                        .help(format!("Did you mean `{suggestion}`?")),
                );
                self.no_block(args.statement);
                return;
            }
        }
        self.finish(args, example);
    }

    fn glob(&mut self, glob: Spanned<String>) -> Option<Spanned<Glob>> {
        match Glob::new(&glob.value) {
            Ok(compiled) => Some(Spanned::new(compiled, glob.span)),
            Err(error) => {
                self.push(
                    Diagnostic::error(Code::BadGlob, format!("invalid glob `{}`", glob.value))
                        .label(glob.span, error.kind().to_string().to_lowercase())
                        .help("Globs use `*` (within a folder), `**` (any depth), `?` and `[abc]`, relative to the repository root."),
                );
                None
            }
        }
    }

    fn command_pattern(&mut self, pattern: Spanned<String>) -> Option<Spanned<CommandPattern>> {
        match CommandPattern::new(&pattern.value) {
            Ok(compiled) => Some(Spanned::new(compiled, pattern.span)),
            Err(error) => {
                self.push(
                    Diagnostic::error(Code::BadGlob, format!("invalid command pattern `{}`", pattern.value))
                        .label(pattern.span, error.kind().to_string().to_lowercase())
                        .help("Command patterns are globs over the command line, like `\"git push*\"`."),
                );
                None
            }
        }
    }

    // -------------------------------------------------------- permissions --

    fn lower_permissions(&mut self, statement: &Statement) -> Option<Permissions> {
        let body = self.block(statement, "permissions { write \"src/**\" }")?;
        let mut permissions = Permissions {
            span: statement.head.span,
            read: Vec::new(),
            write: None,
            deny: Vec::new(),
            deny_irreversible: None,
            allow: Vec::new(),
            pass: Vec::new(),
            reveal: Vec::new(),
            network: None,
            sandbox: None,
            on_violation: None,
        };
        for inner in body {
            let mut args = Args::new(inner);
            match inner.head.value.as_str() {
                "read" => {
                    let globs = self.strings(&mut args, "read \"**\"");
                    self.finish(&args, "read \"src/**\" \"docs/**\"");
                    permissions.read.extend(globs.into_iter().filter_map(|g| self.glob(g)));
                }
                "write" => {
                    let globs = self.strings(&mut args, "write \"src/**\"");
                    self.finish(&args, "write \"src/**\" \"tests/**\"");
                    let globs: Vec<_> = globs.into_iter().filter_map(|g| self.glob(g)).collect();
                    match &mut permissions.write {
                        Some(existing) => existing.value.extend(globs),
                        None => permissions.write = Some(Spanned::new(globs, inner.head.span)),
                    }
                }
                "deny" => {
                    let irreversible = args.take_word("irreversible");
                    if irreversible.is_some() {
                        permissions.deny_irreversible = irreversible;
                        if !args.is_done() {
                            let patterns = self.strings(&mut args, "deny irreversible \"terraform apply*\"");
                            permissions.deny.extend(patterns.into_iter().filter_map(|p| self.command_pattern(p)));
                        }
                    } else {
                        let patterns = self.strings(&mut args, "deny \"git push*\"");
                        permissions.deny.extend(patterns.into_iter().filter_map(|p| self.command_pattern(p)));
                    }
                    self.finish(&args, "deny irreversible \"terraform apply*\"");
                }
                "allow" => {
                    let patterns = self.strings(&mut args, "allow \"terraform plan*\"");
                    self.finish(&args, "allow \"terraform plan*\"");
                    permissions.allow.extend(patterns.into_iter().filter_map(|p| self.command_pattern(p)));
                }
                "pass" => {
                    let example = "pass env.NPM_CONFIG_CACHE";
                    match self.value(&mut args, example) {
                        Some(Spanned { value: Value::Env(name), span }) => permissions.pass.push(Spanned::new(name, span)),
                        Some(other) => self.push(
                            Diagnostic::error(Code::WrongArgument, "`pass` expects an env reference like `env.NAME`, found a string")
                                .label(other.span, "expected `env.NAME`")
                                .help(format!("Write it like `{example}`.")),
                        ),
                        None => {}
                    }
                    while let Some(ArgumentKind::Env(_)) = args.peek().map(|a| &a.kind) {
                        if let Some(Spanned { value: Value::Env(name), span }) = self.value(&mut args, example) {
                            permissions.pass.push(Spanned::new(name, span));
                        }
                    }
                    self.finish(&args, example);
                }
                "reveal" => {
                    let paths = self.strings(&mut args, "reveal \"~/.npmrc\"");
                    self.finish(&args, "reveal \"~/.npmrc\"");
                    permissions.reveal.extend(paths);
                }
                "network" => {
                    let network = self.choice(&mut args, &["auto", "off", "on", "allow"], "network auto").and_then(|mode| {
                        Some(match mode.value {
                            "auto" => mode.map(|_| Network::Auto),
                            "off" => mode.map(|_| Network::Off),
                            "on" => mode.map(|_| Network::On),
                            _ => {
                                let hosts = self.strings(&mut args, "network allow \"registry.npmjs.org\"");
                                if hosts.is_empty() {
                                    return None;
                                }
                                let span = mode.span.to(hosts[hosts.len() - 1].span);
                                Spanned::new(Network::Allow(hosts.into_iter().map(|h| h.value).collect()), span)
                            }
                        })
                    });
                    self.finish(&args, "network allow \"registry.npmjs.org\"");
                    let first = permissions.network.as_ref().map(|n| n.span);
                    self.once(&mut permissions.network, network, inner, first);
                }
                "sandbox" => {
                    let sandbox = self.choice(&mut args, &["auto", "on", "off"], "sandbox auto").map(|mode| {
                        mode.map(|m| match m {
                            "on" => Sandbox::On,
                            "off" => Sandbox::Off,
                            _ => Sandbox::Auto,
                        })
                    });
                    self.finish(&args, "sandbox auto");
                    let first = permissions.sandbox.as_ref().map(|s| s.span);
                    self.once(&mut permissions.sandbox, sandbox, inner, first);
                }
                "on" => {
                    let example = "on violation revert";
                    let action = self.choice(&mut args, &["violation"], example).and_then(|_| {
                        self.choice(&mut args, &["revert", "stop"], example)
                            .map(|a| a.map(|a| if a == "stop" { OnViolation::Stop } else { OnViolation::Revert }))
                    });
                    self.finish(&args, example);
                    let first = permissions.on_violation.as_ref().map(|o| o.span);
                    self.once(&mut permissions.on_violation, action, inner, first);
                }
                _ => {
                    self.unknown(inner, "permissions", PERMISSIONS);
                }
            }
        }
        Some(permissions)
    }

    // ------------------------------------------------------------- limits --

    fn lower_limits(&mut self, statement: &Statement) -> Option<Limits> {
        let body = self.block(statement, "limits { timeout 6h }")?;
        let written = body.iter().map(|s| s.head.value.clone()).collect();
        let mut limits = Limits { span: statement.head.span, written, ..Limits::default() };
        let mut meant = Vec::new();
        for inner in body {
            let mut args = Args::new(inner);
            let head = inner.head.value.as_str();
            match head {
                "timeout" | "session" | "idle" | "silence" => {
                    let example = match head {
                        "timeout" => "timeout 7h",
                        "session" => "session 2h30m",
                        "idle" => "idle 45m",
                        _ => "silence 20m",
                    };
                    let value = self.duration(&mut args, example);
                    self.finish(&args, example);
                    let slot = match head {
                        "timeout" => &mut limits.timeout,
                        "session" => &mut limits.session,
                        "idle" => &mut limits.idle,
                        _ => &mut limits.silence,
                    };
                    let first = slot.as_ref().map(|s| s.span);
                    self.once(slot, value, inner, first);
                }
                "attempts" | "stuck" | "tokens" => {
                    let example = match head {
                        "attempts" => "attempts 5",
                        "stuck" => "stuck 3",
                        _ => "tokens 3M",
                    };
                    let value = self.positive(&mut args, example);
                    self.finish(&args, example);
                    let slot = match head {
                        "attempts" => &mut limits.attempts,
                        "stuck" => &mut limits.stuck,
                        _ => &mut limits.tokens,
                    };
                    let first = slot.as_ref().map(|s| s.span);
                    self.once(slot, value, inner, first);
                }
                "cost" => {
                    let value = self.money(&mut args, "cost $25").filter(|money| {
                        if money.value.cents == 0 {
                            self.push(
                                Diagnostic::error(Code::BadMoney, "a budget of `$0` would stop the run at once")
                                    .label(money.span, "zero")
                                    .help("Give the most the run may spend, like `cost $25`."),
                            );
                        }
                        money.value.cents > 0
                    });
                    self.finish(&args, "cost $25");
                    let first = limits.cost.as_ref().map(|s| s.span);
                    self.once(&mut limits.cost, value, inner, first);
                }
                "quota" => {
                    let example = "quota wait 5h";
                    let value = self.choice(&mut args, &["wait"], example).and_then(|_| self.duration(&mut args, example));
                    self.finish(&args, example);
                    let first = limits.quota_wait.as_ref().map(|s| s.span);
                    self.once(&mut limits.quota_wait, value, inner, first);
                }
                _ => meant.extend(self.unknown(inner, "limits", LIMITS)),
            }
        }
        // A misspelt limit counts as written: its own error says what is wrong with it.
        limits.written.extend(meant.into_iter().map(str::to_string));
        if limits.timeout.is_none() && !body.iter().any(|s| s.head.value == "timeout") && !self.is_unresolved("limits", "timeout") {
            self.push(
                Diagnostic::error(Code::MissingStatement, "the limits have no `timeout`")
                    .label(statement.head.span, "this block")
                    .help("Add a wall-clock limit for the whole run, like `timeout 7h`."),
            );
        }
        Some(limits)
    }

    // ----------------------------------------------------------- rollback --

    fn lower_rollback(&mut self, statement: &Statement) -> Option<Rollback> {
        let body = self.block(statement, "rollback { when failing > baseline }")?;
        let mut rollback = Rollback { span: statement.head.span, when: None, to: None, then: None };
        for inner in body {
            let mut args = Args::new(inner);
            match inner.head.value.as_str() {
                "when" => {
                    let example = "when failing > baseline";
                    let metric = self.choice(&mut args, &["failing", "passing"], example);
                    let comparison = self.comparison(&mut args, example);
                    let target = self.target(&mut args, example);
                    self.finish(&args, example);
                    let when = match (metric, comparison, target) {
                        (Some(metric), Some(comparison), Some(target)) => {
                            let span = metric.span.to(target.span);
                            let metric = if metric.value == "failing" { TestMetric::Failing } else { TestMetric::Passing };
                            Some(Spanned::new(
                                RollbackWhen { metric, comparison: comparison.value, target: target.value },
                                span,
                            ))
                        }
                        _ => None,
                    };
                    let first = rollback.when.as_ref().map(|w| w.span);
                    self.once(&mut rollback.when, when, inner, first);
                }
                "to" => {
                    let to = self.choice(&mut args, &["start", "last-green"], "to last-green").map(|to| {
                        to.map(|to| if to == "start" { RollbackTo::Start } else { RollbackTo::LastGreen })
                    });
                    self.finish(&args, "to last-green");
                    let first = rollback.to.as_ref().map(|t| t.span);
                    self.once(&mut rollback.to, to, inner, first);
                }
                "then" => {
                    let then = self.choice(&mut args, &["stop", "retry"], "then stop").map(|then| {
                        then.map(|then| if then == "retry" { RollbackThen::Retry } else { RollbackThen::Stop })
                    });
                    self.finish(&args, "then stop");
                    let first = rollback.then.as_ref().map(|t| t.span);
                    self.once(&mut rollback.then, then, inner, first);
                }
                _ => {
                    self.unknown(inner, "rollback", ROLLBACK);
                }
            }
        }
        if rollback.when.is_none() && !body.iter().any(|s| s.head.value == "when") && !self.is_unresolved("rollback", "when") {
            self.push(
                Diagnostic::error(Code::MissingStatement, "the rollback has no `when`")
                    .label(statement.head.span, "this block")
                    .help("Say what counts as a regression, like `when failing > baseline`."),
            );
        }
        Some(rollback)
    }

    // ------------------------------------------------------------- notify --

    fn lower_notify(&mut self, statement: &Statement) -> Option<Notify> {
        let body = self.block(statement, "notify { slack env.SLACK_WEBHOOK_URL }")?;
        let mut notifiers = Vec::with_capacity(body.len());
        for inner in body {
            let mut args = Args::new(inner);
            let head = inner.head.value.as_str();
            let channel = match head {
                "webhook" => self.value(&mut args, "webhook \"https://example.com/night\"").map(|url| Channel::Webhook { url }),
                "slack" => self.value(&mut args, "slack env.SLACK_WEBHOOK_URL").map(|url| Channel::Slack { url }),
                "discord" => self.value(&mut args, "discord env.DISCORD_WEBHOOK_URL").map(|url| Channel::Discord { url }),
                "ntfy" => {
                    let topic = self.value(&mut args, "ntfy \"my-night-runs\"");
                    let server = match args.take_word("server") {
                        Some(_) => self.value(&mut args, "ntfy \"my-night-runs\" server \"https://ntfy.example.com\""),
                        None => None,
                    };
                    topic.map(|topic| Channel::Ntfy { topic, server })
                }
                "email" => {
                    let example = "email \"me@example.com\" via env.SMTP_URL";
                    let to = self.string(&mut args, example);
                    let via = self.choice(&mut args, &["via"], example).and_then(|_| self.value(&mut args, example));
                    to.zip(via).map(|(to, via)| Channel::Email { to, via })
                }
                "sms" => {
                    let example = "sms \"+15550100\" via twilio env.TWILIO_SID env.TWILIO_TOKEN from \"+15550199\"";
                    let to = self.string(&mut args, example);
                    let via = self.choice(&mut args, &["via"], example).and_then(|_| self.choice(&mut args, &["twilio"], example));
                    let sid = via.and_then(|_| self.value(&mut args, example));
                    let token = sid.as_ref().and_then(|_| self.value(&mut args, example));
                    let from = token
                        .as_ref()
                        .and_then(|_| self.choice(&mut args, &["from"], example))
                        .and_then(|_| self.string(&mut args, example));
                    match (to, sid, token, from) {
                        (Some(to), Some(sid), Some(token), Some(from)) => Some(Channel::Sms { to, sid, token, from }),
                        _ => None,
                    }
                }
                "command" => self.string(&mut args, "command \"./notify-me.sh\"").map(|command| Channel::Command { command }),
                _ => {
                    self.unknown(inner, "notify", NOTIFY);
                    continue;
                }
            };
            let mut events = Vec::new();
            if args.take_word("on").is_some() {
                let mut words = 0;
                while let Some(ArgumentKind::Word(_)) = args.peek().map(|a| &a.kind) {
                    words += 1;
                    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
                    let names = NAMES.get_or_init(|| Event::ALL.iter().map(|e| e.name()).collect());
                    if let Some(event) = self.choice(&mut args, names, "on end failure") {
                        events.extend(Event::from_name(event.value).map(|e| Spanned::new(e, event.span)));
                    }
                }
                if words == 0 && args.is_done() {
                    self.missing(&args, "an event", &format!("{head} … on end"));
                }
            }
            if channel.is_some() {
                if !args.is_done() || inner.block.is_some() {
                    self.finish(&args, &format!("{head} … on end failure"));
                }
            } else {
                self.no_block(inner);
            }
            if channel.is_none() {
                self.unresolved("notify", head);
            }
            if let Some(channel) = channel {
                notifiers.push(Spanned::new(Notifier { channel, events }, inner.span));
            }
        }
        Some(Notify { span: statement.head.span, notifiers })
    }
}

fn quoted_list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// A valid single component of a git ref name (see `git check-ref-format`).
pub fn is_valid_ref_component(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.starts_with('-')
        && !name.ends_with(".lock")
        && !name.ends_with('.')
        && !name.contains("..")
        && !name.contains("@{")
        && name != "@"
        && name.chars().all(|c| !c.is_control() && !matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\' | '/'))
}
