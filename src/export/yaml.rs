//! YAML scalars written safely: every string as a double-quoted scalar, whose escapes are
//! JSON's (YAML 1.2 reads a JSON string as the same string), so no value can break the
//! document whatever it holds.

/// `"value"`, escaped.
pub fn quoted(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_string())
}

/// A literal block (`|`), each line indented by `indent` spaces.
pub fn block(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::from("|\n");
    for line in text.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&pad);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_yaml_would_read() {
        assert_eq!(quoted("a: b # c"), "\"a: b # c\"");
        assert_eq!(quoted("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(block("a\n\nb", 2), "|\n  a\n\n  b\n");
    }
}
