//! The record of a run: what it leaves behind and how that is read back. The typed
//! [`Event`]s, the [`Journal`] they are appended to, the run folder ([`RunDir`]) and a
//! repository's runs ([`RunsDir`]), and the [`History`]: the one fold of the events that the
//! report, the status line, `night status` and `night resume` all read. Below `run` and
//! `report`; it knows nothing of either, nor of a `Plan`.

pub mod audit;
pub mod baseline_tests;
pub mod batch;
pub mod dir;
pub mod event;
pub mod history;
pub mod journal;
mod outcome;
pub mod payloads;
pub mod recorder;
pub mod vocabulary;

pub use batch::{BatchDir, BatchEvent, BatchHistory, BatchStart, BatchesDir, Member};
pub use dir::{FindError, ReportFile, RunDir, RunStatus, RunsDir};
pub use event::{Entry, Event, SCHEMA_VERSION};
pub use payloads::{AgentProcess, CommitRecord, DeliveryReady, DeliveryRecord, DeliveryStart, DeliveryStepRecord, DiffRecord, NamesFile, Resume, RollbackRecord, RunEnd, RunStart, SuccessRecord, TestCountsRecord};
pub use vocabulary::{AttemptEndReason, DeliveredBy, DeliveryStatus, Ends, Limit, PromptKind, SessionEndReason};
pub use history::History;
pub use journal::Journal;
pub use outcome::{Exit, Outcome};
pub use recorder::Recorder;
