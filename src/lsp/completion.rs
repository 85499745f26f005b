//! What may be typed at the cursor. Text being typed rarely parses, so this reads the text
//! before the cursor with a small tolerant scanner instead of the grammar: which blocks are
//! open, and which words the current statement has so far.

use crate::ast::{AgentKind, Event, Forge, Outcome, TestFormat};
use crate::diagnostic::Code;
use crate::syntax;

/// A token of the statement under the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A bare word (keywords, values, rule codes).
    Word(String),
    /// `<`, `<=`, `>`, `>=`, `==`.
    Comparison,
    /// A string, block string, regex, number, amount or env reference.
    Value,
}

/// Where the cursor stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The heads of the open blocks, outermost first (`None` for a block without a head word).
    pub blocks: Vec<Option<String>>,
    /// The complete tokens of the current statement before the cursor.
    pub tokens: Vec<Token>,
    /// The part of a word typed just before the cursor.
    pub prefix: String,
}

/// Read the text before `offset`; `None` inside a comment, a string or a regex.
pub fn cursor(text: &str, offset: usize) -> Option<Cursor> {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let bytes = before.as_bytes();
    let mut blocks: Vec<Option<String>> = Vec::new();
    let mut tokens: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'\n' | b'\r' | b';' => {
                tokens.clear();
                i += 1;
            }
            b'#' => match before[i..].find(['\n', '\r']) {
                Some(end) => i += end,
                None => return None,
            },
            b'"' if before[i..].starts_with("\"\"\"") => match before[i + 3..].find("\"\"\"") {
                Some(end) => {
                    tokens.push(Token::Value);
                    i += 3 + end + 3;
                }
                None => return None,
            },
            b'"' | b'/' => {
                let quote = bytes[i];
                let mut j = i + 1;
                loop {
                    match bytes.get(j) {
                        None => return None,
                        Some(b'\\') => j += 2,
                        Some(b'\n' | b'\r') => break,
                        Some(c) if *c == quote => {
                            j += 1;
                            break;
                        }
                        Some(_) => j += 1,
                    }
                }
                tokens.push(Token::Value);
                i = j;
            }
            b'{' => {
                blocks.push(match tokens.first() {
                    Some(Token::Word(head)) => Some(head.clone()),
                    _ => None,
                });
                tokens.clear();
                i += 1;
            }
            b'}' => {
                blocks.pop();
                tokens.clear();
                i += 1;
            }
            _ => {
                let end = before[i..].find([' ', '\t', '\n', '\r', ';', '{', '}', '#', '"']).map_or(before.len(), |e| i + e);
                let word = &before[i..end];
                tokens.push(if word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && !word.starts_with("env.") {
                    Token::Word(word.to_string())
                } else if word.starts_with(['<', '>', '=']) {
                    Token::Comparison
                } else {
                    Token::Value
                });
                i = end.max(i + 1);
            }
        }
    }
    // A word that reaches the cursor is still being typed.
    let mut prefix = String::new();
    if before.ends_with(|c: char| !matches!(c, ' ' | '\t' | '\n' | '\r' | ';' | '{' | '}' | '"' | '/')) {
        if let Some(Token::Word(word)) = tokens.pop() {
            prefix = word;
        }
    }
    Some(Cursor { blocks, tokens, prefix })
}

/// What a completion offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// A statement keyword.
    Statement(&'static str),
    /// A word after a statement's keyword (agent kinds, formats, events, connecting words).
    Value(&'static str),
    /// A checklist rule code after `waive`.
    Rule(Code),
}

/// The words valid at the cursor.
pub fn offers(cursor: &Cursor) -> Vec<Offer> {
    let block = match cursor.blocks.last() {
        None => Some(""),
        Some(head) => head.as_deref(),
    };
    let Some(block) = block else { return Vec::new() };
    let Some(first) = cursor.tokens.first() else {
        return statements(block).iter().map(|word| Offer::Statement(word)).collect();
    };
    let Token::Word(head) = first else { return Vec::new() };
    let args = &cursor.tokens[1..];
    if block.is_empty() && head == "waive" && args.is_empty() {
        return Code::ALL.iter().copied().filter(|code| code.is_checklist_rule()).map(Offer::Rule).collect();
    }
    values(block, head, args).iter().map(|word| Offer::Value(word)).collect()
}

/// The statements a block accepts (`""` is the top level).
fn statements(block: &str) -> &'static [&'static str] {
    match block {
        "" => syntax::TOP_LEVEL,
        "task" => syntax::TASK,
        "agent" => syntax::AGENT,
        "success" => syntax::SUCCESS,
        "permissions" => syntax::PERMISSIONS,
        "limits" => syntax::LIMITS,
        "rollback" => syntax::ROLLBACK,
        "notify" => syntax::NOTIFY,
        "deliver" => syntax::DELIVER,
        _ => &[],
    }
}

