//! The statement tree without pest: a direct transcription of `grammar/night.pest`, rule by
//! rule, with pest's implicit whitespace (`WHITESPACE* (COMMENT WHITESPACE*)*` between the
//! parts of every non-atomic rule) in the same places, so that it builds the same tree with
//! the same spans — about twenty times faster, which is what lets `night check` parse a
//! 10 000-statement runbook in milliseconds.
//!
//! It is the fast path only. Wherever the text does not parse, it gives up and pest parses
//! again, and its error (with pest's expected tokens) is the one reported; the grammar file
//! stays the reference. tests/properties.rs checks the two agree on generated text and on
//! the fuzz corpus: the same tree and diagnostics when pest parses, a give-up when it fails.

use super::tree::{Argument, ArgumentKind, Statement};
use super::values;
use crate::diagnostic::Diagnostic;
use crate::source::{Span, Spanned};

/// Blocks nested deeper than this are left to pest (and its stack guard).
const MAX_DEPTH: usize = 64;

/// The text does not parse here (or nests too deep): pest says why.
#[derive(Debug)]
pub(super) struct GiveUp;

/// The statements of `text`, with the diagnostics of bad string escapes; `GiveUp` where pest
/// would fail.
pub(super) fn statements(text: &str) -> Result<(Vec<Statement>, Vec<Diagnostic>), GiveUp> {
    let mut scanner = Scanner { text, bytes: text.as_bytes(), pos: 0, depth: 0, diagnostics: Vec::new() };
    // runbook = { SOI ~ body ~ EOI }
    scanner.skip();
    let statements = scanner.body()?;
    scanner.skip();
    if scanner.pos != text.len() {
        return Err(GiveUp);
    }
    Ok((statements, scanner.diagnostics))
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    diagnostics: Vec<Diagnostic>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn starts_with(&self, prefix: &str) -> bool {
        self.bytes[self.pos..].starts_with(prefix.as_bytes())
    }

    /// The length of the character at `at` (the text is UTF-8, so `at` on a boundary stays on one).
    fn char_len(&self, at: usize) -> usize {
        self.text[at..].chars().next().map_or(1, char::len_utf8)
    }

    /// pest's implicit whitespace: `WHITESPACE* (COMMENT WHITESPACE*)*`, where `WHITESPACE` is a
    /// space or a tab and `COMMENT` runs from `#` to the end of the line.
    fn skip(&mut self) {
        loop {
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.pos += 1;
            }
            if self.peek() != Some(b'#') {
                return;
            }
            while !matches!(self.peek(), None | Some(b'\n' | b'\r')) {
                self.pos += 1;
            }
        }
    }

    /// `separator = _{ line_end | ";" }`, `line_end = _{ "\r\n" | "\n" | "\r" }`.
    fn separator(&mut self) -> bool {
        match self.peek() {
            Some(b'\r') => {
                self.pos += if self.bytes.get(self.pos + 1) == Some(&b'\n') { 2 } else { 1 };
                true
            }
            Some(b'\n' | b';') => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// `separator*` (whitespace between repetitions).
    fn separators(&mut self) {
        if self.separator() {
            self.separators_after_one();
        }
    }

    /// `body = _{ separator* ~ (statement ~ (separator+ ~ statement)*)? ~ separator* }`
    fn body(&mut self) -> Result<Vec<Statement>, GiveUp> {
        self.separators();
        self.skip();
        let mut statements = Vec::new();
        if let Some(first) = self.statement()? {
            statements.push(first);
            loop {
                let save = self.pos;
                self.skip();
                if !self.separator() {
                    self.pos = save;
                    break;
                }
                self.separators_after_one();
                self.skip();
                match self.statement()? {
                    Some(statement) => statements.push(statement),
                    None => {
                        self.pos = save;
                        break;
                    }
                }
            }
        }
        self.skip();
        self.separators();
        Ok(statements)
    }

    /// The rest of `separator+` once one separator is read.
    fn separators_after_one(&mut self) {
        loop {
            let save = self.pos;
            self.skip();
            if !self.separator() {
                self.pos = save;
                return;
            }
        }
    }

    /// `statement = { head ~ argument* ~ block? }`; `None` when no head word starts here.
    fn statement(&mut self) -> Result<Option<Statement>, GiveUp> {
        let start = self.pos;
        let Some(head_end) = self.word_end(start) else { return Ok(None) };
        self.pos = head_end;
        let head = Spanned::new(self.text[start..head_end].to_string(), Span::new(start, head_end));
        self.skip();
        let mut arguments = Vec::new();
        if let Some(argument) = self.argument() {
            arguments.push(argument);
            loop {
                let save = self.pos;
                self.skip();
                match self.argument() {
                    Some(argument) => arguments.push(argument),
                    None => {
                        self.pos = save;
                        break;
                    }
                }
            }
        }
        self.skip();
        let block = if self.peek() == Some(b'{') { Some(self.block()?) } else { None };
        Ok(Some(Statement { head, arguments, block, span: Span::new(start, self.pos) }))
    }

    /// `block = { "{" ~ body ~ block_end }`.
    fn block(&mut self) -> Result<Spanned<Vec<Statement>>, GiveUp> {
        let start = self.pos;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        self.pos += 1;
        self.skip();
        let statements = self.body()?;
        self.skip();
        if self.peek() != Some(b'}') {
            return Err(GiveUp);
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(Spanned::new(statements, Span::new(start, self.pos)))
    }

    /// `word = @{ (ASCII_ALPHA | "_") ~ (ASCII_ALPHANUMERIC | "_" | "-")* }`: where it ends.
    fn word_end(&self, start: usize) -> Option<usize> {
        let first = *self.bytes.get(start)?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let rest = self.bytes[start + 1..].iter().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')).count();
        Some(start + 1 + rest)
    }

    /// One argument, in the grammar's order of choice; the position is unchanged when none.
    fn argument(&mut self) -> Option<Argument> {
        let start = self.pos;
        let kind = match self.peek()? {
            b'"' => {
                let block = if self.starts_with("\"\"\"") { self.block_string() } else { None };
                match block {
                    Some(kind) => kind,
                    None => self.string()?,
                }
            }
            b'/' => self.regex()?,
            b'$' => {
                // money = @{ "$" ~ (ASCII_DIGIT | "." | "_" | ",")* }
                let rest = self.bytes[start + 1..].iter().take_while(|b| b.is_ascii_digit() || matches!(b, b'.' | b'_' | b',')).count();
                self.pos = start + 1 + rest;
                ArgumentKind::Money(self.text[start..self.pos].to_string())
            }
            b'0'..=b'9' => {
                // number = @{ ASCII_DIGIT ~ (ASCII_ALPHANUMERIC | "_" | ".")* }
                let rest = self.bytes[start + 1..].iter().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.')).count();
                self.pos = start + 1 + rest;
                ArgumentKind::Number(self.text[start..self.pos].to_string())
            }
            b'<' | b'>' | b'=' => {
                // comparison = @{ "<=" | ">=" | "==" | "<" | ">" }
                let length = if self.bytes.get(start + 1) == Some(&b'=') { 2 } else { 1 };
                if length == 1 && self.bytes[start] == b'=' {
                    return None;
                }
                self.pos = start + length;
                ArgumentKind::Comparison(self.text[start..self.pos].to_string())
            }
            _ => {
                // env_reference = ${ "env." ~ env_name }, before `word`.
                if self.starts_with("env.") {
                    let name = start + 4;
                    if self.bytes.get(name).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
                        let rest = self.bytes[name + 1..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
                        self.pos = name + 1 + rest;
                        return Some(Argument { kind: ArgumentKind::Env(self.text[name..self.pos].to_string()), span: Span::new(start, self.pos) });
                    }
                }
                let end = self.word_end(start)?;
                self.pos = end;
                ArgumentKind::Word(self.text[start..end].to_string())
            }
        };
        Some(Argument { kind, span: Span::new(start, self.pos) })
    }

    /// `block_string = ${ "\"\"\"" ~ block_string_inner ~ "\"\"\"" }`, inner `(!"\"\"\"" ~ ANY)*`.
    fn block_string(&mut self) -> Option<ArgumentKind> {
        let inner_start = self.pos + 3;
        let inner_end = inner_start + self.text[inner_start..].find("\"\"\"")?;
        self.pos = inner_end + 3;
        Some(ArgumentKind::BlockString(values::dedent(&self.text[inner_start..inner_end])))
    }

    /// `string = ${ "\"" ~ string_inner ~ string_end }`, inner
    /// `(("\\" ~ ANY) | (!("\"" | "\\" | line_end) ~ ANY))*`.
    fn string(&mut self) -> Option<ArgumentKind> {
        let inner_start = self.pos + 1;
        let mut at = inner_start;
        loop {
            match *self.bytes.get(at)? {
                b'\\' => {
                    at += 1;
                    if at >= self.bytes.len() {
                        return None;
                    }
                    at += self.char_len(at);
                }
                b'"' => break,
                b'\n' | b'\r' => return None,
                _ => at += self.char_len(at),
            }
        }
        let inner = &self.text[inner_start..at];
        self.pos = at + 1;
        // A bad escape is reported and the raw text kept, so the rest of the file is still checked.
        let value = values::unescape(inner, inner_start).unwrap_or_else(|diagnostic| {
            self.diagnostics.push(diagnostic);
            inner.to_string()
        });
        Some(ArgumentKind::String(value))
    }

    /// `regex = ${ "/" ~ regex_inner ~ "/" ~ regex_flags }`, inner
    /// `(("\\" ~ !line_end ~ ANY) | (!("/" | "\\" | line_end) ~ ANY))+`, flags `ASCII_ALPHA*`.
    fn regex(&mut self) -> Option<ArgumentKind> {
        let inner_start = self.pos + 1;
        let mut at = inner_start;
        loop {
            match self.bytes.get(at) {
                Some(b'\\') => match self.bytes.get(at + 1) {
                    Some(b'\n' | b'\r') | None => break,
                    Some(_) => at += 1 + self.char_len(at + 1),
                },
                Some(b'/' | b'\n' | b'\r') | None => break,
                Some(_) => at += self.char_len(at),
            }
        }
        if at == inner_start || self.bytes.get(at) != Some(&b'/') {
            return None;
        }
        let flags = self.bytes[at + 1..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
        self.pos = at + 1 + flags;
        Some(ArgumentKind::Regex { pattern: self.text[inner_start..at].to_string(), flags: self.text[at + 1..self.pos].to_string() })
    }
}
