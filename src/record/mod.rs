//! The record of a run: what it leaves behind and how that is read back. The typed
//! [`Event`]s, the [`Journal`] they are appended to, the run folder ([`RunDir`]) and a
//! repository's runs ([`RunsDir`]), and the [`History`]: the one fold of the events that the
//! report, the status line, `night status` and `night resume` all read. Below `run` and
//! `report`; it knows nothing of either, nor of a `Plan`.

pub mod audit;
pub mod dir;
pub mod event;
pub mod history;
pub mod journal;
mod outcome;
pub mod recorder;

pub use dir::{FindError, ReportFile, RunDir, RunStatus, RunsDir};
pub use event::{
    AgentProcess, AttemptEndReason, CommitRecord, DiffRecord, Ends, Entry, Event, Limit, PromptKind, Resume, RollbackRecord, RunEnd, RunStart, SessionEndReason,
    SuccessRecord, TestCountsRecord, SCHEMA_VERSION,
};
pub use history::History;
pub use journal::Journal;
pub use outcome::{Exit, Outcome};
pub use recorder::Recorder;
