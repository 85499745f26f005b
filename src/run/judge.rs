//! The steps around the agent's sessions: the baseline, starting an attempt, judging what an
//! attempt left (its kept state, the success checks, its end) and deciding what follows.

use crate::ast::{Event as NotifyEvent, RollbackThen};
use crate::record::{baseline_tests, AttemptEndReason, Event, Limit, NamesFile, Outcome, SuccessRecord};
use crate::run::error::Crash;
use crate::report::held_but_wrote_outside;
use crate::run::limits::{explain, value};
use crate::run::state::{self, AttemptWork, Step};
use crate::run::success::{self, failure_signature, Baseline};
use crate::run::supervisor::Supervisor;

/// The most of a check's output kept in the journal.
const JOURNAL_TAIL: usize = 4 * 1024;

impl Supervisor<'_> {
    /// Measure the success checks on the start commit.
    pub(super) async fn baseline(&mut self) -> Result<Step, Crash> {
        self.status("night: measuring the baseline");
        let interrupted = Step::End(Outcome::Interrupted, "interrupted during the baseline".into());
        let Some(mut results) = self.verify(None).await else { return Ok(interrupted) };
        self.keep_names_aside(&mut results);
        self.record(Event::Baseline { results });
        if self.cx.interrupts.count() > 0 {
            return Ok(interrupted);
        }
        if let Some(ending) = state::nothing_to_do(self.history(), self.cx.plan) {
            return Ok(ending);
        }
        if let Some(ending) = state::cannot_run(self.history(), self.cx.plan) {
            return Ok(ending);
        }
        if self.history().baseline.as_ref().is_some_and(|results| !results.is_empty() && results.iter().all(|r| r.passed)) {
            self.note("success-already-holds", "every success check already holds on the start commit (waived)");
        }
        self.notify(NotifyEvent::Start, &format!("started on {}", self.branch()), None);
        Ok(Step::Attempt)
    }

    /// Start the next attempt, unless the attempts or the run's time are used up.
    pub(super) fn next_attempt(&mut self) -> Step {
        let limits = &self.cx.plan.limits;
        let attempt = self.attempt();
        if self.cx.interrupts.count() > 0 {
            return Step::End(Outcome::Interrupted, "stopped by a signal (Ctrl-C or `night stop`)".into());
        }
        if limits.attempts.is_some_and(|max| attempt >= max) {
            let value = value(Limit::Attempts, limits);
            let reason = explain(Limit::Attempts, limits);
            self.record(Event::Limit { limit: Limit::Attempts, value, attempt, ends: Limit::Attempts.ends() });
            return Step::End(Outcome::Failed, reason);
        }
        if tokio::time::Instant::now() >= self.run_deadline {
            return Step::End(Outcome::Timeout, explain(Limit::Timeout, limits));
        }
        let of = limits.attempts;
        self.record(Event::AttemptStart { attempt: attempt.saturating_add(1), of });
        let of = of.map(|n| format!("/{n}")).unwrap_or_default();
        self.status(&format!("night: attempt {}{of}", attempt.saturating_add(1)));
        Step::Sessions { session: 1, work: AttemptWork::default() }
    }

    /// After an attempt's sessions: keep its state, apply `on violation`, run the checks and
    /// record how the attempt ended.
    pub(super) async fn judge(&mut self, work: AttemptWork) -> Result<Step, Crash> {
        let attempt = self.attempt();
        let refname = format!("refs/night/{}/attempt-{attempt}", self.run_id());
        let kept = self.git.snapshot(&refname, &format!("night: state after attempt {attempt} of {}", self.run_id()))?;
        self.record(Event::AttemptKept { attempt, refname, commit: kept.to_string() });
        if work.stop_for_violation {
            self.watch.stopped_for_violation = true;
            return Ok(Step::End(Outcome::Failed, "permission violation: the agent wrote outside `write` (on violation stop)".into()));
        }
        if work.spawn_failed {
            return Ok(Step::End(Outcome::Crashed, "the agent could not be started".into()));
        }
        self.status(&format!("night: checking attempt {attempt}"));
        let baseline = self.baseline_with_names();
        let Some(results) = self.verify(baseline.as_ref()).await else {
            return Ok(Step::End(Outcome::Interrupted, "interrupted; the checks were skipped".into()));
        };
        let checks_hold = !results.is_empty() && results.iter().all(|r| r.passed);
        let check_signature = (!checks_hold).then(|| failure_signature(&results));
        let held = results.iter().filter(|r| r.passed).count();
        let total = results.len();
        let failures: Vec<String> = results.iter().filter(|r| !r.passed).map(|r| format!("night:   `{}` failed: {}", r.statement, r.reason.as_deref().unwrap_or("it did not hold"))).collect();
        self.record(Event::Verified { attempt, passed: checks_hold, results, signature: check_signature.clone() });
        // Checks that held do not make an attempt that wrote outside `write` a success: say why it failed.
        let checks_phrase = match &work.violation {
            Some(paths) if checks_hold => held_but_wrote_outside(paths),
            _ => format!("{held}/{total} checks hold"),
        };
        self.status(&format!("night: {checks_phrase}"));
        for line in failures {
            self.status(&line);
        }
        let success = checks_hold && work.violation.is_none();
        let head = self.git.head()?;
        // A signal during the session or during its checks: the run ends after them.
        let signalled = self.cx.interrupts.count() > 0;
        let reason = match (&work.violation, work.ended_by) {
            _ if signalled && !success => AttemptEndReason::Interrupted,
            (Some(_), _) => AttemptEndReason::Violation,
            (None, Some(limit)) => AttemptEndReason::Limit(limit),
            (None, None) if work.supervisor_died => AttemptEndReason::SupervisorDied,
            (None, None) => AttemptEndReason::Exited,
        };
        let signature = match (&work.violation, work.ended_by, &check_signature) {
            _ if success => None,
            (Some(paths), _, check) => Some(format!("violation:{}:{}", paths.join(","), check.clone().unwrap_or_default())),
            (None, Some(limit), _) => Some(limit.name().to_string()),
            (None, None, check) => check.clone(),
        };
        self.record(Event::AttemptEnd { attempt, passed: success, reason, signature: signature.clone(), head: head.to_string() });
        let verdict = if success { "succeeded" } else { "failed" };
        self.notify(NotifyEvent::Attempt, &format!("attempt {attempt} {verdict}: {checks_phrase}"), signature);
        Ok(Step::Decide(AttemptWork { interrupted: work.interrupted || (signalled && !success), ..work }))
    }

    /// What follows an attempt whose end is recorded: the run's end (success, a signal, a
    /// run-wide limit, a rollback that stops, `stuck`) or the next attempt.
    pub(super) fn decide(&mut self, work: AttemptWork) -> Result<Step, Crash> {
        let attempt = self.attempt();
        let Some(record) = self.history().attempt(attempt) else { return Ok(Step::Attempt) };
        let passed = record.end.as_ref().is_some_and(|end| end.passed);
        let recorded_rollback = record.rollback.as_ref().map(|(rollback, _)| (rollback.then, rollback.what()));
        if work.interrupted {
            let reason = self.watch.moved.as_ref().map_or_else(|| "stopped by a signal (Ctrl-C or `night stop`)".to_string(), |(reason, _)| reason.clone());
            return Ok(Step::End(Outcome::Interrupted, reason));
        }
        if passed {
            return Ok(Step::End(Outcome::Success, format!("every success check held after attempt {attempt}")));
        }
        if work.cut_short {
            // Stopped by a signal under the supervisor that died: no verdict is owed for it.
            return Ok(Step::Attempt);
        }
        if let Some(limit) = work.run_limit {
            let outcome = if limit == Limit::Timeout { Outcome::Timeout } else { Outcome::Budget };
            return Ok(Step::End(outcome, explain(limit, &self.cx.plan.limits)));
        }
        let rollback = match recorded_rollback {
            Some(done) => Some(done),
            None => self.rollback()?,
        };
        if let Some((RollbackThen::Stop, what)) = rollback {
            return Ok(Step::End(Outcome::RolledBack, what));
        }
        let stuck = self.cx.plan.limits.stuck;
        if stuck.is_some_and(|n| n > 0 && state::stuck_repeats(self.history()) >= n) {
            let value = value(Limit::Stuck, &self.cx.plan.limits);
            self.record(Event::Limit { limit: Limit::Stuck, value, attempt, ends: Limit::Stuck.ends() });
            let mut reason = explain(Limit::Stuck, &self.cx.plan.limits);
            if let Some(failure) = state::failure_in_words(self.history(), attempt) {
                reason = format!("{reason}: {failure}");
            }
            return Ok(Step::End(Outcome::Stuck, reason));
        }
        Ok(Step::Attempt)
    }

    /// Move the baseline's tests by name out of its results into files of the run folder
    /// (`baseline-tests-<index>.jsonl`), so that the journal and the history stay small
    /// whatever the suite's size. A file that cannot be written leaves its names in the journal.
    fn keep_names_aside(&mut self, results: &mut [SuccessRecord]) {
        for result in results.iter_mut() {
            let Some(tests) = result.names.as_deref() else { continue };
            match baseline_tests::write(&self.run_dir, result.index, tests, &self.cx.secrets) {
                Ok(file) => {
                    result.names = None;
                    result.names_file = Some(file);
                }
                Err(e) => {
                    let message = format!("cannot write the baseline's tests of `{}` to the run folder ({e}); they are kept in the journal", result.statement);
                    self.note("baseline-tests", &message);
                }
            }
        }
    }

    /// The baseline, with each `tests` check's tests by name read back from the run folder:
    /// held while an attempt is judged, let go after. One that cannot be read is judged by its
    /// counts alone, and a note says so (once).
    fn baseline_with_names(&mut self) -> Option<Baseline> {
        let mut baseline = state::baseline(self.history())?;
        let files: Vec<(usize, String, NamesFile)> =
            self.history().baseline.iter().flatten().filter_map(|r| Some((r.index, r.statement.clone(), r.names_file.clone()?))).collect();
        for (index, statement, file) in files {
            match baseline_tests::read(&self.run_dir, &file) {
                Ok(tests) => baseline.set_tests(index, tests),
                Err(e) => {
                    let message = format!("cannot read the baseline's tests of `{statement}` by name ({e}); lost tests are found by counts only");
                    if !self.history().notes.iter().any(|(topic, said)| topic == "baseline-tests" && *said == message) {
                        self.note("baseline-tests", &message);
                    }
                }
            }
        }
        Some(baseline)
    }

    /// Run the success checks, their results ready for the journal (secrets scrubbed, tails
    /// bounded); `None` when a second signal asked to skip them.
    async fn verify(&mut self, baseline: Option<&Baseline>) -> Option<Vec<SuccessRecord>> {
        let env = vec![("NIGHT_RUN_ID".to_string(), self.run_id().to_string()), ("NIGHT_RUN_DIR".to_string(), self.run_dir.path().display().to_string())];
        // The checks run the agent's code: the agent's credential, git and network layers
        // (sandbox/checks.rs). Without them they still run, as before `deny irreversible` had them.
        let sandbox = match self.cx.sandbox.checks(self.cx.plan, &self.git, self.run_dir.path(), &env) {
            Ok(sandbox) => sandbox,
            Err(e) => {
                self.note("sandbox-checks", &e.to_string());
                None
            }
        };
        let running = self.run_dir.running_check();
        let context = success::Context {
            plan: self.cx.plan,
            git: &self.git,
            start: self.start,
            env: &env,
            env_remove: &self.cx.secret_names,
            running: Some(&running),
            sandbox: sandbox.as_ref(),
        };
        // In a batch, wait for a turn: at most `--checks N` runs check at once.
        let status = self.cx.options.status.clone();
        let slots = self.cx.options.batch.as_ref().map_or(0, |member| member.check_slots);
        let _turn = tokio::select! {
            turn = crate::run::check_turn::take(self.cx.options.batch.as_ref(), || status(&format!("night: waiting for a turn to run the checks (at most {slots} at once in the batch)"))) => turn,
            () = self.cx.interrupts.reached(2) => return None,
        };
        let results = tokio::select! {
            results = success::run(&context, baseline) => results,
            () = self.cx.interrupts.reached(2) => return None,
        };
        let secrets = &self.cx.secrets;
        Some(
            results
                .into_iter()
                .map(|mut r| {
                    r.reason = r.reason.map(|reason| secrets.scrub(&reason).into_owned());
                    r.output_tail = secrets.scrub(crate::run::feedback::tail(&r.output_tail, JOURNAL_TAIL)).into_owned();
                    r
                })
                .collect(),
        )
    }
}
