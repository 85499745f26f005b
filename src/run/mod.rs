//! `night run` and `night resume`: a checked [`Plan`](crate::plan::Plan) supervised to its end,
//! as a state machine (`state.rs`) whose only output is the events it records
//! ([`crate::record`]). `start.rs` starts a run, `resume.rs` continues one from its history;
//! both hand the `Supervisor` (`supervisor.rs`) its first step, and `end.rs` is where every run ends.

pub mod agent;
mod ballast;
mod check_turn;
mod commits;
mod context;
mod delivery;
mod end;
mod error;
pub mod feedback;
pub mod git;
mod judge;
pub mod limits;
mod pause;
pub mod process;
pub mod ref_watch;
mod resume;
mod rollback;
pub mod sandboxing;
mod session;
mod signals;
mod start;
pub mod state;
pub mod success;
mod supervisor;

pub use delivery::deliver_ended;
pub use error::{Crash, LogFailed, Refused};
pub use process::TextSink;
pub use resume::resume;
pub use start::run;

use crate::record::Outcome;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Reads an environment variable.
pub type EnvReader = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Told the run id and folder once the run has started.
pub type OnStarted = Box<dyn FnOnce(&str, &Path) + Send>;

/// What the caller (the CLI, a test) decides about a run.
pub struct RunOptions {
    /// Between SIGTERM and SIGKILL when ending the agent.
    pub grace: Duration,
    /// Receives the agent's output lines as they come (for a terminal).
    pub echo: Option<TextSink>,
    /// Receives one line per step of the run, for the live status.
    pub status: TextSink,
    /// Reads environment variables (secrets for the notifiers).
    pub env: EnvReader,
    /// Also write `report.html` at the end (`night run --html`).
    pub html: bool,
    /// Called once the run folder exists and the run is locked (`--detach` hands over there).
    pub on_started: Option<OnStarted>,
    /// The batch this run is one of (`night run a.night b.night …`), if any.
    pub batch: Option<BatchMember>,
}

/// A run started as one runbook of a batch: its id chosen by the batch (never colliding with
/// another's), its own worktree, from the commit checked at the batch's start.
#[derive(Debug, Clone)]
pub struct BatchMember {
    /// The batch id.
    pub batch_id: String,
    /// The batch folder (the budget pool's `spent.json`, the check slots).
    pub batch_dir: PathBuf,
    /// The run id the batch gave it.
    pub run_id: String,
    /// The run branch the batch gave it.
    pub branch: String,
    /// The run branches of the batch's other runs, which their own agents move.
    pub other_branches: Vec<String>,
    /// The commit the run starts from.
    pub from: git2::Oid,
    /// The batch's budget in US dollars, shared by its runs.
    pub budget_usd: Option<f64>,
    /// At most this many success checks at once across the batch.
    pub check_slots: usize,
}

/// How a run that started ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The outcome.
    pub outcome: Outcome,
    /// Why, in one phrase.
    pub reason: String,
    /// The run id.
    pub run_id: String,
    /// The run folder.
    pub run_dir: PathBuf,
    /// The report written there.
    pub report: PathBuf,
}
