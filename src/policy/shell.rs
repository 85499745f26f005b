//! Shell command lines read as a shell reads them.
//!
//! [`parse`] turns a command line into the simple commands a shell would run, in order, with
//! brush-parser (a maintained POSIX/bash parser, MIT) doing the reading: quoting, escapes,
//! `$(…)` and backquotes (inside double quotes too), subshells, groups, `if`/`for`/`while`/
//! `case` bodies, functions, pipelines, background jobs, redirections and here-documents.
//! On top of the grammar it follows what the shell hands to another shell: the script of
//! `sh -c`, `bash -lc` and the like, the words given to `eval`, a here-document or an `echo`
//! piped into a shell, and the command that wrappers run (`env`, `nohup`, `timeout`, `xargs`,
//! `find -exec`, `npx` … see [`super::wrappers`]).
//!
//! Each [`Command`] keeps its words both as written and, when they hold no expansion, as the
//! program receives them (quotes removed), with its redirections: what the irreversible set,
//! `deny`/`allow` patterns, the `write` checks on literal paths and `side-effects-in-checks`
//! look at. What only exists at run time (`$VAR`, `$(date)`, a script file's contents) stays
//! unknown: [`Word::value`] is `None` there.

pub use super::word::Word;
use super::wrappers;
use brush_parser::ast;
use brush_parser::word::{self, WordPiece, WordPieceWithSource};
use brush_parser::ParserOptions;

/// How deep scripts inside scripts are followed (`sh -c "eval '…'"` …).
const MAX_DEPTH: usize = 8;

/// What a redirection does with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `<`.
    Read,
    /// `>`, `>|`, `&>`: the file is created or emptied.
    Write,
    /// `>>`, `&>>`.
    Append,
    /// `<>`.
    ReadWrite,
    /// `>&`, `<&`: another descriptor.
    Duplicate,
    /// `<<` and `<<<`: the text is the input.
    Here,
}

/// One redirection of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The descriptor, when written (`2>`).
    pub fd: Option<i32>,
    /// What it does.
    pub kind: RedirectKind,
    /// The file (or the here-document's text).
    pub target: Word,
}

impl Redirect {
    /// Whether it writes its target file.
    pub fn writes(&self) -> bool {
        matches!(self.kind, RedirectKind::Write | RedirectKind::Append | RedirectKind::ReadWrite)
    }
}

/// How a command was reached from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Written on the line itself.
    Line,
    /// Inside `$(…)`, backquotes or `<(…)`.
    Substitution,
    /// A script handed to another shell: `sh -c`, `eval`, a here-document or an `echo` piped into one.
    Script,
    /// Run by another program from its arguments: `xargs`, `find -exec`, `env -S` …
    Argument,
}

/// One simple command as the shell would run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The program, then its arguments; wrappers (`nohup`, `env`, `timeout` …) removed.
    pub words: Vec<Word>,
    /// `NAME=value` before the program (the wrappers' too).
    pub assignments: Vec<(String, Word)>,
    /// Redirections, in order.
    pub redirects: Vec<Redirect>,
    /// The wrappers removed, as written (`env -i`, `nohup`, `timeout 10`).
    pub wrappers: Vec<String>,
    /// Where it came from.
    pub origin: Origin,
    /// Run in the background (`&`).
    pub background: bool,
    /// Some of its arguments come from standard input at run time (`xargs`).
    pub more_from_input: bool,
}

impl Command {
    /// The program as written (a path or a name), when known.
    pub fn program(&self) -> Option<&str> {
        self.words.first()?.value.as_deref()
    }

    /// The program's name: the last part of its path (`/usr/bin/git` → `git`), when known.
    pub fn name(&self) -> Option<&str> {
        let program = self.program()?;
        Some(program.rsplit('/').next().unwrap_or(program))
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[Word] {
        self.words.get(1..).unwrap_or_default()
    }

    /// The words as one line, values where known: what patterns are matched against.
    pub fn line(&self) -> String {
        self.words.iter().map(Word::text).collect::<Vec<_>>().join(" ")
    }
}

/// A command line read as a shell reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// Every simple command the line runs, nested ones before the command that uses their output.
    pub commands: Vec<Command>,
    /// Whether the whole line parsed; when not, its words were split on white space.
    pub parsed: bool,
}

