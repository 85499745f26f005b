//! The agent's sessions of one attempt: each started with its prompt inside the sandbox,
//! watched until it exits or a limit fires, its writes checked against `write`; a session
//! limit or the provider's usage limit starts a fresh session of the same attempt.

use crate::ast::{Event as NotifyEvent, OnViolation};
use crate::os::group::Identity;
use crate::record::{AgentProcess, Ends, Event, Limit, PromptKind, SessionEndReason};
use crate::run::agent::{AgentSignal, LaunchContext};
use crate::run::error::{Crash, LogFailed};
use crate::run::limits::{explain, value, SessionClock};
use crate::run::process::{LineSink, LogHealth, OutputSinks, SpawnSpec, Supervised};
use crate::run::ref_watch::RefWatch;
use crate::run::sandboxing::{self, SessionSandbox};
use crate::run::state::{self, AttemptWork};
use crate::run::supervisor::{millis, Supervisor};
use crate::run::ballast;
use crate::time::format_duration;
use git2::Oid;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How one agent session ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SessionEnd {
    /// The agent exited by itself.
    Exited,
    /// A limit fired.
    Limit(Limit),
    /// The provider's quota stopped it and `quota wait` allows one wait.
    QuotaWait(std::time::Duration),
    /// night was told to stop.
    Interrupted,
    /// The agent could not be started.
    SpawnFailed,
    /// `agent.log` could not be written (a full disk): the agent was stopped.
    LogFailed,
}

impl SessionEnd {
    /// As the journal records it.
    fn reason(self) -> SessionEndReason {
        match self {
            SessionEnd::Exited => SessionEndReason::Exited,
            SessionEnd::Limit(limit) => SessionEndReason::Limit(limit),
            SessionEnd::QuotaWait(_) => SessionEndReason::Limit(Limit::Quota),
            SessionEnd::Interrupted => SessionEndReason::Interrupted,
            SessionEnd::SpawnFailed => SessionEndReason::SpawnFailed,
            SessionEnd::LogFailed => SessionEndReason::LogFailed,
        }
    }
}

