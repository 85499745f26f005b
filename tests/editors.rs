//! Editor support stays in step with the language.
//!
//! Every keyword of the `keyword` rule in grammar/night.pest must be known to
//! every editor's syntax file and used by editors/sample.night; and each
//! editor's own test suite must pass: the TextMate grammar tests
//! (vscode-tmgrammar-test), the headless Vim check, the tree-sitter corpus
//! and highlight tests, and the Emacs ERT tests.
//!
//! The suites need tools that cargo does not install (node packages, vim,
//! tree-sitter-cli, emacs). When one is missing the test fails if `CI` is set, since
//! .ci/run installs them through .ci/editors-setup; elsewhere it prints a loud
//! SKIPPED line and returns.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The quoted strings inside `keyword = { … }` in grammar/night.pest.
fn keywords() -> Vec<String> {
    let grammar = read("grammar/night.pest");
    let start = grammar
        .find("\nkeyword = {")
        .expect("grammar/night.pest has no `keyword = {` rule");
    let rule = &grammar[start..];
    let rule = &rule[..rule
        .find("\n}")
        .expect("the `keyword` rule is not closed by a `}` line")];
    let mut words = Vec::new();
    for line in rule.lines() {
        // `//` comments may hold quotes too; drop them first.
        let code = line.split("//").next().unwrap_or("");
        let mut parts = code.split('"');
        parts.next();
        while let (Some(word), Some(_)) = (parts.next(), parts.next()) {
            words.push(word.to_string());
        }
    }
    words
}

/// The words of a file: maximal runs of `[A-Za-z0-9_-]`, the characters of a
/// night identifier. A keyword counts only where it stands alone as a word.
fn words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The syntax files that must know every keyword.
const SYNTAX_FILES: &[&str] = &[
    "editors/vscode/syntaxes/night.tmLanguage.json",
    "editors/vim/syntax/night.vim",
    "editors/sublime/night.sublime-syntax",
    "editors/emacs/night-mode.el",
    "editors/tree-sitter-night/queries/highlights.scm",
    "editors/helix/queries/night/highlights.scm",
    "editors/zed/languages/night/highlights.scm",
];

#[test]
fn keyword_rule_is_read() {
    let keywords = keywords();
    assert!(
        keywords.len() >= 90,
        "only {} keywords read from grammar/night.pest",
        keywords.len()
    );
    for expected in ["name", "last-green", "max_turns", "env"] {
        assert!(
            keywords.iter().any(|k| k == expected),
            "keyword `{expected}` not read"
        );
    }
}

#[test]
fn every_syntax_file_knows_every_keyword() {
    let keywords = keywords();
    let mut problems = Vec::new();
    for file in SYNTAX_FILES {
        let text = read(file);
        let present = words(&text);
        let missing: Vec<&str> = keywords
            .iter()
            .map(String::as_str)
            .filter(|k| !present.contains(k))
            .collect();
        if !missing.is_empty() {
            problems.push(format!("{file} lacks: {}", missing.join(" ")));
        }
    }
    assert!(
        problems.is_empty(),
        "keywords missing from syntax files:\n{}",
        problems.join("\n")
    );
}

