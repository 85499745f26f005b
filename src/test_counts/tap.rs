//! Test Anything Protocol (versions 12 to 14), including `node --test` and tape.
//!
//! When the producer prints its own totals (`# pass 5` in TAP, `ℹ pass 5` from node's spec
//! reporter) those are used; otherwise the top-level `ok` / `not ok` lines are counted.

use super::text::{number, regex, Nesting};
use super::{Outcome, PartialReason, TestCase, TestCounts, TestRun};

/// What the error message says was looked for.
pub(super) const LOOKED_FOR: &str =
    "a TAP plan `1..N` with `ok`/`not ok` lines, or `# pass N` totals";

/// Counts a TAP stream; output without a plan, a version line or totals is not TAP. Top-level
/// test points name the tests (`ok 1 - adds` is `adds`), as do the spec reporter's `✔ adds`
/// lines; `Bail out!` means the producer stopped early.
pub(super) fn parse(text: &str) -> Option<TestRun> {
    let counts = totals(text).or_else(|| test_points(text))?;
    let bail = regex!(r"(?m)^Bail out!");
    let partial = bail.is_match(text).then_some(PartialReason::TapBailOut);
    let mut tests = point_names(text);
    if tests.is_empty() {
        tests = spec_names(text);
    }
    Some(TestRun {
        counts,
        partial,
        tests: Some(tests),
    })
}

/// The test points by description, with their directive: top-level ones in plain TAP, where
/// nested points are assertions of their test; every point but a suite's in node's TAP, where
/// `# Subtest: name` opens each nested test (named `parent > child`) and a suite's YAML says
/// `type: 'suite'`, since node counts tests at every depth and suites not at all.
fn point_names(text: &str) -> Vec<TestCase> {
    let point = regex!(r"^( *)(not )?ok\b(?:\s+\d+)?(?:\s+-)?\s*([^#]*?)\s*(?:#\s*(\S+).*)?$");
    let subtest = regex!(r"^( *)# Subtest: (.*)$");
    let node = text.lines().any(|line| subtest.is_match(line));
    let lines: Vec<&str> = text.lines().collect();
    let mut open = Nesting::default();
    let mut tests = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        if let Some(caps) = subtest.captures(line) {
            open.open(caps[1].len(), &caps[2]);
            continue;
        }
        let Some(caps) = point.captures(line) else {
            continue;
        };
        let indent = caps[1].len();
        open.close(indent);
        if (indent > 0 && !node) || (node && is_suite(&lines[at + 1..], indent)) {
            continue;
        }
        let directive = caps
            .get(4)
            .map_or(String::new(), |m| m.as_str().to_ascii_lowercase());
        let outcome = if directive.starts_with("skip") || directive.starts_with("todo") {
            Outcome::Skipped
        } else if caps.get(2).is_some() {
            Outcome::Failed
        } else {
            Outcome::Passed
        };
        tests.push(TestCase::new(open.name(&caps[3]), outcome));
    }
    tests
}

/// Whether the YAML block under a point (indented deeper, up to its `...`) says `type: 'suite'`.
fn is_suite(after: &[&str], indent: usize) -> bool {
    after
        .iter()
        .take_while(|l| l.len() - l.trim_start().len() > indent && l.trim() != "...")
        .any(|l| l.trim() == "type: 'suite'")
}

