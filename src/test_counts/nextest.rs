//! `cargo nextest run`: the final `Summary [ 0.5s] 10 tests run: 9 passed, 1 failed, 1 skipped` line.

use super::text::{number, regex};
use super::TestCounts;

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`Summary [...] N tests run:` lines";

/// Counts the summary's items; parenthesised details like `(1 slow, 2 flaky)` qualify
/// the item before them and are not counts of their own.
pub(super) fn parse(text: &str) -> Option<TestCounts> {
    let summary = regex!(r"(?m)^\s*Summary \[[^\]\n]*\]\s+\d+(?:/\d+)? tests? run: (.*)$");
    let details = regex!(r"\([^)]*\)");
    let item = regex!(r"^(\d+) ([a-z][a-z ]*?)\s*$");

    let mut found = None;
    for caps in summary.captures_iter(text) {
        let counts: &mut TestCounts = found.get_or_insert_with(TestCounts::default);
        let items = details.replace_all(&caps[1], "");
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
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_failure() {
        let out = "     Summary [   1.203s] 12 tests run: 8 passed (2 slow, 1 flaky), 2 failed (1 due to being leaky), 1 exec failed, 1 timed out, 3 skipped\n";
        assert_eq!(
            parse(out),
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
            parse(out),
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
}
