//! pytest 7 to 9: the final `==== 2 failed, 4 passed, 1 error in 0.05s ====` line (bare with
//! `-q`), pytest-sugar's `Results (0.17s):` block, the `stopping after` / `Interrupted` banners,
//! and test ids from the `-rA` short summary or the `-v` lines.

use super::text::{number, regex};
use super::{Outcome, PartialReason, TestCase, TestCounts, TestRun};

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`N passed, N failed in 0.1s` or `no tests ran` lines";

/// The outcome words pytest itself prints; a summary line needs one of them (or `=` framing)
/// so that look-alikes such as `3 files in 2s` are not read.
const PYTEST_WORDS: &[&str] = &[
    "passed",
    "failed",
    "error",
    "errors",
    "skipped",
    "xfailed",
    "xpassed",
    "deselected",
    "warning",
    "warnings",
    "rerun",
];

/// Counts pytest's outcome words: errors fail the run, a non-strict xpass does not (a strict
/// one is reported as failed), and an xfail is an expected failure, so skipped. Words that
/// plugins and new versions add (`subtests passed`, `flaky`) are ignored.
pub(super) fn parse(text: &str) -> Option<TestRun> {
    let mut found: Option<TestCounts> = None;
    for line in text.lines() {
        if let Some(counts) = summary_line(line) {
            *found.get_or_insert_with(TestCounts::default) += counts;
        }
    }
    let counts = found.or_else(|| sugar_results(text))?;
    Some(TestRun {
        counts,
        partial: partial(text),
        tests: Some(names(text)),
    })
}

/// One terminal summary line, e.g. `7 failed, 656 passed, 1 skipped, 8 warnings, 2332
/// subtests passed in 7.05s`, framed by `=` or (with `-q`) bare.
fn summary_line(line: &str) -> Option<TestCounts> {
    // The duration suffix: "in 0.05s", "in 61.2s (0:01:01)", pytest 5's "in 0.05 seconds".
    let shape = regex!(r"^(=+ )?(.+?) in [\d.]+ ?(?:s|seconds)(?: \([\d:.]+\))?(?: =+)?\s*$");
    let item = regex!(r"^(\d+) ([a-z][a-z ]*)$");
    let caps = shape.captures(line.trim())?;
    let framed = caps.get(1).is_some();
    let body = &caps[2];
    if body == "no tests ran" {
        return Some(TestCounts::default());
    }
    let mut counts = TestCounts::default();
    let mut known = false;
    for part in body.split(", ") {
        let item = item.captures(part)?;
        let n = number(&item[1]);
        let word = &item[2];
        known |= PYTEST_WORDS.contains(&word);
        let slot = match word {
            "passed" | "xpassed" => &mut counts.passed,
            "failed" | "error" | "errors" => &mut counts.failed,
            "skipped" | "xfailed" => &mut counts.skipped,
            // deselected, warnings, rerun, subtests passed, …: not outcomes of tests.
            _ => continue,
        };
        *slot = slot.saturating_add(n);
    }
    (framed || known).then_some(counts)
}

/// pytest-sugar replaces the summary line with a block: `Results (0.17s):` then `   5 passed`.
fn sugar_results(text: &str) -> Option<TestCounts> {
    let header = regex!(r"^Results \([\d.]+s\):\s*$");
    let item = regex!(r"^\s+(\d+) (passed|failed|error|errors|skipped|xfailed|xpassed|[a-z]+)\s*$");
    let mut lines = text.lines();
    let mut found = None;
    while lines.by_ref().any(|l| header.is_match(l)) {
        let counts: &mut TestCounts = found.get_or_insert_with(TestCounts::default);
        for line in lines.by_ref().take_while(|l| !l.trim().is_empty()) {
            let Some(item) = item.captures(line) else {
                continue; // `- tests/x.py:10 test_b`, the failures' places.
            };
            let n = number(&item[1]);
            let slot = match &item[2] {
                "passed" | "xpassed" => &mut counts.passed,
                "failed" | "error" | "errors" => &mut counts.failed,
                "skipped" | "xfailed" => &mut counts.skipped,
                _ => continue,
            };
            *slot = slot.saturating_add(n);
        }
    }
    found
}

/// pytest's `!!!! stopping after 1 failures !!!!` (`-x`, `--maxfail`, also from xdist) and
/// `!!!! Interrupted: 1 error during collection !!!!` banners.
fn partial(text: &str) -> Option<PartialReason> {
    let banner =
        regex!(r"(?m)^!+ (stopping after \d+ failures?|Interrupted: .*|KeyboardInterrupt) !+\s*$");
    let caps = banner.captures(text)?;
    Some(if caps[1].starts_with("stopping") {
        PartialReason::PytestMaxFail
    } else {
        PartialReason::PytestInterrupted
    })
}

/// Test ids from the `-rA` short summary (`PASSED tests/x.py::test_a`) when it lists passes,
/// else from the `-v` lines (`tests/x.py::test_a PASSED [ 50%]`, under xdist `[gw0] [ 50%]
/// PASSED tests/x.py::test_a`). Subtests (`SUBPASSED`) are parts of a test, not tests.
fn names(text: &str) -> Vec<TestCase> {
    let short = regex!(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S.*?)(?: - .*)?$");
    let verbose =
        regex!(r"^(\S+::\S.*?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b.*\[\s*\d+%\]\s*$");
    let xdist =
        regex!(r"^\[gw\d+\] \[\s*\d+%\] (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+::.*?)\s*$");
    let (mut summary, mut lines) = (Vec::new(), Vec::new());
    for line in text.lines() {
        if let Some(caps) = short.captures(line) {
            summary.push(TestCase::new(normalise(&caps[2]), outcome(&caps[1])));
        } else if let Some(caps) = verbose.captures(line) {
            lines.push(TestCase::new(normalise(&caps[1]), outcome(&caps[2])));
        } else if let Some(caps) = xdist.captures(line) {
            lines.push(TestCase::new(normalise(&caps[2]), outcome(&caps[1])));
        }
    }
    let summary_lists_passes = summary.iter().any(|t| t.outcome == Outcome::Passed);
    if summary_lists_passes || lines.is_empty() {
        summary
    } else {
        lines
    }
}

