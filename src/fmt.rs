//! `night fmt`: a runbook rewritten in canonical form, with every comment kept.
//!
//! The canonical form: top-level statements in the order of LANGUAGE.md §3 (`name`, `task`,
//! `success`, `permissions`, `limits`, `rollback`, `notify`, `deliver`, `waive`, then anything unknown),
//! a blank line between top-level blocks, two-space indentation, one statement per line, one
//! space between arguments, tokens written as in the source (so escapes stay as typed), block
//! strings re-indented under their statement with their value unchanged, single blank lines
//! kept inside blocks, own-line comments kept above the statement that follows them, trailing
//! comments kept on their line and aligned to one column in each run of lines.

use crate::diagnostic::Diagnostic;
use crate::syntax::{self, ArgumentKind, Comment, Statement, TOP_LEVEL};
use std::collections::HashMap;
use unicode_width::UnicodeWidthStr;

const INDENT: &str = "  ";

/// Format a runbook. A text that does not parse is returned as its syntax diagnostic.
pub fn format(text: &str) -> Result<String, Box<Diagnostic>> {
    let (statements, _) = syntax::parse_statements(text)?;
    Ok(format_statements(text, &statements))
}

/// Format a runbook already parsed into its statement tree (by [`syntax::parse_statements`]).
pub fn format_statements(text: &str, statements: &[Statement]) -> String {
    let comments = syntax::comments(text, statements);
    let mut writer = Writer { text, attached: attach(text, statements, &comments), lines: Vec::new(), closing_as_written: false };
    writer.runbook(statements);
    render(&writer.lines)
}

/// Whether formatting would change `text` (false when it does not parse).
pub fn is_formatted(text: &str) -> bool {
    format(text).is_ok_and(|formatted| formatted == text)
}

// ------------------------------------------------------------ attachment --

/// The key of the top level in the attachment map (statements are keyed by their start).
const TOP: usize = usize::MAX;

/// An own-line comment, and whether a blank line came before it in the source.
#[derive(Debug, Clone)]
struct OwnLine {
    text: String,
    blank_before: bool,
}

/// The comments that belong to one statement (or, under `TOP`, to the end of the file).
#[derive(Debug, Default)]
struct Attached {
    /// Own-line comments above the statement.
    leading: Vec<OwnLine>,
    /// Comments at the end of the statement's last line (for a block: after its `}`).
    trailing: Vec<String>,
    /// Comments after the block's `{` on the same line.
    open: Vec<String>,
    /// Own-line comments after the block's last statement, before its `}`.
    end: Vec<OwnLine>,
    /// A blank line between the statement (or its first leading comment) and what came before.
    blank_before: bool,
    /// A blank line between the last leading comment and the statement.
    blank_after_leading: bool,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Trailing(usize),
    Open(usize),
}

/// Give every comment its place: after a token on the same line it trails that token's
/// statement; on a line of its own it leads the next statement of its block, or ends the block.
fn attach(text: &str, statements: &[Statement], comments: &[Comment]) -> HashMap<usize, Attached> {
    let mut anchors: Vec<(usize, Slot)> = Vec::new();
    collect_anchors(statements, &mut anchors);
    anchors.sort_by_key(|(end, _)| *end);
    let mut ends: Vec<usize> = anchors.iter().map(|(end, _)| *end).chain(comments.iter().map(|c| c.span.end)).collect();
    ends.sort_unstable();
    let blank_before = |position: usize| {
        let previous = ends.partition_point(|end| *end <= position).checked_sub(1).map_or(0, |i| ends[i]);
        has_blank_line(text.get(previous..position).unwrap_or(""))
    };

    let mut attached: HashMap<usize, Attached> = HashMap::new();
    for comment in comments {
        let start = comment.span.start;
        let before = anchors.partition_point(|(end, _)| *end <= start);
        let same_line = before
            .checked_sub(1)
            .map(|i| anchors[i])
            .filter(|(end, _)| !text.get(*end..start).unwrap_or("\n").contains(['\n', '\r']));
        match same_line {
            Some((_, Slot::Trailing(key))) => attached.entry(key).or_default().trailing.push(comment.text.clone()),
            Some((_, Slot::Open(key))) => attached.entry(key).or_default().open.push(comment.text.clone()),
            None => {
                let own = OwnLine { text: comment.text.clone(), blank_before: blank_before(start) };
                match owner(statements, start) {
                    (_, Some(next)) => attached.entry(next).or_default().leading.push(own),
                    (container, None) => attached.entry(container).or_default().end.push(own),
                }
            }
        }
    }
    mark_blank_lines(statements, &mut attached, &blank_before);
    attached
}