const EVENTS: &[&str] = &["start", "attempt", "commit", "success", "failure", "stuck", "rollback", "violation", "end"];

/// The words that may follow `head` and the arguments so far.
fn values(block: &str, head: &str, args: &[Token]) -> Vec<&'static str> {
    let last = args.last();
    let last_word = match last {
        Some(Token::Word(word)) => Some(word.as_str()),
        _ => None,
    };
    let has = |word: &str| args.iter().any(|a| matches!(a, Token::Word(w) if w == word));
    let unused = |words: &[&'static str]| words.iter().copied().filter(|w| !has(w)).collect::<Vec<_>>();
    let first = args.is_empty();
    match (block, head) {
        ("task", "prompt") if first => vec!["file"],
        ("task", "agent") if first => AgentKind::NAMES.to_vec(),
        ("task", "worktree") if first => vec!["on", "off"],
        ("success", "tests") if last_word == Some("format") => TestFormat::NAMES.to_vec(),
        ("success", "tests") if last_word == Some("allow") => vec!["lost"],
        ("success", "tests") if !first && !matches!(last_word, Some("within" | "lost")) => unused(&["format", "within", "allow"]),
        ("success", "run") if !first && !matches!(last_word, Some("within" | "matches")) => unused(&["matches", "within"]),
        ("success", "count") if args.len() == 1 => vec!["in"],
        ("success", "count") | ("rollback", "when") if last == Some(&Token::Comparison) => vec!["baseline"],
        ("rollback", "when") if first => vec!["failing", "passing"],
        ("rollback", "to") if first => vec!["start", "last-green"],
        ("rollback", "then") if first => vec!["stop", "retry"],
        ("permissions", "deny") if first => vec!["irreversible"],
        ("permissions", "network") if first => vec!["auto", "off", "on", "allow"],
        ("permissions", "sandbox") if first => vec!["auto", "on", "off"],
        ("permissions", "on") if first => vec!["violation"],
        ("permissions", "on") if last_word == Some("violation") => vec!["revert", "stop"],
        ("limits", "quota") if first => vec!["wait"],
        ("notify", channel) if syntax::NOTIFY.contains(&channel) && !first => {
            if has("on") {
                return EVENTS.iter().copied().filter(|event| !has(event) && Event::from_name(event).is_some()).collect();
            }
            match (channel, last_word) {
                ("email" | "sms", _) if args.len() == 1 => vec!["via"],
                ("sms", Some("via")) => vec!["twilio"],
                ("sms", _) if has("twilio") && !has("from") => {
                    let after = args.iter().position(|a| matches!(a, Token::Word(w) if w == "twilio")).map_or(0, |i| args.len() - i - 1);
                    if after == 2 { vec!["from"] } else { Vec::new() }
                }
                ("ntfy", _) if args.len() == 1 => vec!["server", "on"],
                // An sms without its `from` yet, or a value still to come after a connecting word.
                ("sms", _) if !has("from") => Vec::new(),
                (_, Some("server" | "via" | "from" | "twilio")) => Vec::new(),
                _ => vec!["on"],
            }
        }
        ("deliver", "pull-request") if first => Forge::ALL.iter().map(|forge| forge.name()).collect(),
        ("deliver", "push") if !first => delivery_options(args, &["on", "attempts"]),
        ("deliver", "pull-request") if args.len() >= 2 => {
            if matches!(last_word, Some("token" | "base" | "api" | "labels" | "reviewers")) {
                return Vec::new();
            }
            delivery_options(args, &["token", "base", "api", "on", "draft", "labels", "reviewers"])
        }
        _ => Vec::new(),
    }
}

