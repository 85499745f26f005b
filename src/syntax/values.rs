//! Reading the lexical values: escapes, block strings, integers, durations, money, regexes.

use crate::ast::{Money, Regex};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use std::time::Duration;

/// Process the escapes of a `"…"` string; `start` is the byte offset of its first character.
pub fn unescape(text: &str, start: usize) -> Result<String, Diagnostic> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escape_start = start + index;
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'u')) => {
                let mut hex = String::new();
                let mut closed = false;
                let mut end = escape_start + 2;
                if chars.peek().map(|(_, c)| *c) == Some('{') {
                    chars.next();
                    end += 1;
                    for (i, c) in chars.by_ref() {
                        end = start + i + c.len_utf8();
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        hex.push(c);
                    }
                }
                let scalar = u32::from_str_radix(&hex, 16).ok().filter(|_| closed && hex.len() <= 6).and_then(char::from_u32);
                match scalar {
                    Some(c) => out.push(c),
                    None => {
                        return Err(Diagnostic::error(Code::BadString, "invalid unicode escape")
                            .label(Span::new(escape_start, end), "expected `\\u{…}` with 1 to 6 hex digits")
                            .help("Write a unicode character as `\\u{1F319}`, or type it directly."));
                    }
                }
            }
            Some((i, other)) => {
                let end = start + i + other.len_utf8();
                return Err(Diagnostic::error(Code::BadString, format!("unknown escape `\\{other}`"))
                    .label(Span::new(escape_start, end), "not a valid escape")
                    .help("Strings know `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{…}`; write a backslash as `\\\\`, or use a block string `\"\"\"…\"\"\"`, which has no escapes."));
            }
            None => {
                return Err(Diagnostic::error(Code::BadString, "a string cannot end with a lone backslash")
                    .label(Span::new(escape_start, escape_start + 1), "lone backslash")
                    .help("Write a backslash as `\\\\`."));
            }
        }
    }
    Ok(out)
}

/// A block string's text: the first and last blank lines and the common indentation removed.
pub fn dedent(text: &str) -> String {
    let mut lines: Vec<&str> = text.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).collect();
    if lines.first().is_some_and(|line| line.trim().is_empty()) {
        lines.remove(0);
    }
    if lines.last().is_some_and(|line| line.trim().is_empty()) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        // At most `indent` spaces and tabs go: a blank line may be shorter, or hold other
        // white space (`\u{3000}`) that a byte offset would cut in two.
        .map(|line| &line[(line.len() - line.trim_start_matches([' ', '\t']).len()).min(indent)..])
        .collect::<Vec<_>>()
        .join("\n")
}

/// An integer like `300`, `2_000_000`, `500k`, `3M`.
pub fn integer(text: &str, span: Span) -> Result<u64, Diagnostic> {
    let bad = |message: String| {
        Diagnostic::error(Code::BadNumber, message)
            .label(span, "not a valid integer")
            .help("Write whole numbers like `300`, `2_000_000`, `500k` (thousand) or `3M` (million).")
    };
    let (digits, multiplier) = match text.as_bytes().last() {
        Some(b'k') => (&text[..text.len() - 1], 1_000),
        Some(b'M') => (&text[..text.len() - 1], 1_000_000),
        _ => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') || digits.ends_with('_') {
        if looks_like_duration(text) {
            return Err(bad(format!("expected a number, found the duration `{text}`")));
        }
        return Err(bad(format!("`{text}` is not a number")));
    }
    let value: u64 = digits.replace('_', "").parse().map_err(|_| bad(format!("`{text}` is too large")))?;
    value.checked_mul(multiplier).ok_or_else(|| bad(format!("`{text}` is too large")))
}

fn looks_like_duration(text: &str) -> bool {
    text.bytes().any(|b| matches!(b, b'h' | b's')) || (text.ends_with('m') && !text.ends_with("M"))
}