impl Supervisor<'_> {
    /// Every session of the current attempt from `first` on; `earlier` is what the attempt's
    /// sessions before them left.
    pub(super) async fn sessions(&mut self, first: u64, earlier: AttemptWork) -> Result<AttemptWork, Crash> {
        let attempt = self.attempt();
        let mut work = AttemptWork::default();
        for session in first..=u64::MAX {
            if Instant::now() >= self.run_deadline {
                work.run_limit = Some(Limit::Timeout);
                break;
            }
            let (prompt, kind) = state::prompt(self.history(), self.cx.plan, attempt, session);
            let session_start = self.git.snapshot(&format!("refs/night/{}/session-start", self.run_id()), "night: state at the start of a session")?;
            let end = self.session(&prompt, kind, session).await?;
            self.remove_stale_index_lock();
            self.poll_commits();
            if let Some(failure) = &self.watch.log_failure {
                return Err(Crash::LogFailed(failure.clone()));
            }
            if self.watch.moved.is_some() {
                work.interrupted = true;
                break;
            }
            if self.check_writes(session_start, &mut work)? {
                break;
            }
            match end {
                SessionEnd::Exited => break,
                SessionEnd::SpawnFailed => {
                    work.spawn_failed = true;
                    break;
                }
                SessionEnd::Interrupted | SessionEnd::LogFailed => {
                    work.interrupted = true;
                    break;
                }
                SessionEnd::Limit(limit) => match limit.ends() {
                    Ends::Session => {
                        let commit = self.git.checkpoint(&format!("night: checkpoint at the session limit (attempt {attempt}, session {session})"))?;
                        self.record(Event::Checkpoint { attempt, commit: commit.map(|c| c.to_string()) });
                        self.poll_commits();
                    }
                    Ends::Attempt => {
                        work.ended_by = Some(limit);
                        break;
                    }
                    Ends::Run => {
                        work.run_limit = Some(limit);
                        break;
                    }
                },
                SessionEnd::QuotaWait(wait) => {
                    self.status(&format!("night: the provider's usage limit: waiting {}", format_duration(wait)));
                    let interrupted = tokio::select! {
                        () = tokio::time::sleep(wait) => false,
                        () = self.cx.interrupts.reached(self.cx.interrupts.count() + 1) => true,
                    };
                    if interrupted {
                        work.interrupted = true;
                        break;
                    }
                }
            }
        }
        work.merge_violations(earlier);
        Ok(work)
    }

    /// Compare every path changed since `session_start` with `write` and apply `on violation`;
    /// true when the run must stop for it.
    pub(super) fn check_writes(&mut self, session_start: Oid, work: &mut AttemptWork) -> Result<bool, Crash> {
        let attempt = self.attempt();
        let changed = self.git.changed_paths_since(session_start)?;
        let outside: Vec<String> = changed.into_iter().filter(|path| !self.cx.plan.permissions.may_write(path)).collect();
        if outside.is_empty() {
            return Ok(false);
        }
        let action = self.cx.plan.permissions.on_violation;
        let revert_commit = match action {
            OnViolation::Revert => self.git.revert_paths(session_start, &outside)?.map(|oid| oid.to_string()),
            OnViolation::Stop => None,
        };
        let reverted = revert_commit.is_some();
        self.record(Event::Violation { attempt, paths: outside.clone(), action, revert_commit });
        if reverted {
            // The restoring commit is on the run branch like the agent's: journaled as one, so
            // that status, list and the report count what the end summary counts.
            self.poll_commits();
        }
        let shown = outside.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        self.status(&format!("night: violation: wrote outside `write`: {shown}"));
        self.notify(NotifyEvent::Violation, "the agent wrote outside `write`", Some(shown));
        work.violation.get_or_insert_with(Vec::new).extend(outside);
        if action == OnViolation::Stop {
            work.stop_for_violation = true;
            return Ok(true);
        }
        Ok(false)
    }

    /// `check_writes` for a session a dead supervisor was watching, from the snapshot it took
    /// when the session began.
    pub(super) fn dead_session_writes(&mut self, work: &mut AttemptWork) -> Result<bool, Crash> {
        let refname = format!("refs/night/{}/session-start", self.run_id());
        let Ok(session_start) = git2::Repository::open(self.git.work_dir()).and_then(|repository| repository.refname_to_id(&refname)) else {
            return Ok(false);
        };
        self.check_writes(session_start, work)
    }

    /// A session that could not start: journaled as one that began and ended at once.
    fn spawn_failed(&mut self, attempt: u64, session: u64, prompt_file: String, kind: PromptKind, message: &str) -> SessionEnd {
        self.record(Event::SessionStart { attempt, session, pid: None, prompt_file, prompt_kind: kind });
        self.note("spawn-failed", message);
        let reason = SessionEnd::SpawnFailed.reason();
        self.record(Event::SessionEnd { attempt, session, reason, exit_code: None, signal: None, duration_ms: 0, output_bytes: 0, killed: false, wakeups: None });
        SessionEnd::SpawnFailed
    }

    /// One agent session, watched until it exits or a limit fires.
    async fn session(&mut self, prompt: &str, kind: PromptKind, session: u64) -> Result<SessionEnd, Crash> {
        let attempt = self.attempt();
        let prompt_path = self.run_dir.prompt(attempt, session);
        std::fs::write(&prompt_path, prompt)?;
        let prompt_file = prompt_path.display().to_string();
        let run_id = self.run_id().to_string();
        let context = LaunchContext { prompt, prompt_file: &prompt_path, work_dir: self.git.work_dir(), run_dir: self.run_dir.path(), run_id: &run_id, attempt, session };
        let launch = self.cx.adapter.launch(&context);
        let mut env = launch.env.clone();
        env.extend([
            ("NIGHT_PROMPT_FILE".to_string(), prompt_file.clone()),
            ("NIGHT_RUN_ID".to_string(), run_id.clone()),
            ("NIGHT_RUN_DIR".to_string(), self.run_dir.path().display().to_string()),
            ("NIGHT_ATTEMPT".to_string(), attempt.to_string()),
            ("NIGHT_SESSION".to_string(), session.to_string()),
        ]);
        // The OS sandbox: its layers, the agent's environment, the git guard (sandboxing.rs).
        let mut sandbox = match self.cx.sandbox.session(self.cx.plan, &self.git, self.run_dir.path(), &env) {
            Ok(sandbox) => sandbox,
            Err(e) => return Ok(self.spawn_failed(attempt, session, prompt_file, kind, &e.to_string())),
        };
        self.journal_sandbox(&sandbox);
        let mut env_remove = self.cx.secret_names.clone();
        env_remove.extend(sandbox.env.remove.iter().cloned());
        let spec = SpawnSpec {
            program: launch.program.clone(),
            args: launch.args.clone(),
            cwd: self.git.work_dir().to_path_buf(),
            env: sandbox.env.set.clone(),
            env_remove,
            stdin: launch.stdin.clone(),
            sandbox: sandbox.prepared.clone(),
        };
        let (signal_sender, mut signals) = mpsc::channel::<AgentSignal>(256);
        let on_line: Option<LineSink> = if self.cx.adapter.reads_output() {
            let parser = self.cx.adapter.clone();
            Some(Arc::new(move |stream, line| {
                for signal in parser.parse_line(stream, line) {
                    let _ = signal_sender.try_send(signal);
                }
            }))
        } else {
            None
        };
        let log_path = self.run_dir.agent_log();
        let log = std::fs::OpenOptions::new().append(true).create(true).open(&log_path)?;
        let log_start = log.metadata().map_or(0, |m| m.len());
        // Where each session's output begins, for `night log` (and `-f`) and anyone reading the log.
        let marker = format!("──── night: attempt {attempt}, session {session} ({} prompt), {} ────\n", kind.name(), chrono::Utc::now().format("%H:%M:%S UTC"));
        let _ = std::io::Write::write_all(&mut &log, marker.as_bytes());
        let log_health = Arc::new(LogHealth::default());
        let sinks = OutputSinks { log: Arc::new(log), log_health: log_health.clone(), redact: self.cx.secrets.byte_scrubber(), echo: self.cx.options.echo.clone(), on_line };
        let spawned_at = Instant::now();
        let mut process = match Supervised::spawn(&spec, sinks) {
            Ok(process) => process,
            Err(e) => {
                let message = match sandbox.failed_step() {
                    Some(step) => format!("cannot start the agent in the sandbox: {step}: {e}"),
                    None => format!("cannot start the agent: {e}"),
                };
                return Ok(self.spawn_failed(attempt, session, prompt_file, kind, &message));
            }
        };
        let pid = process.pid();
        self.record(Event::SessionStart { attempt, session, pid: Some(pid), prompt_file, prompt_kind: kind });
        self.record(Event::AgentProcess(AgentProcess::new(attempt, session, Identity::of(pid))));
        self.status(&format!("night: agent started (attempt {attempt}, session {session}, pid {pid})"));
        if let Err(e) = sandbox.started(pid) {
            self.note("sandbox-proxy", &format!("cannot serve the proxy in the agent's network namespace ({e}): the agent has no network"));
        }

        let mut ref_watch = match RefWatch::new(self.git.common_dir(), self.branch()) {
            Ok(watch) => Some(watch),
            Err(e) => {
                self.note("ref-watch", &format!("cannot watch the run branch ({e}); new commits are looked for when a limit is due"));
                None
            }
        };
        let limits = self.cx.plan.limits;
        let mut clock = SessionClock::new(limits, self.run_deadline, spawned_at);
        // A commit made before the watch was armed wakes nothing: look once, now that it is.
        if self.poll_commits() {
            clock.on_commit(Instant::now());
        }
        let interrupt_base = self.cx.interrupts.count();
        let mut end = loop {
            let (deadline, _) = clock.next_deadline(process.last_output());
            let output = process.output_clock();
            tokio::select! {
                _ = process.wait() => break SessionEnd::Exited,
                () = tokio::time::sleep_until(deadline) => {
                    let now = Instant::now();
                    if let Some(limit) = clock.fired(now, output.last()) {
                        // A commit inotify did not report still counts as progress.
                        if limit == Limit::Idle && self.poll_commits() {
                            clock.on_commit(now);
                            continue;
                        }
                        break SessionEnd::Limit(limit);
                    }
                }
                // Only when the tip read from the ref's files moved (src/run/ref_watch.rs).
                Some(()) = async { match ref_watch.as_mut() { Some(watch) => watch.changed().await, None => std::future::pending().await } } => {
                    if self.poll_commits() {
                        clock.on_commit(Instant::now());
                    }
                    if self.watch.moved.is_some() {
                        break SessionEnd::Interrupted;
                    }
                }
                source = log_health.failed() => {
                    let failure = LogFailed { path: log_path.clone(), source };
                    self.status(&format!("night: {failure}; stopping the agent"));
                    self.watch.log_failure = Some(failure);
                    break SessionEnd::LogFailed;
                }
                Some(signal) = signals.recv() => {
                    if let Some(end) = self.on_agent_signal(signal, &mut clock) {
                        break end;
                    }
                }
                () = self.cx.interrupts.reached(interrupt_base + 1) => break SessionEnd::Interrupted,
            }
        };
        if let SessionEnd::Limit(limit) = end {
            self.limit_fired(limit);
        }
        let ended = process.terminate(&self.cx.adapter.stop_signals(), self.cx.options.grace).await;
        if self.watch.log_failure.is_some() {
            // The agent is stopped and writes no more: the reserve makes room for the journal's
            // last lines and the report on the full disk.
            ballast::release(&self.run_dir);
        }
        // Lines read after the agent exited (its final result, a usage limit) still count:
        // terminate() waited for the output to be read to its end.
        while let Ok(signal) = signals.try_recv() {
            // A session ended by night already: a late usage limit decides nothing.
            if matches!(signal, AgentSignal::Quota { .. }) && end != SessionEnd::Exited {
                continue;
            }
            if let Some(late) = self.on_agent_signal(signal, &mut clock) {
                if end == SessionEnd::Exited {
                    if let SessionEnd::Limit(limit) = late {
                        self.limit_fired(limit);
                    }
                    end = late;
                }
            }
        }
        self.journal_denials();
        let (exit_code, signal) = match ended.status {
            Some(status) => {
                use std::os::unix::process::ExitStatusExt;
                (status.code(), status.signal())
            }
            None => (None, None),
        };
        self.record(Event::SessionEnd {
            attempt,
            session,
            reason: end.reason(),
            exit_code,
            signal,
            duration_ms: millis(process.elapsed()),
            output_bytes: process.output_bytes(),
            killed: ended.killed,
            wakeups: ref_watch.as_ref().map(RefWatch::looks),
        });
        self.journal_agent_tried(sandbox, attempt, session, log_start);
        Ok(end)
    }

    /// A `limit` event, and the line that says why.
    fn limit_fired(&mut self, limit: Limit) {
        let limits = &self.cx.plan.limits;
        let (value, why) = (value(limit, limits), explain(limit, limits));
        self.record(Event::Limit { limit, value, attempt: self.attempt(), ends: limit.ends() });
        self.status(&format!("night: {why}"));
    }

    /// Journal the sandbox's layers once, before the first session.
    fn journal_sandbox(&mut self, sandbox: &SessionSandbox) {
        if self.watch.sandbox_journaled {
            return;
        }
        self.watch.sandbox_journaled = true;
        let (writable, gaps, network) = sandboxing::describe(&sandbox.layers, &sandbox.spec);
        let layers = sandbox.layers.names();
        let mode = self.cx.plan.permissions.sandbox;
        let shown = if layers.is_empty() { "none".to_string() } else { layers.join(", ") };
        self.status(&format!("night: sandbox {}: {shown}", crate::record::vocabulary::word(&mode)));
        let hidden = crate::sandbox::env::hidden_summary(&sandbox.spec, &sandbox.layers, &sandbox.env);
        self.record(Event::Sandbox { mode, layers, gaps, writable, network, hidden });
    }

    /// After a session: what the git guard undid, where the proxy was asked to connect, and
    /// (for an agent without hooks, whose tools' results night never sees) the lines of its
    /// output, from `log_start` on, where the OS sandbox refused something.
    fn journal_agent_tried(&mut self, sandbox: SessionSandbox, attempt: u64, session: u64, log_start: u64) {
        let read_log = sandbox.layers.any() && !self.cx.adapter.enforces_deny();
        let (refused, refused_total) = if read_log { sandboxing::refusals_in_log(&self.run_dir.agent_log(), log_start) } else { (Vec::new(), 0) };
        let (what, reached) = sandbox.finish();
        for line in &what {
            self.status(&format!("night: the agent {line}"));
        }
        if refused_total > 0 {
            let first = refused.first().cloned().unwrap_or_default();
            let others = if refused_total > 1 { format!(" (and {} more)", refused_total - 1) } else { String::new() };
            self.status(&format!("night: the sandbox refused the agent: {first}{others}"));
        }
        if !what.is_empty() || !reached.is_empty() || refused_total > 0 {
            self.record(Event::AgentTried { attempt, session, what, reached, refused, refused_total });
        }
    }

    /// Journal the tool calls the agent's hooks denied since the last look (`audit.jsonl`), so
    /// that the report lists them.
    fn journal_denials(&mut self) {
        let audit = crate::policy::audit::read_audit(self.run_dir.path());
        let attempt = self.attempt();
        for entry in audit.iter().skip(self.watch.audit_seen).filter(|entry| entry.is_denial()) {
            let what = entry.command.as_deref().or(entry.path.as_deref()).unwrap_or_default();
            let tool = entry.tool.as_deref().unwrap_or("tool");
            let reason = entry.reason.as_deref().unwrap_or("denied");
            let message = format!("attempt {attempt}: {tool} `{what}`: {reason}");
            self.note("denied", &message);
        }
        self.watch.audit_seen = self.watch.audit_seen.max(audit.len());
    }

    /// In a batch with `--budget`: whether this run's spending takes the batch past its pool
    /// (the others' spending as the batch supervisor last wrote it in `spent.json`).
    fn batch_budget_crossed(&mut self, own_usd: f64) -> Option<Limit> {
        let member = self.cx.options.batch.as_ref()?;
        let pool = member.budget_usd?;
        let spent = crate::record::BatchDir::new(&member.batch_dir).spent();
        let others: f64 = std::fs::read_to_string(spent)
            .ok()
            .and_then(|text| serde_json::from_str::<std::collections::BTreeMap<String, f64>>(&text).ok())
            .map(|by_run| by_run.iter().filter(|(run, _)| run.as_str() != member.run_id).map(|(_, usd)| usd).sum())
            .unwrap_or(0.0);
        if others + own_usd < pool {
            return None;
        }
        let message = format!("the batch's budget ${pool:.2} is used up: this run spent ${own_usd:.2}, the others ${others:.2}");
        self.note("batch-budget", &message);
        self.status(&format!("night: {message}"));
        Some(Limit::Cost)
    }

    /// Act on what the agent reported: usage against the budget, tool calls against `stuck`,
    /// a provider's usage limit against `quota wait`.
    fn on_agent_signal(&mut self, signal: AgentSignal, clock: &mut SessionClock) -> Option<SessionEnd> {
        match signal {
            AgentSignal::Usage { tokens, cost_usd } => {
                let mut budget = crate::run::limits::Budget { tokens: self.history().tokens, cost_usd: self.history().cost_usd };
                let fired = budget.add(tokens, cost_usd, &self.cx.plan.limits);
                self.record(Event::Usage { attempt: self.attempt(), tokens, cost_usd, total_tokens: budget.tokens, total_cost_usd: budget.cost_usd });
                fired.or_else(|| self.batch_budget_crossed(budget.cost_usd)).map(SessionEnd::Limit)
            }
            AgentSignal::ToolCall { signature } => clock.on_tool_call(&signature).map(SessionEnd::Limit),
            AgentSignal::Budget { message } => {
                self.note("agent-budget", &message);
                Some(SessionEnd::Limit(Limit::Cost))
            }
            AgentSignal::Note { topic, message } => {
                self.note(&topic, &message);
                None
            }
            AgentSignal::Quota { resets_in } => match self.cx.plan.limits.quota_wait {
                Some(most) if !self.history().quota_waited() => Some(SessionEnd::QuotaWait(resets_in.map_or(most, |r| r.min(most)))),
                _ => Some(SessionEnd::Limit(Limit::Quota)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_record_reads_the_audit_trail_the_hook_writes() {
        assert_eq!(crate::record::RunDir::AUDIT, crate::policy::audit::AUDIT_FILE);
    }
}
