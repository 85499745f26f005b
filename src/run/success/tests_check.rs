//! The verdict of a `tests` check: the runner's counts, whether it stopped early, and the tests
//! of the baseline it no longer runs (lost tests, issue 13). An attempt fails the check when a
//! test failed, when tests were lost beyond `allow lost N`, or when the runner stopped early
//! (partial counts prove nothing about the tests that did not run).

use super::command::Output;
use crate::ast::TestFormat;
use crate::record::{SuccessRecord, TestCountsRecord};
use crate::test_counts::{lost_tests, read_tests, Evidence, LostTests, TestRun};
use std::path::Path;
use std::time::Duration;

/// The most lost names kept in a result (the count says how many there were).
const NAMES_KEPT: usize = 100;
/// The most lost names written in a reason.
const NAMES_SHOWN: usize = 10;

/// What a `tests` check's run is compared with.
pub(super) enum Against<'a> {
    /// This is the baseline: keep the tests by name for the attempts to come.
    Measuring,
    /// An attempt: the baseline's run of this check (if it gave counts) and `allow lost N`.
    Baseline(Option<&'a TestRun>, u64),
}

/// Why the check failed (`None`: it held), filling in the result's counts, partial reason,
/// the baseline's names or the attempt's lost tests.
pub(super) fn judge(output: &Output, format: &TestFormat, dir: &Path, within: Duration, against: &Against<'_>, result: &mut SuccessRecord) -> Option<String> {
    if let Some(failure) = output.unfinished(within) {
        // A killed run's counts are partial; they would mislead the baseline and rollback.
        return Some(failure);
    }
    let text = output.combined.text();
    let run = match read_tests(format, &text, dir) {
        Ok(run) => run,
        Err(error) if output.exit_code == Some(0) => return Some(error.to_string()),
        Err(error) => return Some(format!("{}: {error}", output.exit_text())),
    };
    let counts = run.counts;
    result.tests = Some(TestCountsRecord { passed: counts.passed, failed: counts.failed, skipped: counts.skipped });
    result.partial = run.partial;
    let (base, lost, allowed) = match against {
        Against::Measuring => {
            result.names.clone_from(&run.tests);
            (None, None, 0)
        }
        Against::Baseline(base, allowed) => (*base, base.map(|b| lost_tests(b, &run)), *allowed),
    };
    let mut problems = Vec::new();
    if counts.failed > 0 {
        let noun = if counts.failed == 1 { "test" } else { "tests" };
        let base = base.map(|b| format!(" (baseline {}{})", b.counts.failed, if b.partial.is_some() { ", of a partial run" } else { "" })).unwrap_or_default();
        problems.push(format!("{} {noun} failed{base}", counts.failed));
    }
    if let Some(lost) = lost.as_ref().filter(|l| l.exceeds(allowed)) {
        problems.push(lost_reason(lost, allowed));
    }
    if counts.failed == 0 && counts.passed == 0 {
        problems.push("no test passed".to_string());
    }
    if let Some(partial) = run.partial {
        let unreached = lost.as_ref().filter(|l| l.unreached > 0).map(|l| format!(", {} of the baseline not reached", if l.unreached == 1 { "1 test".to_string() } else { format!("{} tests", l.unreached) })).unwrap_or_default();
        problems.push(format!("the counts are partial: {}{unreached}; {}", partial.describe(), partial.fix()));
    }
    if problems.is_empty() && output.exit_code != Some(0) {
        // A test binary that crashes prints no summary, so the others' counts look clean.
        problems.push(format!("{} although no failed test was counted", output.exit_text()));
    }
    result.lost = lost.filter(|l| l.lost > 0 || l.unreached > 0).map(bounded);
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// The reason lost tests give, in the words of the terminal, the report and the next prompt.
fn lost_reason(lost: &LostTests, allowed: u64) -> String {
    let noun = if lost.lost == 1 { "test" } else { "tests" };
    let allowance = if allowed > 0 { format!(" (`allow lost {allowed}`)") } else { String::new() };
    match lost.evidence {
        Evidence::Names => {
            let mut names: Vec<String> = lost.lost_names.iter().take(NAMES_SHOWN).map(|n| format!("`{n}`")).collect();
            if lost.lost > NAMES_SHOWN as u64 {
                names.push(format!("and {} more", lost.lost - NAMES_SHOWN as u64));
            }
            format!("{} {noun} lost{allowance}: ran at the baseline, now missing or skipped: {}", lost.lost, names.join(", "))
        }
        Evidence::Counts => format!(
            "{} {noun} lost{allowance}: {} fewer ran (passed or failed) than at the baseline; the output names no tests, so which ones is unknown",
            lost.lost, lost.lost
        ),
    }
}

/// The lost tests as journaled: the counts whole, the names bounded.
fn bounded(mut lost: LostTests) -> LostTests {
    lost.lost_names.truncate(NAMES_KEPT);
    lost.unreached_names.truncate(NAMES_KEPT);
    lost
}