/// A duration like `90s`, `45m`, `6h`, `2h30m`.
pub fn duration(text: &str, span: Span) -> Result<Duration, Diagnostic> {
    let bad = |message: String, help: &str| {
        Diagnostic::error(Code::BadDuration, message).label(span, "not a valid duration").help(help.to_string())
    };
    let usage = "Durations use `s`, `m` and `h`, largest first, like `90s`, `45m`, `6h` or `2h30m`.";
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return Err(bad(
            format!("`{text}` has no unit"),
            &format!("Add a unit: `{text}h` for hours, `{text}m` for minutes or `{text}s` for seconds. {usage}"),
        ));
    }
    if let Some(canonical) = spelled_units(text).filter(|canonical| canonical != text).or_else(|| decimal(text)) {
        return Err(bad(format!("`{text}` is written `{canonical}`"), &format!("Did you mean `{canonical}`? {usage}")));
    }
    if let Some((whole, fraction)) = text.split_once('.') {
        let decimal = whole.bytes().all(|b| b.is_ascii_digit()) && fraction.starts_with(|c: char| c.is_ascii_digit());
        let what = if decimal { "is not a whole number of seconds" } else { "is not a valid duration" };
        return Err(bad(format!("`{text}` {what}"), usage));
    }
    let mut seconds: u64 = 0;
    let mut number = String::new();
    let mut last_rank = u8::MAX;
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if c == '_' {
            continue;
        }
        let (rank, factor) = match c {
            'h' => (3, 3600),
            'm' => (2, 60),
            's' => (1, 1),
            'd' => return Err(bad(format!("`{text}` uses days"), &format!("Write days in hours, e.g. `24h`. {usage}"))),
            _ => return Err(bad(format!("`{text}` has an unknown unit `{c}`"), usage)),
        };
        if number.is_empty() || rank >= last_rank {
            return Err(bad(format!("`{text}` is not a valid duration"), usage));
        }
        let value: u64 = number.parse().map_err(|_| bad(format!("`{text}` is too large"), usage))?;
        seconds = value
            .checked_mul(factor)
            .and_then(|part| seconds.checked_add(part))
            .ok_or_else(|| bad(format!("`{text}` is too large"), usage))?;
        number.clear();
        last_rank = rank;
    }
    if !number.is_empty() {
        // `6h30` is `6h30m`, `2m30` is `2m30s`: the unit after the last one.
        let next = match last_rank {
            3 => Some('m'),
            2 => Some('s'),
            _ => None,
        };
        return Err(match next {
            Some(unit) => bad(format!("`{text}` ends without a unit"), &format!("Did you mean `{text}{unit}`? {usage}")),
            None => bad(format!("`{text}` ends without a unit"), usage),
        });
    }
    if seconds == 0 {
        return Err(bad(format!("`{text}` is zero"), "A limit of zero would stop the run at once; give a positive duration."));
    }
    Ok(Duration::from_secs(seconds))
}

/// The unit a word names (`hrs`, `minutes`, `sec` …), as (unit, seconds); days are hours.
pub fn unit_word(word: &str) -> Option<(&'static str, u64)> {
    Some(match word.to_ascii_lowercase().as_str() {
        "h" | "hr" | "hrs" | "hour" | "hours" => ("h", 3600),
        "m" | "min" | "mins" | "minute" | "minutes" => ("m", 60),
        "s" | "sec" | "secs" | "second" | "seconds" => ("s", 1),
        "d" | "day" | "days" => ("h", 86_400),
        _ => return None,
    })
}

/// `6hrs` → `6h`, `1hour30mins` → `1h30m`, `2days` → `48h`: a duration spelled with unit words,
/// in night's units; `None` when a part is not a number followed by a known unit word.
pub fn spelled_units(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let digits_end = rest.find(|c: char| !c.is_ascii_digit() && c != '_').unwrap_or(rest.len());
        let unit_end = rest[digits_end..].find(|c: char| c.is_ascii_digit() || c == '_').map_or(rest.len(), |at| digits_end + at);
        let number: u64 = rest[..digits_end].replace('_', "").parse().ok()?;
        let (unit, seconds) = unit_word(&rest[digits_end..unit_end])?;
        let amount = if seconds == 86_400 { number.checked_mul(24)? } else { number };
        out.push_str(&format!("{amount}{unit}"));
        rest = &rest[unit_end..];
    }
    (!out.is_empty()).then_some(out)
}