/// node's spec reporter: `✔ adds (0.3ms)`, `✖ subtracts (1ms)`, `﹣ later (0.1ms) # SKIP`, at
/// any depth under the `▶ block` lines that open suites and parent tests (named `block > test`).
/// The line that closes a `▶` block is the block's, not a test of its own. The failure details
/// repeat the failing tests after `✖ failing tests:`, so reading stops there.
fn spec_names(text: &str) -> Vec<TestCase> {
    let line_re = regex!(r"^( *)(✔|✖|﹣|▶) (.*?)(?: \([\d.]+m?s\))?(?: # (?:SKIP|TODO).*)?\s*$");
    let mut open = Nesting::default();
    let mut tests = Vec::new();
    for line in text.lines() {
        if line.starts_with("✖ failing tests:") {
            break;
        }
        let Some(caps) = line_re.captures(line) else {
            continue;
        };
        let indent = caps[1].len();
        let closes_block = open.innermost() == Some((indent, &caps[3]));
        open.close(indent);
        let outcome = match &caps[2] {
            "▶" => {
                open.open(indent, &caps[3]);
                continue;
            }
            _ if closes_block => continue,
            "✔" | "✖" if line.contains("# TODO") => Outcome::Skipped,
            "✔" => Outcome::Passed,
            "✖" => Outcome::Failed,
            _ => Outcome::Skipped,
        };
        tests.push(TestCase::new(open.name(&caps[3]), outcome));
    }
    tests
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
    use super::super::test_support::assert_names;
    use super::*;

    #[test]
    fn counts_points_and_directives() {
        let out = "1..5\nok 1 - a\nnot ok 2 - b\nok 3 - c # SKIP no db\nnot ok 4 - d # TODO later\nok 5\n";
        assert_eq!(
            parse(out).map(|r| r.counts),
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
            parse(out).map(|r| r.counts),
            Some(TestCounts {
                passed: 1,
                failed: 2,
                skipped: 0
            })
        );
    }

    #[test]
    fn points_and_spec_lines_name_tests() {
        let tap = "TAP version 13\nok 1 - adds\n  ---\n  ...\nnot ok 2 - subtracts\nok 3 - later # SKIP no\n    ok 1 - nested\n1..3\n# pass 1\n# fail 1\n# skipped 1\n";
        let spec = "✔ adds (0.3ms)\n✖ subtracts (1.2ms)\n﹣ later (0.1ms) # SKIP\nℹ tests 3\nℹ pass 1\nℹ fail 1\nℹ skipped 1\n\n✖ failing tests:\n\n✖ subtracts (1.2ms)\n";
        for out in [tap, spec] {
            assert_names(
                parse,
                out,
                &[
                    ("adds", Outcome::Passed),
                    ("subtracts", Outcome::Failed),
                    ("later", Outcome::Skipped),
                ],
            );
        }
    }

    #[test]
    fn node_names_nested_tests_but_not_suites() {
        let tap = "TAP version 13\n# Subtest: math\n    # Subtest: adds\n    ok 1 - adds\n      ---\n      duration_ms: 1\n      ...\n    # Subtest: deep\n        # Subtest: subs\n        not ok 1 - subs\n          ---\n          type: 'test'\n          ...\n        1..1\n    not ok 2 - deep\n      ---\n      type: 'suite'\n      ...\n    # Subtest: later\n    ok 3 - later # SKIP\nnot ok 1 - math\n  ---\n  type: 'suite'\n  ...\n# Subtest: parent\n    # Subtest: child\n    ok 1 - child\nok 2 - parent\n1..2\n# tests 5\n# suites 2\n# pass 3\n# fail 1\n# skipped 1\n";
        assert_names(
            parse,
            tap,
            &[
                ("math > adds", Outcome::Passed),
                ("math > deep > subs", Outcome::Failed),
                ("math > later", Outcome::Skipped),
                ("parent > child", Outcome::Passed),
                ("parent", Outcome::Passed),
            ],
        );
        // In the spec reporter a parent test and a suite look alike: with a parent test the
        // names fall short of the passes, and are not used.
        let spec = "▶ math\n  ✔ adds (1ms)\n  ▶ deep\n    ✖ subs (1ms)\n  ✖ deep (2ms)\n  ﹣ later (0.1ms) # SKIP\n✖ math (3ms)\n✔ top (0.2ms)\nℹ tests 4\nℹ suites 2\nℹ pass 2\nℹ fail 1\nℹ skipped 1\n";
        assert_names(
            parse,
            spec,
            &[
                ("math > adds", Outcome::Passed),
                ("math > deep > subs", Outcome::Failed),
                ("math > later", Outcome::Skipped),
                ("top", Outcome::Passed),
            ],
        );
    }

    #[test]
    fn bail_out_is_partial() {
        let out = "TAP version 13\n1..3\nok 1 - a\nBail out! database gone\n";
        assert_eq!(
            parse(out).and_then(|r| r.partial),
            Some(PartialReason::TapBailOut)
        );
    }

    #[test]
    fn go_package_lines_are_not_tap() {
        assert_eq!(parse("ok  \texample.com/a\t0.01s\n"), None);
    }
}
