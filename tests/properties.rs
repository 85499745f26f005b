//! Property tests: generated valid runbooks parse into the values they were written with and
//! format to the same AST, and no input — random bytes, random token soup — panics the parser
//! or the checker.

use night::ast::{SuccessCheck, Comparison, Network, Target};
use night::checklist::check;
use night::diagnostic::Code;
use night::source::Source;
use proptest::prelude::*;
use std::time::Duration;

fn no_env(_: &str) -> Option<String> {
    None
}

fn duration_text(seconds: u64) -> String {
    night::time::format_duration(Duration::from_secs(seconds))
}

/// A valid runbook and the values it should lower to.
#[derive(Debug, Clone)]
struct Generated {
    text: String,
    timeout: u64,
    attempts: u64,
    cost_cents: u64,
    write: Vec<String>,
    count_limit: u64,
    comparison: &'static str,
    network_hosts: Vec<String>,
    prompt: String,
}

fn glob() -> impl Strategy<Value = String> {
    ("[a-z]{1,8}", prop::sample::select(vec!["/**", "/*.rs", "/", "/[ab]*.txt", "/lib.rs"]))
        .prop_map(|(folder, tail)| format!("{folder}{tail}"))
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        1u64..100_000,
        1u64..1000,
        1u64..1_000_000,
        prop::collection::vec(glob(), 1..4),
        0u64..5000,
        prop::sample::select(vec!["<", "<=", ">", ">=", "=="]),
        prop::collection::vec("[a-z]{1,10}\\.(com|org|io)", 0..3),
        "[A-Za-z0-9][A-Za-z0-9 ,.!?'-]{0,59}",
        any::<bool>(),
    )
        .prop_map(|(timeout, attempts, cost_cents, write, count_limit, comparison, hosts, prompt, block_prompt)| {
            let writes: Vec<String> = write.iter().map(|w| format!("\"{w}\"")).collect();
            let network = if hosts.is_empty() {
                "network off".to_string()
            } else {
                format!("network allow {}", hosts.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(" "))
            };
            let prompt_statement = if block_prompt {
                format!("prompt \"\"\"\n    {prompt}\n  \"\"\"")
            } else {
                format!("prompt \"{}\"", prompt.replace('\\', "\\\\"))
            };
            let text = format!(
                "task {{\n  {prompt_statement}\n  agent command \"true\"\n}}\nsuccess {{\n  tests \"cargo test\"\n  count /warn(ing)?/i in \"cargo build\" {comparison} {count_limit}\n}}\npermissions {{\n  write {}\n  deny irreversible\n  {network}\n}}\nlimits {{ timeout {}; attempts {attempts}; cost ${}.{:02} }}\nnotify {{ command \"true\" }}\n",
                writes.join(" "),
                duration_text(timeout),
                cost_cents / 100,
                cost_cents % 100,
            );
            Generated { text, timeout, attempts, cost_cents, write, count_limit, comparison, network_hosts: hosts, prompt }
        })
}

