//! `rollback { when failing|passing OP baseline|N }` over an attempt's results.
//!
//! With a `tests` check, the first one is counted: its failed tests plus the tests it lost
//! beyond `allow lost N` are failing (a deleted failing test must not look like a fix), its
//! passed tests are passing. A runner that stopped early gives only lower bounds, so partial
//! counts decide the condition only where every complete run could (a partial attempt with
//! more failures than the whole baseline did break more); otherwise it is not evaluated.
//! Without a `tests` check, the `run` and `count` checks are counted: failing is how many of
//! them failed, passing how many held, and the baseline is the same on the start commit.

use super::{metric, Baseline};
use crate::ast::{SuccessCheck, Comparison, RollbackWhen, Target, TestMetric};
use crate::plan::Plan;
use crate::record::SuccessRecord;

/// A measured number, exact or (from a runner that stopped early) at least this much.
#[derive(Debug, Clone, Copy)]
struct Measure {
    value: u64,
    partial: bool,
}

impl Measure {
    fn exact(value: u64) -> Self {
        Measure { value, partial: false }
    }

    /// The highest the number can be.
    fn most(self) -> u64 {
        if self.partial {
            u64::MAX
        } else {
            self.value
        }
    }
}

impl std::fmt::Display for Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.partial {
            write!(f, "at least {} (partial)", self.value)
        } else {
            write!(f, "{}", self.value)
        }
    }
}

/// Why the rollback condition cannot be evaluated: the run notes it and does not roll back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Undecided {
    /// The first `tests` check has no result in the attempt.
    #[error("the `tests` check did not run")]
    TestsDidNotRun,
    /// The first `tests` check gave no counts.
    #[error("the `tests` check reported no counts ({})", .0.as_deref().unwrap_or("no summary"))]
    NoCounts(Option<String>),
    /// The baseline has no counts for the first `tests` check.
    #[error("the baseline has no counts for the `tests` check")]
    NoBaselineCounts,
    /// `success` has nothing to count.
    #[error("`success` has no `tests`, `run` or `count` check to count")]
    NothingToCount,
    /// The condition compares with a baseline that was never measured.
    #[error("no baseline was measured")]
    NoBaseline,
    /// Partial counts leave the comparison open.
    #[error("the counts are partial ({measured}) and cannot decide `{condition}`")]
    Partial {
        /// What was measured, in words.
        measured: String,
        /// The condition as written.
        condition: String,
    },
}

/// Evaluate `when` over `results`: whether it holds, and what was measured in words; `Err`
/// says why it cannot be evaluated.
///
/// # Errors
///
/// When the counted check gave no counts, no baseline was measured, partial counts cannot
/// decide, or `success` has nothing to count.
pub fn rollback_condition(plan: &Plan, results: &[SuccessRecord], baseline: Option<&Baseline>, when: RollbackWhen) -> Result<(bool, String), Undecided> {
    let (value, target, what) = match plan.checks.iter().position(|c| matches!(c.value, SuccessCheck::Tests { .. })) {
        Some(index) => tests_measures(plan, index, results, baseline, when)?,
        None => checks_measures(plan, results, baseline, when)?,
    };
    let measured = format!("{} {value}{what}, {} {target}", metric(when.metric), when.target);
    match decide(when.comparison, value, target) {
        Some(holds) => Ok((holds, measured)),
        None => Err(Undecided::Partial { measured, condition: super::condition_text(when) }),
    }
}

