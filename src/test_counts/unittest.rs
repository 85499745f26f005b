//! Python's unittest: `Ran 8 tests in 0.005s` followed by `OK (skipped=1)` or `FAILED (failures=1, errors=2)`.

use super::text::{number, regex};
use super::{Outcome, TestCase, TestCounts, TestRun};

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`Ran N tests` lines followed by `OK` or `FAILED (...)`";

/// Pairs every `Ran` line with the verdict after it. `Ran` counts every test, so the
/// passes are what is left after the verdict's failures, errors and skips. Unexpected
/// successes fail the run since Python 3.4, so they count as failed.
pub(super) fn parse(text: &str) -> Option<TestRun> {
    let ran = regex!(r"^Ran (\d+) tests? in [\d.]+s$");
    let verdict = regex!(r"^(OK|FAILED|NO TESTS RAN)(?: \(([^)]*)\))?\s*$");
    let item = regex!(r"([a-z ]+)=(\d+)");

    let mut found = None;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(caps) = ran.captures(line.trim_end()) else {
            continue;
        };
        let total = number(&caps[1]);
        // The verdict is the next non-blank line; without one the run did not finish cleanly.
        let Some(next) = lines.by_ref().map(str::trim_end).find(|l| !l.is_empty()) else {
            break;
        };
        let Some(verdict) = verdict.captures(next) else {
            continue;
        };
        let (mut failed, mut skipped) = (0u64, 0u64);
        for item in item.captures_iter(verdict.get(2).map_or("", |m| m.as_str())) {
            let n = number(&item[2]);
            match item[1].trim() {
                "failures" | "errors" | "unexpected successes" => failed = failed.saturating_add(n),
                "skipped" | "expected failures" => skipped = skipped.saturating_add(n),
                _ => {}
            }
        }
        let counts: &mut TestCounts = found.get_or_insert_with(TestCounts::default);
        *counts += TestCounts {
            passed: total.saturating_sub(failed).saturating_sub(skipped),
            failed,
            skipped,
        };
    }
    Some(TestRun {
        counts: found?,
        partial: None,
        tests: Some(names(text)),
    })
}

/// `-v` lines: `test_add (tests.test_math.MathTests.test_add) ... ok` (Python 3.11+), or
/// `test_add (tests.test_math.MathTests) ... ok` before; a docstring's first line may stand
/// between the name and the `... ok`. Named `tests.test_math.MathTests.test_add` either way.
fn names(text: &str) -> Vec<TestCase> {
    // A module that failed to import is `tests.test_x (unittest.loader._FailedTest.tests.test_x)`.
    let named = regex!(r"^([\w.]+) \(([\w.]+)\)( \[.*\])?( \(.*\))?(?:$| \.\.\. )");
    let result =
        regex!(r" \.\.\. (ok|FAIL|ERROR|skipped|expected failure|unexpected success)\b[^.]*$");
    let mut tests = Vec::new();
    let mut waiting: Option<String> = None;
    for line in text.lines() {
        if let Some(caps) = named.captures(line) {
            let (method, place) = (&caps[1], &caps[2]);
            let id = if place.ends_with(&format!(".{method}")) {
                place.to_string()
            } else {
                format!("{place}.{method}")
            };
            // A subtest's line (`[label]` or `(i=1)`) repeats its test's name; the test counts once.
            if caps.get(3).is_some() || caps.get(4).is_some() {
                waiting = None;
                continue;
            }
            waiting = Some(id);
        }
        let Some(caps) = result.captures(line) else {
            continue;
        };
        let Some(id) = waiting.take() else { continue };
        let outcome = match &caps[1] {
            "ok" | "unexpected success" => Outcome::Passed,
            "FAIL" | "ERROR" => Outcome::Failed,
            _ => Outcome::Skipped,
        };
        // An unexpected success fails the run; the name is what matters here.
        tests.push(TestCase::new(id, outcome));
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::super::test_support::assert_names;
    use super::*;

    #[test]
    fn ok_with_skips() {
        let out = "Ran 5 tests in 0.010s\n\nOK (skipped=1)\n";
        assert_eq!(
            parse(out).map(|r| r.counts),
            Some(TestCounts {
                passed: 4,
                failed: 0,
                skipped: 1
            })
        );
    }

    #[test]
    fn failures_and_errors_both_fail() {
        let out = "Ran 5 tests in 0.010s\n\nFAILED (failures=1, errors=2, skipped=1)\n";
        assert_eq!(
            parse(out).map(|r| r.counts),
            Some(TestCounts {
                passed: 1,
                failed: 3,
                skipped: 1
            })
        );
    }

    #[test]
    fn two_runs_are_summed() {
        let out = "Ran 2 tests in 0.1s\n\nOK\nRan 3 tests in 0.1s\n\nFAILED (failures=1)\n";
        assert_eq!(
            parse(out).map(|r| r.counts),
            Some(TestCounts {
                passed: 4,
                failed: 1,
                skipped: 0
            })
        );
    }

    #[test]
    fn verbose_lines_name_tests_in_old_and_new_pythons() {
        let out = "test_add (tests.test_math.MathTests.test_add) ... ok\ntest_sub (tests.test_math.MathTests) ... FAIL\ntest_doc (tests.test_math.MathTests.test_doc)\nAdds twice. ... skipped 'no'\n\n----------------------------------------------------------------------\nRan 3 tests in 0.001s\n\nFAILED (failures=1, skipped=1)\n";
        assert_names(
            parse,
            out,
            &[
                ("tests.test_math.MathTests.test_add", Outcome::Passed),
                ("tests.test_math.MathTests.test_sub", Outcome::Failed),
                ("tests.test_math.MathTests.test_doc", Outcome::Skipped),
            ],
        );
        let quiet = "..\n----------------------------------------------------------------------\nRan 2 tests in 0.001s\n\nOK\n";
        assert_eq!(
            parse(quiet).map(TestRun::checked).and_then(|r| r.tests),
            None
        );
    }

    #[test]
    fn ran_without_verdict_is_not_a_summary() {
        assert_eq!(
            parse("Ran 2 tests in 0.1s\n\nTraceback (most recent call last):\n"),
            None
        );
    }
}
