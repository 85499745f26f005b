//! `agent claude`: Claude Code, headless.
//!
//! Launch: `claude -p --output-format stream-json --verbose --settings <run dir>/claude-settings.json
//! --permission-mode dontAsk [--max-turns N] [--model M] [args…] -- <prompt>`, standard input closed.
//! The generated settings carry permission rules derived from the runbook and hooks that call
//! `night hook <event>`, so night's `write`, `deny` and `allow` are enforced inside the agent.
//!
//! The stream is parsed as it arrives: the `system`/`init` line, assistant tool calls (for the
//! repeated-tool-call rule), usage per message (for live `tokens` and `cost`), the final `result`
//! line, and the provider's usage limits (`rate_limit_event`, or the messages Claude Code prints).

use super::stream::{AgentEvent, SessionResult};
use crate::policy::{Policy, PolicyNetwork};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;

pub use crate::agent_program::{preflight, PreflightError, Version, MIN_VERSION};

/// The settings file night writes into the run folder.
pub const SETTINGS_FILE: &str = "claude-settings.json";

/// Tools the agent may not use overnight: they leave the run's work tree or outlive the session.
pub const DENIED_TOOLS: &[&str] = &["EnterWorktree", "ExitWorktree", "CronCreate", "ScheduleWakeup", "RemoteTrigger"];

/// The hook events night registers, each calling `night hook <event>`.
pub const HOOK_EVENTS: &[&str] =
    &["PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionDenied", "Stop", "StopFailure", "SessionEnd"];

/// Prompts longer than this go through standard input instead of the command line.
const LONGEST_ARGUMENT: usize = 100_000;

/// The settings passed with `--settings`: permission rules derived from the runbook, and hooks
/// that call `night hook <event>` with the night binary at `night_exe`.
pub fn settings(policy: &Policy, night_exe: &Path) -> Value {
    let root = policy.repo_root.display().to_string();
    let root = root.trim_end_matches('/');
    let mut allow: Vec<String> = ["Read", "Glob", "Grep", "LS", "TodoWrite", "Task", "Bash"].iter().map(|tool| (*tool).to_string()).collect();
    for pattern in &policy.write {
        // A folder written without `/**` means its contents, as in the hook and the audit.
        let forms = crate::ast::Glob::new(pattern).map_or_else(|_| vec![pattern.clone()], |glob| glob.gitignore_forms());
        for glob in forms {
            // `//` makes the path absolute: rules in a `--settings` file are otherwise relative to it.
            for tool in ["Edit", "Write", "MultiEdit", "NotebookEdit"] {
                allow.push(format!("{tool}(/{root}/{glob})"));
            }
        }
    }
    if policy.network != PolicyNetwork::Off {
        allow.extend(["WebFetch".to_string(), "WebSearch".to_string()]);
    }
    allow.extend(policy.allow.iter().map(|pattern| format!("Bash({pattern})")));
    let mut deny: Vec<String> = DENIED_TOOLS.iter().map(|tool| (*tool).to_string()).collect();
    // Claude Code's deny rules win over its allow rules, so a deny pattern that an `allow`
    // exemption overlaps is left to the hook, which applies night's order.
    for pattern in &policy.deny {
        let overlapped = crate::ast::CommandPattern::new(pattern)
            .map(|compiled| policy.allow.iter().any(|allow| compiled.is_match(allow) || allow.starts_with(pattern.trim_end_matches('*'))))
            .unwrap_or(true);
        if !overlapped {
            deny.push(format!("Bash({pattern})"));
        }
    }
    if policy.network == PolicyNetwork::Off {
        deny.extend(["WebFetch".to_string(), "WebSearch".to_string()]);
    }
    let exe = shell_quote(&night_exe.display().to_string());
    let mut hooks = serde_json::Map::new();
    for event in HOOK_EVENTS {
        let handler = json!({ "type": "command", "command": format!("{exe} hook {event}"), "timeout": 30 });
        let group = if matches!(*event, "PreToolUse" | "PostToolUse" | "PostToolUseFailure" | "PermissionDenied") {
            json!({ "matcher": "*", "hooks": [handler] })
        } else {
            json!({ "hooks": [handler] })
        };
        hooks.insert((*event).to_string(), json!([group]));
    }
    json!({
        "permissions": { "allow": allow, "deny": deny, "defaultMode": "dontAsk" },
        "hooks": hooks,
    })
}

