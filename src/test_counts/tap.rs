//! Test Anything Protocol (versions 12 to 14), including `node --test` and tape.
//!
//! When the producer prints its own totals (`# pass 5` in TAP, `ℹ pass 5` from node's spec
//! reporter) those are used; otherwise the top-level `ok` / `not ok` lines are counted.

use super::text::{number, regex};
use super::TestCounts;

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str =
    "a TAP plan `1..N` with `ok`/`not ok` lines, or `# pass N` totals";

/// Counts a TAP stream; output without a plan, a version line or totals is not TAP.
pub(super) fn parse(text: &str) -> Option<TestCounts> {
    totals(text).or_else(|| test_points(text))
}

/// Sums the totals comments: `fail` and `cancelled` fail the run, `skipped` and `todo` do not.
fn totals(text: &str) -> Option<TestCounts> {
    let total = regex!(r"^(?:#|ℹ)\s+(pass|fail|cancelled|skipped|skip|todo)\s+(\d+)\s*$");

    let mut counts = TestCounts::default();
    // Totals without a passing count are some other tool's comments.
    let mut saw_pass = false;
    for line in text.lines() {
        let Some(caps) = total.captures(line) else {
            continue;
        };
        let n = number(&caps[2]);
        let slot = match &caps[1] {
            "pass" => {
                saw_pass = true;
                &mut counts.passed
            }
            "fail" | "cancelled" => &mut counts.failed,
            _ => &mut counts.skipped,
        };
        *slot = slot.saturating_add(n);
    }
    saw_pass.then_some(counts)
}

/// Counts top-level test points; indented ones are subtests, summed up by their parent's line.
fn test_points(text: &str) -> Option<TestCounts> {
    let point = regex!(r"^(not )?ok\b(?:\s+\d+)?([^#]*)(?:#\s*(\S+))?");
    let plan = regex!(r"^1\.\.(\d+)");
    let version = regex!(r"^TAP version 1[34]\s*$");

    let mut counts = TestCounts::default();
    let (mut planned, mut seen) = (None, 0u64);
    let (mut is_tap, mut bailed) = (false, false);
    for line in text.lines() {
        if let Some(caps) = point.captures(line) {
            seen += 1;
            let directive = caps
                .get(3)
                .map_or(String::new(), |m| m.as_str().to_ascii_lowercase());
            let slot = if directive.starts_with("skip") || directive.starts_with("todo") {
                // A TODO test is expected to fail, and its passing is no promise either.
                &mut counts.skipped
            } else if caps.get(1).is_some() {
                &mut counts.failed
            } else {
                &mut counts.passed
            };
            *slot = slot.saturating_add(1);
        } else if let Some(caps) = plan.captures(line) {
            is_tap = true;
            planned = Some(number(&caps[1]));
        } else if version.is_match(line) {
            is_tap = true;
        } else if line.starts_with("Bail out!") {
            bailed = true;
        }
    }
    if !is_tap {
        return None;
    }
    // Planned tests that never reported fail, per the specification; so does bailing out.
    let missing = planned.map_or(0, |p| p.saturating_sub(seen));
    let missing = if bailed { missing.max(1) } else { missing };
    counts.failed = counts.failed.saturating_add(missing);
    Some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_points_and_directives() {
        let out = "1..5\nok 1 - a\nnot ok 2 - b\nok 3 - c # SKIP no db\nnot ok 4 - d # TODO later\nok 5\n";
        assert_eq!(
            parse(out),
            Some(TestCounts {
                passed: 2,
                failed: 1,
                skipped: 2
            })
        );
    }

    #[test]
    fn missing_planned_tests_fail() {
        let out = "1..3\nok 1 - a\n";
        assert_eq!(
            parse(out),
            Some(TestCounts {
                passed: 1,
                failed: 2,
                skipped: 0
            })
        );
    }

    #[test]
    fn go_package_lines_are_not_tap() {
        assert_eq!(parse("ok  \texample.com/a\t0.01s\n"), None);
    }
}
