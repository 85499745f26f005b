//! `agent goose`: Block's goose, headless.
//!
//! Launch: `goose run --no-session --instructions <prompt file> [--max-turns N] [--model M]
//! [args…]`, standard input closed. goose prints plain text: night reads no usage from it (so
//! `no-budget` is a warning for goose, and `tokens`/`cost` cannot be enforced), no tool calls and
//! no hook; night's checks enforce `write` and `deny` after each session. A provider's usage
//! limit is recognised from the error line goose prints when its provider refuses.
//!
//! goose is distributed as a binary from its own site, not from a package registry, so it is not
//! installed in CI and this adapter is tested on its launch line and on provider error lines only.

use super::stream::AgentEvent;
use std::path::Path;

/// What the runbook's `agent goose { … }` block says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GooseOptions(pub super::AgentOptions);

impl GooseOptions {
    /// The executable to run.
    pub fn program(&self) -> String {
        self.0.program("goose")
    }

    /// The arguments for one session (the prompt is read from `prompt_file`).
    pub fn arguments(&self, prompt_file: &Path) -> Vec<String> {
        let mut args: Vec<String> = vec!["run".into(), "--no-session".into(), "--instructions".into(), prompt_file.display().to_string()];
        if let Some(turns) = self.0.max_turns {
            args.push("--max-turns".into());
            args.push(turns.to_string());
        }
        self.0.push_model_and_args(&mut args);
        args
    }
}

/// The adapter night runs.
#[derive(Debug)]
pub struct GooseAdapter {
    options: GooseOptions,
    stream: super::SessionParser<GooseStream>,
}

impl GooseAdapter {
    /// The adapter for an `agent goose { … }` block.
    pub fn new(agent: &crate::ast::Agent) -> Self {
        Self { options: GooseOptions(super::AgentOptions::from_agent(agent)), stream: super::SessionParser::default() }
    }
}

impl super::Adapter for GooseAdapter {
    fn kind(&self) -> &'static str {
        "goose"
    }

    fn preflight(&self) -> Result<(), super::AgentError> {
        super::find_program(&self.options.program(), "goose")
    }

    fn launch(&self, context: &super::LaunchContext<'_>) -> super::Launch {
        self.stream.restart();
        super::Launch { program: self.options.program(), args: self.options.arguments(context.prompt_file), env: Vec::new(), stdin: Vec::new() }
    }

    fn reads_output(&self) -> bool {
        true
    }

    fn parse_line(&self, _stream: crate::run::process::Stream, line: &str) -> Vec<super::AgentSignal> {
        let events = self.stream.lock().line(line);
        super::stream::signals("goose", events)
    }

    fn stop_signals(&self) -> Vec<nix::sys::signal::Signal> {
        vec![nix::sys::signal::Signal::SIGINT, nix::sys::signal::Signal::SIGTERM]
    }

    fn reports_quota(&self) -> bool {
        true
    }
}

/// The output parser for one session: provider usage limits only.
#[derive(Debug, Default)]
pub struct GooseStream {
    quota_reported: bool,
}

impl GooseStream {
    /// A parser for a new session.
    pub fn new() -> Self {
        Self::default()
    }

    /// What one line says.
    pub fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        // Only goose's own error lines, so that the agent quoting such text does not count.
        let is_error = line.contains("Error") || line.contains("error:");
        let limits = ["exceeded your current quota", "insufficient_quota", "RESOURCE_EXHAUSTED", "usage limit", "Credit balance is too low", "RateLimit"];
        if self.quota_reported || !is_error || !limits.iter().any(|words| line.contains(words)) {
            return Vec::new();
        }
        self.quota_reported = true;
        vec![AgentEvent::Quota { resets_at: None, message: line.trim().to_string() }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let options = GooseOptions(crate::run::agent::AgentOptions { bin: None, model: Some("gpt-4o".into()), max_turns: Some(50), args: vec!["--provider".into(), "openai".into()] });
        assert_eq!(
            options.arguments(Path::new("/r/p.md")),
            ["run", "--no-session", "--instructions", "/r/p.md", "--max-turns", "50", "--model", "gpt-4o", "--provider", "openai"]
        );
        assert_eq!(options.program(), "goose");
    }

    #[test]
    fn provider_limits() {
        let mut stream = GooseStream::new();
        assert!(stream.line("I will check the usage limit handling in src/limits.rs").is_empty());
        let line = "Error: Request failed: RateLimitExceeded: You exceeded your current quota, please check your plan and billing details.";
        assert!(matches!(stream.line(line).as_slice(), [AgentEvent::Quota { resets_at: None, .. }]));
        assert!(stream.line(line).is_empty());
    }
}
