//! What one run of a test command said: its counts, whether it stopped early, and the tests
//! by name where the output names them.

use super::TestCounts;
use serde::{Deserialize, Serialize};

/// Everything read from one run of a test command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TestRun {
    /// Passed, failed and skipped, as the runner counts them.
    pub counts: TestCounts,
    /// Set when the runner stopped before running every test, so the counts are partial.
    pub partial: Option<PartialReason>,
    /// Every test that ran, by name, when the output names them (`None` when it does not,
    /// as with `pytest -q` or `cargo test --quiet`).
    pub tests: Option<Vec<TestCase>>,
}

impl TestRun {
    /// A run with these counts, complete, naming no tests.
    #[must_use]
    pub fn counted(counts: TestCounts) -> Self {
        Self {
            counts,
            partial: None,
            tests: None,
        }
    }

    /// Passed plus failed: the tests that ran to an outcome.
    #[must_use]
    pub fn ran(&self) -> u64 {
        self.counts.passed.saturating_add(self.counts.failed)
    }

    /// Keeps the names only when they account for every passed test: a listing that names
    /// failures alone (pytest's default `-ra`, cargo's `failures:` block) cannot tell that a
    /// test is gone. Failed may be counted above the names (a crashed test binary, a file
    /// that failed to load, pytest 9's failed subtests).
    pub(super) fn checked(mut self) -> Self {
        if let Some(tests) = &self.tests {
            let named = |outcome| tests.iter().filter(|t| t.outcome == outcome).count() as u64;
            let complete = named(Outcome::Passed) == self.counts.passed
                && named(Outcome::Failed) <= self.counts.failed
                && (self.counts.passed > 0 || !tests.is_empty() || self.counts.failed == 0);
            if !complete {
                self.tests = None;
            }
        }
        self
    }

    /// Adds another runner's result in the same output (`cargo test && pytest` under `auto`).
    pub(super) fn merge(&mut self, other: TestRun) {
        self.counts += other.counts;
        self.partial = self.partial.take().or(other.partial);
        self.tests = match (self.tests.take(), other.tests) {
            (Some(mut mine), Some(theirs)) => {
                mine.extend(theirs);
                Some(mine)
            }
            _ => None,
        };
    }
}

impl TestCounts {
    /// Counts one more test with this outcome (saturating).
    pub fn record(&mut self, outcome: Outcome) {
        let slot = match outcome {
            Outcome::Passed => &mut self.passed,
            Outcome::Failed => &mut self.failed,
            Outcome::Skipped => &mut self.skipped,
        };
        *slot = slot.saturating_add(1);
    }
}

/// One test by name and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TestCase {
    /// The test's normalised identity, e.g. `tests/test_more.py::ChunkedTests::test_even`,
    /// `strsim (doc) src/lib.rs - hamming` or `github.com/google/go-cmp/cmp TestDiff`.
    pub name: String,
    /// Passed, failed or skipped.
    pub outcome: Outcome,
}

impl TestCase {
    /// A test named `name` with `outcome`.
    pub fn new(name: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            name: name.into(),
            outcome,
        }
    }
}

/// What became of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Passed (an unexpected pass that does not fail the run counts here too).
    Passed,
    /// Failed, errored or crashed.
    Failed,
    /// Skipped, ignored, pending, todo or expected to fail.
    Skipped,
}

/// Why a runner stopped before running every test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum PartialReason {
    /// `cargo test` stops at the first failing test binary; the binaries after it did not run.
    CargoFailFast,
    /// nextest cancelled the run after a failure.
    NextestFailFast {
        /// Tests that did not run.
        not_run: u64,
    },
    /// pytest stopped after `-x` or `--maxfail` failures.
    PytestMaxFail,
    /// pytest was interrupted before running the tests, by collection errors or a signal.
    PytestInterrupted,
    /// Jest or Vitest stopped at `--bail`.
    Bail,
    /// A TAP producer wrote `Bail out!`.
    TapBailOut,
}

