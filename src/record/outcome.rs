//! How a run ends, and the exit status each ending maps to (RUN.md "Outcomes and exit status").

/// Every way a run can end: the language's own type (`deliver … on OUTCOME` names the same
/// ends), here given its exit status.
pub use crate::ast::Outcome;

impl Outcome {
    /// The exit status of `night run` that ended so.
    pub fn exit(self) -> Exit {
        match self {
            Outcome::Success => Exit::Success,
            Outcome::Interrupted => Exit::Interrupted,
            Outcome::Refused => Exit::Error,
            Outcome::Failed
            | Outcome::Stuck
            | Outcome::RolledBack
            | Outcome::Timeout
            | Outcome::Budget
            | Outcome::Crashed
            | Outcome::NothingToDo => Exit::Failure,
        }
    }

    /// The exit status as a number, as the journal's `run-end` has it.
    pub fn exit_code(self) -> u8 {
        self.exit().code()
    }
}

/// The exit statuses of every night command (docs/run.md, "Outcomes"), mildest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Exit {
    /// 0: done; the run succeeded.
    Success,
    /// 1: the answer is no: the run failed, the runbook has errors, a file would change.
    Failure,
    /// 2: night could not do what was asked: the run was refused, a file or run not found.
    Error,
    /// 130: stopped by a signal.
    Interrupted,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Error => 2,
            Exit::Interrupted => 130,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn exit_codes_follow_run_md() {
        let codes: Vec<(&str, u8)> = Outcome::ALL.iter().map(|o| (o.name(), o.exit_code())).collect();
        assert_eq!(
            codes,
            [
                ("success", 0),
                ("failed", 1),
                ("stuck", 1),
                ("rolled-back", 1),
                ("timeout", 1),
                ("budget", 1),
                ("interrupted", 130),
                ("crashed", 1),
                ("nothing-to-do", 1),
                ("refused", 2),
            ]
        );
    }

    #[test]
    fn names_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::from_name(outcome.name()), Some(*outcome));
        }
    }
}
