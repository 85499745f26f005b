//! `go test`: `--- PASS/FAIL/SKIP` result lines, `ok`/`FAIL` package lines, or `-json` events.
//!
//! Tests are counted as top-level test functions; subtests only decide their parent's result.
//! Without `-v` go prints no line for a passing test, so a passing package whose tests went
//! unlisted counts as one passed test, and a failing package with no failing test listed (a
//! build failure, a crash in `TestMain`) counts as one failed test.

use super::text::regex;
use super::{Outcome, TestCase, TestCounts, TestRun};
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
/// prints build failures as plain text even under `-json`. Tests are named `package Test`:
/// under `-json` from each event, under `-v` from the package line that ends their block.
pub(super) fn parse(text: &str) -> Option<TestRun> {
    // go writes these with exact spacing: "ok  \t", "FAIL\t", "?   \t".
    let package = regex!(r"^(ok  |FAIL|\?   )\t(\S+)(.*)$");
    let result = regex!(r"^--- (PASS|FAIL|SKIP): (\S+)");
    let mut names = Vec::new();
    // `-v` results of the current package block, named once its package line comes.
    let mut pending: Vec<(String, Outcome)> = Vec::new();

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
                (action, Some(name)) if !name.contains('/') => {
                    let outcome = match action {
                        "pass" => Outcome::Passed,
                        "skip" => Outcome::Skipped,
                        "fail" => Outcome::Failed,
                        _ => continue,
                    };
                    counts.record(outcome);
                    names.push(TestCase::new(format!("{} {name}", event.package), outcome));
                    if outcome == Outcome::Failed {
                        explained.insert(event.package);
                    }
                }
                ("fail", None) if !explained.contains(&event.package) => {
                    counts.failed = counts.failed.saturating_add(1);
                }
                _ => {}
            }
        } else if let Some(caps) = result.captures(line) {
            recognised = true;
            listed += 1;
            let outcome = match &caps[1] {
                "PASS" => Outcome::Passed,
                "FAIL" => {
                    listed_failures += 1;
                    Outcome::Failed
                }
                _ => Outcome::Skipped,
            };
            counts.record(outcome);
            pending.push((caps[2].to_string(), outcome));
        } else if let Some(caps) = package.captures(line) {
            recognised = true;
            names.extend(
                pending
                    .drain(..)
                    .map(|(test, outcome)| TestCase::new(format!("{} {test}", &caps[2]), outcome)),
            );
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
    recognised.then_some(TestRun {
        counts,
        partial: None,
        tests: Some(names),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::assert_names;
    use super::*;

    #[test]
    fn subtests_decide_only_their_parent() {
        let out = "--- FAIL: TestTable (0.00s)\n    --- PASS: TestTable/a (0.00s)\n    --- FAIL: TestTable/b (0.00s)\nFAIL\nFAIL\texample.com/x\t0.01s\n";
        assert_eq!(
            parse(out).map(|r| r.counts),
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
            parse(out).map(|r| r.counts),
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
            parse(out).map(|r| r.counts),
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

    #[test]
    fn verbose_and_json_name_top_level_tests_by_package() {
        let verbose = "=== RUN   TestA\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.00s)\n    --- FAIL: TestB/x (0.00s)\nFAIL\nFAIL\texample.com/p\t0.01s\n";
        let json = concat!(
            r#"{"Action":"pass","Package":"example.com/p","Test":"TestA"}"#,
            "\n",
            r#"{"Action":"fail","Package":"example.com/p","Test":"TestB/x"}"#,
            "\n",
            r#"{"Action":"fail","Package":"example.com/p","Test":"TestB"}"#,
            "\n",
            r#"{"Action":"fail","Package":"example.com/p"}"#,
            "\n",
        );
        for out in [verbose, json] {
            assert_names(
                parse,
                out,
                &[
                    ("example.com/p TestA", Outcome::Passed),
                    ("example.com/p TestB", Outcome::Failed),
                ],
            );
        }
    }

    #[test]
    fn plain_output_names_no_tests() {
        let out = "ok  \texample.com/a\t0.01s\n";
        assert_eq!(parse(out).map(TestRun::checked).and_then(|r| r.tests), None);
    }
}
