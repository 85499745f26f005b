//! Mocha's `spec` reporter: `  4 passing (2ms)`, `  2 pending`, `  2 failing`.

use super::text::{number, regex};
use super::TestCounts;

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`N passing (Xms)` lines";

/// Sums every summary; each run opens with its `passing` line, which mocha always prints.
pub(super) fn parse(text: &str) -> Option<TestCounts> {
    let summary = regex!(r"^\s*(\d+) (passing|failing|pending)(?: \(\d[^)]*\))?\s*$");

    let mut found: Option<TestCounts> = None;
    for line in text.lines() {
        let Some(caps) = summary.captures(line) else {
            continue;
        };
        let n = number(&caps[1]);
        if &caps[2] == "passing" {
            *found.get_or_insert_with(TestCounts::default) += TestCounts {
                passed: n,
                ..TestCounts::default()
            };
        } else if let Some(counts) = found.as_mut() {
            // A failing or pending line before any passing line is not mocha's summary.
            let slot = if &caps[2] == "failing" {
                &mut counts.failed
            } else {
                &mut counts.skipped
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
    fn reads_a_summary() {
        let out = "\n  3 passing (12ms)\n  1 pending\n  2 failing\n\n  1) math\n       adds:\n";
        assert_eq!(
            parse(out),
            Some(TestCounts {
                passed: 3,
                failed: 2,
                skipped: 1
            })
        );
    }

    #[test]
    fn test_titles_are_not_summaries() {
        assert_eq!(parse("  1) 2 failing\n    ✔ 3 passing things\n"), None);
    }
}
