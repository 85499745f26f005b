//! `go test`: `--- PASS/FAIL/SKIP` result lines, `ok`/`FAIL` package lines, or `-json` events.
//!
//! Tests are counted as top-level test functions; subtests only decide their parent's result.
//! Without `-v` go prints no line for a passing test, so a passing package whose tests went
//! unlisted counts as one passed test, and a failing package with no failing test listed (a
//! build failure, a crash in `TestMain`) counts as one failed test.

use super::text::regex;
use super::TestCounts;
use serde::Deserialize;
use std::collections::HashSet;

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str =
    "`ok`/`FAIL` package lines, `--- PASS`/`--- FAIL` lines or `go test -json` events";

/// One `go test -json` (test2json) event; only the fields that decide counts.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    action: String,
    #[serde(default)]
    package: String,
    #[serde(default)]
    test: Option<String>,
}

/// Counts results, reading `-json` events and plain lines in the same pass because go
/// prints build failures as plain text even under `-json`.
pub(super) fn parse(text: &str) -> Option<TestCounts> {
    // go writes these with exact spacing: "ok  \t", "FAIL\t", "?   \t".
    let package = regex!(r"^(ok  |FAIL|\?   )\t(\S+)(.*)$");
    let result = regex!(r"^--- (PASS|FAIL|SKIP): ");

    let mut counts = TestCounts::default();
    let mut recognised = false;
    // Per package block of plain output: results listed since the last package line.
    let (mut listed, mut listed_failures) = (0u64, 0u64);
    // Under -json: packages whose failure is already explained by a failing test.
    let mut explained: HashSet<String> = HashSet::new();

    for line in text.lines() {
        if line.starts_with('{') {
            let Ok(event) = serde_json::from_str::<Event>(line) else {
                continue;
            };
            recognised = true;
            match (event.action.as_str(), event.test.as_deref()) {
                (action, Some(name)) if !name.contains('/') => match action {
                    "pass" => counts.passed = counts.passed.saturating_add(1),
                    "skip" => counts.skipped = counts.skipped.saturating_add(1),
                    "fail" => {
                        counts.failed = counts.failed.saturating_add(1);
                        explained.insert(event.package);
                    }
                    _ => {}
                },
                ("fail", None) if !explained.contains(&event.package) => {
                    counts.failed = counts.failed.saturating_add(1);
                }
                _ => {}
            }
        } else if let Some(caps) = result.captures(line) {
            recognised = true;
            listed += 1;
            match &caps[1] {
                "PASS" => counts.passed = counts.passed.saturating_add(1),
                "FAIL" => {
                    listed_failures += 1;
                    counts.failed = counts.failed.saturating_add(1);
                }
                _ => counts.skipped = counts.skipped.saturating_add(1),
            }
        } else if let Some(caps) = package.captures(line) {
            recognised = true;
            match &caps[1] {
                "ok  " if listed == 0 && !caps[3].contains("[no tests to run]") => {
                    counts.passed = counts.passed.saturating_add(1);
                }
                "FAIL" if listed_failures == 0 => {
                    counts.failed = counts.failed.saturating_add(1);
                }
                _ => {}
            }
            (listed, listed_failures) = (0, 0);
        }
    }
    recognised.then_some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtests_decide_only_their_parent() {
        let out = "--- FAIL: TestTable (0.00s)\n    --- PASS: TestTable/a (0.00s)\n    --- FAIL: TestTable/b (0.00s)\nFAIL\nFAIL\texample.com/x\t0.01s\n";
        assert_eq!(
            parse(out),
            Some(TestCounts {
                passed: 0,
                failed: 1,
                skipped: 0
            })
        );
    }

    #[test]
    fn package_lines_stand_in_for_unlisted_tests() {
        let out = "ok  \texample.com/a\t0.01s\nok  \texample.com/b\t(cached)\nok  \texample.com/c\t0.01s [no tests to run]\nFAIL\texample.com/d [build failed]\n";
        assert_eq!(
            parse(out),
            Some(TestCounts {
                passed: 2,
                failed: 1,
                skipped: 0
            })
        );
    }

    #[test]
    fn json_build_failure_counts_once() {
        let out = concat!(
            r#"{"Action":"build-fail","ImportPath":"example.com/d [example.com/d.test]"}"#,
            "\n",
            r#"{"Action":"fail","Package":"example.com/d","FailedBuild":"example.com/d [example.com/d.test]"}"#,
            "\n",
            r#"{"Action":"pass","Package":"example.com/e","Test":"TestE"}"#,
            "\n",
        );
        assert_eq!(
            parse(out),
            Some(TestCounts {
                passed: 1,
                failed: 1,
                skipped: 0
            })
        );
    }

    #[test]
    fn tap_lines_are_not_go() {
        assert_eq!(parse("ok 1 - adds\nnot ok 2 - subtracts\n"), None);
    }
}