fn outcome(word: &str) -> Outcome {
    match word {
        "PASSED" | "XPASS" => Outcome::Passed,
        "FAILED" | "ERROR" => Outcome::Failed,
        _ => Outcome::Skipped,
    }
}

/// A node id with what changes from run to run taken out: memory addresses in parametrised
/// ids (`test_x[<object at 0x7f3a…>]`).
fn normalise(id: &str) -> String {
    let address = regex!(r"0x[0-9a-fA-F]{6,}");
    address.replace_all(id.trim(), "0x…").into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::assert_names;
    use super::*;

    fn counts(text: &str) -> Option<TestCounts> {
        parse(text).map(|run| run.counts)
    }

    fn c(passed: u64, failed: u64, skipped: u64) -> Option<TestCounts> {
        Some(TestCounts {
            passed,
            failed,
            skipped,
        })
    }

    #[test]
    fn errors_count_as_failed() {
        assert_eq!(counts("5 passed, 2 failed, 1 error in 0.3s\n"), c(5, 3, 0));
    }

    #[test]
    fn long_runs_and_warnings() {
        let out = "===== 120 passed, 3 deselected, 7 warnings, 2 rerun in 61.23s (0:01:01) =====\n";
        assert_eq!(counts(out), c(120, 0, 0));
    }

    #[test]
    fn pytest_9_subtests_and_unknown_words_are_ignored() {
        let out = "7 failed, 656 passed, 1 skipped, 8 warnings, 2332 subtests passed in 7.05s\n";
        assert_eq!(counts(out), c(656, 7, 1));
        let out = "==== 3 passed, 2 flaky, 1 xfailed, 4 subtests skipped in 0.50s ====\n";
        assert_eq!(counts(out), c(3, 0, 1));
        let framed_unknown_only = "==== 3 frobnicated in 0.50s ====\n";
        assert_eq!(counts(framed_unknown_only), c(0, 0, 0));
    }

    #[test]
    fn old_pytest_seconds() {
        assert_eq!(
            counts("=== 2 passed, 1 xpassed in 0.12 seconds ===\n"),
            c(3, 0, 0)
        );
    }

    #[test]
    fn no_tests_ran_is_a_summary_of_zero() {
        assert_eq!(counts("no tests ran in 0.01s\n"), c(0, 0, 0));
        assert_eq!(counts("====== no tests ran in 0.01s ======\n"), c(0, 0, 0));
    }

    #[test]
    fn other_lines_are_not_summaries() {
        assert_eq!(
            counts("4 passing (2ms)\n3 files in 2s\nDone: 2 passed, 1 more in 3s\n"),
            None
        );
    }

    #[test]
    fn pytest_sugar_results_block() {
        let out = "Results (0.17s):\n       5 passed\n       1 failed\n         - tests/x.py:10 test_b\n       2 skipped\n\n";
        assert_eq!(counts(out), c(5, 1, 2));
    }

    #[test]
    fn stopping_and_interrupted_banners_mark_partial_counts() {
        let out = "!!!!!!!!!!!!!!!!!!!!!!!!!! stopping after 1 failures !!!!!!!!!!!!!!!!!!!!!!!!!!!\n========== 1 failed, 3 passed in 0.12s ==========\n";
        assert_eq!(
            parse(out).and_then(|r| r.partial),
            Some(PartialReason::PytestMaxFail)
        );
        let out = "!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n=============== 1 error in 0.12s ===============\n";
        assert_eq!(
            parse(out).and_then(|r| r.partial),
            Some(PartialReason::PytestInterrupted)
        );
        assert_eq!(parse("1 passed in 0.1s\n").and_then(|r| r.partial), None);
    }

    #[test]
    fn short_summary_names_tests() {
        let out = "=== short test summary info ===\nPASSED tests/a.py::test_ok[0x7f3a2b1c9d00-1]\nFAILED tests/a.py::T::test_bad - AssertionError: x - y\nSKIPPED [1] tests/a.py:9: no db\nXFAIL tests/a.py::test_later - not yet\nERROR tests/b.py\n=== 1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error in 0.1s ===\n";
        assert_names(
            parse,
            out,
            &[
                ("tests/a.py::test_ok[0x…-1]", Outcome::Passed),
                ("tests/a.py::T::test_bad", Outcome::Failed),
                ("tests/a.py::test_later", Outcome::Skipped),
                ("tests/b.py", Outcome::Failed),
            ],
        );
    }

    #[test]
    fn verbose_lines_name_tests_with_and_without_xdist() {
        let out = "tests/a.py::test_one PASSED                 [ 50%]\ntests/a.py::test_two[a b] FAILED            [100%]\n[gw1] [ 33%] PASSED tests/a.py::test_three\n=== 1 failed, 2 passed in 0.1s ===\n";
        assert_names(
            parse,
            out,
            &[
                ("tests/a.py::test_one", Outcome::Passed),
                ("tests/a.py::test_two[a b]", Outcome::Failed),
                ("tests/a.py::test_three", Outcome::Passed),
            ],
        );
    }

    #[test]
    fn quiet_output_names_no_tests() {
        let out = "..F\nFAILED tests/a.py::test_bad - assert 1 == 2\n1 failed, 2 passed in 0.1s\n";
        assert_eq!(parse(out).map(TestRun::checked).and_then(|r| r.tests), None);
    }
}
