//! `agent codex`: the OpenAI Codex CLI, headless.
//!
//! Launch: `codex exec --json --sandbox workspace-write --add-dir <git dir> -c approval_policy="never"
//! [-c sandbox_workspace_write.network_access=true] [--model M] [args…] -- <prompt>`, standard input
//! closed. Codex's own sandbox keeps writes inside the work tree; its git directory is added so
//! that the agent can commit (Codex makes `.git` read-only otherwise). Codex's hooks take Claude
//! Code's protocol, so `night hook` enforces `deny`/`allow` (and `write` for file tools) before
//! each command: `-c hooks.PreToolUse=[…]` and the other events, with
//! `--dangerously-bypass-hook-trust` because these hooks are night's, not the repository's.
//!
//! Output (`--json`, one event a line): `thread.started`, `turn.started`, `item.started` /
//! `item.completed` (`command_execution`, `file_change`, `mcp_tool_call`, `web_search`,
//! `agent_message`), `turn.completed` with `usage`, `turn.failed`, `error`. Usage is tokens only:
//! Codex reports no cost, so `cost` cannot be enforced for it (use `tokens`).

use super::stream::{AgentEvent, SessionResult};
use crate::policy::PolicyNetwork;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What the runbook's `agent codex { … }` block says (`max_turns` has no Codex equivalent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodexOptions(pub super::AgentOptions);

impl CodexOptions {
    /// The executable to run.
    pub fn program(&self) -> String {
        self.0.program("codex")
    }

    /// The arguments for one session in `work_dir`, and what goes to standard input; with
    /// `night`, the hooks call `<night> hook <event>`.
    pub fn arguments(&self, prompt: &str, work_dir: &Path, network: &PolicyNetwork, night: Option<&Path>) -> (Vec<String>, Vec<u8>) {
        let mut args: Vec<String> =
            ["exec", "--json", "--sandbox", "workspace-write", "-c", "approval_policy=\"never\""].iter().map(|a| (*a).to_string()).collect();
        if let Some(night) = night {
            args.push("--dangerously-bypass-hook-trust".into());
            let exe = super::claude::shell_quote(&night.display().to_string());
            for event in HOOK_EVENTS {
                let command = toml_string(&format!("{exe} hook {event}"));
                args.push("-c".into());
                args.push(format!("hooks.{event}=[{{matcher=\"*\",hooks=[{{type=\"command\",command={command},timeout=30}}]}}]"));
            }
        }
        for dir in git_dirs(work_dir) {
            args.push("--add-dir".into());
            args.push(dir.display().to_string());
        }
        if *network != PolicyNetwork::Off {
            args.push("-c".into());
            args.push("sandbox_workspace_write.network_access=true".into());
        }
        self.0.push_model_and_args(&mut args);
        // `-` reads the prompt from standard input: no length limit, nothing in `ps`.
        args.push("-".into());
        (args, prompt.as_bytes().to_vec())
    }
}

/// The adapter night runs.
#[derive(Debug)]
pub struct CodexAdapter {
    options: CodexOptions,
    stream: super::SessionParser<CodexStream>,
}

impl CodexAdapter {
    /// The adapter for an `agent codex { … }` block.
    pub fn new(agent: &crate::ast::Agent) -> Self {
        Self { options: CodexOptions(super::AgentOptions::from_agent(agent)), stream: super::SessionParser::default() }
    }
}

impl super::Adapter for CodexAdapter {
    fn kind(&self) -> &'static str {
        "codex"
    }

    fn preflight(&self) -> Result<(), super::AgentError> {
        super::find_program(&self.options.program(), "codex")
    }

    fn launch(&self, context: &super::LaunchContext<'_>) -> super::Launch {
        let policy = context.policy();
        self.stream.restart();
        let night = std::env::current_exe().unwrap_or_else(|_| std::path::PathBuf::from("night"));
        let (args, stdin) = self.options.arguments(context.prompt, context.work_dir, &policy.network, Some(&night));
        let env = vec![(crate::policy::decide::POLICY_ENV.to_string(), policy.to_json())];
        super::Launch { program: self.options.program(), args, env, stdin }
    }

    fn reads_output(&self) -> bool {
        true
    }

    fn parse_line(&self, _stream: crate::run::process::Stream, line: &str) -> Vec<super::AgentSignal> {
        let events = self.stream.lock().line(line);
        super::stream::signals("codex", events)
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

    fn enforces_deny(&self) -> bool {
        true
    }
}

