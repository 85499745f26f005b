//! `agent aider`: aider, headless.
//!
//! Launch: `aider --message-file <prompt file> --yes-always --no-auto-test --no-pretty
//! --no-check-update --no-show-model-warnings --no-analytics --no-gitignore --no-detect-urls
//! --chat-history-file <run dir>/aider.chat.history.md --input-history-file <run dir>/aider.input.history
//! [--model M] [args…]`, standard input closed, `LITELLM_LOCAL_MODEL_COST_MAP=True` (no price-list
//! download in the night). aider works on the prompt once and exits; it commits its own edits.
//! No auto-test: night runs the success checks itself. Its history files go to the run folder, not
//! the repository, so that they are not changes outside `write`.
//!
//! Usage: aider prints `Tokens: 2.3k sent, 1.1k cache write, 900 cache hit, 120 received. Cost:
//! $0.01 message, $0.03 session.` after each reply; night counts sent, cache writes and received,
//! and the message cost. aider has no tool calls to watch and no hook: night's checks enforce
//! `write` and `deny` after each session.

use super::stream::AgentEvent;
use std::path::Path;

/// What the runbook's `agent aider { … }` block says (`max_turns` has no aider equivalent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AiderOptions(pub super::AgentOptions);

impl AiderOptions {
    /// The executable to run.
    pub fn program(&self) -> String {
        self.0.program("aider")
    }

    /// The arguments for one session (the prompt is read from `prompt_file`).
    pub fn arguments(&self, prompt_file: &Path, run_dir: &Path) -> Vec<String> {
        let mut args: Vec<String> = vec!["--message-file".into(), prompt_file.display().to_string()];
        args.extend(
            ["--yes-always", "--no-auto-test", "--no-pretty", "--no-check-update", "--no-show-model-warnings", "--no-analytics", "--no-gitignore", "--no-detect-urls"]
                .iter()
                .map(|arg| (*arg).to_string()),
        );
        args.push("--chat-history-file".into());
        args.push(run_dir.join("aider.chat.history.md").display().to_string());
        args.push("--input-history-file".into());
        args.push(run_dir.join("aider.input.history").display().to_string());
        self.0.push_model_and_args(&mut args);
        args
    }

    /// Variables for aider: litellm's bundled price list instead of a download.
    pub fn env() -> Vec<(String, String)> {
        vec![("LITELLM_LOCAL_MODEL_COST_MAP".into(), "True".into())]
    }
}

/// The adapter night runs.
#[derive(Debug)]
pub struct AiderAdapter {
    options: AiderOptions,
    stream: super::SessionParser<AiderStream>,
}

impl AiderAdapter {
    /// The adapter for an `agent aider { … }` block.
    pub fn new(agent: &crate::ast::Agent) -> Self {
        Self { options: AiderOptions(super::AgentOptions::from_agent(agent)), stream: super::SessionParser::default() }
    }
}

impl super::Adapter for AiderAdapter {
    fn kind(&self) -> &'static str {
        "aider"
    }

    fn preflight(&self) -> Result<(), super::AgentError> {
        super::find_program(&self.options.program(), "aider")
    }

    fn launch(&self, context: &super::LaunchContext<'_>) -> super::Launch {
        self.stream.restart();
        let args = self.options.arguments(context.prompt_file, context.run_dir);
        super::Launch { program: self.options.program(), args, env: AiderOptions::env(), stdin: Vec::new() }
    }

    fn reads_output(&self) -> bool {
        true
    }

    fn parse_line(&self, _stream: crate::run::process::Stream, line: &str) -> Vec<super::AgentSignal> {
        let events = self.stream.lock().line(line);
        super::stream::signals("aider", events)
    }

    fn stop_signals(&self) -> Vec<nix::sys::signal::Signal> {
        vec![nix::sys::signal::Signal::SIGINT, nix::sys::signal::Signal::SIGTERM]
    }

    fn reports_usage(&self) -> bool {
        true
    }

    fn reports_quota(&self) -> bool {
        true
    }
}

