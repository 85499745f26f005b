//! Jest: `Test Suites: 1 failed, 2 passed, 3 total` then `Tests: 1 failed, 1 skipped, 4 passed, 6 total`.

use super::text::{number, regex};
use super::TestCounts;

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`Tests: N passed, N total` lines";

/// Counts each `Tests:` line. A suite that fails to load fails no test, so the failed
/// count is at least the number of failed suites: never zero when jest failed the run.
pub(super) fn parse(text: &str) -> Option<TestCounts> {
    let suites = regex!(r"^Test Suites:\s+(.*)$");
    let tests = regex!(r"^Tests:\s+(.*\d+ total)\s*$");
    let item = regex!(r"(\d+) ([a-z]+)");

    let mut found = None;
    let mut failed_suites = 0u64;
    for line in text.lines() {
        if let Some(caps) = suites.captures(line) {
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
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_example() {
        let out = "Tests: 1 failed, 2 passed, 3 total\n";
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
    fn failed_suite_without_failed_test_still_fails() {
        let out = "Test Suites: 1 failed, 1 total\nTests:       0 total\n";
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
    fn vitest_lines_are_not_jest() {
        assert_eq!(parse("      Tests  1 failed | 2 passed (3)\n"), None);
    }
}
