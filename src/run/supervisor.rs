//! The supervisor: what a run (new or resumed) runs with, its [`Recorder`], and the loop that
//! drives the state machine of `state.rs` from a first [`Step`] to the end. The phases are
//! `impl Supervisor` blocks of their own files: `judge.rs` (baseline, attempts, checks,
//! verdicts), `session.rs`, `rollback.rs`, `commits.rs`, `end.rs`.

use crate::ast::Event as NotifyEvent;
use crate::notify::{CheckSummary, Message};
use crate::os::keep_awake::KeepAwake;
use crate::os::lock::PidLock;
use crate::record::event::seconds;
use crate::record::{Event, History, Outcome, Recorder, RunDir};
use crate::run::context::Context;
use crate::run::error::Crash;
use crate::run::git::RunGit;
use crate::run::state::Step;
use crate::run::Finished;
use git2::Oid;
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

/// How often the journal gets a heartbeat (`NIGHT_HEARTBEAT_MS` in tests).
pub(super) const HEARTBEAT_EVERY: Duration = Duration::from_secs(60);

/// What this supervisor process watches, beside the run's record: none of it is the run's
/// state, all of it ends with the process.
#[derive(Default)]
pub(super) struct Watch {
    /// The run branch's tip when last looked at.
    pub last_tip: Option<Oid>,
    /// The run branch was moved outside the run to a commit that does not descend from the
    /// start: why the run ends, and the tip it had before (kept under `refs/night/…`).
    pub moved: Option<(String, Oid)>,
    /// How many times the run branch was moved so far.
    pub moves: u32,
    /// Lines of `audit.jsonl` already journaled.
    pub audit_seen: usize,
    /// The sandbox's layers are journaled (once per supervisor).
    pub sandbox_journaled: bool,
    /// `on violation stop` ended the run: the leftover work is left for review.
    pub stopped_for_violation: bool,
    /// `agent.log` could not be written (a full disk): why the run ends.
    pub log_failure: Option<crate::run::error::LogFailed>,
}

/// One supervisor: a run's context, its record, and this process's clocks and watches.
pub(super) struct Supervisor<'a> {
    pub cx: Context<'a>,
    pub git: RunGit,
    pub run_dir: RunDir,
    /// The commit the run started from.
    pub start: Oid,
    pub recorder: Recorder,
    /// When this supervisor took over.
    pub started: Instant,
    /// Supervised time before it (a resumed run's earlier supervisors).
    pub elapsed_before: Duration,
    /// When the run's `timeout` runs out.
    pub run_deadline: Instant,
    pub watch: Watch,
    /// The remote delivery pushes to, as this supervisor recorded it when the run started
    /// (`None`: a resumed run, which reads it back from the journal).
    pub delivery_remote: Option<crate::deliver::RecordedRemote>,
    /// Journals a heartbeat every minute while the run lasts.
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    /// Held while this supervisor lives: no second supervisor on the run.
    _lock: PidLock,
}

impl<'a> Supervisor<'a> {
    /// A supervisor of the run whose record so far is in `recorder` (its `run-start` at least).
    pub fn new(cx: Context<'a>, git: RunGit, run_dir: RunDir, recorder: Recorder, lock: PidLock, start: Oid) -> Self {
        // `timeout` is the whole run's: only what earlier supervisors left of it remains.
        let elapsed_before = recorder.history().supervised(HEARTBEAT_EVERY * 2);
        let now = Instant::now();
        let run_deadline = now + cx.plan.limits.timeout.saturating_sub(elapsed_before);
        Supervisor {
            cx,
            git,
            run_dir,
            start,
            recorder,
            started: now,
            elapsed_before,
            run_deadline,
            watch: Watch::default(),
            delivery_remote: None,
            heartbeat: None,
            _lock: lock,
        }
    }

    /// Supervise to the end: `begin` records how this supervisor begins (a new run's start, a
    /// resume) and says the first step; then each step, then the end.
    pub async fn supervise(mut self, begin: impl FnOnce(&mut Self, &KeepAwake) -> Step) -> Finished {
        self.started_hook();
        let mut keep_awake = KeepAwake::start().await;
        let first = begin(&mut self, &keep_awake);
        let (outcome, reason) = self.drive(first).await;
        let finished = self.finish(outcome, reason).await;
        keep_awake.stop().await;
        finished
    }