/// `1.5h` → `1h30m`, `0.5m` → `30s`, `1.5hours` → `1h30m`: a duration with a decimal point in
/// night's units, when it is a positive whole number of seconds.
pub fn decimal(text: &str) -> Option<String> {
    let unit_at = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(unit_at);
    let (whole, fraction) = number.split_once('.')?;
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let (_, factor) = unit_word(unit)?;
    let scale = 10u64.checked_pow(u32::try_from(fraction.len()).ok()?)?;
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let scaled = whole.checked_mul(scale)?.checked_add(fraction.parse().ok()?)?.checked_mul(factor)?;
    if scaled == 0 || scaled % scale != 0 {
        return None;
    }
    let seconds = scaled / scale;
    let parts = [(seconds / 3600, "h"), (seconds % 3600 / 60, "m"), (seconds % 60, "s")];
    Some(parts.iter().filter(|(value, _)| *value > 0).map(|(value, unit)| format!("{value}{unit}")).collect())
}

/// Money like `$25` or `$2.50`.
pub fn money(text: &str, span: Span) -> Result<Money, Diagnostic> {
    let bad = |message: String| {
        Diagnostic::error(Code::BadMoney, message)
            .label(span, "not a valid amount")
            .help("Write US dollars with at most two decimals, like `$25` or `$2.50`.")
    };
    let amount = text.trim_start_matches('$').replace('_', "");
    let (whole, fraction) = amount.split_once('.').unwrap_or((&amount, ""));
    let valid = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() <= 2
        && !(amount.contains('.') && fraction.is_empty());
    if !valid {
        return Err(bad(format!("`{text}` is not an amount")));
    }
    let whole: u64 = whole.parse().map_err(|_| bad(format!("`{text}` is too large")))?;
    let fraction: u64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    whole
        .checked_mul(100)
        .and_then(|cents| cents.checked_add(fraction))
        .map(|cents| Money { cents })
        .ok_or_else(|| bad(format!("`{text}` is too large")))
}

