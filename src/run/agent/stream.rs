//! What agents say in their output, in one vocabulary for every kind: the session started, a
//! tool call, usage, the provider's usage limit, the final result.

/// What one line of an agent's output says.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// The session started.
    Init {
        /// The agent's session (or thread) id.
        session_id: String,
        /// The model.
        model: String,
        /// The agent's version, when it says.
        version: String,
    },
    /// A tool call, with a signature equal for equal calls.
    ToolCall {
        /// The tool.
        name: String,
        /// `name` and the input as canonical JSON (or the command line).
        signature: String,
    },
    /// Tokens and cost since the last report (cost may be negative when the final figure
    /// corrects the running estimate).
    Usage {
        /// Input, output and cache-write tokens.
        tokens: u64,
        /// US dollars.
        cost_usd: f64,
    },
    /// The provider's usage limit stopped the agent.
    Quota {
        /// When it resets (Unix seconds), when known.
        resets_at: Option<i64>,
        /// What Claude Code said.
        message: String,
    },
    /// The final `result` line.
    Result(SessionResult),
}

/// How a session ended, as the agent reports it (Claude Code's `result` line, Codex's
/// `turn.completed` or `turn.failed`, Gemini's `result`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionResult {
    /// `success`, `error_max_turns`, `error_max_budget_usd`, `error_during_execution` …
    pub subtype: String,
    /// Whether the session ended in error.
    pub is_error: bool,
    /// The HTTP status of the API error that ended it.
    pub api_error_status: Option<u64>,
    /// Turns taken.
    pub num_turns: u64,
    /// The agent's cost for the session (0 when it does not say).
    pub total_cost_usd: f64,
    /// Input, output and cache-write tokens for the session (all models).
    pub tokens: u64,
    /// Cache-read tokens (not counted against `tokens`).
    pub cache_read_tokens: u64,
    /// Tool calls Claude Code's permission system or night's hook denied.
    pub permission_denials: Vec<String>,
    /// The final text or error message.
    pub text: String,
}

impl SessionResult {
    /// What the outcome means for night.
    pub fn ending(&self) -> Ending {
        match self.subtype.as_str() {
            "error_max_turns" => Ending::MaxTurns,
            "error_max_budget_usd" => Ending::Budget,
            _ if self.is_error => Ending::Error,
            _ => Ending::Done,
        }
    }
}

/// How a session ended, for night.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It finished its turn.
    Done,
    /// `max_turns` ran out: the attempt ends, its checks run.
    MaxTurns,
    /// The agent's own budget (Claude Code's `--max-budget-usd`) ran out: the run's budget.
    Budget,
    /// An error ended it.
    Error,
}