/// Read a command line. Never fails: a line the parser cannot read (an unclosed quote, bash
/// syntax it does not know) is split on white space instead, so that patterns still see it.
pub fn parse(text: &str) -> Script {
    let mut reader = Reader { commands: Vec::new(), options: ParserOptions::default(), parsed: true };
    reader.script(text, Origin::Line, 0);
    Script { commands: reader.commands, parsed: reader.parsed }
}

/// The simple commands of a line as text, e.g. `npm test && git push` → `npm test`, `git push`.
pub fn simple_commands(text: &str) -> Vec<String> {
    parse(text).simple_commands()
}

impl Script {
    /// Its simple commands as text (see [`simple_commands`]).
    pub fn simple_commands(&self) -> Vec<String> {
        self.commands.iter().map(Command::line).filter(|line| !line.is_empty()).collect()
    }
}

struct Reader {
    commands: Vec<Command>,
    options: ParserOptions,
    parsed: bool,
}

/// What the stage before a command in a pipeline writes, when it is plain text (`echo …`).
type Piped = Option<String>;

impl Reader {
    fn script(&mut self, text: &str, origin: Origin, depth: usize) {
        if depth > MAX_DEPTH || text.trim().is_empty() {
            return;
        }
        let mut parser = brush_parser::Parser::new(std::io::Cursor::new(text.as_bytes()), &self.options);
        match parser.parse_program() {
            Ok(program) => {
                for list in &program.complete_commands {
                    self.list(list, origin, depth);
                }
            }
            Err(_) => {
                if depth == 0 {
                    self.parsed = false;
                }
                self.fallback(text, origin, depth);
            }
        }
    }

    /// White-space words for a line brush-parser could not read, cut at the usual separators.
    fn fallback(&mut self, text: &str, origin: Origin, depth: usize) {
        for part in text.split(['\n', ';', '|', '&']) {
            let words: Vec<Word> = part
                .split_whitespace()
                .map(|w| {
                    let plain = !w.contains(['\'', '"', '$', '`', '\\']);
                    Word { raw: w.to_string(), value: plain.then(|| w.to_string()) }
                })
                .collect();
            if !words.is_empty() {
                self.simple(words, Vec::new(), Vec::new(), origin, false, None, depth);
            }
        }
    }

    fn list(&mut self, list: &ast::CompoundList, origin: Origin, depth: usize) {
        for item in &list.0 {
            let background = matches!(item.1, ast::SeparatorOperator::Async);
            self.pipeline(&item.0.first, origin, background, depth);
            for next in &item.0.additional {
                let (ast::AndOr::And(pipeline) | ast::AndOr::Or(pipeline)) = next;
                self.pipeline(pipeline, origin, background, depth);
            }
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline, origin: Origin, background: bool, depth: usize) {
        let mut piped: Piped = None;
        for command in &pipeline.seq {
            piped = self.command(command, origin, background, piped.take(), depth);
        }
    }

    /// Read one command; returns what it writes to the next stage when that is plain text.
    fn command(&mut self, command: &ast::Command, origin: Origin, background: bool, piped: Piped, depth: usize) -> Piped {
        match command {
            ast::Command::Simple(simple) => return self.simple_command(simple, origin, background, piped, depth),
            ast::Command::Compound(compound, redirects) => {
                self.compound(compound, origin, background, depth);
                if let Some(list) = redirects {
                    for redirect in &list.0 {
                        self.redirect(redirect, depth);
                    }
                }
            }
            ast::Command::Function(function) => {
                self.compound(&function.body.0, origin, background, depth);
            }
            ast::Command::ExtendedTest(test, _) => self.test(&test.expr, depth),
        }
        None
    }

    /// `[[ … ]]` runs only the substitutions in its operands.
    fn test(&mut self, expr: &ast::ExtendedTestExpr, depth: usize) {
        match expr {
            ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
                self.test(a, depth);
                self.test(b, depth);
            }
            ast::ExtendedTestExpr::Not(a) | ast::ExtendedTestExpr::Parenthesized(a) => self.test(a, depth),
            ast::ExtendedTestExpr::UnaryTest(_, word) => {
                self.word(&word.value, depth);
            }
            ast::ExtendedTestExpr::BinaryTest(_, left, right) => {
                self.word(&left.value, depth);
                self.word(&right.value, depth);
            }
        }
    }

