//! Jest: `Test Suites: 1 failed, 2 passed, 3 total` then `Tests: 1 failed, 1 skipped, 4 passed, 6 total`;
//! with `--verbose`, the `✓ adds (2 ms)` lines under each `PASS file` and its describe blocks.

use super::text::{number, regex, Nesting};
use super::{Outcome, PartialReason, TestCase, TestCounts, TestRun};

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`Tests: N passed, N total` lines";

/// Counts each `Tests:` line. A suite that fails to load fails no test, so the failed
/// count is at least the number of failed suites: never zero when jest failed the run.
/// `Test Suites: 1 failed, 2 of 10 total` means jest stopped early (`--bail`).
pub(super) fn parse(text: &str) -> Option<TestRun> {
    let suites = regex!(r"^Test Suites:\s+(.*)$");
    let some_of = regex!(r"\d+ of \d+ total");
    let tests = regex!(r"^Tests:\s+(.*\d+ total)\s*$");
    let item = regex!(r"(\d+) ([a-z]+)");

    let mut found = None;
    let mut partial = None;
    let mut failed_suites = 0u64;
    for line in text.lines() {
        if let Some(caps) = suites.captures(line) {
            if some_of.is_match(&caps[1]) {
                partial = Some(PartialReason::Bail);
            }
            failed_suites = item
                .captures_iter(&caps[1])
                .filter(|c| &c[2] == "failed")
                .map(|c| number(&c[1]))
                .fold(0, u64::saturating_add);
        } else if let Some(caps) = tests.captures(line) {
            let mut counts = TestCounts::default();
            for item in item.captures_iter(&caps[1]) {
                let n = number(&item[1]);
                let slot = match &item[2] {
                    "passed" => &mut counts.passed,
                    "failed" => &mut counts.failed,
                    "skipped" | "todo" | "pending" => &mut counts.skipped,
                    _ => continue,
                };
                *slot = slot.saturating_add(n);
            }
            counts.failed = counts.failed.max(failed_suites);
            failed_suites = 0;
            *found.get_or_insert_with(TestCounts::default) += counts;
        }
    }
    Some(TestRun {
        counts: found?,
        partial,
        tests: Some(names(text)),
    })
}

/// `--verbose` names each test under its file and describe blocks, by indentation:
/// `file > block > test`. Without `--verbose` (several files) jest names none.
fn names(text: &str) -> Vec<TestCase> {
    let file = regex!(r"^(?:PASS|FAIL) (\S+)");
    let test = regex!(r"^( *)(✓|✕|√|×|○ skipped|✎ todo|○) (.*?)(?: \(\d+(?:\.\d+)? m?s\))?\s*$");
    let block = regex!(r"^( +)(\S.*?)\s*$");
    let mut tests = Vec::new();
    let mut path = Nesting::default();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(caps) = file.captures(line) {
            current = Some(caps[1].to_string());
            path.clear();
            continue;
        }
        let Some(file) = &current else { continue };
        if line.trim().is_empty() {
            continue;
        }
        if let Some(caps) = test.captures(line) {
            path.close(caps[1].len());
            let outcome = match &caps[2] {
                "✓" | "√" => Outcome::Passed,
                "✕" | "×" => Outcome::Failed,
                _ => Outcome::Skipped,
            };
            tests.push(TestCase::new(
                format!("{file} > {}", path.name(&caps[3])),
                outcome,
            ));
        } else if let Some(caps) = block
            .captures(line)
            .filter(|c| c[1].len() >= 2 && !c[2].starts_with('●'))
        {
            path.open(caps[1].len(), &caps[2]);
        } else {
            // The file's listing ended (failure details, the summary).
            current = None;
        }
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::super::test_support::assert_names;
    use super::*;

    #[test]
    fn reads_the_documented_example() {
        let out = "Tests: 1 failed, 2 passed, 3 total\n";
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
    fn failed_suite_without_failed_test_still_fails() {
        let out = "Test Suites: 1 failed, 1 total\nTests:       0 total\n";
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
    fn some_of_total_suites_is_a_bail() {
        let out = "Test Suites: 1 failed, 1 passed, 2 of 7 total\nTests:       1 failed, 4 passed, 5 total\n";
        assert_eq!(
            parse(out).and_then(|r| r.partial),
            Some(PartialReason::Bail)
        );
        let out =
            "Test Suites: 1 failed, 1 passed, 2 total\nTests:       1 failed, 4 passed, 5 total\n";
        assert_eq!(parse(out).and_then(|r| r.partial), None);
    }

    #[test]
    fn verbose_names_tests_by_file_and_block() {
        let out = "PASS src/math.test.js\n  math\n    ✓ adds (2 ms)\n    nested\n      ✕ subtracts (1 ms)\n    ○ skipped divides\n  ✓ top level\n\n  ● math › nested › subtracts\n\nTest Suites: 1 failed, 1 total\nTests:       1 failed, 1 skipped, 2 passed, 4 total\n";
        assert_names(
            parse,
            out,
            &[
                ("src/math.test.js > math > adds", Outcome::Passed),
                (
                    "src/math.test.js > math > nested > subtracts",
                    Outcome::Failed,
                ),
                ("src/math.test.js > math > divides", Outcome::Skipped),
                ("src/math.test.js > top level", Outcome::Passed),
            ],
        );
        let quiet = "PASS src/a.test.js\nPASS src/b.test.js\n\nTest Suites: 2 passed, 2 total\nTests:       5 passed, 5 total\n";
        assert_eq!(
            parse(quiet).map(TestRun::checked).and_then(|r| r.tests),
            None
        );
    }

    #[test]
    fn vitest_lines_are_not_jest() {
        assert_eq!(parse("      Tests  1 failed | 2 passed (3)\n"), None);
    }
}