/// Each token ends on a trailing slot (or, before a block, the block's opening line); `{`
/// opens, `}` closes a block, and a comment after `}` trails the whole statement.
fn collect_anchors(statements: &[Statement], out: &mut Vec<(usize, Slot)>) {
    for statement in statements {
        let key = statement.span.start;
        let slot = if statement.block.is_some() { Slot::Open(key) } else { Slot::Trailing(key) };
        out.push((statement.head.span.end, slot));
        out.extend(statement.arguments.iter().map(|argument| (argument.span.end, slot)));
        if let Some(block) = &statement.block {
            out.push((block.span.start + 1, Slot::Open(key)));
            collect_anchors(&block.value, out);
            out.push((block.span.end, Slot::Trailing(key)));
        }
    }
}

/// The innermost block containing `position` (`TOP` for the file) and its next statement.
fn owner(statements: &[Statement], position: usize) -> (usize, Option<usize>) {
    let mut container = TOP;
    let mut list = statements;
    loop {
        let inside = list.iter().find(|s| s.block.as_ref().is_some_and(|b| b.span.start < position && position < b.span.end));
        match inside.and_then(|s| s.block.as_ref().map(|b| (s.span.start, &b.value))) {
            Some((key, children)) => {
                container = key;
                list = children;
            }
            None => return (container, list.iter().find(|s| s.span.start > position).map(|s| s.span.start)),
        }
    }
}

fn mark_blank_lines(statements: &[Statement], attached: &mut HashMap<usize, Attached>, blank_before: &dyn Fn(usize) -> bool) {
    for statement in statements {
        let entry = attached.entry(statement.span.start).or_default();
        let own = blank_before(statement.span.start);
        entry.blank_before = entry.leading.first().map_or(own, |first| first.blank_before);
        entry.blank_after_leading = !entry.leading.is_empty() && own;
        if let Some(block) = &statement.block {
            mark_blank_lines(&block.value, attached, blank_before);
        }
    }
}

/// True when the text between two items holds an empty line (`;` alone counts as empty).
fn has_blank_line(gap: &str) -> bool {
    let lines: Vec<&str> = gap.split('\n').collect();
    lines.len() > 2 && lines[1..lines.len() - 1].iter().any(|line| line.trim_matches([' ', '\t', '\r', ';']).is_empty())
}

// ---------------------------------------------------------------- writing --

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A statement line, or a block's closing `}`: may carry an aligned trailing comment.
    Code,
    /// An own-line comment.
    Comment,
    /// A line inside a block string, written as is (its indentation included).
    Verbatim,
    Blank,
}

#[derive(Debug)]
struct Line {
    kind: Kind,
    depth: usize,
    text: String,
    comment: Option<String>,
}

struct Writer<'a> {
    text: &'a str,
    attached: HashMap<usize, Attached>,
    lines: Vec<Line>,
    /// The next code line starts with a block string's closing line kept as written, so it
    /// gets no indentation.
    closing_as_written: bool,
}