    fn compound(&mut self, compound: &ast::CompoundCommand, origin: Origin, background: bool, depth: usize) {
        match compound {
            ast::CompoundCommand::BraceGroup(group) => self.list(&group.list, origin, depth),
            ast::CompoundCommand::Subshell(subshell) => self.list(&subshell.list, origin, depth),
            ast::CompoundCommand::ForClause(clause) => {
                for value in clause.values.iter().flatten() {
                    self.word(&value.value, depth);
                }
                self.list(&clause.body.list, origin, depth);
            }
            ast::CompoundCommand::ArithmeticForClause(clause) => self.list(&clause.body.list, origin, depth),
            ast::CompoundCommand::CaseClause(clause) => {
                self.word(&clause.value.value, depth);
                for item in &clause.cases {
                    if let Some(list) = &item.cmd {
                        self.list(list, origin, depth);
                    }
                }
            }
            ast::CompoundCommand::IfClause(clause) => {
                self.list(&clause.condition, origin, depth);
                self.list(&clause.then, origin, depth);
                for otherwise in clause.elses.iter().flatten() {
                    if let Some(condition) = &otherwise.condition {
                        self.list(condition, origin, depth);
                    }
                    self.list(&otherwise.body, origin, depth);
                }
            }
            ast::CompoundCommand::WhileClause(clause) | ast::CompoundCommand::UntilClause(clause) => {
                self.list(&clause.0, origin, depth);
                self.list(&clause.1.list, origin, depth);
            }
            ast::CompoundCommand::Coprocess(coprocess) => {
                self.command(&coprocess.body, origin, background, None, depth);
            }
            ast::CompoundCommand::Arithmetic(_) => {}
        }
    }

    fn simple_command(&mut self, simple: &ast::SimpleCommand, origin: Origin, background: bool, piped: Piped, depth: usize) -> Piped {
        let mut words = Vec::new();
        let mut assignments = Vec::new();
        let mut redirects = Vec::new();
        let mut here_text: Option<String> = None;
        let items = simple.prefix.iter().flat_map(|p| p.0.iter());
        let suffix = simple.suffix.iter().flat_map(|s| s.0.iter());
        let mut push_items = |reader: &mut Reader, items: &mut dyn Iterator<Item = &ast::CommandPrefixOrSuffixItem>, words: &mut Vec<Word>, is_prefix: bool| {
            for item in items {
                match item {
                    ast::CommandPrefixOrSuffixItem::Word(word) => words.push(reader.word(&word.value, depth)),
                    ast::CommandPrefixOrSuffixItem::AssignmentWord(assignment, word) => {
                        if is_prefix && words.is_empty() {
                            let name = match &assignment.name {
                                ast::AssignmentName::VariableName(name) | ast::AssignmentName::ArrayElementName(name, _) => name.clone(),
                            };
                            let value = match &assignment.value {
                                ast::AssignmentValue::Scalar(value) => reader.word(&value.value, depth),
                                ast::AssignmentValue::Array(_) => Word { raw: word.value.clone(), value: None },
                            };
                            assignments.push((name, value));
                        } else {
                            words.push(reader.word(&word.value, depth));
                        }
                    }
                    ast::CommandPrefixOrSuffixItem::IoRedirect(redirect) => {
                        if let Some((made, text)) = reader.redirect(redirect, depth) {
                            if text.is_some() {
                                here_text = text;
                            }
                            redirects.push(made);
                        }
                    }
                    ast::CommandPrefixOrSuffixItem::ProcessSubstitution(_, subshell) => {
                        reader.list(&subshell.list, Origin::Substitution, depth + 1);
                        words.push(Word { raw: "<(…)".into(), value: None });
                    }
                }
            }
        };
        push_items(self, &mut items.into_iter(), &mut words, true);
        if let Some(name) = &simple.word_or_name {
            words.push(self.word(&name.value, depth));
        }
        push_items(self, &mut suffix.into_iter(), &mut words, false);
        // A here-document or an `echo` piped in is the input of a shell that reads its script there.
        let input = here_text.or(piped);
        self.simple(words, assignments, redirects, origin, background, input, depth)
    }

