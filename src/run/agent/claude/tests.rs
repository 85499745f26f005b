//! Tests: the settings, the command line, the stream parser, usage limits and costs.

use super::*;
use chrono::TimeZone;
use super::super::stream::Ending;

fn policy() -> Policy {
    Policy {
        repo_root: "/work/repo".into(),
        read: vec!["**".into()],
        write: vec!["src/**".into(), "docs/".into(), "lib".into()],
        deny: vec!["git push*".into(), "rm -rf *".into()],
        allow: vec!["git push origin night/*".into()],
        deny_irreversible: true,
        network: PolicyNetwork::Off,
    }
}

#[test]
fn settings_carry_rules_and_hooks() {
    let settings = settings(&policy(), Path::new("/opt/night dir/night"));
    let allow: Vec<&str> = settings["permissions"]["allow"].as_array().expect("allow").iter().filter_map(Value::as_str).collect();
    assert!(allow.contains(&"Edit(//work/repo/src/**)") && allow.contains(&"Write(//work/repo/docs/**)"), "{allow:?}");
    assert!(allow.contains(&"Edit(//work/repo/lib)") && allow.contains(&"Edit(//work/repo/lib/**)"), "a folder means its contents: {allow:?}");
    assert!(allow.contains(&"Bash") && allow.contains(&"Bash(git push origin night/*)"));
    assert!(!allow.contains(&"WebFetch"));
    let deny: Vec<&str> = settings["permissions"]["deny"].as_array().expect("deny").iter().filter_map(Value::as_str).collect();
    // `git push*` overlaps the `allow` exemption, so only the hook applies it.
    assert!(deny.contains(&"Bash(rm -rf *)") && !deny.contains(&"Bash(git push*)"), "{deny:?}");
    assert!(deny.contains(&"EnterWorktree") && deny.contains(&"WebFetch"));
    assert_eq!(settings["hooks"]["PreToolUse"][0]["matcher"], "*");
    assert_eq!(settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"], "'/opt/night dir/night' hook PreToolUse");
    assert_eq!(settings["hooks"]["SessionEnd"][0]["hooks"][0]["command"], "'/opt/night dir/night' hook SessionEnd");
    assert!(settings["hooks"]["Stop"][0].get("matcher").is_none());
}

#[test]
fn arguments_put_the_prompt_last() {
    let options = ClaudeOptions(crate::run::agent::AgentOptions { bin: None, model: Some("sonnet".into()), max_turns: Some(30), args: vec!["--effort".into(), "high".into()] });
    let (args, stdin) = options.arguments("-fix the bug", Path::new("/r/.night/runs/x/claude-settings.json"));
    assert_eq!(
        args,
        [
            "-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "dontAsk", "--settings",
            "/r/.night/runs/x/claude-settings.json", "--max-turns", "30", "--model", "sonnet", "--effort", "high", "--",
            "-fix the bug"
        ]
    );
    assert!(stdin.is_empty());
    let long = "x".repeat(LONGEST_ARGUMENT + 1);
    let (args, stdin) = options.arguments(&long, Path::new("s.json"));
    assert_eq!(args.last().map(String::as_str), Some("high"));
    assert_eq!(stdin.len(), long.len());
    assert_eq!(options.program(), "claude");
}

const INIT: &str = r#"{"type":"system","subtype":"init","cwd":"/r","session_id":"abc","tools":["Bash"],"model":"claude-sonnet-4-5","claude_code_version":"2.1.197"}"#;

#[test]
fn init_tool_calls_and_usage() {
    let mut stream = ClaudeStream::new();
    assert_eq!(
        stream.line(INIT),
        [AgentEvent::Init { session_id: "abc".into(), model: "claude-sonnet-4-5".into(), version: "2.1.197".into() }]
    );
    let text = r#"{"type":"assistant","message":{"content":[{"text":"Let me look.","type":"text"}],"id":"msg_1","model":"claude-sonnet-4-5","usage":{"cache_creation_input_tokens":40,"cache_read_input_tokens":300,"input_tokens":500,"output_tokens":1}}}"#;
    let tool = r#"{"type":"assistant","message":{"content":[{"id":"t1","input":{"description":"list","command":"ls"},"name":"Bash","type":"tool_use"}],"id":"msg_1","model":"claude-sonnet-4-5","usage":{"cache_creation_input_tokens":40,"cache_read_input_tokens":300,"input_tokens":500,"output_tokens":1}}}"#;
    let events = stream.line(text);
    assert_eq!(events.len(), 1);
    let AgentEvent::Usage { tokens, cost_usd } = events[0] else { panic!("{events:?}") };
    assert_eq!(tokens, 541);
    assert!((cost_usd - (500.0 * 3.0 + 15.0 + 40.0 * 3.75 + 300.0 * 0.3) / 1e6).abs() < 1e-12);
    // The same message's next block: no usage twice.
    let events = stream.line(tool);
    assert_eq!(events, [AgentEvent::ToolCall { name: "Bash".into(), signature: r#"Bash {"command":"ls","description":"list"}"#.into() }]);
    assert!(stream.line("not json").is_empty());
    assert!(stream.line(r#"{"type":"user","message":{}}"#).is_empty());
}

#[test]
fn the_result_corrects_the_estimate() {
    let mut stream = ClaudeStream::new();
    let message = r#"{"type":"assistant","message":{"content":[],"id":"m1","model":"claude-opus-4-8","usage":{"input_tokens":1000,"output_tokens":1}}}"#;
    stream.line(message);
    let result = r#"{"type":"result","subtype":"success","is_error":false,"num_turns":2,"result":"Done.","total_cost_usd":0.0125,"usage":{"input_tokens":2200,"output_tokens":60,"cache_read_input_tokens":0,"cache_creation_input_tokens":0},"modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":2200,"outputTokens":60,"cacheReadInputTokens":7,"cacheCreationInputTokens":0,"costUSD":0.0125}},"permission_denials":[{"tool_name":"Bash","tool_use_id":"t","tool_input":{"command":"git push"}}]}"#;
    let events = stream.line(result);
    let AgentEvent::Usage { tokens, cost_usd } = events[0] else { panic!("{events:?}") };
    assert_eq!(tokens, 2260 - 1001);
    assert!((cost_usd - (0.0125 - (1000.0 * 5.0 + 25.0) / 1e6)).abs() < 1e-12);
    let AgentEvent::Result(result) = &events[1] else { panic!("{events:?}") };
    assert_eq!((result.tokens, result.cache_read_tokens, result.num_turns), (2260, 7, 2));
    assert_eq!(result.permission_denials, ["Bash git push"]);
    assert_eq!(result.ending(), Ending::Done);
    assert_eq!(result.text, "Done.");
}

#[test]
fn max_turns_and_max_budget_endings() {
    let mut stream = ClaudeStream::new();
    let line = r#"{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":2,"total_cost_usd":0.001,"usage":{"input_tokens":10,"output_tokens":5}}"#;
    let events = stream.line(line);
    let Some(AgentEvent::Result(result)) = events.last() else { panic!("{events:?}") };
    assert_eq!(result.ending(), Ending::MaxTurns);
    assert_eq!(result.tokens, 15);
    let line = r#"{"type":"result","subtype":"error_max_budget_usd","is_error":true,"total_cost_usd":0.0046,"usage":{"input_tokens":0},"modelUsage":{"m":{"inputTokens":500,"outputTokens":70}},"errors":["Reached maximum budget ($0.001)"]}"#;
    let events = ClaudeStream::new().line(line);
    let Some(AgentEvent::Result(result)) = events.last() else { panic!("{events:?}") };
    assert_eq!((result.ending(), result.tokens), (Ending::Budget, 570));
    assert_eq!(result.text, "Reached maximum budget ($0.001)");
}

#[test]
fn subscription_usage_limits_are_quota_with_the_reset() {
    let mut stream = ClaudeStream::new();
    let event = r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1795648697,"rateLimitType":"five_hour","isUsingOverage":false}}"#;
    assert_eq!(stream.line(event), [AgentEvent::Quota { resets_at: Some(1_795_648_697), message: "the five_hour limit was reached".into() }]);
    // The synthetic message and the result that follow do not report it again.
    let message = r#"{"type":"assistant","message":{"id":"x","model":"<synthetic>","content":[{"type":"text","text":"You've hit your session limit · resets 11:18pm (UTC)"}],"usage":{"input_tokens":0}},"error":"rate_limit"}"#;
    assert!(stream.line(message).is_empty());
    let result = r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"You've hit your session limit · resets 11:18pm (UTC)","total_cost_usd":0}"#;
    assert!(matches!(stream.line(result).as_slice(), [AgentEvent::Result(_)]));
    // On overage credits the session goes on.
    let overage = r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1,"isUsingOverage":true}}"#;
    assert!(ClaudeStream::new().line(overage).is_empty());
    let allowed = r#"{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":1}}"#;
    assert!(ClaudeStream::new().line(allowed).is_empty());
}

#[test]
fn api_key_rate_limits_are_quota() {
    let mut stream = ClaudeStream::new();
    let message = r#"{"type":"assistant","message":{"id":"x","model":"<synthetic>","content":[{"type":"text","text":"API Error: Request rejected (429) · rate limited"}]},"error":"rate_limit"}"#;
    assert_eq!(stream.line(message), [AgentEvent::Quota { resets_at: None, message: "API Error: Request rejected (429) · rate limited".into() }]);
    let result = r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"API Error: Request rejected (429) · rate limited"}"#;
    let events = ClaudeStream::new().line(result);
    assert!(matches!(events.as_slice(), [AgentEvent::Quota { resets_at: None, .. }, AgentEvent::Result(_)]), "{events:?}");
}