/// The hook events night registers with Codex.
pub const HOOK_EVENTS: &[&str] = &["PreToolUse", "PostToolUse", "Stop", "SessionEnd"];

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The git directories a commit in `work_dir` writes: `.git`, or for a worktree its own
/// folder under the main repository's `.git/worktrees/` and that common `.git`.
pub fn git_dirs(work_dir: &Path) -> Vec<PathBuf> {
    let dot_git = work_dir.join(".git");
    if dot_git.is_dir() {
        return vec![dot_git];
    }
    let Ok(text) = std::fs::read_to_string(&dot_git) else { return Vec::new() };
    let Some(git_dir) = text.lines().find_map(|line| line.strip_prefix("gitdir:")).map(|dir| work_dir.join(dir.trim())) else {
        return Vec::new();
    };
    let common = std::fs::read_to_string(git_dir.join("commondir")).ok().map(|dir| git_dir.join(dir.trim()));
    let mut dirs = vec![git_dir];
    dirs.extend(common);
    dirs
}

/// The `--json` stream parser for one session.
#[derive(Debug, Default)]
pub struct CodexStream {
    quota_reported: bool,
    started: std::collections::HashSet<String>,
}

impl CodexStream {
    /// A parser for a new session.
    pub fn new() -> Self {
        Self::default()
    }

    /// What one line says.
    pub fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let Ok(value) = serde_json::from_str::<Value>(line.trim()) else { return Vec::new() };
        let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        match value.get("type").and_then(Value::as_str).unwrap_or_default() {
            "thread.started" => vec![AgentEvent::Init { session_id: text(&value, "thread_id"), model: String::new(), version: String::new() }],
            "item.started" | "item.completed" => self.item(value.get("item").unwrap_or(&Value::Null)),
            "turn.completed" => {
                let usage = value.get("usage").unwrap_or(&Value::Null);
                let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
                // `input_tokens` includes the cached ones; night counts uncached input, cache
                // writes and output (reasoning included), as for every agent.
                let tokens = count("input_tokens").saturating_sub(count("cached_input_tokens")) + count("output_tokens");
                let result = SessionResult { subtype: "success".into(), tokens, cache_read_tokens: count("cached_input_tokens"), ..SessionResult::default() };
                vec![AgentEvent::Usage { tokens, cost_usd: 0.0 }, AgentEvent::Result(result)]
            }
            "turn.failed" => {
                let message = value.get("error").map(|error| text(error, "message")).unwrap_or_default();
                let mut events = self.check_quota(&message);
                events.push(AgentEvent::Result(SessionResult { subtype: "error".into(), is_error: true, text: message, ..SessionResult::default() }));
                events
            }
            "error" => self.check_quota(&text(&value, "message")),
            _ => Vec::new(),
        }
    }

    fn item(&mut self, item: &Value) -> Vec<AgentEvent> {
        let id = item.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        // A call is reported at its start, or at its end when it had no start.
        if !self.started.insert(id) {
            return Vec::new();
        }
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        let detail = match kind {
            "command_execution" => item.get("command").and_then(Value::as_str).map(str::to_string),
            "file_change" => item.get("changes").map(Value::to_string),
            "mcp_tool_call" => Some(format!(
                "{} {} {}",
                item.get("server").and_then(Value::as_str).unwrap_or_default(),
                item.get("tool").and_then(Value::as_str).unwrap_or_default(),
                item.get("arguments").map(Value::to_string).unwrap_or_default()
            )),
            "web_search" => item.get("query").and_then(Value::as_str).map(str::to_string),
            "error" => return self.check_quota(item.get("message").and_then(Value::as_str).unwrap_or_default()),
            _ => None,
        };
        detail.map(|detail| AgentEvent::ToolCall { name: kind.to_string(), signature: format!("{kind} {detail}") }).into_iter().collect()
    }

    fn check_quota(&mut self, message: &str) -> Vec<AgentEvent> {
        if self.quota_reported || usage_limit_message(message).is_none() {
            return Vec::new();
        }
        self.quota_reported = true;
        vec![AgentEvent::Quota { resets_at: usage_limit_message(message).flatten(), message: message.to_string() }]
    }
}

/// Whether a Codex message is a provider usage limit (`You’ve hit your usage limit…`,
/// `Quota exceeded…`); with the reset time when it gives one as `try again in N seconds/minutes/
/// hours` (relative to now).
pub fn usage_limit_message(message: &str) -> Option<Option<i64>> {
    let folded = message.replace('\u{2019}', "'");
    let words = ["hit your usage limit", "Quota exceeded", "usage_limit_reached", "insufficient_quota"];
    if !words.iter().any(|word| folded.contains(word)) {
        return None;
    }
    let lower = folded.to_lowercase();
    let resets = lower.find("try again in ").and_then(|at| {
        let mut words = lower[at + "try again in ".len()..].split_whitespace();
        let amount: f64 = words.next()?.parse().ok()?;
        let unit = words.next()?;
        let seconds = match unit.trim_end_matches(['.', ',']) {
            u if u.starts_with("second") => amount,
            u if u.starts_with("minute") => amount * 60.0,
            u if u.starts_with("hour") => amount * 3600.0,
            u if u.starts_with("day") => amount * 86400.0,
            _ => return None,
        };
        #[allow(clippy::cast_possible_truncation)]
        Some(chrono::Utc::now().timestamp() + seconds.round() as i64)
    });
    Some(resets)
}