impl PartialReason {
    /// What happened, one lower-case phrase.
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            PartialReason::CargoFailFast => {
                "cargo test stopped at the first failing test binary".to_string()
            }
            PartialReason::NextestFailFast { not_run } => {
                format!("nextest cancelled the run after a failure ({not_run} not run)")
            }
            PartialReason::PytestMaxFail => {
                "pytest stopped after the first failures (`-x` or `--maxfail`)".to_string()
            }
            PartialReason::PytestInterrupted => {
                "pytest was interrupted before running the tests".to_string()
            }
            PartialReason::Bail => "the runner bailed out after the first failure".to_string(),
            PartialReason::TapBailOut => "the TAP stream bailed out".to_string(),
        }
    }

    /// How to make the runner run every test, when a flag does it.
    #[must_use]
    pub fn fix(self) -> &'static str {
        match self {
            PartialReason::CargoFailFast | PartialReason::NextestFailFast { .. } => {
                "pass `--no-fail-fast` so every test binary runs"
            }
            PartialReason::PytestMaxFail => "remove `-x`/`--maxfail` so every test runs",
            PartialReason::PytestInterrupted => {
                "fix the errors that stop pytest collecting the tests"
            }
            PartialReason::Bail => "remove `--bail` so every test runs",
            PartialReason::TapBailOut => "find why the producer bailed out",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(passed: u64, failed: u64, skipped: u64) -> TestCounts {
        TestCounts {
            passed,
            failed,
            skipped,
        }
    }

    #[test]
    fn names_must_cover_every_pass() {
        let tests = vec![
            TestCase::new("a", Outcome::Passed),
            TestCase::new("b", Outcome::Failed),
        ];
        let run = TestRun {
            counts: counts(1, 2, 0),
            partial: None,
            tests: Some(tests.clone()),
        };
        assert!(
            run.checked().tests.is_some(),
            "a crashed binary may fail unnamed"
        );
        let run = TestRun {
            counts: counts(2, 1, 0),
            partial: None,
            tests: Some(tests.clone()),
        };
        assert!(run.checked().tests.is_none(), "a pass without a name");
        let run = TestRun {
            counts: counts(1, 0, 0),
            partial: None,
            tests: Some(tests),
        };
        assert!(
            run.checked().tests.is_none(),
            "more failures named than counted"
        );
        let failures_only = vec![TestCase::new("b", Outcome::Failed)];
        let run = TestRun {
            counts: counts(0, 1, 0),
            partial: None,
            tests: Some(failures_only),
        };
        assert!(
            run.checked().tests.is_some(),
            "nothing passed, every failure named"
        );
        let run = TestRun {
            counts: counts(0, 1, 0),
            partial: None,
            tests: Some(Vec::new()),
        };
        assert!(
            run.checked().tests.is_none(),
            "a failure with no listing at all"
        );
    }

    #[test]
    fn merge_keeps_names_only_when_both_have_them() {
        let named = TestRun {
            counts: counts(1, 0, 0),
            partial: None,
            tests: Some(vec![TestCase::new("a", Outcome::Passed)]),
        };
        let mut both = named.clone();
        both.merge(named.clone());
        assert_eq!(both.tests.as_ref().map(Vec::len), Some(2));
        assert_eq!(both.counts, counts(2, 0, 0));
        let mut one = named;
        one.merge(TestRun {
            partial: Some(PartialReason::Bail),
            ..TestRun::counted(counts(0, 1, 0))
        });
        assert_eq!(one.tests, None);
        assert_eq!(one.partial, Some(PartialReason::Bail));
    }

    #[test]
    fn partial_reasons_serialise_as_kebab_case() {
        let json = serde_json::to_string(&PartialReason::NextestFailFast { not_run: 3 })
            .unwrap_or_default();
        assert_eq!(json, r#"{"reason":"nextest-fail-fast","not_run":3}"#);
        for reason in [
            PartialReason::CargoFailFast,
            PartialReason::PytestMaxFail,
            PartialReason::TapBailOut,
        ] {
            assert!(reason.describe().starts_with(|c: char| c.is_lowercase()));
            assert!(!reason.fix().is_empty());
        }
    }
}
