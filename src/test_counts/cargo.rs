//! `cargo test`: one libtest `test result:` line per test binary, summed; `test x ... ok` lines
//! name the tests, under the binary that ran them.

use super::text::{number, regex};
use super::{Outcome, PartialReason, TestCase, TestCounts, TestRun};

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`test result:` lines";

/// Counts libtest summaries. A test binary that crashed has none, only cargo's error line: its
/// tests that finished before the crash count as they ended, and the crash as one failure.
pub(super) fn parse(text: &str) -> Option<TestRun> {
    let summary = regex!(
        r"^test result: (ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored; (\d+) measured;"
    );
    // cargo prints this for every failing test binary, including one that died of a signal
    // before printing its summary; comparing the two catches such crashes.
    // A crash mid-line leaves it after the unfinished `test x ... `.
    let binary_failed = regex!(r"(?:^|\.\.\. )error: (?:test|doctest) failed, to rerun pass ");
    // With `--no-fail-fast` cargo ends with the list of failed targets; without it, it stops
    // at the first failing binary and prints no such list.
    let all_failed = regex!(r"^error: \d+ targets? failed:");
    let header = regex!(r"^\s+(?:Running \S.* \((.+)\)|Doc-tests (\S+))\s*$");
    let result = regex!(r"^test (.+?) \.\.\. (ok|FAILED|ignored)\b");

    let mut counts = TestCounts::default();
    let (mut summaries, mut failed_summaries, mut failed_binaries) = (0u64, 0u64, 0u64);
    let mut listed_all = false;
    let mut binary = String::new();
    // Results of the current binary, until its summary (which counts them) or its end.
    let (mut pending, mut names) = (Vec::new(), Vec::new());
    // Results of binaries with no summary after them: they died (or were killed) mid-run.
    let mut unsummarised = TestCounts::default();
    for line in text.lines() {
        if let Some(caps) = header.captures(line) {
            binary = match (caps.get(1), caps.get(2)) {
                (Some(path), _) => binary_name(path.as_str()),
                (_, Some(krate)) => format!("{} (doc)", krate.as_str()),
                _ => String::new(),
            };
            unsummarised += tally(&pending);
            names.append(&mut pending);
        } else if let Some(caps) = result.captures(line) {
            let outcome = match &caps[2] {
                "ok" => Outcome::Passed,
                "FAILED" => Outcome::Failed,
                _ => Outcome::Skipped,
            };
            pending.push(TestCase::new(test_name(&binary, &caps[1]), outcome));
        } else if let Some(caps) = summary.captures(line) {
            summaries += 1;
            if &caps[1] == "FAILED" {
                failed_summaries += 1;
            }
            counts += TestCounts {
                passed: number(&caps[2]),
                failed: number(&caps[3]),
                skipped: number(&caps[4]),
            };
            names.append(&mut pending);
        } else if binary_failed.is_match(line) {
            failed_binaries += 1;
        } else if all_failed.is_match(line) {
            listed_all = true;
        }
    }
    unsummarised += tally(&pending);
    names.append(&mut pending);
    let crashed = failed_binaries.saturating_sub(failed_summaries);
    if summaries == 0 && crashed == 0 {
        return None;
    }
    counts += unsummarised;
    counts.failed = counts.failed.saturating_add(crashed);
    let partial = (failed_binaries > 0 && !listed_all).then_some(PartialReason::CargoFailFast);
    Some(TestRun {
        counts,
        partial,
        tests: Some(names),
    })
}

/// Counts results one by one, for a binary that printed no summary.
fn tally(tests: &[TestCase]) -> TestCounts {
    let mut counts = TestCounts::default();
    for test in tests {
        counts.record(test.outcome);
    }
    counts
}

/// A test binary by its file name without cargo's hash: `strsim-ea726ef79701803d` is `strsim`.
fn binary_name(path: &str) -> String {
    let hash = regex!(r"-[0-9a-f]{16}$");
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let file = file.strip_suffix(".exe").unwrap_or(file);
    hash.replace(file, "").into_owned()
}

