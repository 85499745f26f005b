//! `cargo test`: one libtest `test result:` line per test binary, summed.

use super::text::{number, regex};
use super::TestCounts;

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`test result:` lines";

/// Counts libtest summaries; a test binary that crashed has none, only cargo's error line.
pub(super) fn parse(text: &str) -> Option<TestCounts> {
    let summary = regex!(
        r"(?m)^test result: (ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored; (\d+) measured;"
    );
    // cargo prints this for every failing test binary, including one that died of a signal
    // before printing its summary; comparing the two catches such crashes.
    let binary_failed = regex!(r"(?m)^error: (?:test|doctest) failed, to rerun pass ");

    let mut counts = TestCounts::default();
    let mut summaries = 0u64;
    let mut failed_summaries = 0u64;
    for caps in summary.captures_iter(text) {
        summaries += 1;
        if &caps[1] == "FAILED" {
            failed_summaries += 1;
        }
        counts += TestCounts {
            passed: number(&caps[2]),
            failed: number(&caps[3]),
            skipped: number(&caps[4]),
        };
    }
    let failed_binaries = binary_failed.find_iter(text).count() as u64;
    let crashed = failed_binaries.saturating_sub(failed_summaries);
    if summaries == 0 && crashed == 0 {
        return None;
    }
    counts.failed = counts.failed.saturating_add(crashed);
    Some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_summaries_and_ignores_filtered_out() {
        let out = "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 5 filtered out; finished in 0.00s\n\
                   test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
                   error: test failed, to rerun pass `--lib`\n";
        assert_eq!(
            parse(out),
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
            parse(out),
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
            parse("the line `test result: ok. 1 passed;` is parsed\n"),
            None
        );
    }
}
