//! The end of a run, once its outcome is known: leftover work committed, `run-end` journaled,
//! the reports written, the end notified, the reports written again with the deliveries.
//! Everything that happens to a finished run happens here, in this order; delivering the work
//! (pushing the branch, opening a pull request) belongs between the reports and the end's
//! notification, so that the notification can say where the work went.

use crate::ast::Event as NotifyEvent;
use crate::record::{CommitRecord, DiffRecord, Event, Outcome, ReportFile, RunEnd};
use crate::report::{write_reports, Formats};
use crate::run::ballast;
use crate::run::sandboxing::RunSandbox;
use crate::run::supervisor::{millis, Supervisor};
use crate::run::Finished;
use crate::time::format_duration;
use std::time::Duration;

/// How long notifications may take at the end of the run before night exits anyway.
const NOTIFY_FLUSH: Duration = Duration::from_secs(30);

impl Supervisor<'_> {
    /// The end: keep leftover work, journal the end, write the reports, notify, report again
    /// with the deliveries.
    pub(super) async fn finish(&mut self, outcome: Outcome, reason: String) -> Finished {
        self.stop_heartbeat();
        self.keep_leftover_work(outcome);
        let run_end = self.run_end(outcome, reason.clone());
        self.record(Event::RunEnd(run_end));
        let report = self.run_dir.report(ReportFile::Markdown);
        self.write_reports();
        let attempts = match self.attempt() {
            1 => "1 attempt".to_string(),
            n => format!("{n} attempts"),
        };
        let summary = format!("{} after {attempts} in {}", outcome.name(), format_duration(self.elapsed()));
        self.cx.dispatcher.notify_end(self.message(NotifyEvent::End, Some(outcome), &summary, Some(reason.clone()), Some(&report)));
        let _ = self.cx.dispatcher.flush(NOTIFY_FLUSH).await;
        self.write_reports();
        ballast::release(&self.run_dir);
        Finished { outcome, reason, run_id: self.run_id().to_string(), run_dir: self.run_dir.path().to_path_buf(), report }
    }

    /// The agent's last objects into the repository, refs of moved tips checked, and what the
    /// agent left uncommitted committed on the run branch.
    fn keep_leftover_work(&mut self, outcome: Outcome) {
        if let Err(e) = RunSandbox::finish_run(&self.git, self.run_dir.path()) {
            self.note("sandbox-objects", &format!("cannot copy the agent's objects into the repository: {e}; they stay in the run folder"));
        }
        if self.watch.moves > 0 {
            // Only now are the agent's objects all in the repository's own store.
            match self.git.drop_broken_refs(&format!("refs/night/{}/moved-", self.run_id())) {
                Ok(dropped) if !dropped.is_empty() => {
                    let message = format!("the agent destroyed the commits it had moved the run branch away from; their refs were dropped: {}", dropped.join(", "));
                    self.note("branch-moved", &message);
                }
                Ok(_) => {}
                Err(e) => self.note("branch-moved", &format!("cannot check the refs kept for moved tips: {e}")),
            }
        }
        self.remove_stale_index_lock();
        // A branch moved away from the run is someone else's now: nothing is committed on it.
        if outcome != Outcome::NothingToDo && !matches!(self.git.is_clean(), Ok(true)) && !self.watch.stopped_for_violation && self.watch.moved.is_none() {
            match self.git.checkpoint(&format!("night: leftover work at the end of {}", self.run_id())) {
                Ok(commit) => {
                    let attempt = self.attempt();
                    self.record(Event::Checkpoint { attempt, commit: commit.map(|c| c.to_string()) });
                }
                Err(e) => self.note("checkpoint", &format!("cannot commit the leftover work: {e}")),
            }
            self.poll_commits();
        }
    }

    /// The `run-end` event: the outcome, the branch's commits and diffstat, the totals.
    fn run_end(&self, outcome: Outcome, reason: String) -> RunEnd {
        let head = match &self.watch.moved {
            Some((_, before)) => *before,
            None => self.git.head().unwrap_or(self.start),
        };
        let seen = &self.history().commits;
        let listed = if self.watch.moved.is_some() { None } else { self.git.commits_since(self.start).ok() };
        let commits: Vec<CommitRecord> = match listed {
            Some(list) => list
                .into_iter()
                .map(|c| {
                    let attempt = seen.iter().find(|(record, _)| record.id == c.id).map_or(0, |(record, _)| record.attempt);
                    CommitRecord { attempt, id: c.id, short: c.short, summary: c.summary, files: c.files, insertions: c.insertions, deletions: c.deletions }
                })
                .collect(),
            None => seen.iter().map(|(record, _)| record.clone()).collect(),
        };
        let diffstat = self
            .git
            .diffstat(self.start, head)
            .map(|d| DiffRecord { files: d.files, insertions: d.insertions, deletions: d.deletions, per_file: d.per_file })
            .unwrap_or_default();
        RunEnd {
            outcome,
            reason,
            exit_code: outcome.exit_code(),
            attempts: self.attempt(),
            head: head.to_string(),
            commits,
            diffstat,
            duration_ms: millis(self.elapsed()),
            tokens: self.history().tokens,
            cost_usd: self.history().cost_usd,
        }
    }

    /// `report.md` and `report.json` (and `report.html` with `--html`), from the journal as it
    /// is on disk (the notifications' results included).
    fn write_reports(&self) {
        let formats = Formats { html: self.cx.options.html };
        let written = self.run_dir.load().and_then(|history| write_reports(&self.run_dir, &history, false, formats, &self.cx.secrets));
        if let Err(e) = written {
            self.status(&format!("night: cannot write the report {}: {e}", self.run_dir.report(ReportFile::Markdown).display()));
        }
    }
}
