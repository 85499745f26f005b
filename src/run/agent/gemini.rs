//! `agent gemini`: Google's Gemini CLI, headless.
//!
//! Launch: `gemini --output-format stream-json --approval-mode yolo --skip-trust [--model M]
//! [args…] --prompt <prompt>`, standard input closed. Headless Gemini CLI cannot ask for approval,
//! so every tool is approved (`yolo`); night enforces `write` and `deny` after each session.
//!
//! Output (`stream-json`, one event a line): `init` (session id, model), `message`, `tool_use`
//! (tool name and parameters), `tool_result`, `error`, and `result` with `status` and `stats`
//! (tokens per model). Usage is tokens only: Gemini CLI reports no cost.

use super::stream::{AgentEvent, SessionResult};
use serde_json::Value;

/// What the runbook's `agent gemini { … }` block says (`max_turns` is set in Gemini CLI's own settings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeminiOptions(pub super::AgentOptions);

impl GeminiOptions {
    /// The executable to run.
    pub fn program(&self) -> String {
        self.0.program("gemini")
    }

    /// The arguments for one session, and what goes to standard input (nothing).
    pub fn arguments(&self, prompt: &str) -> (Vec<String>, Vec<u8>) {
        let mut args: Vec<String> =
            ["--output-format", "stream-json", "--approval-mode", "yolo", "--skip-trust"].iter().map(|a| (*a).to_string()).collect();
        self.0.push_model_and_args(&mut args);
        // `--prompt=…` keeps a prompt starting with `-` from being read as an option.
        args.push(format!("--prompt={prompt}"));
        (args, Vec::new())
    }
}

/// The adapter night runs.
#[derive(Debug)]
pub struct GeminiAdapter {
    options: GeminiOptions,
    stream: super::SessionParser<GeminiStream>,
}

impl GeminiAdapter {
    /// The adapter for an `agent gemini { … }` block.
    pub fn new(agent: &crate::ast::Agent) -> Self {
        Self { options: GeminiOptions(super::AgentOptions::from_agent(agent)), stream: super::SessionParser::default() }
    }
}

impl super::Adapter for GeminiAdapter {
    fn kind(&self) -> &'static str {
        "gemini"
    }

    fn preflight(&self) -> Result<(), super::AgentError> {
        super::find_program(&self.options.program(), "gemini")
    }

    fn launch(&self, context: &super::LaunchContext<'_>) -> super::Launch {
        self.stream.restart();
        let (args, stdin) = self.options.arguments(context.prompt);
        super::Launch { program: self.options.program(), args, env: Vec::new(), stdin }
    }

    fn reads_output(&self) -> bool {
        true
    }

    fn parse_line(&self, _stream: crate::run::process::Stream, line: &str) -> Vec<super::AgentSignal> {
        let events = self.stream.lock().line(line);
        super::stream::signals("gemini", events)
    }

    fn reports_usage(&self) -> bool {
        true
    }

    fn reports_quota(&self) -> bool {
        true
    }
}

/// The `stream-json` parser for one session.
#[derive(Debug, Default)]
pub struct GeminiStream {
    quota_reported: bool,
}

impl GeminiStream {
    /// A parser for a new session.
    pub fn new() -> Self {
        Self::default()
    }

    /// What one line says.
    pub fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let Ok(value) = serde_json::from_str::<Value>(line.trim()) else { return Vec::new() };
        let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        match value.get("type").and_then(Value::as_str).unwrap_or_default() {
            "init" => vec![AgentEvent::Init { session_id: text(&value, "session_id"), model: text(&value, "model"), version: String::new() }],
            "tool_use" => {
                let name = text(&value, "tool_name");
                let parameters = value.get("parameters").cloned().unwrap_or(Value::Null);
                vec![AgentEvent::ToolCall { signature: format!("{name} {parameters}"), name }]
            }
            "error" => self.check_quota(&text(&value, "message")),
            "result" => {
                let stats = value.get("stats").unwrap_or(&Value::Null);
                let count = |key: &str| stats.get(key).and_then(Value::as_u64).unwrap_or(0);
                let tokens = count("input_tokens").saturating_sub(count("cached")) + count("output_tokens");
                let message = value.get("error").map(|error| text(error, "message")).unwrap_or_default();
                let is_error = value.get("status").and_then(Value::as_str) != Some("success");
                let mut events = Vec::new();
                if tokens > 0 {
                    events.push(AgentEvent::Usage { tokens, cost_usd: 0.0 });
                }
                if is_error {
                    events.extend(self.check_quota(&message));
                }
                events.push(AgentEvent::Result(SessionResult {
                    subtype: if is_error { "error".into() } else { "success".into() },
                    is_error,
                    num_turns: count("tool_calls"),
                    tokens,
                    cache_read_tokens: count("cached"),
                    text: message,
                    ..SessionResult::default()
                }));
                events
            }
            _ => Vec::new(),
        }
    }

    fn check_quota(&mut self, message: &str) -> Vec<AgentEvent> {
        if self.quota_reported || !is_usage_limit(message) {
            return Vec::new();
        }
        self.quota_reported = true;
        vec![AgentEvent::Quota { resets_at: None, message: message.to_string() }]
    }
}

