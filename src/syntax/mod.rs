//! From text to the typed AST: the pest parser, then one lowering pass that checks the schema.

mod lower;
mod tree;
mod values;

use crate::ast::Runbook;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Source, Span};
use pest::Parser as _;

pub use tree::{Argument, ArgumentKind, Statement};

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
        Ok(statements) => {
            let (runbook, diagnostics) = lower::lower(&statements);
            Parsed { runbook, diagnostics, statements }
        }
        Err(diagnostic) => Parsed { diagnostics: vec![*diagnostic], ..Parsed::default() },
    }
}

/// Parse the generic statement tree only.
pub fn parse_statements(text: &str) -> Result<Vec<Statement>, Box<Diagnostic>> {
    let mut pairs = NightParser::parse(Rule::runbook, text).map_err(|error| Box::new(syntax_error(&error)))?;
    let runbook = pairs.next().map(|pair| pair.into_inner()).into_iter().flatten();
    let mut statements = Vec::new();
    for pair in runbook {
        if pair.as_rule() == Rule::statement {
            statements.push(tree::statement(pair).map_err(Box::new)?);
        }
    }
    Ok(statements)
}

/// A pest error as a diagnostic, with the expected tokens named in words.
fn syntax_error(error: &pest::error::Error<Rule>) -> Diagnostic {
    let span = match error.location {
        pest::error::InputLocation::Pos(pos) => Span::new(pos, pos),
        pest::error::InputLocation::Span((start, end)) => Span::new(start, end),
    };
    let (message, label) = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<&str> = positives.iter().filter_map(|rule| describe(*rule)).collect();
            expected.sort_unstable();
            expected.dedup();
            let label = if expected.is_empty() {
                "unexpected text here".to_string()
            } else {
                format!("expected {}", join_or(&expected))
            };
            ("invalid syntax".to_string(), label)
        }
        pest::error::ErrorVariant::CustomError { message } => (message.clone(), String::new()),
    };
    Diagnostic::error(Code::Syntax, message)
        .label(span, label)
        .help("A statement is a keyword, its arguments, then optionally a `{ … }` block; strings are in double quotes and a statement ends at the end of the line or at `;`.")
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
