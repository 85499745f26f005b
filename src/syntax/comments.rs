//! Comments: the grammar drops them (`COMMENT` is silent, so the parser stays generic), and
//! `night fmt` and the language server find them again from the statement tree's spans.

use super::tree::Statement;
use crate::source::Span;

/// A `# …` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// From the `#` to the end of the line, the line break excluded.
    pub span: Span,
    /// The text, `#` included, trailing whitespace removed.
    pub text: String,
}

/// Every comment of `text`, in source order, given the statements it parsed into.
///
/// Between two tokens of a runbook that parses there is only whitespace, `;`, braces and
/// comments, so every `#` found outside the tokens' spans starts a comment.
pub fn comments(text: &str, statements: &[Statement]) -> Vec<Comment> {
    let mut tokens = Vec::new();
    collect_tokens(statements, &mut tokens);
    tokens.sort_by_key(|span| span.start);
    let mut found = Vec::new();
    let mut position = 0;
    for token in tokens.iter().chain(std::iter::once(&Span::new(text.len(), text.len()))) {
        let mut cursor = position;
        while let Some(offset) = text.get(cursor..token.start).and_then(|gap| gap.find('#')) {
            let start = cursor + offset;
            let end = text[start..].find(['\n', '\r']).map_or(text.len(), |i| start + i);
            found.push(Comment { span: Span::new(start, end), text: text[start..end].trim_end().to_string() });
            cursor = end;
        }
        position = position.max(token.end);
    }
    found
}

/// The spans of every head and argument, nested blocks included.
pub(crate) fn collect_tokens(statements: &[Statement], out: &mut Vec<Span>) {
    for statement in statements {
        out.push(statement.head.span);
        out.extend(statement.arguments.iter().map(|argument| argument.span));
        if let Some(block) = &statement.block {
            collect_tokens(&block.value, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_statements;

    fn texts(text: &str) -> Vec<String> {
        let (statements, _) = parse_statements(text).expect("parses");
        comments(text, &statements).into_iter().map(|c| c.text).collect()
    }

    #[test]
    fn finds_own_line_trailing_and_block_comments() {
        let text = "# head\nlimits { # open\n  timeout 7h   # trailing  \n  # inside\n} # close\n# end";
        assert_eq!(texts(text), ["# head", "# open", "# trailing", "# inside", "# close", "# end"]);
    }

    #[test]
    fn ignores_hashes_in_strings_regexes_and_block_strings() {
        let text = "task {\n  prompt \"\"\"\n    # not a comment\n  \"\"\" # yes\n}\nsuccess { count /a#b/ in \"echo #x\" < 1 }\n";
        assert_eq!(texts(text), ["# yes"]);
    }

    #[test]
    fn comment_spans_stop_at_the_line_end() {
        let text = "name \"x\" # a\r\n# b";
        let (statements, _) = parse_statements(text).expect("parses");
        let found = comments(text, &statements);
        assert_eq!(&text[found[0].span.start..found[0].span.end], "# a");
        assert_eq!(&text[found[1].span.start..found[1].span.end], "# b");
    }
}
