//! A batch: several runbooks started together (`night run a.night b.night … --jobs N`). Its
//! folder, `.night/batches/<batch-id>/`, holds what the batch supervisor decided and saw — the
//! runbooks as checked at its start, which run each one became, how each ended — as typed
//! [`BatchEvent`]s in `batch.jsonl`, folded into a [`BatchHistory`]. The runs themselves are
//! ordinary run folders under `.night/runs/`, each with its own journal (docs/batches.md).

use crate::os::lock::{self, LockError, PidLock};
use crate::record::event::seconds;
use crate::record::{Outcome, ReportFile};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead as _, Write as _};
use std::path::{Path, PathBuf};

/// One runbook of a batch, as planned at the batch's start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Member {
    /// Its place in the batch, from 0, in the order given on the command line.
    pub index: usize,
    /// The runbook's `name`.
    pub name: String,
    /// What its run id starts with: the name, or `<name>-<n>` when several runbooks share it.
    pub label: String,
    /// The runbook's path, as checked (relative paths in it resolve from there).
    pub runbook: String,
    /// The copy of its text in the batch folder (`runbooks/…`), what the run and a resume read.
    pub copy: String,
    /// The run branch it will use.
    pub branch: String,
    /// Its agent reports tokens and cost (else it is outside the batch budget).
    pub reports_usage: bool,
}

/// The `batch-start` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BatchStart {
    /// The batch id, `batch-<YYYYMMDD-HHMMSS>`.
    pub batch_id: String,
    /// The repository.
    pub repo: String,
    /// The commit every run of the batch starts from.
    pub start_commit: String,
    /// At most this many runs at once.
    pub jobs: usize,
    /// At most this many success checks at once, across the batch.
    pub checks: usize,
    /// The batch's budget in US dollars, one pool for every run.
    pub budget_usd: Option<f64>,
    /// The digest notifiers, as written on the command line.
    pub notify: Vec<String>,
    /// Also write `report.html` for each run and for the batch.
    #[serde(default)]
    pub html: bool,
    /// The runbooks.
    pub members: Vec<Member>,
    /// The batch supervisor's pid.
    pub pid: u32,
}

/// Everything `batch.jsonl` records. The tag is the `event` field.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum BatchEvent {
    /// The batch started, all its runbooks checked.
    BatchStart(BatchStart),
    /// A member's run was started with this id.
    RunStarted {
        /// The member.
        index: usize,
        /// The run id.
        run_id: String,
    },
    /// A member's run is over (or its supervisor exited without an end).
    RunEnded {
        /// The member.
        index: usize,
        /// The run id.
        run_id: String,
        /// Its outcome; `None` when its journal has no end.
        outcome: Option<Outcome>,
    },
    /// A member never started: the batch was stopped first, or its start was refused.
    RunSkipped {
        /// The member.
        index: usize,
        /// Why.
        reason: String,
    },
    /// `night resume BATCH` took over after the batch supervisor died.
    BatchResume {
        /// The new supervisor's pid.
        pid: u32,
    },
    /// The digest went to a notifier (or failed).
    Notification {
        /// The notifier, as written.
        notifier: String,
        /// Delivered.
        delivered: bool,
        /// Why not.
        error: Option<String>,
    },
    /// Every run is over.
    BatchEnd {
        /// Why the batch ended, in one phrase.
        reason: String,
    },
}

/// One line of `batch.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BatchEntry {
    /// When, UTC, to the second.
    #[serde(with = "seconds")]
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub event: BatchEvent,
}

/// Where one member stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberState {
    /// Its run id, once started.
    pub run_id: Option<String>,
    /// Ended (with an outcome when its journal had one).
    pub ended: Option<Option<Outcome>>,
    /// Never started, and why.
    pub skipped: Option<String>,
}

/// The fold of `batch.jsonl`.
#[derive(Debug, Clone, Default)]
pub struct BatchHistory {
    /// The start, and when.
    pub start: Option<(BatchStart, DateTime<Utc>)>,
    /// Each member's state, by index.
    pub members: Vec<MemberState>,
    /// Digest deliveries: notifier, delivered, error.
    pub notifications: Vec<(String, bool, Option<String>)>,
    /// The end, and when.
    pub end: Option<(String, DateTime<Utc>)>,
}

impl BatchHistory {
    /// Fold one entry.
    pub fn apply(&mut self, entry: &BatchEntry) {
        match &entry.event {
            BatchEvent::BatchStart(start) => {
                self.members = vec![MemberState::default(); start.members.len()];
                self.start = Some((start.clone(), entry.at));
            }
            BatchEvent::RunStarted { index, run_id } => {
                if let Some(member) = self.members.get_mut(*index) {
                    member.run_id = Some(run_id.clone());
                }
            }
            BatchEvent::RunEnded { index, outcome, .. } => {
                if let Some(member) = self.members.get_mut(*index) {
                    member.ended = Some(*outcome);
                }
            }
            BatchEvent::RunSkipped { index, reason } => {
                if let Some(member) = self.members.get_mut(*index) {
                    member.skipped = Some(reason.clone());
                }
            }
            BatchEvent::BatchResume { .. } => {}
            BatchEvent::Notification { notifier, delivered, error } => self.notifications.push((notifier.clone(), *delivered, error.clone())),
            BatchEvent::BatchEnd { reason } => self.end = Some((reason.clone(), entry.at)),
        }
    }

    /// The batch id.
    pub fn batch_id(&self) -> &str {
        self.start.as_ref().map_or("", |(start, _)| start.batch_id.as_str())
    }
}