/// `binary::test`; a doctest's line number, which moves with every edit above it, is dropped.
fn test_name(binary: &str, test: &str) -> String {
    let line = regex!(r" \(line \d+\)$");
    let test = line.replace(test, "");
    if binary.is_empty() {
        test.into_owned()
    } else {
        format!("{binary}::{test}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::assert_names;
    use super::*;

    fn counts(text: &str) -> Option<TestCounts> {
        parse(text).map(|run| run.counts)
    }

    #[test]
    fn sums_summaries_and_ignores_filtered_out() {
        let out = "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 5 filtered out; finished in 0.00s\n\
                   test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
                   error: test failed, to rerun pass `--lib`\n";
        assert_eq!(
            counts(out),
            Some(TestCounts {
                passed: 4,
                failed: 2,
                skipped: 1
            })
        );
    }

    #[test]
    fn failed_doctest_binary_without_summary_is_a_failure() {
        let out = "error: doctest failed, to rerun pass `--doc`\n";
        assert_eq!(
            counts(out),
            Some(TestCounts {
                passed: 0,
                failed: 1,
                skipped: 0
            })
        );
    }

    #[test]
    fn mentions_elsewhere_do_not_count() {
        assert_eq!(
            counts("the line `test result: ok. 1 passed;` is parsed\n"),
            None
        );
    }

    #[test]
    fn fail_fast_is_partial_and_no_fail_fast_is_not() {
        let fail_fast = "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\nerror: test failed, to rerun pass `-p strsim --lib`\n";
        assert_eq!(
            parse(fail_fast).and_then(|r| r.partial),
            Some(PartialReason::CargoFailFast)
        );
        let all = format!("{fail_fast}error: 1 target failed:\n    `-p strsim --lib`\n");
        assert_eq!(parse(&all).and_then(|r| r.partial), None);
        let passing = "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n";
        assert_eq!(parse(passing).and_then(|r| r.partial), None);
    }

    #[test]
    fn names_carry_their_binary_and_lose_doctest_lines() {
        let out = "     Running unittests src/lib.rs (target/debug/deps/strsim-ea726ef79701803d)\n\
                   running 2 tests\n\
                   test tests::a ... ok\n\
                   test tests::b ... FAILED\n\
                   test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                   \x20  Doc-tests strsim\n\
                   test src/lib.rs - hamming (line 77) ... ok\n\
                   test src/lib.rs - jaro (line 180) ... ignored, slow\n\
                   test result: ok. 1 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.50s\n\
                   error: 1 target failed:\n";
        assert_names(
            parse,
            out,
            &[
                ("strsim::tests::a", Outcome::Passed),
                ("strsim::tests::b", Outcome::Failed),
                ("strsim (doc)::src/lib.rs - hamming", Outcome::Passed),
                ("strsim (doc)::src/lib.rs - jaro", Outcome::Skipped),
            ],
        );
    }

    #[test]
    fn a_crashed_binary_counts_what_finished_and_one_failure() {
        let out = "     Running unittests src/lib.rs (target/debug/deps/a-0123456789abcdef)\n\
                   test t::one ... ok\n\
                   error: test failed, to rerun pass `--lib`\n\n\
                   Caused by:\n  process didn't exit successfully: (signal: 6, SIGABRT: process abort signal)\n\
                   \x20    Running tests/b.rs (target/debug/deps/b-0123456789abcdef)\n\
                   test two ... ok\n\
                   test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                   error: 1 target failed:\n";
        let run = parse(out).map(TestRun::checked).unwrap_or_default();
        assert_eq!(
            run.counts,
            TestCounts {
                passed: 2,
                failed: 1,
                skipped: 0
            }
        );
        assert_eq!(
            run.tests.map(|t| t.len()),
            Some(2),
            "the crash itself has no name"
        );
        assert_eq!(run.partial, None);
    }

    #[test]
    fn quiet_output_names_no_tests() {
        let out = "running 3 tests\n...\ntest result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        assert_eq!(parse(out).map(TestRun::checked).and_then(|r| r.tests), None);
    }
}