    /// Each step's work, until the end.
    async fn drive(&mut self, mut step: Step) -> (Outcome, String) {
        loop {
            let next = match step {
                Step::Baseline => self.baseline().await,
                Step::Attempt => Ok(self.next_attempt()),
                Step::Sessions { session, work } => self.sessions(session, work).await.map(Step::Judge),
                Step::Judge(work) => self.judge(work).await,
                Step::Decide(work) => self.decide(work),
                Step::End(outcome, reason) => return (outcome, reason),
            };
            step = next.unwrap_or_else(|crash: Crash| {
                self.note("crash", &format!("night failed: {crash}"));
                Step::End(Outcome::Crashed, format!("night failed: {crash}"))
            });
        }
    }

    /// The run's history: everything recorded so far.
    pub fn history(&self) -> &History {
        self.recorder.history()
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        self.history().run_id()
    }

    /// The run branch.
    pub fn branch(&self) -> &str {
        self.history().start.as_ref().map_or("", |(start, _)| start.branch.as_str())
    }

    /// The attempt under way or last ended (0: none yet).
    pub fn attempt(&self) -> u64 {
        self.history().attempt_count()
    }

    /// Record an event: journaled, and folded into the history.
    pub fn record(&mut self, event: Event) {
        self.recorder.record(event);
        if let Some(failure) = self.recorder.journal().take_failure() {
            self.status(&format!("night: {failure}"));
        }
    }

    /// A `note` event.
    pub fn note(&mut self, topic: &str, message: &str) {
        self.record(Event::Note { topic: topic.into(), message: message.into() });
    }

    /// One line of the run's progress, for the terminal.
    pub fn status(&self, line: &str) {
        (self.cx.options.status)(line);
    }

    /// Supervised time in the whole run: earlier supervisors' and this one's.
    pub fn elapsed(&self) -> Duration {
        self.elapsed_before.saturating_add(self.started.elapsed())
    }

    /// Once the run folder is locked: tell the caller (`--detach` hands over its output there),
    /// and start journaling a heartbeat, which a later `night resume` counts time up to.
    fn started_hook(&mut self) {
        if let Some(hook) = self.cx.options.on_started.take() {
            hook(self.history().run_id(), self.run_dir.path());
        }
        let every = (self.cx.options.env)("NIGHT_HEARTBEAT_MS").and_then(|ms| ms.parse().ok()).map_or(HEARTBEAT_EVERY, Duration::from_millis);
        let journal = self.recorder.journal().clone();
        let (before, started) = (self.elapsed_before, self.started);
        self.heartbeat = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(Instant::now() + every, every);
            loop {
                tick.tick().await;
                journal.record(Event::Heartbeat { elapsed_ms: millis(before.saturating_add(started.elapsed())) });
            }
        }));
    }

    /// Stop the heartbeat: the run is ending.
    pub fn stop_heartbeat(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
    }

    /// Queue a notification of `event`; `summary` is one human line, `detail` says more.
    pub fn notify(&self, event: NotifyEvent, summary: &str, detail: Option<String>) {
        self.cx.dispatcher.notify(self.message(event, None, summary, detail, None));
    }

    /// A notification's message, secrets scrubbed.
    pub fn message(&self, event: NotifyEvent, outcome: Option<Outcome>, summary: &str, detail: Option<String>, report: Option<&Path>) -> Message {
        let history = self.history();
        let checks = history.last_results().unwrap_or_default().iter().map(|c| CheckSummary { check: c.statement.clone(), passed: c.passed, detail: c.reason.clone() }).collect();
        let attempt = self.attempt();
        Message {
            event,
            outcome: outcome.map(|o| o.name().to_string()),
            run_id: self.run_id().to_string(),
            name: self.cx.plan.name.clone(),
            branch: self.branch().to_string(),
            started_at: history.started_at().as_ref().map(seconds::text).unwrap_or_default(),
            at: crate::notify::now_rfc3339(),
            elapsed_seconds: self.elapsed().as_secs(),
            attempt: (attempt > 0).then_some(attempt),
            attempts: attempt,
            checks,
            tokens: history.tokens,
            cost_usd: history.cost_usd,
            report: report.map(|p| p.display().to_string()),
            summary: self.cx.secrets.scrub(&format!("{}: {summary}", self.cx.plan.name)).into_owned(),
            detail: detail.map(|d| self.cx.secrets.scrub(&d).into_owned()),
            pull_request: None,
        }
    }
}

/// Milliseconds, saturating.
pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