/// The first `tests` check's failing (failed + lost) or passing tests, and its target.
fn tests_measures(plan: &Plan, index: usize, results: &[SuccessRecord], baseline: Option<&Baseline>, when: RollbackWhen) -> Result<(Measure, Measure, String), Undecided> {
    let result = results.iter().find(|r| r.index == index).ok_or(Undecided::TestsDidNotRun)?;
    let counts = result.tests.ok_or_else(|| Undecided::NoCounts(result.reason.clone()))?;
    let allowed = match &plan.checks[index].value {
        SuccessCheck::Tests { allow_lost, .. } => allow_lost.as_ref().map_or(0, |n| n.value),
        _ => 0,
    };
    let lost = result.lost.as_ref().filter(|l| l.exceeds(allowed)).map_or(0, |l| l.lost);
    let value = Measure {
        value: match when.metric {
            TestMetric::Failing => counts.failed.saturating_add(lost),
            TestMetric::Passing => counts.passed,
        },
        partial: result.partial.is_some(),
    };
    let target = match when.target {
        Target::Number(n) => Measure::exact(n),
        Target::Baseline => {
            let base = baseline.and_then(|b| b.run(index)).ok_or(Undecided::NoBaselineCounts)?;
            let number = match when.metric {
                TestMetric::Failing => base.counts.failed,
                TestMetric::Passing => base.counts.passed,
            };
            Measure { value: number, partial: base.partial.is_some() }
        }
    };
    let what = if lost > 0 { format!(" ({lost} of them lost)") } else { String::new() };
    Ok((value, target, what))
}

/// How many `run` and `count` checks failed (or held), now and at the baseline.
fn checks_measures(plan: &Plan, results: &[SuccessRecord], baseline: Option<&Baseline>, when: RollbackWhen) -> Result<(Measure, Measure, String), Undecided> {
    let counted: Vec<usize> = plan.checks.iter().enumerate().filter(|(_, c)| matches!(c.value, SuccessCheck::Run { .. } | SuccessCheck::Count { .. })).map(|(i, _)| i).collect();
    if counted.is_empty() {
        return Err(Undecided::NothingToCount);
    }
    let wanted = when.metric == TestMetric::Passing;
    let tally = |held: &dyn Fn(usize) -> Option<bool>| Measure::exact(counted.iter().filter(|i| held(**i) == Some(wanted)).count() as u64);
    let value = tally(&|index| results.iter().find(|r| r.index == index).map(|r| r.passed));
    let target = match when.target {
        Target::Number(n) => Measure::exact(n),
        Target::Baseline => {
            let baseline = baseline.ok_or(Undecided::NoBaseline)?;
            tally(&|index| baseline.held(index))
        }
    };
    Ok((value, target, " `run`/`count` checks".to_string()))
}

/// Whether `value OP target` holds for every number the measures can stand for; `None` when
/// partial counts leave it open.
fn decide(comparison: Comparison, value: Measure, target: Measure) -> Option<bool> {
    if !value.partial && !target.partial {
        return Some(comparison.holds(value.value, target.value));
    }
    if comparison == Comparison::Equal {
        return None;
    }
    // The comparisons are monotone: the extremes decide.
    let low = comparison.holds(value.value, target.most());
    let high = comparison.holds(value.most(), target.value);
    (low == high).then_some(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(value: u64) -> Measure {
        Measure { value, partial: true }
    }

    #[test]
    fn partial_counts_decide_only_what_every_complete_run_would() {
        use Comparison::{Equal, Greater, Less};
        // A partial attempt with more failures than the whole baseline broke more.
        assert_eq!(decide(Greater, partial(5), Measure::exact(2)), Some(true));
        assert_eq!(decide(Greater, partial(2), Measure::exact(2)), None);
        // A partial baseline: a complete attempt with fewer failures than it had is no worse.
        assert_eq!(decide(Greater, Measure::exact(1), partial(2)), Some(false));
        assert_eq!(decide(Greater, Measure::exact(3), partial(2)), None);
        assert_eq!(decide(Less, partial(3), Measure::exact(2)), Some(false));
        assert_eq!(decide(Equal, partial(2), Measure::exact(2)), None);
        assert_eq!(decide(Equal, Measure::exact(2), Measure::exact(2)), Some(true));
        assert_eq!(partial(4).to_string(), "at least 4 (partial)");
    }
}