impl Writer<'_> {
    fn push(&mut self, kind: Kind, depth: usize, text: impl Into<String>) {
        self.lines.push(Line { kind, depth, text: text.into(), comment: None });
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|line| line.kind != Kind::Blank) {
            self.push(Kind::Blank, 0, "");
        }
    }

    fn own_lines(&mut self, comments: &[OwnLine], depth: usize, blank_first: bool) {
        for (index, comment) in comments.iter().enumerate() {
            if comment.blank_before && (index > 0 || blank_first) {
                self.blank();
            }
            self.push(Kind::Comment, depth, comment.text.clone());
        }
    }

    fn runbook(&mut self, statements: &[Statement]) {
        // Comments at the top of the file, cut from the first statement by a blank line, are
        // the file's header: they stay on top when the blocks are reordered.
        if let Some(first) = statements.first() {
            let entry = self.attached.entry(first.span.start).or_default();
            let cut = if entry.blank_after_leading {
                Some(entry.leading.len())
            } else {
                (1..entry.leading.len()).rev().find(|i| entry.leading[*i].blank_before)
            };
            if let Some(cut) = cut {
                let header: Vec<OwnLine> = entry.leading.drain(..cut).collect();
                entry.blank_after_leading &= !entry.leading.is_empty();
                entry.blank_before = true;
                self.own_lines(&header, 0, false);
            }
        }
        let mut ordered: Vec<&Statement> = statements.iter().collect();
        ordered.sort_by_key(|statement| TOP_LEVEL.iter().position(|head| *head == statement.head.value).unwrap_or(TOP_LEVEL.len()));
        let mut previous: Option<&Statement> = None;
        for statement in ordered {
            let blank_before = self.attached.get(&statement.span.start).is_some_and(|a| a.blank_before);
            let grouped = previous.is_some_and(|p| p.head.value == statement.head.value && p.block.is_none() && statement.block.is_none());
            if !self.lines.is_empty() && (!grouped || blank_before) {
                self.blank();
            }
            self.statement(statement, 0);
            previous = Some(statement);
        }
        let end = self.attached.remove(&TOP).map(|a| a.end).unwrap_or_default();
        let had_lines = !self.lines.is_empty();
        self.own_lines(&end, 0, had_lines);
    }

    fn statement(&mut self, statement: &Statement, depth: usize) {
        let attached = self.attached.remove(&statement.span.start).unwrap_or_default();
        self.own_lines(&attached.leading, depth, false);
        if attached.blank_after_leading {
            self.blank();
        }
        let mut line = statement.head.value.clone();
        for argument in &statement.arguments {
            line.push(' ');
            self.argument(argument, &mut line, depth);
        }
        let mut trailing = attached.trailing.into_iter();
        match &statement.block {
            None => self.code(depth, line, trailing.next()),
            Some(block) if block.value.is_empty() && attached.open.is_empty() && attached.end.is_empty() => {
                line.push_str(" {}");
                self.code(depth, line, trailing.next());
            }
            Some(block) => {
                line.push_str(" {");
                let mut open = attached.open.into_iter();
                self.code(depth, line, open.next());
                for extra in open {
                    self.push(Kind::Comment, depth + 1, extra);
                }
                for (index, child) in block.value.iter().enumerate() {
                    let blank = self.attached.get(&child.span.start).is_some_and(|a| a.blank_before);
                    if index > 0 && blank {
                        self.blank();
                    }
                    self.statement(child, depth + 1);
                }
                self.own_lines(&attached.end, depth + 1, !block.value.is_empty());
                self.code(depth, "}".to_string(), trailing.next());
            }
        }
        // Two trailing comments for one statement cannot be written in a runbook that parses;
        // should it happen anyway, the comment is kept on its own line rather than lost.
        for extra in trailing {
            self.push(Kind::Comment, depth, extra);
        }
    }

    fn code(&mut self, depth: usize, text: String, comment: Option<String>) {
        let depth = if std::mem::take(&mut self.closing_as_written) { 0 } else { depth };
        self.lines.push(Line { kind: Kind::Code, depth, text, comment });
    }

    /// Append an argument to the current line; a block string over several lines ends the
    /// line and leaves `"""` to start the next one.
    fn argument(&mut self, argument: &syntax::Argument, line: &mut String, depth: usize) {
        let written = &self.text[argument.span.start..argument.span.end];
        let ArgumentKind::BlockString(value) = &argument.kind else {
            line.push_str(written);
            return;
        };
        if !written.contains(['\n', '\r']) {
            line.push_str(written);
            return;
        }
        let pad = INDENT.repeat(depth + 1);
        let inner: Vec<String> = value.split('\n').map(|l| if l.is_empty() { String::new() } else { format!("{pad}{l}") }).collect();
        let rebuilt = format!("\n{}\n{}", inner.join("\n"), INDENT.repeat(depth));
        line.push_str("\"\"\"");
        if syntax::dedent(&rebuilt) == *value {
            self.code(depth, std::mem::take(line), None);
            for content in inner {
                self.push(Kind::Verbatim, 0, content);
            }
        } else {
            // A value that re-indenting would change (a stray `\r`, say) is kept as written.
            let body = &written[3..written.len() - 3];
            let mut body_lines = body.split('\n');
            line.push_str(body_lines.next().unwrap_or(""));
            let rest: Vec<&str> = body_lines.collect();
            self.code(depth, std::mem::take(line), None);
            if let Some((last, middle)) = rest.split_last() {
                for content in middle {
                    self.push(Kind::Verbatim, 0, *content);
                }
                // A blank closing line adds nothing to the value: the closing quotes go at the
                // statement's indentation. Any other is kept exactly as written, since
                // indenting it could change the value.
                if !last.trim().is_empty() {
                    line.push_str(last);
                    self.closing_as_written = true;
                }
            }
        }
        line.push_str("\"\"\"");
    }
}

