//! night: supervise an AI coding agent overnight.
//!
//! Source ──syntax::parse──▶ ast::Runbook ──check──▶ Plan ──run──▶ Outcome + journal ──report──▶ report

pub mod agent_program;
pub mod ast;
pub mod batch;
pub mod checklist;
pub mod cli;
pub mod deliver;
pub mod diagnostic;
pub mod export;
pub mod fmt;
#[doc(hidden)]
pub mod fuzzing;
pub mod hook;
pub mod init;
pub mod keywords;
pub mod lsp;
pub mod policy;
/// The built-in irreversible set, by its old path (it lives in [`policy`]).
pub use policy::irreversible;
pub mod notify;
pub mod plan;
pub mod remote;
pub mod report;
pub mod os;
pub mod record;
pub mod run;
pub mod sandbox;
pub mod secrets;
pub mod source;
pub mod syntax;
pub mod test_counts;
pub mod time;
