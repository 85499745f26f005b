//! `night fmt`: a snapshot of a messy runbook, and over every example runbook, fixture and
//! generated runbook: formatting is idempotent, keeps the statement tree (top-level blocks
//! reordered, nothing else) and the typed AST (spans aside), keeps what `night check` says, and
//! keeps every comment.

use night::fmt::format;
use night::source::Source;
use night::syntax::{self, ArgumentKind, Statement, TOP_LEVEL};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A statement without spans: what formatting must not change.
#[derive(Debug, Clone, PartialEq)]
struct Shape {
    head: String,
    arguments: Vec<ArgumentKind>,
    block: Option<Vec<Shape>>,
}

fn shape(statements: &[Statement]) -> Vec<Shape> {
    statements
        .iter()
        .map(|s| Shape {
            head: s.head.value.clone(),
            arguments: s.arguments.iter().map(|a| a.kind.clone()).collect(),
            block: s.block.as_ref().map(|b| shape(&b.value)),
        })
        .collect()
}

/// The top level in the order `night fmt` writes it.
fn canonical_order(mut shapes: Vec<Shape>) -> Vec<Shape> {
    shapes.sort_by_key(|s| TOP_LEVEL.iter().position(|h| *h == s.head).unwrap_or(TOP_LEVEL.len()));
    shapes
}

fn comment_texts(text: &str) -> Vec<String> {
    let (statements, _) = syntax::parse_statements(text).expect("parses");
    let mut texts: Vec<String> = syntax::comments(text, &statements).into_iter().map(|c| c.text).collect();
    texts.sort();
    texts
}

/// The typed AST, spans left out: the values formatting must keep (block strings' text, escapes
/// decoded, durations, globs, waivers in order …).
fn typed_ast(text: &str) -> String {
    night::fuzzing::without_spans(&syntax::parse(&Source::new("x.night", text)).runbook)
}

/// What the schema says, without positions (they move when blocks are reordered).
fn schema_messages(text: &str) -> Vec<String> {
    let parsed = syntax::parse(&Source::new("x.night", text));
    let mut messages: Vec<String> = parsed.diagnostics.iter().map(|d| format!("{}: {}", d.code, d.message)).collect();
    messages.sort();
    messages
}

/// Every property of one formatting, with the text in each failure message.
fn assert_preserved(text: &str, name: &str) -> Result<String, TestCaseError> {
    let formatted = format(text).map_err(|d| TestCaseError::fail(format!("{name}: {}", d.message)))?;
    let (before, _) = syntax::parse_statements(text).map_err(|_| TestCaseError::fail("parses"))?;
    let after = syntax::parse_statements(&formatted)
        .map_err(|d| TestCaseError::fail(format!("{name}: the formatted text does not parse: {}\n{formatted}", d.message)))?
        .0;
    prop_assert_eq!(canonical_order(shape(&before)), shape(&after), "{}: the statements changed\n{}\n---\n{}", name, text, formatted);
    prop_assert_eq!(comment_texts(text), comment_texts(&formatted), "{}: the comments changed\n{}\n---\n{}", name, text, formatted);
    prop_assert_eq!(typed_ast(text), typed_ast(&formatted), "{}: the typed AST changed\n{}\n---\n{}", name, text, formatted);
    prop_assert_eq!(schema_messages(text), schema_messages(&formatted), "{}: the diagnostics changed", name);
    let again = format(&formatted).map_err(|d| TestCaseError::fail(d.message.clone()))?;
    prop_assert_eq!(&again, &formatted, "{}: not idempotent\n{}", name, text);
    prop_assert!(!formatted.contains("\n\n\n") && !formatted.starts_with('\n'), "{}: stray blank lines\n{}", name, formatted);
    prop_assert!(trailing_whitespace_outside_block_strings(&after, &formatted).is_none(), "{}: trailing whitespace\n{}", name, formatted);
    Ok(formatted)
}

/// The first line ending in whitespace that is not block string content (which is kept as is).
fn trailing_whitespace_outside_block_strings(statements: &[Statement], text: &str) -> Option<usize> {
    fn block_strings(statements: &[Statement], out: &mut Vec<(usize, usize)>) {
        for s in statements {
            out.extend(s.arguments.iter().filter(|a| matches!(a.kind, ArgumentKind::BlockString(_))).map(|a| (a.span.start, a.span.end)));
            if let Some(block) = &s.block {
                block_strings(&block.value, out);
            }
        }
    }
    let mut spans = Vec::new();
    block_strings(statements, &mut spans);
    let mut start = 0;
    for line in text.split('\n') {
        let end = start + line.len();
        let inside = spans.iter().any(|(s, e)| *s < start && end < *e);
        if line.ends_with([' ', '\t']) && !inside {
            return Some(start);
        }
        start = end + 1;
    }
    None
}

