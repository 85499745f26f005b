//! Diagnostics: data with stable codes, rendered by miette for people and as JSON for tools.

use crate::source::{Source, Span};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a diagnostic is. Errors stop `night run`; warnings never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported, never blocks a run (unless `--deny-warnings`).
    Warning,
    /// Blocks `night run` unless waived.
    Error,
}

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal, $kind:ident; )*) => {
        /// Every diagnostic's stable code. The names are part of the contract (LANGUAGE.md §10).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Code {
            $( $(#[doc = $doc])* #[serde(rename = $name)] $variant, )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable name, e.g. `write-unbounded`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// True for checklist rules (which `waive` may silence); false for syntax and schema errors.
            pub fn is_checklist_rule(self) -> bool {
                match self { $(Code::$variant => codes!(@rule $kind),)* }
            }
        }
    };
    (@rule rule) => { true };
    (@rule schema) => { false };
}

codes! {
    // ---- syntax and schema
    /// The text does not parse.
    Syntax = "syntax", schema;
    /// A string has an invalid escape.
    BadString = "bad-string", schema;
    /// An integer is malformed or out of range.
    BadNumber = "bad-number", schema;
    /// A duration is malformed.
    BadDuration = "bad-duration", schema;
    /// A money amount is malformed.
    BadMoney = "bad-money", schema;
    /// A regex does not compile or has an unknown flag.
    BadRegex = "bad-regex", schema;
    /// A glob does not compile.
    BadGlob = "bad-glob", schema;
    /// A run name or branch is not a valid git ref.
    BadRef = "bad-ref", schema;
    /// A statement or block that does not exist (here).
    UnknownStatement = "unknown-statement", schema;
    /// A keyword argument that is not one of the allowed words.
    UnknownValue = "unknown-value", schema;
    /// An argument of the wrong kind.
    WrongArgument = "wrong-argument", schema;
    /// A required argument is missing.
    MissingArgument = "missing-argument", schema;
    /// More arguments than the statement takes, or a block where none is allowed.
    ExtraArgument = "extra-argument", schema;
    /// A block written twice.
    DuplicateBlock = "duplicate-block", schema;
    /// A statement written twice where only one is allowed.
    DuplicateStatement = "duplicate-statement", schema;
    /// A required block is missing.
    MissingBlock = "missing-block", schema;
    /// A required statement is missing.
    MissingStatement = "missing-statement", schema;
    /// `waive` names a code that is not a checklist rule.
    UnknownRule = "unknown-rule", schema;
    /// The runbook file cannot be read.
    Unreadable = "unreadable", schema;

    // ---- the pre-run checklist (LANGUAGE.md §10)
    /// A `success` block exists.
    SuccessMissing = "success-missing", rule;
    /// Every success check can fail.
    SuccessUnverifiable = "success-unverifiable", rule;
    /// Every success command resolves.
    CommandNotFound = "command-not-found", rule;
    /// The prompt file exists and is readable by the agent.
    ReadMissing = "read-missing", rule;
    /// `write` exists and is bounded.
    WriteUnbounded = "write-unbounded", rule;
    /// Each `write` glob matches something.
    WriteMatchesNothing = "write-matches-nothing", rule;
    /// The repository is clean and on a branch.
    GitDirty = "git-dirty", rule;
    /// Some notifier reports the end of the run.
    NotifyMissing = "notify-missing", rule;
    /// Irreversible commands are denied.
    IrreversibleUnrestricted = "irreversible-unrestricted", rule;
    /// Every `env.X` is set.
    EnvUnset = "env-unset", rule;
    /// `attempts`, `stuck` and `idle` are all present.
    NoStuckLimit = "no-stuck-limit", rule;
    /// `tokens` or `cost` is present.
    NoBudget = "no-budget", rule;
    /// `session` is at most 4h.
    LongSession = "long-session", rule;
    /// A `rollback` block exists.
    NoRollback = "no-rollback", rule;
    /// The task is not open-ended, or a check measures the change.
    OpenEndedTask = "open-ended-task", rule;
    /// Success commands do nothing irreversible.
    SideEffectsInChecks = "side-effects-in-checks", rule;
    /// The remote `deliver` pushes to is configured in the repository.
    RemoteMissing = "remote-missing", rule;
    /// The delivery never pushes onto the start branch, the base or a branch it did not create.
    PushTargetUnsafe = "push-target-unsafe", rule;
    /// Found by the run's baseline: every check already holds.
    SuccessAlreadyHolds = "success-already-holds", rule;

    // ---- warnings about `tests` checks, outside the checklist
    /// A `tests` command's output names no tests, so lost tests show only as a lower count.
    TestsWithoutNames = "tests-without-names", rule;
    /// A `tests` command stops at the first failure, so its counts are partial.
    TestsStopEarly = "tests-stop-early", rule;

    // ---- the batch's own rules (`night run a.night b.night …`, `night check --batch`)
    /// Two runbooks of a batch would use the same run branch (cannot run: not waivable).
    BatchSameBranch = "batch-same-branch", schema;
    /// Two runbooks of a batch may write the same paths of one repository.
    BatchWriteOverlap = "batch-write-overlap", rule;
}

impl Code {
    /// The code with this stable name.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|code| code.name() == name)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A phrase attached to a span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// A short phrase, e.g. "expected a duration".
    pub text: String,
}