/// Join the lines, aligning trailing comments: within a run of consecutive statement lines at
/// one depth, every trailing comment starts two columns after the longest commented line.
fn render(lines: &[Line]) -> String {
    let width = |line: &Line| INDENT.len() * line.depth + line.text.width();
    let mut columns = vec![0; lines.len()];
    let mut start = 0;
    while start < lines.len() {
        let mut end = start + 1;
        if lines[start].kind == Kind::Code {
            while end < lines.len() && lines[end].kind == Kind::Code && lines[end].depth == lines[start].depth {
                end += 1;
            }
            let column = lines[start..end].iter().filter(|l| l.comment.is_some()).map(width).max().unwrap_or(0) + 2;
            columns[start..end].iter_mut().for_each(|c| *c = column);
        }
        start = end;
    }
    let mut out = String::new();
    let mut previous_blank = true;
    for (line, column) in lines.iter().zip(columns) {
        let blank = line.kind == Kind::Blank;
        if blank && previous_blank {
            continue;
        }
        previous_blank = blank;
        match line.kind {
            Kind::Blank => {}
            Kind::Verbatim => out.push_str(&line.text),
            Kind::Code | Kind::Comment => {
                out.push_str(&INDENT.repeat(line.depth));
                out.push_str(&line.text);
                if let Some(comment) = &line.comment {
                    out.push_str(&" ".repeat(column.saturating_sub(width(line)).max(1)));
                    out.push_str(comment);
                }
            }
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format;

    fn fmt(text: &str) -> String {
        format(text).expect("parses")
    }

    #[test]
    fn splits_statements_and_indents() {
        assert_eq!(fmt("limits {   timeout 7h;attempts   5 }"), "limits {\n  timeout 7h\n  attempts 5\n}\n");
    }

    #[test]
    fn orders_the_top_level() {
        let text = "waive no-rollback \"x\"\nlimits { timeout 1h }\nname \"a\"\n";
        assert_eq!(fmt(text), "name \"a\"\n\nlimits {\n  timeout 1h\n}\n\nwaive no-rollback \"x\"\n");
    }

    #[test]
    fn keeps_comments_in_place() {
        let text = "# header\n\n# about limits\nlimits { # open\n  timeout 7h # long\n  attempts 5     # a\n  # end\n} # close\n# tail\n";
        let expected = "# header\n\n# about limits\nlimits {  # open\n  timeout 7h  # long\n  attempts 5  # a\n  # end\n}  # close\n# tail\n";
        assert_eq!(fmt(text), expected);
    }

    #[test]
    fn reindents_block_strings_without_changing_them() {
        let text = "task {\nprompt \"\"\"\n        line one\n          indented\n\n        last\n   \"\"\"\n}\n";
        assert_eq!(fmt(text), "task {\n  prompt \"\"\"\n    line one\n      indented\n\n    last\n  \"\"\"\n}\n");
    }

    #[test]
    fn refuses_a_syntax_error() {
        assert!(format("limits {").is_err());
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\n\n# a\n\n\n# b\n\n"), "# a\n\n# b\n");
    }

    #[test]
    fn crlf_becomes_lf_and_keeps_everything() {
        let text = "limits {\r\n  timeout 1h # a\r\n\r\n  attempts 2\r\n}\r\ntask {\r\n  prompt \"\"\"\r\n    x\r\n  \"\"\"\r\n}\r\n";
        assert_eq!(fmt(text), "task {\n  prompt \"\"\"\n    x\n  \"\"\"\n}\n\nlimits {\n  timeout 1h  # a\n\n  attempts 2\n}\n");
    }

    #[test]
    fn a_comment_after_a_block_string_stays_on_its_closing_line() {
        let text = "success {\n  run \"\"\"\n  ./a.sh\n  \"\"\" within 5m # slow\n  committed # done\n}\n";
        assert_eq!(fmt(text), "success {\n  run \"\"\"\n    ./a.sh\n  \"\"\" within 5m  # slow\n  committed      # done\n}\n");
    }

    #[test]
    fn unknown_statements_go_last_in_their_order() {
        let text = "zzz 1\nlimits { timeout 1h }\naaa 2\n";
        assert_eq!(fmt(text), "limits {\n  timeout 1h\n}\n\nzzz 1\n\naaa 2\n");
    }

    #[test]
    fn a_comment_above_the_first_statement_travels_with_it() {
        let text = "# about limits\nlimits { timeout 1h }\nname \"x\"\n";
        assert_eq!(fmt(text), "name \"x\"\n\n# about limits\nlimits {\n  timeout 1h\n}\n");
    }
}