/// Read `/pattern/flags`: the flags, and the pattern's syntax (it is compiled when a run needs
/// it, see [`Regex`]).
pub fn regex(pattern: &str, flags: &str, span: Span) -> Result<Regex, Diagnostic> {
    let mut parser = regex_syntax::ParserBuilder::new();
    for flag in flags.chars() {
        match flag {
            'i' => parser.case_insensitive(true),
            'm' => parser.multi_line(true),
            's' => parser.dot_matches_new_line(true),
            other => {
                return Err(Diagnostic::error(Code::BadRegex, format!("unknown regex flag `{other}`"))
                    .label(span, "unknown flag")
                    .help("Regex flags are `i` (ignore case), `m` (multi-line) and `s` (`.` matches newlines)."));
            }
        };
    }
    let unescaped = pattern.replace("\\/", "/");
    // Translating the syntax tree into Unicode classes costs several times the parse, and only
    // Unicode properties (`\p{…}`) and flag groups (`(?-u)` …) can fail there: the others are
    // checked by the parse alone.
    let translate = unescaped.contains("\\p") || unescaped.contains("\\P") || unescaped.contains("(?");
    let checked = if translate {
        parser.build().parse(&unescaped).map(|_| ()).map_err(|error| error.to_string())
    } else {
        // One parser for every regex of a runbook: it keeps its buffers between patterns.
        thread_local! {
            static PARSER: std::cell::RefCell<regex_syntax::ast::parse::Parser> = std::cell::RefCell::new(regex_syntax::ast::parse::Parser::new());
        }
        PARSER.with(|parser| parser.borrow_mut().parse(&unescaped).map(|_| ()).map_err(|error| error.to_string()))
    };
    checked.map_err(|detail| {
        let last = detail.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("invalid").trim().to_string();
        Diagnostic::error(Code::BadRegex, "invalid regex")
            .label(span, last.trim_start_matches("error: ").to_lowercase())
            .help("Regexes use Rust `regex` syntax (https://docs.rs/regex); escape a literal `/` as `\\/`.")
    })?;
    Ok(Regex::checked(format!("/{pattern}/{flags}"), unescaped, flags.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span() -> Span {
        Span::new(0, 1)
    }

    #[test]
    fn integers() {
        assert_eq!(integer("300", span()).ok(), Some(300));
        assert_eq!(integer("2_000_000", span()).ok(), Some(2_000_000));
        assert_eq!(integer("500k", span()).ok(), Some(500_000));
        assert_eq!(integer("3M", span()).ok(), Some(3_000_000));
        assert!(integer("3m", span()).is_err());
        assert!(integer("1.5", span()).is_err());
        assert!(integer("99999999999999999999", span()).is_err());
        assert!(integer("20000000000000M", span()).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("90s", span()).ok(), Some(Duration::from_secs(90)));
        assert_eq!(duration("2h30m", span()).ok(), Some(Duration::from_secs(9000)));
        assert_eq!(duration("1h1m1s", span()).ok(), Some(Duration::from_secs(3661)));
        for bad in ["45", "30m2h", "1d", "5x", "1h1h", "0m", "2h3"] {
            assert!(duration(bad, span()).is_err(), "{bad}");
        }
        let message = |text: &str| duration(text, span()).expect_err(text);
        assert_eq!(message("6hrs").message, "`6hrs` is written `6h`");
        assert_eq!(message("90mins").message, "`90mins` is written `90m`");
        assert_eq!(message("1hour30min").message, "`1hour30min` is written `1h30m`");
        assert_eq!(message("2days").message, "`2days` is written `48h`");
        assert_eq!(message("1.5h").message, "`1.5h` is written `1h30m`");
        assert_eq!(message("0.5m").message, "`0.5m` is written `30s`");
        assert_eq!(message("2.5hours").message, "`2.5hours` is written `2h30m`");
        assert_eq!(message("1.5d").message, "`1.5d` is written `36h`");
        assert_eq!(message("0.001s").message, "`0.001s` is not a whole number of seconds");
        assert_eq!(message("1.h").message, "`1.h` is not a valid duration");
        assert!(message("6h30").help.as_deref().is_some_and(|help| help.starts_with("Did you mean `6h30m`?")));
        assert!(message("6").help.as_deref().is_some_and(|help| help.contains("`6h` for hours")));
    }

    #[test]
    fn amounts() {
        assert_eq!(money("$25", span()).ok(), Some(Money { cents: 2500 }));
        assert_eq!(money("$2.5", span()).ok(), Some(Money { cents: 250 }));
        assert_eq!(money("$2.05", span()).ok(), Some(Money { cents: 205 }));
        for bad in ["$", "$2.", "$2.505", "$1,000", "$.5"] {
            assert!(money(bad, span()).is_err(), "{bad}");
        }
    }

    #[test]
    fn regexes_are_checked_by_syntax() {
        for good in ["[a-z]+", "warning \\d+: .*", "\\p{Greek}+", "(?i)error", "a\\/b"] {
            assert!(regex(good, "", span()).is_ok(), "{good}");
        }
        for bad in ["warning(", "[z-a]", "\\p{NoSuchClass}", "(?-u:\\xFF)", "a{2,1}", "*x"] {
            assert!(regex(bad, "", span()).is_err(), "{bad}");
        }
        assert!(regex("x", "q", span()).is_err(), "an unknown flag");
        let compiled = regex("error \\d+", "i", span()).expect("valid");
        assert!(compiled.compile().expect("compiles").is_match("ERROR 42"));
        let huge = regex("\\w{1000}\\w{1000}", "", span()).expect("valid syntax");
        assert!(huge.compile().is_err(), "too large to compile: found when the run starts");
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#"a\"b\\c\nd\te"#, 0).ok().as_deref(), Some("a\"b\\c\nd\te"));
        assert_eq!(unescape(r"\u{1F319}", 0).ok().as_deref(), Some("\u{1F319}"));
        assert!(unescape(r"\q", 0).is_err());
        assert!(unescape(r"\u{110000}", 0).is_err());
        assert!(unescape(r"\u{12", 0).is_err());
    }

    #[test]
    fn block_strings() {
        assert_eq!(dedent("\n    line one\n      two\n    three\n  "), "line one\n  two\nthree");
        assert_eq!(dedent("one line"), "one line");
        // Found by fuzzing: a blank line of other white space used to be cut inside a character.
        assert_eq!(dedent("\n  x\n\u{3000}\n  "), "x\n\u{3000}");
        assert_eq!(dedent("\n    x\n \u{a0}\n"), "x\n\u{a0}");
    }
}
