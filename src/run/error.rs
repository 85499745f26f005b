//! The run's errors: [`Refused`] before a run starts or resumes (nothing was changed; exit
//! 2), and [`Crash`], a failure of night itself once it has started (the run ends as
//! `crashed`). The CLI renders them (`cli/error.rs`).

use crate::os::lock::LockError;
use crate::record::Outcome;
use crate::run::git::GitError;
use std::path::PathBuf;

/// Why a run did not start, or did not resume; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Another `night` is starting a run in the repository and has been for too long.
    #[error("another `night` has been starting a run in `{}` for a minute", .0.display())]
    StartBusy(PathBuf),
    /// The repository's start lock cannot be taken.
    #[error("cannot take turns with other runs starting here: {0}")]
    StartLock(LockError),
    /// A run is in progress in the repository.
    #[error("run `{id}` is in progress in this repository (supervisor pid {pid})")]
    AnotherRun {
        /// Its id.
        id: String,
        /// Its supervisor.
        pid: u32,
    },
    /// A supervisor is running this very run.
    #[error("a supervisor is already running this run{}", .0.map(|pid| format!(" (pid {pid})")).unwrap_or_default())]
    Supervised(Option<u32>),
    /// The run's lock cannot be taken.
    #[error("cannot lock the run: {0}")]
    Lock(LockError),
    /// The agent cannot be started (not installed, too old).
    #[error("{0}")]
    Agent(#[from] crate::run::agent::AgentError),
    /// A success check's regex cannot be compiled (too large; `night check` reads only its syntax).
    #[error("{0}")]
    Regex(#[from] crate::plan::RegexError),
    /// A notifier cannot be set up.
    #[error("cannot set up the notifiers: {0}")]
    Notifiers(crate::notify::NotifyError),
    /// `sandbox on` cannot be enforced here.
    #[error("{0}")]
    Sandbox(#[from] crate::sandbox::SandboxError),
    /// The run folder cannot be made.
    #[error("cannot create the run folder {}: {source}", .path.display())]
    RunFolder {
        /// The folder.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Preflight refused the repository, or the run branch cannot be opened.
    #[error("{0}")]
    Git(#[from] GitError),
    /// The journal cannot be read or appended to.
    #[error("cannot {doing} the journal: {source}")]
    Journal {
        /// `read`, `open to append`.
        doing: &'static str,
        /// What failed.
        source: std::io::Error,
    },
    /// The journal has no `run-start`.
    #[error("the journal has no `run-start`: nothing to resume")]
    NeverStarted,
    /// The journal's start commit cannot be read.
    #[error("the journal's start commit `{0}` is not a commit id")]
    BadStartCommit(String),
    /// The run ended already.
    #[error("run `{run_id}` already ended as `{outcome}`: there is nothing to resume")]
    Ended {
        /// The run.
        run_id: String,
        /// How it ended.
        outcome: Outcome,
    },
    /// The delivery's preflight failed: the remote, the token or the forge (docs/deliver.md).
    #[error("the delivery's preflight failed: {0}")]
    Delivery(crate::deliver::DeliverError),
    /// `night deliver`: the run has not ended.
    #[error("run `{0}` has not ended: night delivers it when it does")]
    NotEnded(String),
    /// `night deliver`: the run ended in a way that leaves nothing to deliver.
    #[error("run `{run_id}` ended as `{outcome}`: there is nothing to deliver")]
    NotDeliverable {
        /// The run.
        run_id: String,
        /// How it ended.
        outcome: Outcome,
    },
    /// `night deliver`: the run's runbook has no `deliver` block.
    #[error("run `{0}`'s runbook has no `deliver` block: night does not know where to push")]
    NoDelivery(String),
    /// An in-place run's checkout is no longer on the run branch.
    #[error("the checkout is on `{head}`, not on the run branch `{branch}`")]
    OffBranch {
        /// Where HEAD is.
        head: String,
        /// The run branch.
        branch: String,
    },
}

impl Refused {
    /// How to go on, one sentence.
    pub fn help(&self) -> Option<String> {
        match self {
            Refused::AnotherRun { .. } => Some("Follow it with `night status` or `night log -f`, or stop it with `night stop`; nothing was changed.".into()),
            Refused::Supervised(_) => Some("Follow it with `night status` or `night log -f`; `night stop` stops it.".into()),
            Refused::Ended { .. } => Some("`night resume` continues a run whose supervisor died, crashed or was stopped; start a new run with `night run`.".into()),
            Refused::OffBranch { branch, .. } => Some(format!("Run `git switch {branch}` (with a clean tree) and resume again; nothing was changed.")),
            Refused::Delivery(_) => Some("Nothing was changed. Fix the remote, the token or the forge's address and run again; `night check` lists the delivery's items. To run without delivering, remove the `deliver` block.".into()),
            Refused::NotDeliverable { outcome: Outcome::Crashed, run_id, .. } => Some(format!("`night resume {run_id}` continues it; night delivers it when it ends.")),
            Refused::NoDelivery(_) => Some("Push the run branch yourself, or add a `deliver` block to the runbook for the next run (docs/deliver.md).".into()),
            Refused::NotEnded(id) => Some(format!("Follow it with `night status {id}`.")),
            Refused::Regex(_) => Some("Simplify the regex; nothing was changed.".into()),
            Refused::StartBusy(_) | Refused::Agent(_) | Refused::Sandbox(_) | Refused::RunFolder { .. } | Refused::Git(_) => Some("Nothing was changed.".into()),
            _ => None,
        }
    }
}

impl From<LockError> for Refused {
    fn from(error: LockError) -> Self {
        match error {
            LockError::Held(pid) => Refused::Supervised(pid),
            other => Refused::Lock(other),
        }
    }
}

/// A failure of night itself during a run: the run ends as `crashed`, saying this.
#[derive(Debug, thiserror::Error)]
pub enum Crash {
    /// A git operation on the run branch failed.
    #[error("{0}")]
    Git(#[from] GitError),
    /// A file of the run cannot be written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// `agent.log` cannot be written: the agent's output would be lost.
    #[error("{0}")]
    LogFailed(#[from] LogFailed),
}

/// `agent.log` cannot be written (a full disk): why the run ends.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot write {}: {source}", .path.display())]
pub struct LogFailed {
    /// The log.
    pub path: PathBuf,
    /// What failed.
    pub source: std::sync::Arc<std::io::Error>,
}