/// Write the settings file into the run folder; returns its path.
pub fn write_settings(policy: &Policy, night_exe: &Path, run_dir: &Path) -> std::io::Result<std::path::PathBuf> {
    let path = run_dir.join(SETTINGS_FILE);
    let text = serde_json::to_string_pretty(&settings(policy, night_exe)).map_err(std::io::Error::other)?;
    std::fs::write(&path, text)?;
    Ok(path)
}

/// What the runbook's `agent claude { … }` block says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaudeOptions(pub super::AgentOptions);

impl ClaudeOptions {
    /// The executable to run.
    pub fn program(&self) -> String {
        self.0.program("claude")
    }

    /// The arguments for one session, and what goes to standard input (empty: closed at once).
    pub fn arguments(&self, prompt: &str, settings_file: &Path) -> (Vec<String>, Vec<u8>) {
        let mut args: Vec<String> = ["-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "dontAsk"]
            .iter()
            .map(|arg| (*arg).to_string())
            .collect();
        args.push("--settings".into());
        args.push(settings_file.display().to_string());
        if let Some(turns) = self.0.max_turns {
            args.push("--max-turns".into());
            args.push(turns.to_string());
        }
        self.0.push_model_and_args(&mut args);
        if prompt.len() > LONGEST_ARGUMENT {
            // `claude -p` reads the prompt from standard input when none is given.
            return (args, prompt.as_bytes().to_vec());
        }
        // After `--`, a prompt starting with `-` is not read as an option.
        args.push("--".into());
        args.push(prompt.to_string());
        (args, Vec::new())
    }

    /// Variables for the agent: no self-update in the middle of the night.
    pub fn env() -> Vec<(String, String)> {
        vec![("DISABLE_AUTOUPDATER".into(), "1".into())]
    }
}

/// The adapter night runs: settings and hooks written for each session, the stream parsed as
/// it arrives.
#[derive(Debug)]
pub struct ClaudeAdapter {
    options: ClaudeOptions,
    night: std::path::PathBuf,
    stream: super::SessionParser<ClaudeStream>,
}

impl ClaudeAdapter {
    /// The adapter for an `agent claude { … }` block; hooks call the running night binary.
    pub fn new(agent: &crate::ast::Agent) -> Self {
        let night = std::env::current_exe().unwrap_or_else(|_| std::path::PathBuf::from("night"));
        Self { options: ClaudeOptions(super::AgentOptions::from_agent(agent)), night, stream: super::SessionParser::default() }
    }
}

impl super::Adapter for ClaudeAdapter {
    fn kind(&self) -> &'static str {
        "claude"
    }

    fn preflight(&self) -> Result<(), super::AgentError> {
        preflight(&self.options.program()).map(|_| ()).map_err(super::AgentError::from)
    }

    fn launch(&self, context: &super::LaunchContext<'_>) -> super::Launch {
        let policy = context.policy();
        let settings = match write_settings(&policy, &self.night, context.run_dir) {
            Ok(path) => path.display().to_string(),
            // `--settings` also takes the JSON itself.
            Err(_) => settings(&policy, &self.night).to_string(),
        };
        self.stream.restart();
        let (args, stdin) = self.options.arguments(context.prompt, Path::new(&settings));
        let mut env = ClaudeOptions::env();
        env.push((crate::policy::decide::POLICY_ENV.to_string(), policy.to_json()));
        super::Launch { program: self.options.program(), args, env, stdin }
    }

    fn reads_output(&self) -> bool {
        true
    }

