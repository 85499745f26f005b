//! Vitest: ` Test Files  1 failed | 2 passed (3)`, `      Tests  1 failed | 2 passed (3)`, `     Errors  1 error`;
//! with `--reporter=verbose`, the ` ✓ src/a.test.ts > block > adds 2ms` lines.

use super::text::{number, regex};
use super::{Outcome, PartialReason, TestCase, TestCounts, TestRun};

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`Tests  N passed (N)` lines";

/// Counts each `Tests` line. A file that fails to load fails no test and an unhandled
/// error fails none either, yet both fail the run: failed is at least the failed files,
/// plus the errors. Files counted below their total (`1 failed (6)`) mean vitest bailed.
pub(super) fn parse(text: &str) -> Option<TestRun> {
    let files = regex!(r"^\s*Test Files\s+(.*)$");
    let tests = regex!(r"^\s*Tests\s+(.*(?:\(\d+\)|no tests))\s*$");
    let errors = regex!(r"^\s*Errors\s+(\d+) errors?\b");
    let item = regex!(r"(\d+) ([a-z]+)");

    let total = regex!(r"\((\d+)\)\s*$");
    let mut found: Option<TestCounts> = None;
    let mut partial = None;
    let mut failed_files = 0u64;
    for line in text.lines() {
        if let Some(caps) = files.captures(line) {
            let counted = item
                .captures_iter(&caps[1])
                .map(|c| number(&c[1]))
                .fold(0, u64::saturating_add);
            if total
                .captures(&caps[1])
                .is_some_and(|t| number(&t[1]) > counted)
            {
                partial = Some(PartialReason::Bail);
            }
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
    Some(TestRun {
        counts: found?,
        partial,
        tests: Some(names(text)),
    })
}

/// The verbose reporter's test lines: ` ✓ src/a.test.ts > block > adds 2ms` (flat), or a test
/// line indented under its file's line (tree). The default reporter lists files and failures
/// only, so it names too few tests to be used.
fn names(text: &str) -> Vec<TestCase> {
    let mark = regex!(r"^( *)(✓|×|✗|↓|✔|✘|❯) (.+?)(?: \d+(?:\.\d+)?m?s)?(?: \[skipped\])?\s*$");
    let file_line = regex!(r"^(\S+) \(\d+ tests?(?: \|[^)]*)?\)");
    // A file that failed to load: ` FAIL  src/a.test.ts [ src/a.test.ts ]`, one failure.
    let failed_file = regex!(r"^ FAIL  (\S+) \[ \S+ \]\s*$");
    let mut tests = Vec::new();
    let mut file: Option<String> = None;
    for line in text.lines() {
        if let Some(caps) = failed_file.captures(line) {
            tests.push(TestCase::new(&caps[1], Outcome::Failed));
            continue;
        }
        let Some(caps) = mark.captures(line) else {
            if !line.starts_with("   ") {
                file = None;
            }
            continue;
        };
        let rest = &caps[3];
        if let Some(file_caps) = file_line.captures(rest) {
            file = Some(file_caps[1].to_string());
            continue;
        }
        if &caps[2] == "❯" {
            continue; // A stack frame: ` ❯ ZodString.parse src/v3/types.ts:226:18`.
        }
        let outcome = match &caps[2] {
            "✓" | "✔" => Outcome::Passed,
            "↓" => Outcome::Skipped,
            _ => Outcome::Failed,
        };
        let name = match (&file, caps[1].len() > 1) {
            (Some(file), true) => format!("{file} > {rest}"),
            _ => rest.to_string(),
        };
        tests.push(TestCase::new(name, outcome));
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::super::test_support::assert_names;
    use super::*;

    #[test]
    fn reads_the_documented_example() {
        let out = "      Tests  1 failed | 2 passed (3)\n";
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
    fn files_below_their_total_mean_a_bail() {
        let out = " Test Files  1 failed (6)\n      Tests  1 failed (76)\n";
        assert_eq!(
            parse(out).and_then(|r| r.partial),
            Some(PartialReason::Bail)
        );
        let out =
            " Test Files  1 failed | 5 passed (6)\n      Tests  2 failed | 136 passed (138)\n";
        assert_eq!(parse(out).and_then(|r| r.partial), None);
    }

    #[test]
    fn verbose_lines_name_tests() {
        let flat = " ✓ src/a.test.ts > math > adds 2ms\n × src/a.test.ts > subtracts 48ms\n   → expected 1 to be 2\n ↓ src/a.test.ts > later\n\n Test Files  1 failed (1)\n      Tests  1 failed | 1 passed | 1 skipped (3)\n";
        let tree = " ❯ src/a.test.ts (3 tests | 1 failed) 50ms\n   ✓ math > adds 2ms\n   × subtracts 48ms\n   ↓ later\n\n Test Files  1 failed (1)\n      Tests  1 failed | 1 passed | 1 skipped (3)\n";
        for out in [flat, tree] {
            assert_names(
                parse,
                out,
                &[
                    ("src/a.test.ts > math > adds", Outcome::Passed),
                    ("src/a.test.ts > subtracts", Outcome::Failed),
                    ("src/a.test.ts > later", Outcome::Skipped),
                ],
            );
        }
        let default = " ✓ src/a.test.ts (2 tests) 3ms\n\n Test Files  1 passed (1)\n      Tests  2 passed (2)\n";
        assert_eq!(
            parse(default).map(TestRun::checked).and_then(|r| r.tests),
            None
        );
    }

    #[test]
    fn jest_lines_are_not_vitest() {
        assert_eq!(parse("Tests:       1 failed, 2 passed, 3 total\n"), None);
    }
}
