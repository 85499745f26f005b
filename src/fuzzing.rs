//! The body of the fuzz targets in `fuzz/`, shared with `tests/fuzz_smoke.rs`, which replays
//! the committed corpus through it on stable: text → parse → check → `night fmt`, with the
//! invariants every input must keep. A broken invariant panics, which the fuzzer reports.
//!
//! The checker runs on a [`Sealed`] host with no environment, so an input checks the same on
//! every machine and the fuzzer never reads files, git or PATH.

use crate::ast::Runbook;
use crate::checklist::{check_parsed, CheckOutcome, Sealed};
use crate::diagnostic::{Code, Diagnostic};
use crate::fmt::format_statements;
use crate::source::Source;
use crate::syntax;
use std::sync::LazyLock;

/// Run one fuzz input: bytes as UTF-8 (invalid sequences replaced), then [`check_text`].
pub fn parse_check_format(bytes: &[u8]) {
    check_text(&String::from_utf8_lossy(bytes));
}

/// Parse and check `text`; when it parses, format it and check that the formatted text means
/// the same (same AST but for spans, same diagnostics) and formats to itself.
///
/// # Panics
///
/// When an invariant breaks: a diagnostic's span outside the text or inside a character, a
/// plan despite errors, or formatting that changes the meaning or is not idempotent.
pub fn check_text(text: &str) {
    let before = Checked::new(text);
    for diagnostic in &before.outcome.diagnostics {
        assert_span_inside(diagnostic, text);
    }
    assert!(before.outcome.plan.is_none() || !before.outcome.has_errors(), "a plan was built despite errors");
    let Some(formatted) = before.formatted else { return };

    let after = Checked::new(&formatted);
    let again = after.formatted.unwrap_or_else(|| panic!("the formatted text does not parse\n---\n{text}\n---\n{formatted}"));
    assert_eq!(again, formatted, "formatting is not idempotent\n---\n{text}");
    assert_eq!(before.ast, after.ast, "formatting changed the AST\n---\n{text}\n---\n{formatted}");
    assert_eq!(before.messages, after.messages, "formatting changed the diagnostics\n---\n{text}\n---\n{formatted}");
}

/// One text, parsed once: its AST without spans, what the checker says, and its formatting.
struct Checked {
    ast: String,
    outcome: CheckOutcome,
    messages: Vec<String>,
    /// `None` when the text does not parse.
    formatted: Option<String>,
}

impl Checked {
    fn new(text: &str) -> Self {
        let source = Source::new("fuzz.night", text);
        let mut parsed = syntax::parse(&source);
        let ast = without_spans(&parsed.runbook);
        let parses = !parsed.diagnostics.iter().any(|d| d.code == Code::Syntax);
        let formatted = parses.then(|| format_statements(text, &std::mem::take(&mut parsed.statements)));
        let outcome = check_parsed(&source, parsed, &|_| None, &Sealed);
        let mut messages: Vec<String> = outcome.diagnostics.iter().map(|d| format!("{}: {}", d.code, d.message)).collect();
        messages.sort();
        Self { ast, outcome, messages, formatted }
    }
}

fn assert_span_inside(diagnostic: &Diagnostic, text: &str) {
    for label in &diagnostic.labels {
        let span = label.span;
        assert!(
            span.start <= span.end && span.end <= text.len() && text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
            "`{}` points at {}..{}, outside the text or inside a character ({} bytes)",
            diagnostic.message,
            span.start,
            span.end,
            text.len()
        );
    }
}

/// The AST as text with every span left out, so that two parses compare by meaning.
pub fn without_spans(runbook: &Runbook) -> String {
    static SPAN: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"Span \{ start: \d+, end: \d+ \}").expect("valid constant regex"));
    SPAN.replace_all(&format!("{runbook:?}"), "Span").into_owned()
}