/// Inputs the fuzz targets (`fuzz/`, docs/fuzzing-log.md) found panicking the parser.
#[test]
fn fuzz_findings_never_panic() {
    // A blank line of `\u{3000}` in a block string was cut inside the character when dedented.
    for text in ["task {\n  prompt \"\"\"\n  x\n\u{3000}\n  \"\"\"\n}\n", "name \"\"\"\n    a\n \u{a0}\n\"\"\"\n"] {
        check(&Source::new("finding.night", text), &no_env);
        night::fuzzing::check_text(text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_runbooks_lower_to_their_values(generated in generated()) {
        let source = Source::new("generated.night", generated.text.clone());
        let parsed = night::syntax::parse(&source);
        let schema: Vec<_> = parsed.diagnostics.iter().filter(|d| !d.code.is_checklist_rule()).collect();
        prop_assert!(schema.is_empty(), "{:?}\n{}", schema, generated.text);
        let runbook = parsed.runbook;
        let limits = runbook.limits.expect("limits");
        prop_assert_eq!(limits.timeout.expect("timeout").value, Duration::from_secs(generated.timeout));
        prop_assert_eq!(limits.attempts.expect("attempts").value, generated.attempts);
        prop_assert_eq!(limits.cost.expect("cost").value.cents, generated.cost_cents);
        let permissions = runbook.permissions.expect("permissions");
        let write: Vec<String> = permissions.write.expect("write").value.iter().map(|g| g.value.pattern.clone()).collect();
        prop_assert_eq!(write, generated.write);
        match permissions.network.expect("network").value {
            Network::Off => prop_assert!(generated.network_hosts.is_empty()),
            Network::Allow(hosts) => prop_assert_eq!(hosts, generated.network_hosts),
            Network::On | Network::Auto => prop_assert!(false, "network on and auto were never generated"),
        }
        let prompt = runbook.task.expect("task").prompt.expect("prompt");
        match &prompt.value {
            night::ast::Prompt::Inline(text) => prop_assert_eq!(text.as_str(), generated.prompt.as_str()),
            night::ast::Prompt::File(_) => prop_assert!(false, "no prompt file was generated"),
        }
        let checks = runbook.success.expect("success").checks;
        match &checks[1].value {
            SuccessCheck::Count { comparison, target, .. } => {
                prop_assert_eq!(comparison.value, Comparison::from_symbol(generated.comparison).expect("symbol"));
                prop_assert_eq!(target.value, Target::Number(generated.count_limit));
            }
            other => prop_assert!(false, "expected a count check, got {:?}", other),
        }
        // The whole checker runs too; outside a repository only checklist rules may fail.
        let outcome = check(&source, &no_env);
        prop_assert!(outcome.diagnostics.iter().all(|d| d.code.is_checklist_rule() || d.code == Code::MissingStatement));
    }

    #[test]
    fn generated_runbooks_format_to_the_same_ast(generated in generated()) {
        // `night fmt` round trip: format → parse → the same typed AST (spans aside), and the
        // formatted text is a fixed point.
        let ast = |text: &str| night::fuzzing::without_spans(&night::syntax::parse(&Source::new("generated.night", text)).runbook);
        let formatted = night::fmt::format(&generated.text).map_err(|d| TestCaseError::fail(d.message.clone()))?;
        prop_assert_eq!(ast(&generated.text), ast(&formatted), "{}\n---\n{}", generated.text, formatted);
        prop_assert_eq!(night::fmt::format(&formatted).map_err(|d| TestCaseError::fail(d.message.clone()))?, formatted);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let outcome = check(&Source::new("random.night", text), &no_env);
        prop_assert!(outcome.plan.is_none() || outcome.diagnostics.iter().all(|d| !d.is_error()));
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "task", "success", "limits", "permissions", "notify", "rollback", "waive", "{", "}", "\n", ";", " ",
        "\"x\"", "\"\"\"\n a\n\"\"\"", "/re/i", "/(/", "$1.5", "$", "45m", "2h30m", "3M", "0", "env.X", "env.", "<=", "==",
        "timeout", "write", "\"**\"", "on", "end", "prompt", "file", "agent", "command", "count", "in", "baseline",
        "#c\n", "\"\\u{1F319}\"", "\"\\q\"", "when", "failing", ">", "sms", "via", "twilio", "from", "tests", "format", "junit",
    ]), 0..200)) {
        let text: String = tokens.concat();
        let outcome = check(&Source::new("soup.night", text), &no_env);
        for diagnostic in &outcome.diagnostics {
            if let Some(span) = diagnostic.span() {
                prop_assert!(span.start <= span.end);
            }
        }
    }

    #[test]
    fn the_scanner_agrees_with_the_grammar_on_token_soup(tokens in prop::collection::vec(prop::sample::select(SOUP.to_vec()), 0..60)) {
        let text: String = tokens.concat();
        scanner_agrees(&text)?;
    }

    #[test]
    fn the_scanner_agrees_with_the_grammar_on_statements(text in statements_text()) {
        scanner_agrees(&text)?;
    }

    #[test]
    fn the_scanner_agrees_with_the_grammar_on_short_soup(tokens in prop::collection::vec(prop::sample::select(SOUP.to_vec()), 0..8)) {
        scanner_agrees(&tokens.concat())?;
    }

    #[test]
    fn the_scanner_agrees_with_the_grammar_on_random_text(text in "[a-z{}\n;# \"/$0-9.<=>\\\\\t\r-]{0,120}") {
        scanner_agrees(&text)?;
    }
}