    fn parse_line(&self, _stream: crate::run::process::Stream, line: &str) -> Vec<super::AgentSignal> {
        let events = self.stream.lock().line(line);
        super::stream::signals("claude", events)
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

/// `text` as one shell word.
pub(crate) fn shell_quote(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c)) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The stream parser for one session.
#[derive(Debug, Default)]
pub struct ClaudeStream {
    messages: HashSet<String>,
    counted_tokens: u64,
    counted_cost: f64,
    quota_reported: bool,
    resets_at: Option<i64>,
}

impl ClaudeStream {
    /// A parser for a new session.
    pub fn new() -> Self {
        Self::default()
    }

    /// What one line of standard output says (lines that are not JSON say nothing).
    pub fn line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim();
        if !line.starts_with('{') {
            return self.text_line(line);
        }
        let Ok(value) = serde_json::from_str::<Value>(line) else { return Vec::new() };
        let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        match value.get("type").and_then(Value::as_str).unwrap_or_default() {
            "system" if value.get("subtype").and_then(Value::as_str) == Some("init") => vec![AgentEvent::Init {
                session_id: text(&value, "session_id"),
                model: text(&value, "model"),
                version: text(&value, "claude_code_version"),
            }],
            "assistant" => self.assistant(&value),
            "rate_limit_event" => self.rate_limit_event(&value),
            "result" => self.result(&value),
            _ => Vec::new(),
        }
    }

    fn assistant(&mut self, value: &Value) -> Vec<AgentEvent> {
        let mut events = Vec::new();
        let Some(message) = value.get("message") else { return events };
        let model = message.get("model").and_then(Value::as_str).unwrap_or_default();
        let id = message.get("id").and_then(Value::as_str).unwrap_or_default();
        // One API message arrives as one line per content block, each with the same usage.
        if model != "<synthetic>" && !id.is_empty() && self.messages.insert(id.to_string()) {
            if let Some(usage) = message.get("usage") {
                let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
                let (input, output) = (count("input_tokens"), count("output_tokens"));
                let (cache_write, cache_read) = (count("cache_creation_input_tokens"), count("cache_read_input_tokens"));
                let tokens = input + output + cache_write;
                let cost = estimate_cost(model, input, output, cache_write, cache_read);
                if tokens > 0 || cost > 0.0 {
                    self.counted_tokens += tokens;
                    self.counted_cost += cost;
                    events.push(AgentEvent::Usage { tokens, cost_usd: cost });
                }
            }
        }
        let blocks = message.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for block in blocks {
            match block.get("type").and_then(Value::as_str) {
                Some("tool_use") => {
                    let name = block.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                    let input = block.get("input").cloned().unwrap_or(Value::Null);
                    let signature = format!("{name} {input}");
                    events.push(AgentEvent::ToolCall { name, signature });
                }
                Some("text") => {
                    let is_rate_limit = value.get("error").and_then(Value::as_str) == Some("rate_limit");
                    let text = block.get("text").and_then(Value::as_str).unwrap_or_default();
                    if is_rate_limit || (model == "<synthetic>" && usage_limit_message(text).is_some()) {
                        events.extend(self.quota(usage_limit_message(text).flatten(), text));
                    }
                }
                _ => {}
            }
        }
        events
    }

    fn rate_limit_event(&mut self, value: &Value) -> Vec<AgentEvent> {
        let info = value.get("rate_limit_info").unwrap_or(&Value::Null);
        let resets_at = info.get("resetsAt").and_then(Value::as_i64);
        if resets_at.is_some() {
            self.resets_at = resets_at;
        }
        let rejected = info.get("status").and_then(Value::as_str) == Some("rejected");
        let on_overage = info.get("isUsingOverage").and_then(Value::as_bool).unwrap_or(false);
        if rejected && !on_overage {
            let kind = info.get("rateLimitType").and_then(Value::as_str).unwrap_or("usage");
            return self.quota(resets_at, &format!("the {kind} limit was reached"));
        }
        Vec::new()
    }

