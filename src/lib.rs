//! night: supervise an AI coding agent overnight.
//!
//! Source ──syntax::parse──▶ ast::Runbook ──check──▶ Plan ──run──▶ Outcome + journal ──report──▶ report

pub mod ast;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod fmt;
pub mod hook;
pub mod init;
pub mod keywords;
pub mod lsp;
pub mod irreversible;
pub mod notify;
pub mod plan;
/// Until `run::agent` lands on main: the agent kinds' launch and output parsing, at their final
/// paths under `src/run/agent/`.
#[path = "run/agent"]
pub mod agents {
    pub mod aider;
    pub mod claude;
    pub mod codex;
    pub mod gemini;
    pub mod goose;
    pub mod stream;
}
pub mod run;
pub mod source;
pub mod syntax;
pub mod test_counts;
pub mod time;