fn files(dir: &str, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(dir))
        .expect("the folder exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    found.sort();
    found
}

#[test]
fn messy_runbook_snapshot() {
    let text = std::fs::read_to_string(Path::new(ROOT).join("tests/fixtures/fmt/messy.night")).expect("fixture");
    let formatted = assert_preserved(&text, "messy.night").expect("preserved");
    insta::assert_snapshot!("messy", formatted);
}

#[test]
fn every_runbook_and_fixture_keeps_its_meaning_and_comments() {
    let mut paths = files("runbooks", |n| n.ends_with(".night"));
    paths.extend(files("tests/fixtures/check", |n| n.ends_with(".night")));
    paths.push(Path::new(ROOT).join("editors/sample.night"));
    let mut formatted = 0;
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("readable");
        if syntax::parse_statements(&text).is_err() {
            // Fixtures of syntax errors are not formatted: that is tested below.
            continue;
        }
        assert_preserved(&text, &path.display().to_string()).expect("preserved");
        formatted += 1;
    }
    let ok_fixtures = paths.iter().filter(|p| p.to_string_lossy().ends_with(".ok.night")).count();
    assert!(formatted >= ok_fixtures + 5, "only {formatted} files were formatted");
}

#[test]
fn a_syntax_error_is_not_formatted() {
    for path in files("tests/fixtures/check", |n| n.starts_with("syntax") && !n.ends_with(".ok.night")) {
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(format(&text).is_err(), "{} was formatted", path.display());
    }
}

/// Inputs the fuzz targets (`fuzz/`, docs/fuzzing-log.md) found formatting wrongly; each must
/// keep everything, format to a fixed point, and pass the fuzz targets' own checks.
const FUZZ_FINDINGS: &[&str] = &[
    // A block string of blank lines: the closing `"""` moved right at every formatting.
    "task {\n  prompt \"\"\"\n   \n\"\"\"\n}\n",
    // A block string re-indenting would change (`\r\r`): its closing line, less indented than
    // the statement, was indented and so changed the value.
    "task {\n  prompt \"\"\"\n  a\r\r\n \"  \"\"\"\n}\n",
    // A blank line of other white space in a block string (this one panicked the parser).
    "task {\n  prompt \"\"\"\n  x\n\u{3000}\n  \"\"\"\n}\n",
];

#[test]
fn fuzz_findings_format_to_a_fixed_point() {
    for (index, text) in FUZZ_FINDINGS.iter().enumerate() {
        let formatted = assert_preserved(text, &format!("finding {index}")).expect("preserved");
        assert_eq!(format(&formatted).expect("formats"), formatted, "finding {index}");
        night::fuzzing::check_text(text);
    }
}

// ---------------------------------------------------------------- the CLI --

fn night(args: &[&str], dir: &Path, stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_night"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("night runs");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.unwrap_or("").as_bytes()).expect("write stdin");
    drop(input);
    let output = child.wait_with_output().expect("night ends");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_flag_exit_codes_and_rewriting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tidy = "limits {\n  timeout 1h\n}\n";
    let messy = "limits { timeout 1h }\n";
    std::fs::write(dir.path().join("tidy.night"), tidy).expect("write");
    std::fs::write(dir.path().join("messy.night"), messy).expect("write");
    std::fs::write(dir.path().join("broken.night"), "limits {\n").expect("write");

    assert_eq!(night(&["fmt", "--check", "tidy.night"], dir.path(), None).0, 0);
    let (code, stdout, _) = night(&["fmt", "--check", "tidy.night", "messy.night"], dir.path(), None);
    assert_eq!((code, stdout.as_str()), (1, "would reformat messy.night\n"));
    assert_eq!(std::fs::read_to_string(dir.path().join("messy.night")).expect("read"), messy, "--check changed the file");

    let (code, _, stderr) = night(&["fmt", "--check", "broken.night", "messy.night"], dir.path(), None);
    assert_eq!(code, 2);
    assert!(stderr.contains("unclosed block") && stderr.contains("[syntax]") || stderr.contains("syntax"), "{stderr}");
    assert!(stderr.contains("broken.night: not formatted"), "{stderr}");
    assert_eq!(night(&["fmt", "missing.night"], dir.path(), None).0, 2);

    assert_eq!(night(&["fmt", "messy.night", "broken.night"], dir.path(), None).0, 2);
    assert_eq!(std::fs::read_to_string(dir.path().join("messy.night")).expect("read"), tidy, "the file was not rewritten");
    assert_eq!(std::fs::read_to_string(dir.path().join("broken.night")).expect("read"), "limits {\n");
    assert_eq!(night(&["fmt", "--check", "messy.night"], dir.path(), None).0, 0);
}

