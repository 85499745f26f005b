//! pytest: the final `==== 2 failed, 4 passed, 1 error in 0.05s ====` line (bare with `-q`).

use super::text::{number, regex};
use super::TestCounts;

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`N passed, N failed in 0.1s` or `no tests ran` lines";

/// Counts pytest's outcome words: errors fail the run, a non-strict xpass does not
/// (a strict one is reported as failed), and an xfail is an expected failure, so skipped.
pub(super) fn parse(text: &str) -> Option<TestCounts> {
    // pytest's own words and the duration suffix ("in 0.05s", "in 61.2s (0:01:01)") keep
    // look-alikes such as "3 files in 2s" out.
    let summary = regex!(
        r"(?m)^=*\s*((?:\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|rerun)(?:, )?)+|no tests ran)\s+in [\d.]+m?s(?: \([\d:.]+\))?\s*=*\s*$"
    );
    let item = regex!(r"(\d+) ([a-z]+)");

    let mut found = None;
    for caps in summary.captures_iter(text) {
        let counts: &mut TestCounts = found.get_or_insert_with(TestCounts::default);
        for item in item.captures_iter(&caps[1]) {
            let n = number(&item[1]);
            let slot = match &item[2] {
                "passed" | "xpassed" => &mut counts.passed,
                "failed" | "error" | "errors" => &mut counts.failed,
                "skipped" | "xfailed" => &mut counts.skipped,
                // deselected, warnings, rerun: not outcomes of tests that ran.
                _ => continue,
            };
            *slot = slot.saturating_add(n);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_count_as_failed() {
        let out = "5 passed, 2 failed, 1 error in 0.3s\n";
        assert_eq!(
            parse(out),
            Some(TestCounts {
                passed: 5,
                failed: 3,
                skipped: 0
            })
        );
    }

    #[test]
    fn long_runs_and_warnings() {
        let out = "===== 120 passed, 3 deselected, 7 warnings, 2 rerun in 61.23s (0:01:01) =====\n";
        assert_eq!(
            parse(out),
            Some(TestCounts {
                passed: 120,
                failed: 0,
                skipped: 0
            })
        );
    }

    #[test]
    fn no_tests_ran_is_a_summary_of_zero() {
        assert_eq!(
            parse("no tests ran in 0.01s\n"),
            Some(TestCounts::default())
        );
    }

    #[test]
    fn other_lines_are_not_summaries() {
        assert_eq!(parse("4 passing (2ms)\n3 files in 2s\n"), None);
    }
}