/// Whether a Gemini CLI message is a provider quota (`You have exhausted your daily quota…`,
/// `RESOURCE_EXHAUSTED`, `Quota exceeded…`). Gemini CLI gives no reset time.
pub fn is_usage_limit(message: &str) -> bool {
    ["exhausted your daily quota", "exceeded your current quota", "RESOURCE_EXHAUSTED", "Quota exceeded", "usage limit"]
        .iter()
        .any(|words| message.contains(words))
}

#[cfg(test)]
mod tests {
    use super::super::stream::Ending;
    use super::*;

    #[test]
    fn arguments() {
        let options = GeminiOptions(crate::run::agent::AgentOptions { bin: None, model: Some("gemini-2.5-pro".into()), args: vec!["--debug".into()], max_turns: None });
        let (args, stdin) = options.arguments("-fix it");
        assert_eq!(
            args,
            ["--output-format", "stream-json", "--approval-mode", "yolo", "--skip-trust", "--model", "gemini-2.5-pro", "--debug", "--prompt=-fix it"]
        );
        assert!(stdin.is_empty());
    }

    /// Output recorded from `gemini -o stream-json` 0.61.0 against the scripted server.
    const RECORDED: &str = r#"{"type":"init","timestamp":"2026-11-25T22:16:59.632Z","session_id":"94eb4491-b8da-4df8-a96f-5d0708a33fad","model":"auto"}
{"type":"message","timestamp":"2026-11-25T22:16:59.633Z","role":"user","content":"make a file"}
{"type":"tool_use","timestamp":"2026-11-25T22:16:59.790Z","tool_name":"run_shell_command","tool_id":"run_shell_command__run_shell_command_1795645019724_0","parameters":{"command":"echo hi > made.txt && git status --short","description":"make"}}
{"type":"tool_result","timestamp":"2026-11-25T22:16:59.910Z","tool_id":"run_shell_command__run_shell_command_1795645019724_0","status":"success","output":"?? made.txt"}
{"type":"message","timestamp":"2026-11-25T22:16:59.936Z","role":"assistant","content":"All done.","delta":true}
{"type":"result","timestamp":"2026-11-25T22:16:59.938Z","status":"success","stats":{"total_tokens":2271,"input_tokens":2210,"output_tokens":61,"cached":0,"input":2210,"duration_ms":307,"tool_calls":1,"models":{"gemini-scripted":{"total_tokens":2271,"input_tokens":2210,"output_tokens":61,"cached":0,"input":2210}}}}"#;

    #[test]
    fn recorded_stream() {
        let mut stream = GeminiStream::new();
        let events: Vec<_> = RECORDED.lines().flat_map(|line| stream.line(line)).collect();
        assert!(matches!(&events[0], AgentEvent::Init { model, .. } if model == "auto"));
        assert_eq!(
            events[1],
            AgentEvent::ToolCall {
                name: "run_shell_command".into(),
                signature: r#"run_shell_command {"command":"echo hi > made.txt && git status --short","description":"make"}"#.into()
            }
        );
        assert_eq!(events[2], AgentEvent::Usage { tokens: 2271, cost_usd: 0.0 });
        assert!(matches!(&events[3], AgentEvent::Result(result) if result.ending() == Ending::Done && result.num_turns == 1));
    }

    #[test]
    fn quota() {
        let line = r#"{"type":"result","status":"error","error":{"type":"unknown","message":"[API Error: You have exhausted your daily quota on this model.]\nPlease wait and try again later."},"stats":{"total_tokens":11,"input_tokens":10,"output_tokens":1,"cached":0}}"#;
        let events = GeminiStream::new().line(line);
        assert!(matches!(events.as_slice(), [AgentEvent::Usage { tokens: 11, .. }, AgentEvent::Quota { resets_at: None, .. }, AgentEvent::Result(r)] if r.is_error), "{events:?}");
        assert!(!is_usage_limit("Tool failed"));
    }
}