#[test]
fn standard_input_to_standard_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, _) = night(&["fmt", "-"], dir.path(), Some("limits { timeout 1h }"));
    assert_eq!((code, stdout.as_str()), (0, "limits {\n  timeout 1h\n}\n"));
    assert_eq!(night(&["fmt", "--check", "-"], dir.path(), Some("limits { timeout 1h }")).0, 1);
}

// ------------------------------------------------------------- properties --

/// A small deterministic generator: runbooks written every untidy way the grammar allows,
/// with comments in every place a comment can go.
struct Generator {
    state: u64,
}

impl Generator {
    fn next(&mut self) -> u64 {
        // xorshift64*: enough randomness for shapes, and a seed reproduces a case.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("small")
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn space(&mut self) -> &'static str {
        ["", " ", "  ", "\t", " \t "][self.below(5)]
    }

    fn comment(&mut self) -> String {
        let words = ["# note", "#tight", "# ünïcödé — ok", "# 警告 wide", "#", "# a \"quoted\" {brace} ; semi"];
        format!("{}{}", self.pick(&words), self.pick(&["", "  ", "\t"]))
    }

    fn argument(&mut self, indent: &str) -> String {
        match self.below(12) {
            0 => "\"plain\"".into(),
            1 => "\"esc \\\" \\\\ \\n \\t \\u{1F319}\"".into(),
            2 => format!("\"\"\"\n{indent}      first\n{indent}        deeper\n\n{indent}      last\n{indent}   \"\"\""),
            3 => "\"\"\"one line\"\"\"".into(),
            4 => "/re\\/x/i".into(),
            5 => "$2.50".into(),
            6 => "2h30m".into(),
            7 => "env.NAME".into(),
            8 => self.pick(&["<=", "==", ">"]).into(),
            9 => "\"\"".into(),
            _ => self.pick(&["on", "end", "baseline", "claude", "last-green", "x_y"]).into(),
        }
    }

    fn statements(&mut self, depth: usize, out: &mut String) {
        let indent = "  ".repeat(depth + self.below(2));
        let count = self.below(if depth == 0 { 7 } else { 4 });
        for index in 0..count {
            if self.chance(30) {
                out.push_str(&format!("{indent}{}\n", self.comment()));
                if self.chance(30) {
                    out.push('\n');
                }
            }
            out.push_str(&indent);
            let heads = ["name", "task", "success", "permissions", "limits", "rollback", "notify", "waive", "unknown", "timeout", "on"];
            out.push_str(self.pick(&heads));
            for _ in 0..self.below(4) {
                out.push(' ');
                out.push_str(self.space());
                let argument = self.argument(&indent);
                out.push_str(&argument);
            }
            if depth < 2 && self.chance(40) {
                out.push_str(self.space());
                out.push('{');
                if self.chance(25) {
                    out.push_str(&format!(" {}", self.comment()));
                    out.push('\n');
                } else if self.chance(50) {
                    out.push('\n');
                }
                self.statements(depth + 1, out);
                if self.chance(20) {
                    out.push_str(&format!("{indent}  {}\n", self.comment()));
                }
                out.push_str(&indent);
                out.push('}');
            }
            let last = index + 1 == count;
            if self.chance(30) {
                out.push_str(&format!("{} {}\n", self.space(), self.comment()));
            } else if !last && self.chance(25) {
                out.push_str(self.pick(&[";", "; ", " ;"]));
            } else {
                out.push('\n');
            }
            if self.chance(15) {
                out.push_str(self.pick(&["\n", "\n\n", "  \n", ";\n"]));
            }
        }
    }
}

fn generated(seed: u64) -> String {
    let mut generator = Generator { state: seed | 1 };
    let mut text = String::new();
    if generator.chance(30) {
        text.push_str("# header\n\n");
    }
    generator.statements(0, &mut text);
    if generator.chance(30) {
        text.push_str("\n# footer\n");
    }
    text
}

#[test]
fn the_generator_writes_runbooks_that_parse() {
    let parsed = (0..200u64).filter(|seed| syntax::parse_statements(&generated(*seed)).is_ok()).count();
    assert!(parsed >= 190, "only {parsed} of 200 generated runbooks parse");
    let sample: String = (0..50u64).map(generated).collect();
    for needle in ["{ #", "\"\"\"\n", ";", "\n\n", "警告"] {
        assert!(sample.contains(needle), "the generator never writes `{needle}`");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn formatting_generated_runbooks_keeps_everything(seed in any::<u64>()) {
        let text = generated(seed);
        prop_assume!(syntax::parse_statements(&text).is_ok());
        assert_preserved(&text, &format!("seed {seed}"))?;
    }
}