    fn result(&mut self, value: &Value) -> Vec<AgentEvent> {
        let number = |value: &Value, key: &str| value.get(key).and_then(Value::as_u64).unwrap_or(0);
        let (mut tokens, mut cache_read) = (0, 0);
        match value.get("modelUsage").and_then(Value::as_object).filter(|models| !models.is_empty()) {
            Some(models) => {
                for usage in models.values() {
                    tokens += number(usage, "inputTokens") + number(usage, "outputTokens") + number(usage, "cacheCreationInputTokens");
                    cache_read += number(usage, "cacheReadInputTokens");
                }
            }
            None => {
                let usage = value.get("usage").unwrap_or(&Value::Null);
                tokens = number(usage, "input_tokens") + number(usage, "output_tokens") + number(usage, "cache_creation_input_tokens");
                cache_read = number(usage, "cache_read_input_tokens");
            }
        }
        let result = SessionResult {
            subtype: value.get("subtype").and_then(Value::as_str).unwrap_or_default().to_string(),
            is_error: value.get("is_error").and_then(Value::as_bool).unwrap_or(false),
            api_error_status: value.get("api_error_status").and_then(Value::as_u64),
            num_turns: number(value, "num_turns"),
            total_cost_usd: value.get("total_cost_usd").and_then(Value::as_f64).unwrap_or(self.counted_cost),
            tokens,
            cache_read_tokens: cache_read,
            permission_denials: value
                .get("permission_denials")
                .and_then(Value::as_array)
                .map(|denials| {
                    denials
                        .iter()
                        .map(|denial| {
                            let tool = denial.get("tool_name").and_then(Value::as_str).unwrap_or("tool");
                            let input = denial.get("tool_input").unwrap_or(&Value::Null);
                            let what = input
                                .get("command")
                                .or_else(|| input.get("file_path"))
                                .or_else(|| input.get("notebook_path"))
                                .and_then(Value::as_str)
                                .unwrap_or_default();
                            format!("{tool} {what}").trim().to_string()
                        })
                        .collect()
                })
                .unwrap_or_default(),
            text: value
                .get("result")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| value.get("errors").and_then(Value::as_array).map(|errors| {
                    errors.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")
                }))
                .unwrap_or_default(),
        };
        let mut events = Vec::new();
        // The final figures replace the running estimate.
        let tokens = result.tokens.saturating_sub(self.counted_tokens);
        let cost = result.total_cost_usd - self.counted_cost;
        if tokens > 0 || cost.abs() > 1e-9 {
            self.counted_tokens += tokens;
            self.counted_cost += cost;
            events.push(AgentEvent::Usage { tokens, cost_usd: cost });
        }
        if result.is_error && (result.api_error_status == Some(429) || usage_limit_message(&result.text).is_some()) {
            events.extend(self.quota(usage_limit_message(&result.text).flatten(), &result.text.clone()));
        }
        events.push(AgentEvent::Result(result));
        events
    }

    /// Plain text lines (older versions print the usage limit on its own).
    fn text_line(&mut self, line: &str) -> Vec<AgentEvent> {
        match usage_limit_message(line) {
            Some(resets_at) => self.quota(resets_at, line),
            None => Vec::new(),
        }
    }

    /// Report the usage limit once per session.
    fn quota(&mut self, resets_at: Option<i64>, message: &str) -> Vec<AgentEvent> {
        if self.quota_reported {
            return Vec::new();
        }
        self.quota_reported = true;
        vec![AgentEvent::Quota { resets_at: resets_at.or(self.resets_at), message: message.to_string() }]
    }
}

