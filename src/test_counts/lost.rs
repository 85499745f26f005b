//! Lost tests: tests that ran at the baseline and no longer run, the agent's favourite way to
//! make failures disappear (delete the test, skip it, mark it expected to fail, stop collecting it).

use super::{Outcome, TestRun};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How lost tests were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// Both runs named their tests: each lost test is known by name.
    Names,
    /// A run named no tests: only a drop of passed + failed below the baseline shows, and a
    /// deleted test replaced by another keeps the count.
    Counts,
}

/// The tests of the baseline that an attempt no longer runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostTests {
    /// How they were found.
    pub evidence: Evidence,
    /// Ran (passed or failed) at the baseline, and are now missing, skipped or expected to fail.
    pub lost: u64,
    /// Their names, sorted (with [`Evidence::Names`]; empty otherwise).
    pub lost_names: Vec<String>,
    /// Missing from an attempt whose runner stopped early: never reached, so not counted as lost.
    pub unreached: u64,
    /// Their names, sorted (with [`Evidence::Names`]; empty otherwise).
    pub unreached_names: Vec<String>,
}

impl LostTests {
    /// Whether more tests were lost than `allowed` (`tests "…" allow lost N`; 0 by default).
    #[must_use]
    pub fn exceeds(&self, allowed: u64) -> bool {
        self.lost > allowed
    }
}

