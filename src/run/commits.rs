//! The run branch while the agent works: its new commits (journaled and notified as they
//! come), a tip moved under the run (an agent's `reset`, someone's `git branch -f`), and the
//! `index.lock` a killed git leaves behind.

use crate::ast::Event as NotifyEvent;
use crate::record::{CommitRecord, Event};
use crate::run::supervisor::Supervisor;
use git2::Oid;

impl Supervisor<'_> {
    /// Journal (and notify) commits the run branch gained; true when there were any.
    pub(super) fn poll_commits(&mut self) -> bool {
        // Most wake-ups are other files in the git folder changing: compare the tip first,
        // and walk the branch only when it moved.
        let tip = self.git.head().ok();
        if tip.is_some() && tip == self.watch.last_tip {
            return false;
        }
        if let (Some(before), Some(now)) = (self.watch.last_tip, tip) {
            if !self.git.is_ancestor(before, now) {
                self.branch_moved(before, now);
            }
        }
        self.watch.last_tip = tip;
        let commits = match self.git.commits_since(self.start) {
            Ok(commits) => commits,
            Err(e) => {
                self.note("commits", &format!("cannot list the run branch's commits: {e}"));
                return false;
            }
        };
        let mut found = false;
        for commit in commits {
            if self.history().commits.iter().any(|(seen, _)| seen.id == commit.id) {
                continue;
            }
            found = true;
            let record = CommitRecord {
                attempt: self.attempt(),
                id: commit.id,
                short: commit.short,
                summary: commit.summary,
                files: commit.files,
                insertions: commit.insertions,
                deletions: commit.deletions,
            };
            let (short, summary) = (record.short.clone(), record.summary.clone());
            self.record(Event::Commit(record));
            self.status(&format!("night: commit {short} {summary}"));
            self.notify(NotifyEvent::Commit, &format!("commit {short}"), Some(summary));
        }
        found
    }

    /// The run branch's tip moved somewhere that does not hold its last tip: an agent's
    /// `reset` or `--amend`, or someone else's `git branch -f` / `update-ref`. The old tip is
    /// kept under `refs/night/<run-id>/moved-<n>` so that no commit is lost; a tip that does
    /// not even descend from the start commit is not the run's work any more, and ends the run.
    fn branch_moved(&mut self, before: Oid, now: Oid) {
        let n = self.watch.moves + 1;
        self.watch.moves = n;
        let kept = format!("refs/night/{}/moved-{n}", self.run_id());
        let stored = self.git.keep(&kept, before, "night: the run branch's tip before it was moved");
        let (short_before, short_now): (String, String) = (before.to_string().chars().take(7).collect(), now.to_string().chars().take(7).collect());
        let where_kept = match stored {
            Ok(()) => format!("its previous tip {short_before} is kept at `{kept}`"),
            Err(e) => format!("its previous tip {short_before} could not be kept ({e}); `git reflog` still has it"),
        };
        let branch = self.branch().to_string();
        if self.git.is_ancestor(self.start, now) {
            self.note("branch-moved", &format!("the run branch `{branch}` was moved from {short_before} to {short_now}, which does not hold it; {where_kept}"));
            return;
        }
        let reason = format!("the run branch `{branch}` was moved outside the run to {short_now}, which does not descend from the start commit; night stopped without touching it; {where_kept}");
        self.note("branch-moved", &reason);
        self.status(&format!("night: {reason}"));
        self.watch.moved = Some((reason, before));
    }

    /// Remove an `index.lock` the agent's killed git left behind (see `RunGit::remove_stale_index_lock`).
    pub(super) fn remove_stale_index_lock(&mut self) {
        match self.git.remove_stale_index_lock() {
            Ok(Some(what)) => {
                self.status(&format!("night: {what}"));
                self.note("index-lock", &what);
            }
            Ok(None) => {}
            Err(e) => self.note("index-lock", &e.to_string()),
        }
    }
}
