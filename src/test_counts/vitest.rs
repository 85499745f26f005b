//! Vitest: ` Test Files  1 failed | 2 passed (3)`, `      Tests  1 failed | 2 passed (3)`, `     Errors  1 error`.

use super::text::{number, regex};
use super::TestCounts;

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`Tests  N passed (N)` lines";

/// Counts each `Tests` line. A file that fails to load fails no test and an unhandled
/// error fails none either, yet both fail the run: failed is at least the failed files,
/// plus the errors.
pub(super) fn parse(text: &str) -> Option<TestCounts> {
    let files = regex!(r"^\s*Test Files\s+(.*)$");
    let tests = regex!(r"^\s*Tests\s+(.*(?:\(\d+\)|no tests))\s*$");
    let errors = regex!(r"^\s*Errors\s+(\d+) errors?\b");
    let item = regex!(r"(\d+) ([a-z]+)");

    let mut found: Option<TestCounts> = None;
    let mut failed_files = 0u64;
    for line in text.lines() {
        if let Some(caps) = files.captures(line) {
            failed_files = item
                .captures_iter(&caps[1])
                .filter(|c| &c[2] == "failed")
                .map(|c| number(&c[1]))
                .fold(0, u64::saturating_add);
        } else if let Some(caps) = tests.captures(line) {
            let mut counts = TestCounts::default();
            // The trailing "(6)" is the total, which no item pattern below matches.
            for item in item.captures_iter(&caps[1]) {
                let n = number(&item[1]);
                let slot = match &item[2] {
                    "passed" => &mut counts.passed,
                    "failed" => &mut counts.failed,
                    "skipped" | "todo" => &mut counts.skipped,
                    _ => continue,
                };
                *slot = slot.saturating_add(n);
            }
            counts.failed = counts.failed.max(failed_files);
            failed_files = 0;
            *found.get_or_insert_with(TestCounts::default) += counts;
        } else if let (Some(caps), Some(counts)) = (errors.captures(line), found.as_mut()) {
            // Printed after the `Tests` line of the same run.
            counts.failed = counts.failed.saturating_add(number(&caps[1]));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_example() {
        let out = "      Tests  1 failed | 2 passed (3)\n";
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
    fn jest_lines_are_not_vitest() {
        assert_eq!(parse("Tests:       1 failed, 2 passed, 3 total\n"), None);
    }
}