    /// Record one simple command (after following what it hands to other shells and what its
    /// wrappers run); returns its output when it is plain text (`echo`/`printf` of known words).
    #[allow(clippy::too_many_arguments)]
    fn simple(
        &mut self,
        words: Vec<Word>,
        mut assignments: Vec<(String, Word)>,
        redirects: Vec<Redirect>,
        origin: Origin,
        background: bool,
        input: Option<String>,
        depth: usize,
    ) -> Piped {
        let unwrapped = wrappers::unwrap(words);
        for script in &unwrapped.scripts {
            self.script(script, Origin::Script, depth + 1);
        }
        if let (true, Some(input)) = (unwrapped.reads_script_from_input, &input) {
            self.script(input, Origin::Script, depth + 1);
        }
        for (by, words) in unwrapped.runs {
            let before = self.commands.len();
            self.simple(words, Vec::new(), Vec::new(), Origin::Argument, background, None, depth + 1);
            for command in &mut self.commands[before..] {
                command.wrappers.insert(0, by.clone());
            }
        }
        let mut words = unwrapped.words;
        let mut more_from_input = unwrapped.more_from_input;
        if more_from_input {
            // What `xargs` runs gets its last arguments from the pipe: known when it is text.
            if let Some(text) = &input {
                words.extend(text.split_whitespace().map(Word::literal));
                more_from_input = false;
            }
        }
        assignments.extend(unwrapped.assignments);
        let origin = if unwrapped.wrappers.iter().any(|w| w.starts_with("xargs")) && origin == Origin::Line { Origin::Argument } else { origin };
        let command = Command { words, assignments, redirects, wrappers: unwrapped.wrappers, origin, background, more_from_input };
        // `cat` without files passes its input on: `cat <<'EOF' | sh` hands the here-document to the shell.
        let output = echo_output(&command).or_else(|| (command.name() == Some("cat") && command.args().iter().all(|a| a.text().starts_with('-'))).then_some(input).flatten());
        if !command.words.is_empty() || !command.redirects.is_empty() || !command.assignments.is_empty() {
            self.commands.push(command);
        }
        output
    }

    /// A redirection; with the here-document's text when it is one.
    fn redirect(&mut self, redirect: &ast::IoRedirect, depth: usize) -> Option<(Redirect, Option<String>)> {
        match redirect {
            ast::IoRedirect::File(fd, kind, target) => {
                let kind = match kind {
                    ast::IoFileRedirectKind::Read => RedirectKind::Read,
                    ast::IoFileRedirectKind::Write | ast::IoFileRedirectKind::Clobber => RedirectKind::Write,
                    ast::IoFileRedirectKind::Append => RedirectKind::Append,
                    ast::IoFileRedirectKind::ReadAndWrite => RedirectKind::ReadWrite,
                    ast::IoFileRedirectKind::DuplicateInput | ast::IoFileRedirectKind::DuplicateOutput => RedirectKind::Duplicate,
                };
                let target = match target {
                    ast::IoFileRedirectTarget::Filename(word) => self.word(&word.value, depth),
                    ast::IoFileRedirectTarget::Fd(fd) => Word::literal(&fd.to_string()),
                    ast::IoFileRedirectTarget::Duplicate(word) => {
                        let word = self.word(&word.value, depth);
                        return Some((Redirect { fd: *fd, kind: RedirectKind::Duplicate, target: word }, None));
                    }
                    ast::IoFileRedirectTarget::ProcessSubstitution(_, subshell) => {
                        self.list(&subshell.list, Origin::Substitution, depth + 1);
                        Word { raw: "<(…)".into(), value: None }
                    }
                };
                Some((Redirect { fd: *fd, kind, target }, None))
            }
            ast::IoRedirect::HereDocument(fd, here) => {
                let body = &here.doc.value;
                if here.requires_expansion {
                    // An unquoted delimiter: `$(…)` in the body runs.
                    if let Ok(pieces) = word::parse_heredoc(body, &self.options) {
                        self.substitutions(&pieces, depth);
                    }
                }
                let target = Word { raw: body.clone(), value: (!here.requires_expansion || !body.contains(['$', '`'])).then(|| body.clone()) };
                let text = target.value.clone();
                Some((Redirect { fd: *fd, kind: RedirectKind::Here, target }, text))
            }
            ast::IoRedirect::HereString(fd, word) => {
                let target = self.word(&word.value, depth);
                let text = target.value.clone();
                Some((Redirect { fd: *fd, kind: RedirectKind::Here, target }, text))
            }
            ast::IoRedirect::OutputAndError(word, append) => {
                let target = self.word(&word.value, depth);
                let kind = if *append { RedirectKind::Append } else { RedirectKind::Write };
                Some((Redirect { fd: None, kind, target }, None))
            }
        }
    }