/// Whether a message is a provider usage limit; `Some(reset)` when it is, with the reset time
/// (Unix seconds) when the message gives one in a form night can read.
///
/// Recognised: `Claude AI usage limit reached|<unix seconds>` (Claude Code 1.x); `You've hit your
/// session limit · resets 3pm (UTC)` and the other `You've hit your … limit` forms (2.x, Pro/Max
/// plans; the time is read when it is in UTC); `You're out of usage credits`; the API's `You have
/// reached your specified API usage limits. You will regain access on 2025-07-01 at 00:00 UTC.`;
/// and `Credit balance is too low`.
pub fn usage_limit_message(text: &str) -> Option<Option<i64>> {
    if let Some(at) = text.find("usage limit reached|") {
        let rest = &text[at + "usage limit reached|".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return Some(digits.parse().ok());
    }
    if let Some(at) = text.find("You will regain access on ") {
        let rest = &text[at + "You will regain access on ".len()..];
        let when = rest.split(" UTC").next().unwrap_or_default();
        let parsed = chrono::NaiveDateTime::parse_from_str(when.trim(), "%Y-%m-%d at %H:%M").ok();
        return Some(parsed.map(|time| time.and_utc().timestamp()));
    }
    let limit_words = [
        "You've hit your",
        "You have hit your",
        "You're out of usage credits",
        "Your org is out of usage",
        "usage limit reached",
        "reached your specified API usage limits",
        "Credit balance is too low",
    ];
    if !limit_words.iter().any(|words| text.contains(words)) {
        return None;
    }
    Some(text.find("resets ").and_then(|at| parse_reset(&text[at + "resets ".len()..], chrono::Utc::now())))
}

/// Read `3pm (UTC)`, `11:18pm (UTC)` or `Nov 27, 3pm (UTC)` as the next such moment after `now`.
fn parse_reset(text: &str, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    use chrono::{Datelike, NaiveTime, TimeZone};
    let (when, zone) = text.split_once(" (")?;
    if !zone.starts_with("UTC)") {
        return None;
    }
    let (date, time) = match when.rsplit_once(", ") {
        Some((date, time)) => (Some(date), time),
        None => (None, when),
    };
    let time = time.trim().to_lowercase();
    let (clock, pm) = match (time.strip_suffix("pm"), time.strip_suffix("am")) {
        (Some(clock), _) => (clock, true),
        (_, Some(clock)) => (clock, false),
        _ => return None,
    };
    let (hour, minute) = match clock.split_once(':') {
        Some((hour, minute)) => (hour.parse::<u32>().ok()?, minute.parse::<u32>().ok()?),
        None => (clock.parse::<u32>().ok()?, 0),
    };
    let hour = match (hour, pm) {
        (12, false) => 0,
        (12, true) => 12,
        (hour, true) => hour + 12,
        (hour, false) => hour,
    };
    let time = NaiveTime::from_hms_opt(hour, minute, 0)?;
    let today = now.date_naive();
    let date = match date {
        Some(date) => {
            let with_year = format!("{date} {}", today.year());
            let parsed = chrono::NaiveDate::parse_from_str(&with_year, "%b %d %Y").ok()?;
            if parsed < today { parsed.with_year(today.year() + 1)? } else { parsed }
        }
        None if today.and_time(time) <= now.naive_utc() => today.succ_opt()?,
        None => today,
    };
    Some(chrono::Utc.from_utc_datetime(&date.and_time(time)).timestamp())
}

/// A running cost estimate from tokens, by model family (US dollars per million tokens); the
/// `result` line's `total_cost_usd` replaces it at the end of the session.
pub fn estimate_cost(model: &str, input: u64, output: u64, cache_write: u64, cache_read: u64) -> f64 {
    let model = model.to_lowercase();
    let (input_price, output_price) = if model.contains("opus") {
        let old = ["opus-4-0", "opus-4-1", "opus-4-2025", "opus-4@", "3-opus", "opus-3"].iter().any(|old| model.contains(old)) || model.ends_with("opus-4");
        if old { (15.0, 75.0) } else { (5.0, 25.0) }
    } else if model.contains("haiku") {
        if model.contains("3-5-haiku") || model.contains("haiku-3") { (0.8, 4.0) } else { (1.0, 5.0) }
    } else {
        (3.0, 15.0)
    };
    #[allow(clippy::cast_precision_loss)]
    let dollars = (input as f64 * input_price
        + output as f64 * output_price
        + cache_write as f64 * input_price * 1.25
        + cache_read as f64 * input_price * 0.1)
        / 1_000_000.0;
    dollars
}

#[cfg(test)]
mod tests;
