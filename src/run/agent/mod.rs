//! Agent adapters: how to launch an agent kind, what its output stream says (usage, tool
//! calls, quota errors), and how to stop it. One file per kind; `command` is the first.

mod command;

pub use command::CommandAdapter;

use crate::ast::{Agent, AgentKind};
use crate::run::process::Stream;
use nix::sys::signal::Signal;
use std::path::Path;
use std::time::Duration;

/// What an adapter needs to know to start a session.
#[derive(Debug, Clone, Copy)]
pub struct LaunchContext<'a> {
    /// The prompt for this session.
    pub prompt: &'a str,
    /// A file holding the same prompt.
    pub prompt_file: &'a Path,
    /// Where the agent works.
    pub work_dir: &'a Path,
    /// The run folder.
    pub run_dir: &'a Path,
    /// The run id.
    pub run_id: &'a str,
    /// The attempt, 1-based.
    pub attempt: u64,
    /// The session within the attempt, 1-based.
    pub session: u64,
}

/// The process to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables the adapter sets (night adds its own `NIGHT_*`).
    pub env: Vec<(String, String)>,
    /// Written to standard input, which is then closed.
    pub stdin: Vec<u8>,
}

/// Something an agent said in its output that the supervisor acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentSignal {
    /// Tokens and cost used since the last report.
    Usage {
        /// Tokens.
        tokens: u64,
        /// US dollars.
        cost_usd: f64,
    },
    /// The agent made a tool call; equal signatures in a row make a loop.
    ToolCall {
        /// The tool and its normalised input.
        signature: String,
    },
    /// The provider's usage limit stopped the agent.
    Quota {
        /// When the quota resets, when the agent says.
        resets_in: Option<Duration>,
    },
}

/// One agent kind.
pub trait Adapter: Send + Sync {
    /// The kind's name, as in the runbook.
    fn kind(&self) -> &'static str;

    /// The process for one session.
    fn launch(&self, context: &LaunchContext<'_>) -> Launch;

    /// Whether [`Adapter::parse_line`] wants the output lines (reading them costs time).
    fn reads_output(&self) -> bool {
        false
    }

    /// What one line of output says.
    fn parse_line(&self, _stream: Stream, _line: &str) -> Vec<AgentSignal> {
        Vec::new()
    }

    /// The signals that end it, in order, before SIGKILL (SIGINT first for agents that
    /// save their state on it).
    fn stop_signals(&self) -> Vec<Signal> {
        vec![Signal::SIGTERM]
    }

    /// Whether it reports token usage and cost.
    fn reports_usage(&self) -> bool {
        false
    }

    /// Whether it reports a provider's usage limit, so that `quota wait` can act.
    fn reports_quota(&self) -> bool {
        false
    }

    /// Whether night can deny commands before the agent runs them (hooks).
    fn enforces_deny(&self) -> bool {
        false
    }
}

/// The agent cannot be run by this version of night.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`agent {kind}` is not supported by `night run` yet; use `agent command \"…\"` to run it through a shell command")]
pub struct Unsupported {
    /// The kind.
    pub kind: String,
}

/// The adapter for the plan's agent.
pub fn adapter_for(agent: &Agent) -> Result<Box<dyn Adapter>, Unsupported> {
    match &agent.kind {
        AgentKind::Command(command) => Ok(Box::new(CommandAdapter::new(command.value.clone()))),
        other => Err(Unsupported { kind: other.name().to_string() }),
    }
}
