//! night: supervise an AI coding agent overnight.
//!
//! Source ──syntax::parse──▶ ast::Runbook ──check──▶ Plan ──run──▶ Outcome + journal ──report──▶ report

pub mod ast;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod hook;
pub mod irreversible;
pub mod notify;
pub mod plan;
// Until `run` lands on main: the Claude Code adapter's parts, at their final path.
#[path = "run/agent/claude.rs"]
pub mod claude_agent;
pub mod run;
pub mod source;
pub mod syntax;
pub mod test_counts;
pub mod time;