#[test]
fn sample_uses_every_keyword() {
    let sample = read("editors/sample.night");
    let present = words(&sample);
    let missing: Vec<String> = keywords()
        .into_iter()
        .filter(|k| !present.contains(k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "editors/sample.night does not use: {}",
        missing.join(" ")
    );
}

#[test]
fn sample_uses_every_value_form() {
    let sample = read("editors/sample.night");
    let forms = [
        ("a comment", "# "),
        ("a block string", "\"\"\""),
        ("the escape \\\"", "\\\""),
        ("the escape \\\\", "\\\\"),
        ("the escape \\n", "\\n"),
        ("the escape \\t", "\\t"),
        ("the escape \\u{…}", "\\u{"),
        ("a `;` between statements", "; "),
        ("a regex with flag i", "/i\n"),
        ("a regex with flag m", "/m "),
        ("a regex with flag s", "/s "),
        ("an escaped slash in a regex", "\\/"),
        ("an integer", " 300"),
        ("an integer with `_`", "2_000_000"),
        ("an integer with k", "500k"),
        ("an integer with M", "3M"),
        ("a duration in seconds", "90s"),
        ("a duration in minutes", "45m"),
        ("a duration in hours", "7h"),
        ("a combined duration", "2h30m"),
        ("money", "$25"),
        ("money with cents", "$2.50"),
        ("an env reference", "env."),
        ("<", " < "),
        ("<=", " <= "),
        (">", " > "),
        (">=", " >= "),
        ("==", " == "),
        ("a nested block", "    model"),
    ];
    let missing: Vec<&str> = forms
        .iter()
        .filter(|(_, text)| !sample.contains(text))
        .map(|(what, _)| *what)
        .collect();
    assert!(
        missing.is_empty(),
        "editors/sample.night lacks: {}",
        missing.join(", ")
    );
}

// ------------------------------------------------------- editor test suites --

/// True when `CI` is set (as .ci/run runs): a missing tool is then a failure.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Reports a missing tool: fails in CI, else prints a loud SKIPPED line.
fn tool_missing(tool: &str, install: &str) {
    assert!(
        !in_ci(),
        "tool {tool} missing: .ci/run should install it (through .ci/editors-setup; by hand: {install})"
    );
    // Straight to the process's stderr: the test harness captures `eprintln!`
    // of a passing test, and a skip must not pass unseen.
    let _ = writeln!(
        std::io::stderr(),
        "\n**********\nSKIPPED: tool {tool} is not installed, so this editor test did not run.\n\
         Install it with .ci/editors-setup (or: {install}).\n**********\n"
    );
}

/// True when `program args…` can be started and exits 0.
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a command in `dir`, panicking with its whole output when it fails.
fn check(dir: &Path, program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    if !output.status.success() {
        panic!(
            "`{program} {}` in {} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
            args.join(" "),
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
    output
}

#[test]
fn textmate_grammar_tests() {
    let dir = root().join("editors/vscode");
    let installed = dir.join("node_modules/.bin/vscode-tmgrammar-test").exists();
    if !runs("npx", &["--version"]) || !installed {
        tool_missing("vscode-tmgrammar-test", "cd editors/vscode && npm ci");
        return;
    }
    // --no: never download a package; use the one `npm ci` installed.
    let output = check(
        &dir,
        "npx",
        &["--no", "vscode-tmgrammar-test", "test/**/*.test.night"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("night.test.night"),
        "no test file ran:\n{stdout}"
    );
}

#[test]
fn vim_syntax_tests() {
    if !runs("vim", &["--version"]) {
        tool_missing("vim", "apt-get install vim");
        return;
    }
    let output = check(&root(), "bash", &["editors/vim/test/run.sh"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(" passed, 0 failed"),
        "the vim check reported nothing:\n{stdout}"
    );
}

#[test]
fn tree_sitter_tests() {
    if !runs("tree-sitter", &["--version"]) {
        tool_missing(
            "tree-sitter",
            "cargo install tree-sitter-cli --locked --version 0.27.1",
        );
        return;
    }
    let dir = root().join("editors/tree-sitter-night");
    // One test, run in sequence: each command may compile the parser into the
    // same cache, and parallel compiles of one library would race.

    // The committed parser is what grammar.js generates (QuickJS: no node needed).
    let generated = tempdir("tree-sitter-generate");
    let out = generated.to_str().expect("temporary path is UTF-8");
    check(
        &dir,
        "tree-sitter",
        &[
            "generate",
            "--abi",
            "14",
            "--js-runtime",
            "native",
            "-o",
            out,
        ],
    );
    for file in ["parser.c", "grammar.json", "node-types.json"] {
        let fresh = fs::read_to_string(generated.join(file)).expect("generated file");
        let committed = read(&format!("editors/tree-sitter-night/src/{file}"));
        assert!(
            fresh == committed,
            "editors/tree-sitter-night/src/{file} is stale: run `tree-sitter generate --abi 14` there and commit src/"
        );
    }
    let _ = fs::remove_dir_all(&generated);

    // Corpus and highlight tests.
    let output = check(&dir, "tree-sitter", &["test"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("assertions"),
        "no highlight test ran:\n{stdout}"
    );

    // The sample parses without an error node.
    check(
        &dir,
        "tree-sitter",
        &["parse", "--quiet", "../sample.night"],
    );

    // The Helix and Zed queries name only nodes the grammar has.
    for query in [
        "../helix/queries/night/highlights.scm",
        "../helix/queries/night/indents.scm",
        "../zed/languages/night/highlights.scm",
        "../zed/languages/night/brackets.scm",
        "../zed/languages/night/indents.scm",
        "../zed/languages/night/outline.scm",
    ] {
        check(
            &dir,
            "tree-sitter",
            &["query", "--quiet", query, "../sample.night"],
        );
    }
}

#[test]
fn emacs_mode_tests() {
    if !runs("emacs", &["--version"]) {
        tool_missing("emacs", "apt-get install emacs-nox");
        return;
    }
    let output = check(
        &root(),
        "emacs",
        &[
            "-Q",
            "--batch",
            "-L",
            "editors/emacs",
            "-l",
            "editors/emacs/test/night-mode-test.el",
            "-f",
            "ert-run-tests-batch-and-exit",
        ],
    );
    // ERT reports on stderr: "Ran N tests, N results as expected, 0 unexpected".
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(
        report.contains(" 0 unexpected"),
        "ERT reported no run:\n{report}"
    );
}

/// A fresh empty directory under the system's temporary directory.
fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("night-editors-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}