/// The version from `codex --version`, e.g. `codex-cli 0.169.0`.
pub fn parse_version(text: &str) -> Option<super::claude::Version> {
    super::claude::Version::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::stream::Ending;

    #[test]
    fn arguments() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join(".git")).expect("mkdir");
        let options = CodexOptions(crate::run::agent::AgentOptions { bin: None, model: Some("gpt-5-codex".into()), args: vec!["--oss".into()], max_turns: None });
        let (args, stdin) = options.arguments("fix it", dir.path(), &PolicyNetwork::Off, None);
        let git = dir.path().join(".git").display().to_string();
        assert_eq!(
            args,
            ["exec", "--json", "--sandbox", "workspace-write", "-c", "approval_policy=\"never\"", "--add-dir", &git, "--model", "gpt-5-codex", "--oss", "-"]
        );
        assert_eq!(stdin, b"fix it");
        let (args, _) = options.arguments("x", dir.path(), &PolicyNetwork::On, Some(Path::new("/opt/my night/night")));
        assert!(args.contains(&"sandbox_workspace_write.network_access=true".to_string()));
        assert!(args.contains(&"--dangerously-bypass-hook-trust".to_string()));
        assert!(args.contains(&r#"hooks.PreToolUse=[{matcher="*",hooks=[{type="command",command="'/opt/my night/night' hook PreToolUse",timeout=30}]}]"#.to_string()), "{args:?}");
        assert_eq!(options.program(), "codex");
    }

    #[test]
    fn worktree_git_dirs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let main_git = dir.path().join("main/.git");
        let own = main_git.join("worktrees/wt");
        std::fs::create_dir_all(&own).expect("mkdir");
        std::fs::write(own.join("commondir"), "../..\n").expect("write");
        let work = dir.path().join("wt");
        std::fs::create_dir_all(&work).expect("mkdir");
        std::fs::write(work.join(".git"), format!("gitdir: {}\n", own.display())).expect("write");
        assert_eq!(git_dirs(&work), [own.clone(), own.join("../..")]);
        assert!(git_dirs(dir.path()).is_empty());
    }

    /// Output recorded from `codex exec --json` 0.169.0 against the scripted server.
    const RECORDED: &str = r#"{"type":"thread.started","thread_id":"01a214c4-d049-78b3-85bf-6074b07edf60"}
{"type":"turn.started"}
{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi > made.txt && git status --short'","aggregated_output":"","exit_code":null,"status":"in_progress"}}
{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi > made.txt && git status --short'","aggregated_output":"?? made.txt\n","exit_code":0,"status":"completed"}}
{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"All done."}}
{"type":"turn.completed","usage":{"input_tokens":2400,"cached_input_tokens":200,"cache_write_input_tokens":0,"output_tokens":60,"reasoning_output_tokens":0}}"#;

    #[test]
    fn recorded_stream() {
        let mut stream = CodexStream::new();
        let events: Vec<_> = RECORDED.lines().flat_map(|line| stream.line(line)).collect();
        assert_eq!(events[0], AgentEvent::Init { session_id: "01a214c4-d049-78b3-85bf-6074b07edf60".into(), model: String::new(), version: String::new() });
        assert_eq!(
            events[1],
            AgentEvent::ToolCall {
                name: "command_execution".into(),
                signature: "command_execution /bin/bash -lc 'echo hi > made.txt && git status --short'".into()
            }
        );
        assert_eq!(events[2], AgentEvent::Usage { tokens: 2260, cost_usd: 0.0 });
        assert!(matches!(&events[3], AgentEvent::Result(result) if result.ending() == Ending::Done));
        assert_eq!(events.len(), 4);
    }

    #[test]
    fn usage_limits() {
        let mut stream = CodexStream::new();
        let error = r#"{"type":"error","message":"You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again later."}"#;
        let failed = r#"{"type":"turn.failed","error":{"message":"You’ve hit your usage limit. Upgrade to Pro, or try again later."}}"#;
        assert!(matches!(stream.line(error).as_slice(), [AgentEvent::Quota { resets_at: None, .. }]));
        let events = stream.line(failed);
        assert!(matches!(events.as_slice(), [AgentEvent::Result(result)] if result.is_error), "{events:?}");
        let now = chrono::Utc::now().timestamp();
        let Some(Some(at)) = usage_limit_message("You've hit your usage limit. Try again in 2 hours.") else { panic!("not read") };
        assert!((at - now - 7200).abs() < 5);
        assert_eq!(usage_limit_message("Quota exceeded. Check your plan and billing details."), Some(None));
        assert_eq!(usage_limit_message("stream disconnected"), None);
        assert!(CodexStream::new().line(r#"{"type":"error","message":"Reconnecting... 2/5"}"#).is_empty());
    }
}
