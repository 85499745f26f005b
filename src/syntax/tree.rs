//! The generic statement tree: what the grammar sees, before the schema gives it meaning.

use super::values;
use super::Rule;
use crate::diagnostic::Diagnostic;
use crate::source::{Span, Spanned};
use pest::iterators::Pair;

/// `head argument* block?`.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The keyword.
    pub head: Spanned<String>,
    /// The arguments, in order.
    pub arguments: Vec<Argument>,
    /// The nested statements, when there is a block.
    pub block: Option<Spanned<Vec<Statement>>>,
    /// The whole statement.
    pub span: Span,
}

/// One argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Argument {
    /// What it is.
    pub kind: ArgumentKind,
    /// Where.
    pub span: Span,
}

/// The lexical form of an argument.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgumentKind {
    /// `"…"`, escapes already processed.
    String(String),
    /// `"""…"""`, indentation already stripped.
    BlockString(String),
    /// `/pattern/flags`, as written between the slashes.
    Regex { pattern: String, flags: String },
    /// `$…`, as written.
    Money(String),
    /// A digit-led token (an integer or a duration), as written.
    Number(String),
    /// `env.NAME`.
    Env(String),
    /// `<`, `<=`, `>`, `>=`, `==`.
    Comparison(String),
    /// A bare word.
    Word(String),
}

impl ArgumentKind {
    /// What the argument is, for messages: "a string", "the word `on`".
    pub fn describe(&self) -> String {
        match self {
            ArgumentKind::String(_) => "a string".into(),
            ArgumentKind::BlockString(_) => "a block string".into(),
            ArgumentKind::Regex { .. } => "a regex".into(),
            ArgumentKind::Money(_) => "an amount".into(),
            ArgumentKind::Number(text) => format!("`{text}`"),
            ArgumentKind::Env(name) => format!("`env.{name}`"),
            ArgumentKind::Comparison(op) => format!("`{op}`"),
            ArgumentKind::Word(word) => format!("`{word}`"),
        }
    }
}

pub(super) fn statement(pair: Pair<'_, Rule>, diagnostics: &mut Vec<Diagnostic>) -> Statement {
    let span = Span::from(pair.as_span());
    let mut inner = pair.into_inner();
    let head = inner.next().map_or_else(
        || Spanned::new(String::new(), span),
        |head| Spanned::new(head.as_str().to_string(), head.as_span().into()),
    );
    let mut arguments = Vec::new();
    let mut block = None;
    for part in inner {
        if part.as_rule() == Rule::block {
            let block_span = Span::from(part.as_span());
            let nested = part
                .into_inner()
                .filter(|p| p.as_rule() == Rule::statement)
                .map(|p| statement(p, diagnostics))
                .collect();
            block = Some(Spanned::new(nested, block_span));
        } else {
            arguments.push(argument(part, diagnostics));
        }
    }
    Statement { head, arguments, block, span }
}

fn argument(pair: Pair<'_, Rule>, diagnostics: &mut Vec<Diagnostic>) -> Argument {
    let span = Span::from(pair.as_span());
    let text = pair.as_str();
    let kind = match pair.as_rule() {
        Rule::string => {
            let inner = pair.into_inner().next();
            let (inner_text, inner_start) = inner.map_or(("", span.start + 1), |p| (p.as_str(), p.as_span().start()));
            // A bad escape is reported and the raw text kept, so the rest of the file is still checked.
            ArgumentKind::String(values::unescape(inner_text, inner_start).unwrap_or_else(|diagnostic| {
                diagnostics.push(diagnostic);
                inner_text.to_string()
            }))
        }
        Rule::block_string => {
            let inner = pair.into_inner().next().map_or("", |p| p.as_str());
            ArgumentKind::BlockString(values::dedent(inner))
        }
        Rule::regex => {
            let mut parts = pair.into_inner();
            let pattern = parts.next().map_or("", |p| p.as_str()).to_string();
            let flags = parts.next().map_or("", |p| p.as_str()).to_string();
            ArgumentKind::Regex { pattern, flags }
        }
        Rule::money => ArgumentKind::Money(text.to_string()),
        Rule::number => ArgumentKind::Number(text.to_string()),
        Rule::env_reference => ArgumentKind::Env(text.trim_start_matches("env.").to_string()),
        Rule::comparison => ArgumentKind::Comparison(text.to_string()),
        _ => ArgumentKind::Word(text.to_string()),
    };
    Argument { kind, span }
}
