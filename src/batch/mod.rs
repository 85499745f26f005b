//! Batches: several runbooks supervised side by side in one night (`night run a.night b.night
//! … --jobs N`), docs/batches.md. The runbooks are checked together first (the batch rules of
//! `check/batch.rs`); `start.rs` makes the batch folder (`record::BatchDir`) with a copy of
//! each runbook as checked and the commit every run starts from; `supervise.rs` keeps at most
//! `jobs` runs going, each an ordinary `night run` in a process of its own (its own worktree,
//! branch, run folder, sandbox and journal: a batch of eight costs what eight runs cost, and one
//! run's crash is not the others'), forwards a stop to all of them, and records each run's
//! start and end; `digest.rs` writes the batch's reports and sends the one digest.
//!
//! Imports: `record`, `report`, `notify`, `check` (the labels), `os`; never `run` or `cli`.

pub mod digest;
pub mod start;
pub mod supervise;

pub use start::{start, BatchPlan, StartError};
pub use supervise::{supervise, Launch, Sink, StatusSink};

/// The default for `--jobs`: two runs at once. Each run is an agent plus its success checks;
/// on a laptop more than two agents building and testing at once mostly wait for each other.
pub const DEFAULT_JOBS: usize = 2;