    /// Read a word: follow its substitutions, and work out its value when it has no expansion.
    fn word(&mut self, raw: &str, depth: usize) -> Word {
        let Ok(pieces) = word::parse(raw, &self.options) else {
            return Word { raw: raw.to_string(), value: None };
        };
        self.substitutions(&pieces, depth);
        Word { raw: raw.to_string(), value: self.value_of(&pieces, depth) }
    }

    /// Every command substitution in these pieces, read as a script.
    fn substitutions(&mut self, pieces: &[WordPieceWithSource], depth: usize) {
        for piece in pieces {
            match &piece.piece {
                WordPiece::CommandSubstitution(script) | WordPiece::BackquotedCommandSubstitution(script) => {
                    self.script(script, Origin::Substitution, depth + 1);
                }
                WordPiece::DoubleQuotedSequence(inner) | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    self.substitutions(inner, depth);
                }
                _ => {}
            }
        }
    }

    /// The word's value when nothing in it depends on run time; `$(echo x)` counts as `x`.
    fn value_of(&self, pieces: &[WordPieceWithSource], depth: usize) -> Option<String> {
        let mut value = String::new();
        for piece in pieces {
            match &piece.piece {
                WordPiece::Text(text) | WordPiece::SingleQuotedText(text) => value.push_str(text),
                WordPiece::AnsiCQuotedText(text) => value.push_str(&ansi_c(text)),
                WordPiece::EscapeSequence(text) => value.push_str(text.strip_prefix('\\').unwrap_or(text)),
                WordPiece::DoubleQuotedSequence(inner) | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    value.push_str(&self.value_of(inner, depth)?);
                }
                WordPiece::TildeExpansion(ast_tilde) => match ast_tilde {
                    word::TildeExpr::Home => value.push('~'),
                    word::TildeExpr::UserHome(user) => {
                        value.push('~');
                        value.push_str(user);
                    }
                    _ => return None,
                },
                WordPiece::CommandSubstitution(script) | WordPiece::BackquotedCommandSubstitution(script) => {
                    value.push_str(&echoed(script, depth)?);
                }
                WordPiece::ParameterExpansion(_) | WordPiece::ArithmeticExpression(_) => return None,
            }
        }
        Some(value)
    }
}

/// What `$(echo a b)` and `$(printf a)` give: the only substitutions worked out before they run.
fn echoed(script: &str, depth: usize) -> Option<String> {
    if depth > MAX_DEPTH {
        return None;
    }
    let inner = parse(script);
    match inner.commands.as_slice() {
        [only] => echo_output(only).map(|text| text.trim_end_matches('\n').to_string()),
        _ => None,
    }
}

/// The output of `echo`/`printf` with known words (no format directives), else `None`.
fn echo_output(command: &Command) -> Option<String> {
    let args = command.args();
    let values: Option<Vec<&str>> = args.iter().map(|w| w.value.as_deref()).collect();
    let values = values?;
    match command.name()? {
        "echo" => {
            let text: Vec<&str> = values.into_iter().skip_while(|v| matches!(*v, "-n" | "-e" | "-E" | "-ne" | "-en")).collect();
            Some(format!("{}\n", text.join(" ")))
        }
        "printf" => {
            let format = values.first()?;
            if values.len() == 1 && !format.contains('%') {
                Some(format.replace("\\n", "\n"))
            } else if *format == "%s\\n" || *format == "%s" || *format == "%s\n" {
                Some(values[1..].join("\n"))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `$'…'` escapes: the common ones.
fn ansi_c(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some('x') => {
                let hex: String = chars.clone().take(2).take_while(char::is_ascii_hexdigit).collect();
                for _ in 0..hex.len() {
                    chars.next();
                }
                if let Some(c) = u8::from_str_radix(&hex, 16).ok().map(char::from) {
                    out.push(c);
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests;
