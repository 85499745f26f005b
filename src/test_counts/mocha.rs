//! Mocha's `spec` reporter: `  4 passing (2ms)`, `  2 pending`, `  2 failing`, and the tree of
//! `✔ adds`, `1) subtracts`, `- later` lines under their describe blocks, which names tests.

use super::text::{number, regex, Nesting};
use super::{Outcome, TestCase, TestCounts, TestRun};

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str = "`N passing (Xms)` lines";

/// Sums every summary; each run opens with its `passing` line, which mocha always prints.
pub(super) fn parse(text: &str) -> Option<TestRun> {
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
    Some(TestRun {
        counts: found?,
        partial: None,
        tests: Some(names(text)),
    })
}

/// The spec reporter's tree before the first summary: a test line is `✔ title` (`✓` on some
/// terminals), `N) title` or `- title`, named `block > block > title` by indentation.
fn names(text: &str) -> Vec<TestCase> {
    let summary = regex!(r"^\s*\d+ passing");
    let test = regex!(r"^( +)(✔|✓|√|\d+\)|-) (.*?)(?: \(\d+ ?ms\))?\s*$");
    let block = regex!(r"^( +)(\S.*?)\s*$");
    let mut tests = Vec::new();
    let mut path = Nesting::default();
    for line in text.lines() {
        if summary.is_match(line) {
            break;
        }
        if let Some(caps) = test.captures(line) {
            path.close(caps[1].len());
            let outcome = match &caps[2] {
                "-" => Outcome::Skipped,
                mark if mark.ends_with(')') => Outcome::Failed,
                _ => Outcome::Passed,
            };
            tests.push(TestCase::new(path.name(&caps[3]), outcome));
        } else if let Some(caps) = block.captures(line) {
            path.open(caps[1].len(), &caps[2]);
        } else if line.trim().is_empty() {
            continue;
        } else {
            path.clear();
        }
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::super::test_support::assert_names;
    use super::*;

    #[test]
    fn reads_a_summary() {
        let out = "\n  3 passing (12ms)\n  1 pending\n  2 failing\n\n  1) math\n       adds:\n";
        assert_eq!(
            parse(out).map(|r| r.counts),
            Some(TestCounts {
                passed: 3,
                failed: 2,
                skipped: 1
            })
        );
    }

    #[test]
    fn the_tree_names_tests() {
        let out = "\n  math\n    ✔ adds\n    nested\n      1) subtracts\n    - later\n  ✔ alone (12ms)\n\n  2 passing (14ms)\n  1 pending\n  1 failing\n\n  1) math\n       nested\n         subtracts:\n";
        assert_names(
            parse,
            out,
            &[
                ("math > adds", Outcome::Passed),
                ("math > nested > subtracts", Outcome::Failed),
                ("math > later", Outcome::Skipped),
                ("alone", Outcome::Passed),
            ],
        );
    }

    #[test]
    fn test_titles_are_not_summaries() {
        assert_eq!(parse("  1) 2 failing\n    ✔ 3 passing things\n"), None);
    }
}