/// One batch's folder, `.night/batches/<batch-id>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchDir {
    path: PathBuf,
}

impl BatchDir {
    /// The batch folder at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The batch id: the folder's name.
    pub fn id(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// `batch.jsonl`: the batch's events.
    pub fn journal(&self) -> PathBuf {
        self.path.join("batch.jsonl")
    }

    /// `runbooks/`: the runbooks as checked at the batch's start.
    pub fn runbooks(&self) -> PathBuf {
        self.path.join("runbooks")
    }

    /// `supervisor.lock`: held by the live batch supervisor.
    pub fn lock_file(&self) -> PathBuf {
        self.path.join("supervisor.lock")
    }

    /// `night.out`: a detached batch supervisor's own output.
    pub fn night_out(&self) -> PathBuf {
        self.path.join("night.out")
    }

    /// `spent.json`: what each run of the batch has spent so far, kept by the batch supervisor
    /// for the runs to weigh against the batch budget.
    pub fn spent(&self) -> PathBuf {
        self.path.join("spent.json")
    }

    /// `check-slots/`: one lock file per success check allowed at once.
    pub fn check_slots(&self) -> PathBuf {
        self.path.join("check-slots")
    }

    /// The batch's report.
    pub fn report(&self, file: ReportFile) -> PathBuf {
        self.path.join(file.name())
    }

    /// Take the batch's lock: one supervisor per batch.
    pub fn lock(&self) -> Result<PidLock, LockError> {
        PidLock::acquire(&self.lock_file())
    }

    /// The pid of the live batch supervisor, if any.
    pub fn supervisor(&self) -> Option<u32> {
        lock::holder(&self.lock_file())
    }

    /// Whether a batch supervisor is alive.
    pub fn is_live(&self) -> bool {
        self.supervisor().is_some()
    }

    /// Append one event, flushed to disk.
    pub fn record(&self, event: BatchEvent) -> io::Result<()> {
        let entry = BatchEntry { at: Utc::now(), event };
        let mut line = serde_json::to_string(&entry).map_err(io::Error::other)?;
        line.push('\n');
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(self.journal())?;
        file.write_all(line.as_bytes())?;
        file.sync_data()
    }

    /// `batch.jsonl` folded; lines that cannot be read (a torn last line) are skipped.
    pub fn load(&self) -> io::Result<BatchHistory> {
        let file = std::fs::File::open(self.journal())?;
        let mut history = BatchHistory::default();
        for line in io::BufReader::new(file).lines() {
            if let Ok(entry) = serde_json::from_str::<BatchEntry>(&line?) {
                history.apply(&entry);
            }
        }
        Ok(history)
    }
}

/// A repository's batches, `<repo>/.night/batches/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchesDir {
    path: PathBuf,
}

impl BatchesDir {
    /// The batches of the repository at `repo`.
    pub fn of_repo(repo: &Path) -> Self {
        Self { path: repo.join(".night").join("batches") }
    }

    /// The folder of batch `id`.
    pub fn batch(&self, id: &str) -> BatchDir {
        BatchDir::new(self.path.join(id))
    }

    /// Every batch with a journal, newest first (ids end in their start's stamp).
    pub fn list(&self) -> Vec<BatchDir> {
        let Ok(entries) = std::fs::read_dir(&self.path) else { return Vec::new() };
        let mut batches: Vec<BatchDir> = entries.flatten().map(|e| BatchDir::new(e.path())).filter(|b| b.journal().is_file()).collect();
        batches.sort_by_key(|b| std::cmp::Reverse(b.id()));
        batches
    }

    /// The batch `name` names: an id or a unique prefix of one.
    pub fn find(&self, name: &str) -> Option<BatchDir> {
        let all = self.list();
        if let Some(exact) = all.iter().find(|b| b.id() == name) {
            return Some(exact.clone());
        }
        let mut matching = all.into_iter().filter(|b| b.id().starts_with(name));
        let first = matching.next()?;
        matching.next().is_none().then_some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_journal_folds_its_members() {
        let dir = tempfile::tempdir().expect("temp dir");
        let batch = BatchesDir::of_repo(dir.path()).batch("batch-20260101-000000");
        std::fs::create_dir_all(batch.path()).expect("mkdir");
        let member = |index: usize| Member { index, name: "t".into(), label: format!("t-{index}"), runbook: "t.night".into(), copy: "runbooks/t.night".into(), branch: format!("night/t{index}"), reports_usage: false };
        let start = BatchStart { batch_id: batch.id(), repo: "/r".into(), start_commit: "abc".into(), jobs: 2, checks: 1, budget_usd: None, notify: vec![], html: false, members: vec![member(0), member(1)], pid: 1 };
        batch.record(BatchEvent::BatchStart(start)).expect("write");
        batch.record(BatchEvent::RunStarted { index: 0, run_id: "t-0-x".into() }).expect("write");
        batch.record(BatchEvent::RunEnded { index: 0, run_id: "t-0-x".into(), outcome: Some(Outcome::Success) }).expect("write");
        batch.record(BatchEvent::RunSkipped { index: 1, reason: "stopped".into() }).expect("write");
        let history = batch.load().expect("load");
        assert_eq!(history.batch_id(), "batch-20260101-000000");
        assert_eq!(history.members[0].ended, Some(Some(Outcome::Success)));
        assert_eq!(history.members[1].skipped.as_deref(), Some("stopped"));
        assert_eq!(BatchesDir::of_repo(dir.path()).find("batch-2026").map(|b| b.id()), Some(batch.id()));
    }
}
