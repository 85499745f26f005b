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


/// What the supervisor acts on, from what `kind`'s output said. A quota's reset gets a minute
/// of margin, so that the fresh session does not start a moment too early.
pub fn signals(kind: &str, events: Vec<AgentEvent>) -> Vec<super::AgentSignal> {
    use super::AgentSignal;
    let mut signals = Vec::new();
    for event in events {
        match event {
            AgentEvent::Init { session_id, model, version } => {
                let mut message = format!("{kind} session `{session_id}`");
                if !model.is_empty() {
                    message.push_str(&format!(", model `{model}`"));
                }
                if !version.is_empty() {
                    message.push_str(&format!(", version {version}"));
                }
                signals.push(AgentSignal::Note { topic: "agent-session".into(), message });
            }
            AgentEvent::ToolCall { signature, .. } => signals.push(AgentSignal::ToolCall { signature }),
            AgentEvent::Usage { tokens, cost_usd } => signals.push(AgentSignal::Usage { tokens, cost_usd }),
            AgentEvent::Quota { resets_at, .. } => {
                let now = chrono::Utc::now().timestamp();
                let resets_in = resets_at.map(|at| std::time::Duration::from_secs(u64::try_from(at - now).unwrap_or(0) + 60));
                signals.push(AgentSignal::Quota { resets_in });
            }
            AgentEvent::Result(result) => {
                let mut message = format!("{kind} ended: {}", if result.subtype.is_empty() { "done" } else { &result.subtype });
                if result.num_turns > 0 {
                    message.push_str(&format!(", {} turns", result.num_turns));
                }
                message.push_str(&format!(", {} tokens", result.tokens));
                if result.total_cost_usd > 0.0 {
                    message.push_str(&format!(", ${:.4}", result.total_cost_usd));
                }
                if !result.permission_denials.is_empty() {
                    message.push_str(&format!(", {} tool calls denied", result.permission_denials.len()));
                }
                if result.is_error && !result.text.is_empty() {
                    message.push_str(&format!(": {}", result.text.lines().next().unwrap_or_default()));
                }
                signals.push(AgentSignal::Note { topic: "agent-result".into(), message });
                if result.ending() == Ending::Budget {
                    signals.push(AgentSignal::Budget { message: result.text });
                }
            }
        }
    }
    signals
}

#[cfg(test)]
mod tests {
    use super::super::AgentSignal;
    use super::*;

    #[test]
    fn events_become_signals() {
        let at = chrono::Utc::now().timestamp() + 3600;
        let signals = signals(
            "claude",
            vec![
                AgentEvent::Init { session_id: "s".into(), model: "m".into(), version: "2.1.197".into() },
                AgentEvent::Quota { resets_at: Some(at), message: String::new() },
                AgentEvent::Result(SessionResult { subtype: "error_max_budget_usd".into(), is_error: true, text: "Reached maximum budget ($1)".into(), ..SessionResult::default() }),
            ],
        );
        assert_eq!(signals[0], AgentSignal::Note { topic: "agent-session".into(), message: "claude session `s`, model `m`, version 2.1.197".into() });
        let AgentSignal::Quota { resets_in: Some(wait) } = signals[1] else { panic!("{signals:?}") };
        assert!((3655..=3661).contains(&wait.as_secs()), "{wait:?}");
        assert!(matches!(&signals[2], AgentSignal::Note { topic, message } if topic == "agent-result" && message.contains("error_max_budget_usd")));
        assert_eq!(signals[3], AgentSignal::Budget { message: "Reached maximum budget ($1)".into() });
    }
}