#[test]
fn usage_limit_messages() {
    assert_eq!(usage_limit_message("Claude AI usage limit reached|1750000000"), Some(Some(1_750_000_000)));
    assert_eq!(
        usage_limit_message(r#"API Error: 400 {"error":{"message":"You have reached your specified API usage limits. You will regain access on 2025-07-01 at 00:00 UTC."}}"#),
        Some(Some(chrono::Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).single().expect("date").timestamp()))
    );
    assert_eq!(usage_limit_message("Credit balance is too low"), Some(None));
    assert_eq!(usage_limit_message("You've hit your weekly limit · resets Nov 27, 3pm (Europe/Paris)"), Some(None));
    assert!(usage_limit_message("You've hit your session limit · resets 11:18pm (UTC)").is_some_and(|reset| reset.is_some()));
    assert_eq!(usage_limit_message("All tests pass."), None);
}

#[test]
fn reset_times() {
    let now = chrono::Utc.with_ymd_and_hms(2026, 11, 25, 22, 0, 0).single().expect("now");
    let at = |y, mo, d, h, mi| chrono::Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("date").timestamp();
    assert_eq!(parse_reset("11:18pm (UTC)", now), Some(at(2026, 11, 25, 23, 18)));
    assert_eq!(parse_reset("3am (UTC)", now), Some(at(2026, 11, 26, 3, 0)));
    assert_eq!(parse_reset("12am (UTC)", now), Some(at(2026, 11, 26, 0, 0)));
    assert_eq!(parse_reset("Nov 27, 3pm (UTC)", now), Some(at(2026, 11, 27, 15, 0)));
    assert_eq!(parse_reset("Jan 2, 9am (UTC)", now), Some(at(2027, 1, 2, 9, 0)));
    assert_eq!(parse_reset("3pm (Europe/Paris)", now), None);
    assert_eq!(parse_reset("soon", now), None);
}

#[test]
fn cost_estimates_by_family() {
    assert!((estimate_cost("claude-opus-4-8", 1_000_000, 0, 0, 0) - 5.0).abs() < 1e-9);
    assert!((estimate_cost("claude-opus-4-1-20250805", 1_000_000, 0, 0, 0) - 15.0).abs() < 1e-9);
    assert!((estimate_cost("claude-sonnet-4-5", 0, 1_000_000, 0, 0) - 15.0).abs() < 1e-9);
    assert!((estimate_cost("claude-haiku-4-5", 0, 0, 0, 1_000_000) - 0.1).abs() < 1e-9);
}
