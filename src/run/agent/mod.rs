//! Agent adapters: how to launch an agent kind, what its output stream says (usage, tool
//! calls, quota errors), and how to stop it. One file per kind (docs/agents.md); `stream` is
//! the vocabulary the kinds' output parsers share.

pub mod aider;
pub mod claude;
pub mod codex;
mod command;
pub mod gemini;
pub mod goose;
pub mod stream;

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

impl LaunchContext<'_> {
    /// What `night hook` enforces in this run: the policy the supervisor wrote at run start;
    /// without it, nothing may be written.
    pub fn policy(&self) -> crate::policy::Policy {
        crate::policy::Policy::read_from(self.run_dir).unwrap_or_else(|_| crate::policy::Policy::locked(self.work_dir))
    }
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
    /// The agent's own spending cap stopped it (Claude Code's `--max-budget-usd`): the run's budget.
    Budget {
        /// What the agent said.
        message: String,
    },
    /// Something worth journaling: the session's id and model, its final result.
    Note {
        /// A short topic, e.g. `agent-session`.
        topic: String,
        /// One line.
        message: String,
    },
}

/// One agent kind.
pub trait Adapter: Send + Sync {
    /// The kind's name, as in the runbook.
    fn kind(&self) -> &'static str;

    /// Check before the run that the agent can be started (installed, new enough); an error
    /// refuses the run.
    fn preflight(&self) -> Result<(), AgentError> {
        Ok(())
    }

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

/// Why the agent cannot be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// The kind has no adapter.
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
    /// The program is not installed, or (Claude Code) unreadable or too old: the answer
    /// `night check` gives too ([`crate::agent_program`]).
    #[error(transparent)]
    Program(#[from] crate::agent_program::PreflightError),
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
        AgentKind::Claude => Ok(Box::new(claude::ClaudeAdapter::new(agent))),
        AgentKind::Codex => Ok(Box::new(codex::CodexAdapter::new(agent))),
        AgentKind::Gemini => Ok(Box::new(gemini::GeminiAdapter::new(agent))),
        AgentKind::Aider => Ok(Box::new(aider::AiderAdapter::new(agent))),
        AgentKind::Goose => Ok(Box::new(goose::GooseAdapter::new(agent))),
    }
}

/// What an `agent` block says that every real agent reads: its executable, `model`, `max_turns`
/// and `args`. Each agent's options type wraps it and builds its own command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentOptions {
    /// The executable (default: the agent's own program).
    pub bin: Option<String>,
    /// `model`.
    pub model: Option<String>,
    /// `max_turns`, for the agents that have such a flag.
    pub max_turns: Option<u64>,
    /// `args`.
    pub args: Vec<String>,
}

impl AgentOptions {
    /// The options of an `agent` block.
    pub fn from_agent(agent: &Agent) -> Self {
        Self {
            bin: agent.bin.as_ref().map(|bin| bin.value.clone()),
            model: agent.model.as_ref().map(|model| model.value.clone()),
            max_turns: agent.max_turns.as_ref().map(|turns| turns.value),
            args: agent.args.iter().map(|arg| arg.value.clone()).collect(),
        }
    }

    /// `bin`, or the agent's `default` program.
    pub fn program(&self, default: &str) -> String {
        self.bin.clone().unwrap_or_else(|| default.to_string())
    }

    /// `--model M` when set, then the runbook's `args`: the same in every agent's command line.
    pub fn push_model_and_args(&self, args: &mut Vec<String>) {
        if let Some(model) = &self.model {
            args.push("--model".into());
            args.push(model.clone());
        }
        args.extend(self.args.iter().cloned());
    }
}

/// The output parser of the running session, fresh at each launch. The adapter is shared
/// between the launcher and the output readers, hence the lock.
#[derive(Debug, Default)]
pub struct SessionParser<S>(std::sync::Mutex<S>);

impl<S: Default> SessionParser<S> {
    /// A new session starts: forget the last one's state.
    pub fn restart(&self) {
        *self.lock() = S::default();
    }

    /// The parser (a reader that panicked left it usable: each line is parsed on its own).
    pub fn lock(&self) -> std::sync::MutexGuard<'_, S> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Check that a kind's program can be found: `bin` as a path, or on PATH (the same look-up as
/// `night check`'s, in [`crate::agent_program`]).
pub fn find_program(program: &str, kind: &str) -> Result<(), AgentError> {
    let Some(known) = crate::agent_program::PROGRAMS.iter().find(|known| known.kind == kind) else { return Ok(()) };
    let path = std::env::var("PATH").unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."));
    crate::agent_program::usable(known, program, &cwd, &path).map(|_| ()).map_err(AgentError::from)
}
