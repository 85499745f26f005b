//! From text to the typed AST: the pest parser, then one lowering pass that checks the schema.

mod comments;
mod lower;
mod scan;
mod tree;
mod values;

use crate::ast::Runbook;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Source, Span};
use pest::Parser as _;

pub use comments::{comments, Comment};
pub use lower::{is_valid_ref_component, AGENT, DELIVER, LIMITS, NOTIFY, PERMISSIONS, ROLLBACK, SUCCESS, TASK, TOP_LEVEL};
pub use tree::{Argument, ArgumentKind, Statement};
pub(crate) use values::dedent;

/// The pest parser generated from `grammar/night.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/night.pest"]
pub struct NightParser;

/// The result of parsing: the AST as far as it could be built, and every problem found.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The runbook; parts that failed to lower are absent.
    pub runbook: Runbook,
    /// Syntax and schema diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    /// The generic statement tree (for `night fmt` and the language server).
    pub statements: Vec<Statement>,
}

/// Parse and lower a runbook. Never panics; every problem becomes a diagnostic.
pub fn parse(source: &Source) -> Parsed {
    match parse_statements(&source.text) {
        Ok((statements, mut diagnostics)) => {
            let (runbook, schema) = lower::lower(&statements);
            diagnostics.extend(schema);
            Parsed { runbook, diagnostics, statements }
        }
        Err(diagnostic) => Parsed { diagnostics: vec![*diagnostic], ..Parsed::default() },
    }
}

/// Parse the generic statement tree only, with the diagnostics of bad string escapes: the
/// hand-written scanner when the text parses, pest (for its error) when it does not.
pub fn parse_statements(text: &str) -> Result<(Vec<Statement>, Vec<Diagnostic>), Box<Diagnostic>> {
    scan::statements(text).or_else(|_| parse_statements_with_pest(text))
}

/// [`parse_statements`] by the hand-written scanner alone; `None` where it gives up (where
/// the grammar fails, or blocks nest very deep). Tested against the grammar.
#[doc(hidden)]
pub fn parse_statements_with_scanner(text: &str) -> Option<(Vec<Statement>, Vec<Diagnostic>)> {
    scan::statements(text).ok()
}

/// [`parse_statements`] by the pest grammar alone: the reference the scanner is tested against.
#[doc(hidden)]
pub fn parse_statements_with_pest(text: &str) -> Result<(Vec<Statement>, Vec<Diagnostic>), Box<Diagnostic>> {
    let mut pairs = NightParser::parse(Rule::runbook, text).map_err(|error| Box::new(syntax_error(&error, text)))?;
    let runbook = pairs.next().map(|pair| pair.into_inner()).into_iter().flatten();
    let mut diagnostics = Vec::new();
    let statements = runbook
        .filter(|pair| pair.as_rule() == Rule::statement)
        .map(|pair| tree::statement(pair, &mut diagnostics))
        .collect();
    Ok((statements, diagnostics))
}

/// A pest error as a diagnostic, with the expected tokens named in words and the usual
/// mistakes (an unclosed block or string, two statements on one line) said plainly.
fn syntax_error(error: &pest::error::Error<Rule>, text: &str) -> Diagnostic {
    let help = "A statement is a keyword, its arguments, then optionally a `{ … }` block; strings are in double quotes and a statement ends at the end of the line or at `;`.";
    if let Some(open) = unclosed_block_string(text) {
        return Diagnostic::error(Code::Syntax, "unclosed block string")
            .label(Span::new(open, open + 3), "this `\"\"\"` is never closed")
            .help("End the block string with `\"\"\"`.");
    }
    if let Some(open) = unclosed_brace(text) {
        return Diagnostic::error(Code::Syntax, "unclosed block")
            .label(Span::new(open, open + 1), "this `{` is never closed")
            .help("Close the block with `}`.");
    }
    let (pos, span) = match error.location {
        pest::error::InputLocation::Pos(pos) => (pos, Span::new(pos, pos)),
        pest::error::InputLocation::Span((start, end)) => (start, Span::new(start, end)),
    };
    let found = text.get(pos..).and_then(|rest| rest.chars().next());
    let mut expected: Vec<&str> = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.iter().filter_map(|rule| describe(*rule)).collect(),
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.sort_unstable();
    expected.dedup();
    if expected.contains(&"a closing `\"`") {
        return Diagnostic::error(Code::Syntax, "unclosed string")
            .label(span, "the line ends before the closing `\"`")
            .help("Close the string with `\"` on the same line, or use a block string `\"\"\"…\"\"\"` for text over several lines.");
    }
    if found == Some('}') {
        return Diagnostic::error(Code::Syntax, "unmatched `}`")
            .label(span, "no block is open here")
            .help("Remove this `}`, or add the `{` it closes.");
    }
    let found_text = match found {
        Some(c) if c.is_alphanumeric() || c == '"' || c == '_' => {
            if expected.iter().any(|e| e.contains("end of the file") || *e == "`}`") {
                return Diagnostic::error(Code::Syntax, "two statements on one line")
                    .label(span, "a new statement starts here")
                    .help("Put each statement on its own line, or separate them with `;`.");
            }
            format!("`{c}`")
        }
        Some(c) if !c.is_whitespace() => format!("`{c}`"),
        Some(_) => "a line break".to_string(),
        None => "the end of the file".to_string(),
    };
    let label = if expected.is_empty() || expected.len() > 3 {
        format!("unexpected {found_text}")
    } else {
        format!("expected {}", join_or(&expected))
    };
    Diagnostic::error(Code::Syntax, format!("unexpected {found_text}")).label(span, label).help(help)
}

/// The offset of a `"""` that is never closed.
fn unclosed_block_string(text: &str) -> Option<usize> {
    let mut offset = 0;
    let mut open = None;
    while let Some(found) = text[offset..].find("\"\"\"") {
        let at = offset + found;
        open = if open.is_some() { None } else { Some(at) };
        offset = at + 3;
    }
    open
}

/// The offset of the innermost `{` never closed, skipping strings and comments.
fn unclosed_brace(text: &str) -> Option<usize> {
    let mut stack = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' => {
                while chars.peek().is_some_and(|(_, c)| *c != '\n') {
                    chars.next();
                }
            }
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' | '\n' => break,
                        _ => {}
                    }
                }
            }
            '{' => stack.push(i),
            '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

/// What a rule is called in messages (pest's `renamed_rules`, by hand so it stays in one place).
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::statement | Rule::head | Rule::word => "a keyword",
        Rule::block => "a `{ … }` block",
        Rule::block_end => "`}`",
        Rule::string_end => "a closing `\"`",
        Rule::string | Rule::string_inner => "a string like `\"npm test\"`",
        Rule::block_string | Rule::block_string_inner => "a block string `\"\"\"…\"\"\"`",
        Rule::regex | Rule::regex_inner => "a regex like `/error/`",
        Rule::regex_flags => "regex flags",
        Rule::money => "an amount like `$25`",
        Rule::number => "a number or duration like `45m`",
        Rule::env_reference | Rule::env_name => "an env reference like `env.NAME`",
        Rule::comparison => "a comparison like `<=`",
        Rule::EOI => "the end of the file",
        _ => return None,
    })
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}
