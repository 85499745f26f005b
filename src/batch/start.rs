//! Starting a batch once every runbook checked clean: the batch folder, locked; a copy of each
//! runbook as checked (what its run, and a resume, read); the commit every run starts from;
//! then `batch-start`.

use crate::checklist::batch::{branches, labels};
use crate::os::lock::{LockError, PidLock};
use crate::plan::Plan;
use crate::record::{BatchDir, BatchEvent, BatchStart, BatchesDir, Member};
use std::path::PathBuf;

/// A checked batch, ready to start.
pub struct BatchPlan<'a> {
    /// The runbooks' plans, in the order given.
    pub plans: Vec<&'a Plan>,
    /// Whether each one's agent reports usage (else it is outside the budget).
    pub reports_usage: Vec<bool>,
    /// At most this many runs at once.
    pub jobs: usize,
    /// At most this many success checks at once.
    pub checks: usize,
    /// One budget for every run, in US dollars.
    pub budget_usd: Option<f64>,
    /// The digest notifiers, as statements of a `notify` block.
    pub notify: Vec<String>,
    /// Also write HTML reports.
    pub html: bool,
}

/// Why a batch could not start; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The runbooks are in different repositories.
    #[error("the runbooks of a batch must be in one repository: `{}` is in {}, `{}` in {}", .first.0, .first.1.display(), .other.0, .other.1.display())]
    Repositories {
        /// A runbook and its repository.
        first: (String, PathBuf),
        /// Another, elsewhere.
        other: (String, PathBuf),
    },
    /// The repository's HEAD cannot be read.
    #[error("cannot read the commit to start from: {0}")]
    Head(String),
    /// The batch folder cannot be made.
    #[error("cannot create the batch folder {}: {source}", .path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The batch folder cannot be locked.
    #[error("cannot lock the batch folder: {0}")]
    Lock(#[from] LockError),
}

/// Make the batch folder and record its start. The folder and its lock, held by this batch
/// supervisor until the batch ends.
pub fn start(batch: &BatchPlan<'_>) -> Result<(BatchDir, PidLock), StartError> {
    let first = batch.plans.first().ok_or_else(|| StartError::Head("no runbook".into()))?;
    if let Some(other) = batch.plans.iter().find(|plan| plan.repo != first.repo) {
        return Err(StartError::Repositories { first: (first.source.name(), first.repo.clone()), other: (other.source.name(), other.repo.clone()) });
    }
    let repository = git2::Repository::open(&first.repo).map_err(|e| StartError::Head(e.message().to_string()))?;
    let head = repository.head().and_then(|head| head.peel_to_commit()).map_err(|e| StartError::Head(e.message().to_string()))?;
    let at = chrono::Utc::now();
    let batches = BatchesDir::of_repo(&first.repo);
    let folder = |dir: &BatchDir, source: std::io::Error| StartError::Folder { path: dir.path().to_path_buf(), source };
    // A batch id is its start's second: another batch started in the same second waits for the next.
    let dir = loop {
        let dir = batches.batch(&format!("batch-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S")));
        if let Some(parent) = dir.path().parent() {
            std::fs::create_dir_all(parent).map_err(|e| folder(&dir, e))?;
        }
        match std::fs::create_dir(dir.path()) {
            Ok(()) => break dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::thread::sleep(std::time::Duration::from_millis(200)),
            Err(e) => return Err(folder(&dir, e)),
        }
    };
    let lock = dir.lock()?;
    std::fs::create_dir_all(dir.runbooks()).map_err(|e| folder(&dir, e))?;
    let labels = labels(&batch.plans);
    let branches = branches(&batch.plans, at);
    let mut members = Vec::new();
    for (index, plan) in batch.plans.iter().enumerate() {
        let copy = format!("runbooks/{index}-{}.night", labels[index]);
        std::fs::write(dir.path().join(&copy), &plan.source.text).map_err(|e| folder(&dir, e))?;
        members.push(Member {
            index,
            name: plan.name.clone(),
            label: labels[index].clone(),
            runbook: plan.runbook_path.display().to_string(),
            copy,
            branch: branches[index].clone(),
            reports_usage: batch.reports_usage.get(index).copied().unwrap_or(false),
        });
    }
    let start = BatchStart {
        batch_id: dir.id(),
        repo: first.repo.display().to_string(),
        start_commit: head.id().to_string(),
        jobs: batch.jobs.max(1),
        checks: batch.checks.max(1),
        budget_usd: batch.budget_usd,
        notify: batch.notify.clone(),
        html: batch.html,
        members,
        pid: std::process::id(),
    };
    dir.record(BatchEvent::BatchStart(start)).map_err(|e| folder(&dir, e))?;
    Ok((dir, lock))
}
