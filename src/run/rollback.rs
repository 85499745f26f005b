//! `rollback` (LANGUAGE.md §8): after a failed attempt whose results meet the condition, the
//! run branch is reset (to the start, or to the last green commit) and the work is kept under
//! the attempt's ref; then the run stops or retries.

use crate::ast::{Event as NotifyEvent, RollbackThen, RollbackTo};
use crate::record::{Event, RollbackRecord};
use crate::run::error::Crash;
use crate::run::state;
use crate::run::supervisor::Supervisor;

impl Supervisor<'_> {
    /// Apply `rollback` after the current attempt failed: `Some` (what follows, and what
    /// happened in words) when the condition held and the branch was reset.
    pub(super) fn rollback(&mut self) -> Result<Option<(RollbackThen, String)>, Crash> {
        let plan = self.cx.plan;
        let Some(rollback) = &plan.rollback else { return Ok(None) };
        let attempt = self.attempt();
        let when = state::rollback_when(plan);
        let baseline = state::baseline(self.history());
        let results = self.history().attempt(attempt).and_then(|a| a.verified.as_ref()).map(|v| v.results.clone()).unwrap_or_default();
        let Some((holds, measured)) = state::rollback_condition(plan, &results, baseline.as_ref(), when) else {
            self.note("rollback", "the `tests` check reported no counts: the rollback condition could not be evaluated");
            return Ok(None);
        };
        if !holds {
            // The head is the newest green point from now on (`state::last_green` reads it back).
            return Ok(None);
        }
        let to = rollback.to.as_ref().map_or(RollbackTo::LastGreen, |t| t.value);
        let then = rollback.then.as_ref().map_or(RollbackThen::Stop, |t| t.value);
        let target = match (to, state::last_green(self.history(), plan)) {
            (RollbackTo::LastGreen, Some(green)) => git2::Oid::from_str(&green).unwrap_or(self.start),
            _ => self.start,
        };
        self.git.reset_to(target)?;
        // The worst moment to die: the branch is reset and the journal does not say so yet
        // (`night resume` judges the condition again and redoes the reset).
        crate::run::pause::test_pause(&self.cx.options.env, &self.run_dir, "rollback");
        self.watch.last_tip = Some(target);
        let record = RollbackRecord {
            attempt,
            condition: state::condition_text(when),
            measured,
            to,
            target: target.to_string(),
            kept_ref: format!("refs/night/{}/attempt-{attempt}", self.run_id()),
            then,
        };
        let what = record.what();
        let short: String = record.target.chars().take(7).collect();
        let summary = format!("rolled back to {short}: `{}` held", record.condition);
        self.record(Event::Rollback(record));
        self.status(&format!("night: rollback: {what}"));
        self.notify(NotifyEvent::Rollback, &summary, Some(what.clone()));
        Ok(Some((then, what)))
    }
}