/// The output parser for one session.
#[derive(Debug, Default)]
pub struct AiderStream {
    quota_reported: bool,
}

impl AiderStream {
    /// A parser for a new session.
    pub fn new() -> Self {
        Self::default()
    }

    /// What one line says.
    pub fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Tokens: ") {
            return parse_usage(rest).map(|(tokens, cost_usd)| AgentEvent::Usage { tokens, cost_usd }).into_iter().collect();
        }
        let limits = ["exceeded your current quota", "insufficient_quota", "usage limit", "Credit balance is too low", "hit your limit"];
        if !self.quota_reported && limits.iter().any(|words| line.contains(words)) {
            self.quota_reported = true;
            return vec![AgentEvent::Quota { resets_at: None, message: line.to_string() }];
        }
        Vec::new()
    }
}

/// Read `2.3k sent, 1.1k cache write, 900 cache hit, 120 received. Cost: $0.01 message, $0.03
/// session.` as (tokens, message cost).
fn parse_usage(text: &str) -> Option<(u64, f64)> {
    let (counts, cost) = match text.split_once(". Cost: ") {
        Some((counts, cost)) => (counts, Some(cost)),
        None => (text.trim_end_matches('.'), None),
    };
    let mut tokens = 0;
    let mut any = false;
    for part in counts.split(", ") {
        let (number, label) = part.trim().split_once(' ')?;
        let number = parse_count(number)?;
        any = true;
        if label != "cache hit" {
            tokens += number;
        }
    }
    let cost = cost
        .and_then(|cost| cost.split(" message").next())
        .and_then(|message| message.trim().trim_start_matches('$').parse::<f64>().ok())
        .unwrap_or(0.0);
    any.then_some((tokens, cost))
}

/// `653`, `1,234`, `2.3k`, `1.5M`.
fn parse_count(text: &str) -> Option<u64> {
    let text = text.replace(',', "");
    let (number, scale) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1_000.0),
        'm' | 'M' => (&text[..text.len() - 1], 1_000_000.0),
        _ => (text.as_str(), 1.0),
    };
    let value: f64 = number.parse().ok()?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((value * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let options = AiderOptions(crate::run::agent::AgentOptions { bin: None, model: Some("sonnet".into()), args: vec!["--edit-format".into(), "diff".into()], max_turns: None });
        let args = options.arguments(Path::new("/r/.night/runs/x/prompt-1-1.md"), Path::new("/r/.night/runs/x"));
        assert_eq!(&args[..3], ["--message-file", "/r/.night/runs/x/prompt-1-1.md", "--yes-always"]);
        assert!(args.contains(&"--no-auto-test".to_string()));
        assert!(args.contains(&"/r/.night/runs/x/aider.chat.history.md".to_string()));
        assert_eq!(&args[args.len() - 4..], ["--model", "sonnet", "--edit-format", "diff"]);
    }

    #[test]
    fn usage_lines() {
        let mut stream = AiderStream::new();
        assert_eq!(stream.line("Tokens: 653 sent, 26 received."), [AgentEvent::Usage { tokens: 679, cost_usd: 0.0 }]);
        let events = stream.line("Tokens: 2.3k sent, 1.1k cache write, 900 cache hit, 120 received. Cost: $0.01 message, $0.03 session.");
        assert_eq!(events, [AgentEvent::Usage { tokens: 3520, cost_usd: 0.01 }]);
        assert!(stream.line("Applied edit to a.txt").is_empty());
        assert!(stream.line("Tokens: lots").is_empty());
        let quota = "litellm.RateLimitError: OpenAIException - You exceeded your current quota, please check your plan and billing details.";
        assert!(matches!(stream.line(quota).as_slice(), [AgentEvent::Quota { resets_at: None, .. }]));
        assert!(stream.line(quota).is_empty());
        assert_eq!(parse_count("1,234"), Some(1234));
        assert_eq!(parse_count("1.5M"), Some(1_500_000));
    }
}