/// After `push "…"` or `pull-request … "…"`: the run outcomes after `on`, else the options
/// not written yet.
fn delivery_options(args: &[Token], options: &[&'static str]) -> Vec<&'static str> {
    let has = |word: &str| args.iter().any(|a| matches!(a, Token::Word(w) if w == word));
    let outcomes = || Outcome::DELIVERABLE.iter().map(|o| o.name()).filter(|name| !has(name));
    let unused = || options.iter().copied().filter(|w| !has(w));
    match args.last() {
        Some(Token::Word(word)) if word == "on" => outcomes().collect(),
        Some(Token::Word(word)) if has("on") && Outcome::from_name(word).is_some() => outcomes().chain(unused()).collect(),
        _ => unused().collect(),
    }
}

/// The word under the cursor and its byte range, for hover: letters, digits, `_`, `-`, and
/// `env.` references as one word. `None` inside a comment or a string.
pub fn word_at(text: &str, offset: usize) -> Option<(String, usize, usize)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let start = text[..offset].rfind(|c: char| !is_word(c)).map_or(0, |i| i + 1);
    let end = text[offset..].find(|c: char| !is_word(c)).map_or(text.len(), |i| offset + i);
    let word = &text[start..end];
    // Check the context just before the word: not in a comment, string or regex.
    cursor(text, start)?;
    (!word.is_empty() && word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')).then(|| (word.to_string(), start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(text_with_bar: &str) -> Vec<String> {
        let offset = text_with_bar.find('|').expect("a cursor");
        let text = text_with_bar.replacen('|', "", 1);
        let Some(cursor) = cursor(&text, offset) else { return vec!["<none>".into()] };
        offers(&cursor)
            .into_iter()
            .map(|offer| match offer {
                Offer::Statement(word) | Offer::Value(word) => word.to_string(),
                Offer::Rule(code) => code.name().to_string(),
            })
            .collect()
    }

    #[test]
    fn statements_of_the_block_at_the_cursor() {
        assert!(offered("limits { | }").contains(&"attempts".into()));
        assert!(!offered("limits { | }").contains(&"prompt".into()));
        assert_eq!(offered("|")[0], "name");
        assert_eq!(offered("task {\n  agent claude {\n    mo|\n"), syntax::AGENT);
        assert_eq!(offered("task { agent claude { model \"x\" }\n  |"), syntax::TASK);
        assert_eq!(offered("limits { timeout 1h }\n|"), syntax::TOP_LEVEL);
        assert_eq!(offered("limits { timeout 1h; |"), syntax::LIMITS);
    }

    #[test]
    fn values_after_a_statement() {
        assert_eq!(offered("task {\n  agent |"), AgentKind::NAMES);
        assert_eq!(offered("success {\n  tests \"x\" format |"), TestFormat::NAMES);
        assert_eq!(offered("success {\n  tests \"x\" format cargo |"), ["within", "allow"]);
        assert_eq!(offered("success {\n  tests \"x\" allow |"), ["lost"]);
        assert_eq!(offered("permissions {\n  network |"), ["auto", "off", "on", "allow"]);
        assert_eq!(offered("notify {\n  slack env.X on end |"), ["start", "attempt", "commit", "success", "failure", "stuck", "rollback", "violation"]);
        assert_eq!(offered("notify {\n  slack env.X |"), ["on"]);
        assert_eq!(offered("notify {\n  sms \"+1\" via twilio env.A env.B |"), ["from"]);
        assert_eq!(offered("rollback {\n  when failing > |"), ["baseline"]);
        assert_eq!(offered("success { count /x/ |"), ["in"]);
        assert_eq!(offered("deliver {\n  pull-request |"), ["github", "gitlab", "gitea", "forgejo"]);
        assert_eq!(offered("deliver {\n  push \"origin\" |"), ["on", "attempts"]);
        assert_eq!(offered("deliver { push \"origin\" on success |"), ["failed", "stuck", "rolled-back", "timeout", "budget", "interrupted", "attempts"]);
        assert_eq!(offered("deliver { pull-request github \"a/b\" token |"), Vec::<String>::new());
        assert!(offered("deliver { pull-request github \"a/b\" token env.T |").contains(&"draft".into()));
        assert!(offered("|").contains(&"deliver".into()));
        assert!(offered("waive |").contains(&"no-rollback".into()));
        assert!(!offered("waive |").contains(&"syntax".into()));
    }

    #[test]
    fn nothing_inside_comments_and_strings() {
        assert_eq!(offered("# limits { |"), ["<none>"]);
        assert_eq!(offered("task { prompt \"do |"), ["<none>"]);
        assert_eq!(offered("task { prompt \"\"\"\n  do |"), ["<none>"]);
        assert_eq!(offered("success { count /a |"), ["<none>"]);
        assert!(offered("task { prompt \"a # b\"\n  |").contains(&"agent".into()));
    }

    #[test]
    fn the_word_under_the_cursor() {
        let text = "limits {\n  timeout 7h # timeout\n}\nnotify { slack env.URL }";
        let at = |needle: &str| text.find(needle).expect("found") + 2;
        assert_eq!(word_at(text, at("timeout")).map(|w| w.0), Some("timeout".into()));
        assert_eq!(word_at(text, at("# timeout") + 3), None);
        assert_eq!(word_at(text, at("env.URL")).map(|w| w.0), Some("env.URL".into()));
        assert_eq!(word_at(text, at("7h")), None);
    }
}
