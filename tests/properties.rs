//! Property tests: generated valid runbooks parse into the values they were written with and
//! format to the same AST, and no input — random bytes, random token soup — panics the parser
//! or the checker.

use night::ast::{Check, Comparison, Network, Target};
use night::check::check;
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
            Check::Count { comparison, target, .. } => {
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
}