/// One problem found in a runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// Short, lower case, names things in backticks.
    pub message: String,
    /// Where; the first label is the primary one.
    pub labels: Vec<Label>,
    /// A full sentence saying how to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with a code and message.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Self { code, severity: Severity::Error, message: message.into(), labels: Vec::new(), help: None }
    }

    /// A warning with a code and message.
    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(code, message) }
    }

    /// Add a label.
    #[must_use]
    pub fn label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label { span, text: text.into() });
        self
    }

    /// Set the help sentence.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The primary span, if any.
    pub fn span(&self) -> Option<Span> {
        self.labels.first().map(|label| label.span)
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// "did you mean `x`?" for the closest candidate by edit distance, if one is close enough.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(&lower, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1) || lower == *candidate)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

// ------------------------------------------------------------- rendering ----

/// A diagnostic bound to its source, so miette can render it.
#[derive(Debug)]
struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    source: miette::NamedSource<String>,
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code.name()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic.help.as_ref().map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        if self.diagnostic.labels.is_empty() {
            None
        } else {
            Some(&self.source)
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.diagnostic.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.diagnostic.labels.iter().enumerate().map(|(index, label)| {
            let text = (!label.text.is_empty()).then(|| label.text.clone());
            if index == 0 {
                miette::LabeledSpan::new_primary_with_span(text, label.span)
            } else {
                miette::LabeledSpan::new_with_span(text, label.span)
            }
        })))
    }
}

/// How to render diagnostics as text.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// Terminal width.
    pub width: usize,
    /// ANSI colours.
    pub color: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self { width: 80, color: false }
    }
}

/// Render one diagnostic with its source snippet.
pub fn render(diagnostic: &Diagnostic, source: &Source, options: RenderOptions) -> String {
    let theme = if options.color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false)
        .with_word_separator(textwrap::WordSeparator::Custom(code_span_words))
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
        .with_break_words(false);
    let rendered = Rendered {
        diagnostic,
        source: miette::NamedSource::new(source.name(), source.text.clone()),
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &rendered).is_err() {
        out = format!("{}: {} [{}]\n", source.name(), diagnostic.message, diagnostic.code);
    }
    out
}

/// Code spans longer than this may be wrapped at their spaces (never inside a word).
const UNBREAKABLE_CODE_SPAN: usize = 70;

/// The words of a line for wrapping: split at runs of spaces, except inside a `code span` of at
/// most [`UNBREAKABLE_CODE_SPAN`] characters, which is one word — a command in the help stays
/// on one line, ready to copy. Hyphens never break (`notify-send`).
fn code_span_words(line: &str) -> Box<dyn Iterator<Item = textwrap::core::Word<'_>> + '_> {
    let bytes = line.as_bytes();
    let mut words = Vec::new();
    let mut start = 0;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'`' => {
                let close = line[index + 1..].find('`').map(|offset| index + 1 + offset);
                match close {
                    Some(close) if line[index..=close].chars().count() <= UNBREAKABLE_CODE_SPAN => index = close + 1,
                    _ => index += 1,
                }
            }
            b' ' => {
                while index < bytes.len() && bytes[index] == b' ' {
                    index += 1;
                }
                words.push(textwrap::core::Word::from(&line[start..index]));
                start = index;
            }
            _ => index += 1,
        }
    }
    if start < line.len() {
        words.push(textwrap::core::Word::from(&line[start..]));
    }
    Box::new(words.into_iter())
}

/// The JSON form of a diagnostic (schema documented in docs/check-json.md).
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    /// The runbook path.
    pub file: String,
    /// Stable code.
    pub code: Code,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The message.
    pub message: String,
    /// The primary span, if any.
    pub span: Option<JsonSpan>,
    /// Label text at the primary span.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
}

/// A span with byte offsets and 1-based line/column (columns in characters).
#[derive(Debug, Clone, Serialize)]
pub struct JsonSpan {
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset one past the end.
    pub end: usize,
    /// Line of the start.
    pub line: usize,
    /// Column of the start.
    pub column: usize,
    /// Line of the end.
    pub end_line: usize,
    /// Column of the end.
    pub end_column: usize,
}

impl JsonDiagnostic {
    /// The JSON form of `diagnostic` in `source`.
    pub fn new(diagnostic: &Diagnostic, source: &Source) -> Self {
        let span = diagnostic.span().map(|span| {
            let (line, column) = source.line_column(span.start);
            let (end_line, end_column) = source.line_column(span.end);
            JsonSpan { start: span.start, end: span.end, line, column, end_line, end_column }
        });
        Self {
            file: source.name(),
            code: diagnostic.code,
            severity: diagnostic.severity,
            message: diagnostic.message.clone(),
            span,
            label: diagnostic.labels.first().map(|label| label.text.clone()),
            help: diagnostic.help.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<&str> {
        code_span_words(line).map(|word| word.word).collect()
    }

    #[test]
    fn code_spans_are_one_word() {
        assert_eq!(words("e.g. `notify-send night` on end"), ["e.g.", "`notify-send night`", "on", "end"]);
        assert_eq!(words("`a b`, `c`"), ["`a b`,", "`c`"]);
        assert_eq!(words("an unclosed `x y"), ["an", "unclosed", "`x", "y"]);
        let long = format!("`{}`", "word ".repeat(20).trim_end());
        assert_eq!(words(&long).len(), 20, "a long span may wrap at its spaces");
    }

    #[test]
    fn help_never_wraps_inside_a_short_code_span() {
        let source = Source::new("x.night", "x\n");
        let diagnostic = Diagnostic::error(Code::NotifyMissing, "nobody is told")
            .help("Add a notifier that fires at the end, e.g. `notify { command \"notify-send night \\\"$NIGHT_OUTCOME\\\"\" on end }`, or `waive notify-missing \"…\"`.");
        let text = render(&diagnostic, &source, RenderOptions::default());
        assert!(text.contains("`notify { command \"notify-send night \\\"$NIGHT_OUTCOME\\\"\" on end }`"), "{text}");
        assert!(text.contains("`waive notify-missing \"…\"`"), "{text}");
    }
}
