//! `cargo nextest run`: the final `Summary [ 0.5s] 10 tests run: 9 passed, 1 failed, 1 skipped`
//! line, and the `PASS [ 0.004s] (1/10) strsim tests::hamming` status lines that name tests.

use super::text::{number, regex};
use super::{Outcome, PartialReason, TestCase, TestCounts, TestRun};

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`Summary [...] N tests run:` lines";

/// Counts the summary's items; parenthesised details like `(1 slow, 2 flaky)` qualify
/// the item before them and are not counts of their own. `29/106 tests run` means nextest
/// cancelled the run after a failure.
pub(super) fn parse(text: &str) -> Option<TestRun> {
    let summary = regex!(r"^\s*Summary \[[^\]\n]*\]\s+(\d+)(?:/(\d+))? tests? run: (.*)$");
    let details = regex!(r"\([^)]*\)");
    let item = regex!(r"^(\d+) ([a-z][a-z ]*?)\s*$");

    let mut found: Option<TestCounts> = None;
    let mut not_run = 0u64;
    let mut names = Vec::new();
    let mut statuses = Vec::new();
    for line in text.lines() {
        if let Some(status) = status_line(line) {
            statuses.push(status);
            continue;
        }
        let Some(caps) = summary.captures(line) else {
            continue;
        };
        // After the summary nextest repeats the failures; the statuses before it are the run.
        names.append(&mut statuses);
        if let Some(planned) = caps.get(2) {
            not_run =
                not_run.saturating_add(number(planned.as_str()).saturating_sub(number(&caps[1])));
        }
        let counts: &mut TestCounts = found.get_or_insert_with(TestCounts::default);
        let items = details.replace_all(&caps[3], "");
        for part in items.split(',') {
            let Some(item) = item.captures(part.trim()) else {
                continue;
            };
            let n = number(&item[1]);
            let kind = &item[2];
            let slot = match kind {
                "passed" => &mut counts.passed,
                "skipped" => &mut counts.skipped,
                // "failed", "exec failed", "timed out", and whatever new way to fail appears.
                _ if kind.contains("fail")
                    || kind.contains("timed out")
                    || kind.contains("abort") =>
                {
                    &mut counts.failed
                }
                _ => continue,
            };
            *slot = slot.saturating_add(n);
        }
    }
    let counts = found?;
    let partial = (not_run > 0).then_some(PartialReason::NextestFailFast { not_run });
    Some(TestRun {
        counts,
        partial,
        tests: Some(last_status_per_test(names)),
    })
}

/// `PASS [   0.005s] (  1/106) itoa::test test_i128_min`: the status and `binary test`.
/// A retried test prints a line per try (`TRY 1 FAIL`, then `TRY 2 PASS`).
fn status_line(line: &str) -> Option<TestCase> {
    let status = regex!(
        r"^\s*(?:TRY \d+ )?([A-Z][A-Z-]*(?: \d+/\d+)?) \[[^\]]*\] (?:\(\s*\d+/\d+\) )?(\S+ \S.*?)\s*$"
    );
    let caps = status.captures(line)?;
    let word = caps[1].split(' ').next().unwrap_or_default();
    let outcome = match word {
        "PASS" | "LEAK" | "FLAKY" => Outcome::Passed,
        "SKIP" => Outcome::Skipped,
        "FAIL" | "TIMEOUT" | "LEAK-FAIL" | "ABORT" => Outcome::Failed,
        signal if signal.starts_with("SIG") => Outcome::Failed,
        // Progress words such as `START`, `SLOW`, `RETRY`, `TERMINATING` are not results.
        _ => return None,
    };
    Some(TestCase::new(&caps[2], outcome))
}

/// One result per test: the last line about it wins (a retried test's final try).
fn last_status_per_test(lines: Vec<TestCase>) -> Vec<TestCase> {
    let mut tests: Vec<TestCase> = Vec::with_capacity(lines.len());
    let mut index = std::collections::HashMap::new();
    for test in lines {
        if let Some(&at) = index.get(&test.name) {
            tests[at] = test;
        } else {
            index.insert(test.name.clone(), tests.len());
            tests.push(test);
        }
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::super::test_support::assert_names;
    use super::*;

    fn counts(text: &str) -> Option<TestCounts> {
        parse(text).map(|run| run.counts)
    }

    #[test]
    fn reads_every_kind_of_failure() {
        let out = "     Summary [   1.203s] 12 tests run: 8 passed (2 slow, 1 flaky), 2 failed (1 due to being leaky), 1 exec failed, 1 timed out, 3 skipped\n";
        assert_eq!(
            counts(out),
            Some(TestCounts {
                passed: 8,
                failed: 4,
                skipped: 3
            })
        );
    }

    #[test]
    fn reads_the_documented_example() {
        let out = "Summary [ 0.5s] 10 tests run: 9 passed, 1 failed, 0 skipped\n";
        assert_eq!(
            counts(out),
            Some(TestCounts {
                passed: 9,
                failed: 1,
                skipped: 0
            })
        );
    }

    #[test]
    fn no_summary_is_none() {
        assert_eq!(parse("        PASS [   0.004s] alpha tests::adds\n"), None);
    }

    #[test]
    fn a_cancelled_run_is_partial() {
        let out = "     Summary [   0.118s] 29/106 tests run: 28 passed, 1 failed, 0 skipped\n";
        assert_eq!(
            parse(out).and_then(|r| r.partial),
            Some(PartialReason::NextestFailFast { not_run: 77 })
        );
    }

    #[test]
    fn status_lines_name_tests_once() {
        let out = "        PASS [   0.005s] (  1/3) itoa::test test_i128_min\n\
                   \x20   TRY 1 FAIL [   0.005s] (  2/3) strsim tests::flaky\n\
                   \x20   TRY 2 PASS [   0.005s] (  2/3) strsim tests::flaky\n\
                   \x20       FAIL [   0.005s] (  3/3) strsim tests::hamming_diff\n\
                   \x20    Summary [   0.118s] 3 tests run: 2 passed (1 flaky), 1 failed, 0 skipped\n\
                   \x20       FAIL [   0.005s] (  3/3) strsim tests::hamming_diff\n";
        assert_names(
            parse,
            out,
            &[
                ("itoa::test test_i128_min", Outcome::Passed),
                ("strsim tests::flaky", Outcome::Passed),
                ("strsim tests::hamming_diff", Outcome::Failed),
            ],
        );
    }
}