/// Tokens for the scanner's tests: every kind of argument, well and badly formed.
const SOUP: &[&str] = &[
    "task", "x", "_a-b", "A1", "{", "}", "{}", "\n", "\r\n", "\r", ";", " ", "\t", "#c", "#", "\"x\"", "\"\"", "\"a\\\"b\"",
    "\"\\\n\"", "\"\\q\"", "\"\\u{1F319}\"", "\"é\"", "\"\"\"", "\"\"\"\n a\n\"\"\"", "/re/i", "/(/", "/a\\/b/", "//", "/",
    "/x\\", "$1.5", "$", "$1,0", "45m", "2h30m", "3M", "0", "1.5.x", "env.X", "env.", "env.1", "env", "<=", "==", "=", "<", ">", ">=",
    "-", ".", "é", "\u{a0}", "\\", "*", "\"\"\"a\"", "on", "end",
];

/// Arguments for generated statements: mostly well formed, some not.
const ARGUMENTS: &[&str] = &[
    "\"x\"", "\"\"", "\"a b\"", "\"a\\\"b\"", "\"\\q\"", "\"é\"", "\"\"\"\n  a\n  \"\"\"", "\"\"\"one\"\"\"", "/re/i", "/a\\/b/", "/[a-z]+/",
    "$25", "$2.50", "$", "45m", "2h30m", "3M", "0", "env.X_1", "<=", "==", ">", "on", "end", "last-green", "_x", "\"\"\"", "/(/",
];

/// Runbook-shaped text: statements with arguments, comments and nested blocks, separated in
/// every way the grammar allows (and, now and then, a way it does not).
fn statements_text() -> impl Strategy<Value = String> {
    let space = prop::sample::select(vec!["", " ", " ", "\t", "  "]);
    let separator = prop::sample::select(vec!["\n", "\n", ";", "\r\n", "\r", "\n\n", " ;\t", "\n  # note\n"]);
    let comment = prop::sample::select(vec!["", "", " # a comment", "\t#", " #{\"x\""]);
    let line = (
        prop::sample::select(vec!["task", "success", "limits", "timeout", "x", "Stuck", "_a-b", "notify"]),
        prop::collection::vec((space.clone(), prop::sample::select(ARGUMENTS.to_vec())), 0..4),
        comment,
    )
        .prop_map(|(head, arguments, comment)| {
            let mut text = head.to_string();
            for (space, argument) in arguments {
                text.push_str(if space.is_empty() { " " } else { space });
                text.push_str(argument);
            }
            text.push_str(comment);
            text
        });
    let lines = prop::collection::vec((line, separator), 0..5);
    lines.prop_recursive(3, 24, 4, move |inner| {
        (inner.clone(), prop::sample::select(vec!["outer", "task", "limits"]), prop::sample::select(vec!["", " ", "\n", " \n", "\n\n"]), inner).prop_map(
            |(before, head, padding, body), | {
                let mut lines = before;
                let body: String = body.iter().map(|(line, separator)| format!("{line}{separator}")).collect();
                lines.push((format!("{head} {{{padding}{body}}}"), "\n"));
                lines
            },
        )
    })
    .prop_map(|lines| lines.iter().map(|(line, separator)| format!("{line}{separator}")).collect())
}

/// The hand-written scanner builds the grammar's tree, spans and escape diagnostics wherever
/// the grammar parses, and gives up wherever it fails.
fn scanner_agrees(text: &str) -> Result<(), TestCaseError> {
    let scanned = night::syntax::parse_statements_with_scanner(text);
    match night::syntax::parse_statements_with_pest(text) {
        Ok(expected) => {
            let scanned = scanned.ok_or_else(|| TestCaseError::fail(format!("the scanner gave up on text the grammar parses: {text:?}")))?;
            prop_assert_eq!(&scanned.0, &expected.0, "{:?}", text);
            prop_assert_eq!(&scanned.1, &expected.1, "{:?}", text);
        }
        Err(_) => prop_assert!(scanned.is_none(), "the scanner parsed text the grammar refuses: {:?}", text),
    }
    Ok(())
}

#[test]
fn the_scanner_agrees_with_the_grammar_on_the_corpus_fixtures_and_examples() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["fuzz/corpus/parse_check", "tests/fixtures/check", "tests/fixtures/fmt", "runbooks", "runbooks/bad"] {
        files.extend(std::fs::read_dir(root.join(dir)).into_iter().flatten().flatten().map(|entry| entry.path()).filter(|path| path.is_file()));
    }
    assert!(files.len() > 100, "{} files", files.len());
    for path in files {
        let bytes = std::fs::read(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        if let Err(error) = scanner_agrees(&text) {
            panic!("{}: {error}", path.display());
        }
    }
}