/// The tests that ran at `baseline` and do not run in `attempt`.
///
/// With names on both sides, a test is matched by its normalised name, counting repeats (two
/// crates may both have a `tests::parse`): one that is missing, skipped or expected to fail in
/// the attempt is lost, unless the attempt stopped early and it is simply missing, when it is
/// unreached. Without names, passed + failed below the baseline's is a loss of the difference
/// (unreached when the attempt stopped early).
#[must_use]
pub fn lost_tests(baseline: &TestRun, attempt: &TestRun) -> LostTests {
    let stopped_early = attempt.partial.is_some();
    let (Some(before), Some(after)) = (&baseline.tests, &attempt.tests) else {
        let missing = baseline.ran().saturating_sub(attempt.ran());
        let (lost, unreached) = if stopped_early {
            (0, missing)
        } else {
            (missing, 0)
        };
        return LostTests {
            evidence: Evidence::Counts,
            lost,
            lost_names: Vec::new(),
            unreached,
            unreached_names: Vec::new(),
        };
    };

    // How many times each name still ran, and how many times it was still seen at all.
    let mut still_ran: HashMap<&str, usize> = HashMap::new();
    let mut still_seen: HashMap<&str, usize> = HashMap::new();
    for test in after {
        *still_seen.entry(test.name.as_str()).or_default() += 1;
        if test.outcome != Outcome::Skipped {
            *still_ran.entry(test.name.as_str()).or_default() += 1;
        }
    }
    let mut lost_names = Vec::new();
    let mut unreached_names = Vec::new();
    for test in before.iter().filter(|t| t.outcome != Outcome::Skipped) {
        let name = test.name.as_str();
        if let Some(left) = still_ran.get_mut(name).filter(|n| **n > 0) {
            *left -= 1;
            if let Some(seen) = still_seen.get_mut(name) {
                *seen = seen.saturating_sub(1);
            }
            continue;
        }
        let seen = still_seen.get_mut(name).filter(|n| **n > 0);
        let skipped_now = seen.is_some();
        if let Some(seen) = seen {
            *seen -= 1;
        }
        if stopped_early && !skipped_now {
            unreached_names.push(test.name.clone());
        } else {
            lost_names.push(test.name.clone());
        }
    }
    lost_names.sort();
    unreached_names.sort();
    LostTests {
        evidence: Evidence::Names,
        lost: lost_names.len() as u64,
        lost_names,
        unreached: unreached_names.len() as u64,
        unreached_names,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{PartialReason, TestCase, TestCounts};
    use super::*;

    fn named(tests: &[(&str, Outcome)]) -> TestRun {
        let mut counts = TestCounts::default();
        for (_, outcome) in tests {
            counts.record(*outcome);
        }
        TestRun {
            counts,
            partial: None,
            tests: Some(tests.iter().map(|(n, o)| TestCase::new(*n, *o)).collect()),
        }
    }

    fn unnamed(passed: u64, failed: u64, skipped: u64) -> TestRun {
        TestRun::counted(TestCounts {
            passed,
            failed,
            skipped,
        })
    }

    fn stopped(mut run: TestRun) -> TestRun {
        run.partial = Some(PartialReason::CargoFailFast);
        run
    }

    use Outcome::{Failed, Passed, Skipped};

    #[test]
    fn nothing_lost_when_every_test_still_runs() {
        let base = named(&[("a", Passed), ("b", Failed), ("c", Skipped)]);
        let fixed = named(&[
            ("a", Passed),
            ("b", Passed),
            ("c", Skipped),
            ("new", Passed),
        ]);
        let lost = lost_tests(&base, &fixed);
        assert_eq!(lost.evidence, Evidence::Names);
        assert_eq!((lost.lost, lost.unreached), (0, 0));
        assert!(!lost.exceeds(0));
    }

    #[test]
    fn a_deleted_failing_test_is_lost_even_when_replaced() {
        let base = named(&[("a", Passed), ("b", Failed)]);
        let cheat = named(&[("a", Passed), ("b_trivial", Passed)]);
        let lost = lost_tests(&base, &cheat);
        assert_eq!(lost.lost_names, vec!["b"]);
        assert!(lost.exceeds(0));
        assert!(!lost.exceeds(1));
    }

    #[test]
    fn newly_skipped_tests_are_lost() {
        let base = named(&[("a", Passed), ("b", Failed), ("c", Failed)]);
        let cheat = named(&[("a", Passed), ("b", Skipped), ("c", Skipped)]);
        let lost = lost_tests(&base, &cheat);
        assert_eq!(lost.lost_names, vec!["b", "c"]);
    }

    #[test]
    fn tests_skipped_at_the_baseline_are_not_owed() {
        let base = named(&[("a", Passed), ("s", Skipped)]);
        let after = named(&[("a", Passed)]);
        assert_eq!(lost_tests(&base, &after).lost, 0);
    }

    #[test]
    fn repeated_names_are_counted() {
        let base = named(&[("tests::parse", Passed), ("tests::parse", Failed)]);
        let after = named(&[("tests::parse", Passed)]);
        let lost = lost_tests(&base, &after);
        assert_eq!(lost.lost_names, vec!["tests::parse"]);
        let skipped_one = named(&[("tests::parse", Passed), ("tests::parse", Skipped)]);
        assert_eq!(lost_tests(&base, &skipped_one).lost, 1);
    }

    #[test]
    fn missing_tests_of_a_stopped_run_are_unreached_but_skips_are_still_lost() {
        let base = named(&[("a", Passed), ("b", Failed), ("c", Passed), ("d", Passed)]);
        let after = stopped(named(&[("a", Passed), ("b", Failed), ("d", Skipped)]));
        let lost = lost_tests(&base, &after);
        assert_eq!(lost.unreached_names, vec!["c"]);
        assert_eq!(lost.lost_names, vec!["d"]);
    }

    #[test]
    fn a_stopped_baseline_still_owes_what_it_ran() {
        let base = stopped(named(&[("a", Passed), ("b", Failed)]));
        let after = named(&[("a", Passed), ("z", Passed)]);
        assert_eq!(lost_tests(&base, &after).lost_names, vec!["b"]);
    }

    #[test]
    fn without_names_a_drop_in_ran_tests_is_lost() {
        let lost = lost_tests(&unnamed(8, 2, 1), &unnamed(7, 0, 4));
        assert_eq!(lost.evidence, Evidence::Counts);
        assert_eq!((lost.lost, lost.unreached), (3, 0));
        assert!(lost.lost_names.is_empty());
        // Fixing failures keeps passed + failed: nothing lost.
        assert_eq!(lost_tests(&unnamed(8, 2, 1), &unnamed(10, 0, 1)).lost, 0);
        // More tests than before: nothing lost.
        assert_eq!(lost_tests(&unnamed(8, 2, 1), &unnamed(12, 0, 0)).lost, 0);
    }

    #[test]
    fn without_names_a_stopped_attempt_is_unreached() {
        let lost = lost_tests(&unnamed(90, 0, 0), &stopped(unnamed(40, 1, 0)));
        assert_eq!((lost.lost, lost.unreached), (0, 49));
    }

    #[test]
    fn names_on_one_side_only_fall_back_to_counts() {
        let base = named(&[("a", Passed), ("b", Failed)]);
        let lost = lost_tests(&base, &unnamed(1, 0, 0));
        assert_eq!(lost.evidence, Evidence::Counts);
        assert_eq!(lost.lost, 1);
    }

    #[test]
    fn serialises_for_the_journal() {
        let lost = lost_tests(&named(&[("a", Failed)]), &named(&[]));
        let json = serde_json::to_string(&lost).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"evidence":"names","lost":1,"lost_names":["a"],"unreached":0,"unreached_names":[]}"#
        );
    }
}
