//! `night run` with `agent claude`: the real night binary supervising the real Claude Code CLI,
//! which talks to the scripted model server, in a fresh git repository per test.
//!
//! Where Claude Code is not installed these tests print a loud SKIPPED line; with `CI` set they
//! fail instead (`.ci/claude-setup` installs the pinned CLI).

mod support;

use serde_json::json;
use std::io::Write as _;
use std::time::Duration;
use support::model_server::{ModelServer, Script, Turn, Usage};
use support::run::{Ran, Test};

/// The Claude Code to run: `NIGHT_TEST_CLAUDE` or `claude` on PATH, if it passes preflight.
fn claude() -> Option<String> {
    let bin = std::env::var("NIGHT_TEST_CLAUDE").unwrap_or_else(|_| "claude".to_string());
    match night::run::agent::claude::preflight(&bin) {
        Ok(_) => which(&bin),
        Err(error) => {
            assert!(std::env::var_os("CI").is_none(), "Claude Code is not usable and CI is set ({error}): run .ci/claude-setup");
            let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: Claude Code is not usable here ({error}); run .ci/claude-setup. This test did not run. ***\n");
            None
        }
    }
}

fn which(bin: &str) -> Option<String> {
    if bin.contains('/') {
        return Some(bin.to_string());
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(bin)).find(|candidate| candidate.is_file()))
        .map(|path| path.display().to_string())
}

/// A runbook for `agent claude`, with `limits` as given.
fn runbook(bin: &str, limits: &[&str], extra_permissions: &[&str]) -> String {
    let mut text = format!(
        "name \"t\"\n\ntask {{\n  prompt \"Make src/state good and commit.\"\n  agent claude {{\n    bin \"{bin}\"\n  }}\n}}\n\n\
         success {{\n  tests \"sh test.sh\" format tap within 30s\n}}\n\npermissions {{\n  write \"src/**\"\n  deny irreversible\n"
    );
    for line in extra_permissions {
        text.push_str(&format!("  {line}\n"));
    }
    text.push_str("}\n\nlimits {\n");
    for line in limits {
        text.push_str(&format!("  {line}\n"));
    }
    text.push_str("}\n\nnotify {\n  command \"true\" on end\n}\n");
    text
}

/// A repository with the runbook committed, and night's environment pointed at `server`.
fn setup(bin: &str, server: &ModelServer, limits: &[&str]) -> Test {
    let mut test = Test::new();
    test.write("t.night", &runbook(bin, limits, &[]));
    test.commit_all("runbook");
    let home = test.capture.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    for (name, value) in server.claude_env(&home) {
        test.env(&name, &value);
    }
    test.env("GIT_AUTHOR_NAME", "agent").env("GIT_AUTHOR_EMAIL", "agent@example.com");
    test.env("GIT_COMMITTER_NAME", "agent").env("GIT_COMMITTER_EMAIL", "agent@example.com");
    test.deadline = Duration::from_secs(320);
    test
}

/// The turns that make the state good: read it, edit it, commit it.
fn fix_and_commit(script: Script, repo: &std::path::Path) -> Script {
    let state = repo.join("src/state").display().to_string();
    script
        .read(&state)
        .edit(&state, "bad", "good")
        .bash("git add -A && git commit -qm 'state: good'")
        .text("Done: src/state is good and committed.")
}

fn audit(ran: &Ran) -> Vec<night::hook::AuditEntry> {
    night::hook::read_audit(ran.dir())
}

const LIMITS: &[&str] = &["timeout 300s", "attempts 2", "stuck 3", "idle 10m", "tokens 1M"];

#[test]
fn claude_edits_and_commits_and_the_run_succeeds() {
    let Some(bin) = claude() else { return };
    let server = ModelServer::start(Script::new());
    let test = setup(&bin, &server, LIMITS);
    server.set_script(fix_and_commit(Script::new(), test.path()));
    let ran = test.run();
    assert_eq!(ran.code, Some(0), "{}", ran.output());
    assert_eq!(ran.outcome(), "success", "{}", ran.output());
    // The commit is on the run branch, made by the agent through Bash.
    let branch = ran.event("run-start")["branch"].as_str().expect("branch").to_string();
    assert!(test.git(&["log", "--format=%s", &branch]).contains("state: good"));
    // The hooks ran inside Claude Code: every tool call is in the audit trail, allowed.
    let audit = audit(&ran);
    let pre: Vec<_> = audit.iter().filter(|e| e.event == "PreToolUse").map(|e| (e.tool.clone().unwrap_or_default(), e.decision.clone().unwrap_or_default())).collect();
    assert_eq!(pre, [("Read".into(), "allowed".into()), ("Edit".into(), "allowed".into()), ("Bash".into(), "allowed".into())]);
    assert!(audit.iter().any(|e| e.event == "SessionEnd"));
    // The session and its result are journaled; usage was counted.
    let notes = ran.events_named("note");
    assert!(notes.iter().any(|n| n["topic"] == "agent-session" && n["message"].as_str().is_some_and(|m| m.contains("version 2."))), "{notes:?}");
    assert!(notes.iter().any(|n| n["topic"] == "agent-result" && n["message"].as_str().is_some_and(|m| m.contains("success"))), "{notes:?}");
    let usage = ran.events_named("usage");
    let total = usage.last().and_then(|u| u["total_tokens"].as_u64()).expect("usage");
    assert!(total >= 4 * 120, "{usage:?}");
    // The settings night generated are in the run folder, not in the repository.
    assert!(ran.dir().join("claude-settings.json").exists() && ran.dir().join("policy.json").exists());
}

#[test]
fn an_edit_outside_write_is_denied_by_the_hook() {
    let Some(bin) = claude() else { return };
    let server = ModelServer::start(Script::new());
    let test = setup(&bin, &server, LIMITS);
    let readme = test.path().join("README.md").display().to_string();
    server.set_script(fix_and_commit(Script::new().read(&readme).edit(&readme, "a test repository", "hacked"), test.path()));
    let ran = test.run();
    assert_eq!(ran.outcome(), "success", "{}", ran.output());
    assert_eq!(std::fs::read_to_string(test.path().join("README.md")).expect("readme"), "a test repository\n");
    let denied: Vec<_> = audit(&ran).into_iter().filter(night::hook::AuditEntry::is_denial).collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0].path.as_deref(), Some(readme.as_str()));
    assert!(denied[0].reason.as_deref().is_some_and(|r| r.contains("may only write `src/**`")));
    // The model was told, and the report lists the denial.
    let told = server.turn_requests().iter().flat_map(support::model_server::Request::tool_results).any(|(_, error, text)| error && text.contains("night denies writing `README.md`"));
    assert!(told);
    let report = ran.report();
    assert!(report.contains("Denied by the hooks before they ran") && report.contains("README.md"), "{report}");
}

#[test]
fn git_push_is_denied() {
    let Some(bin) = claude() else { return };
    let server = ModelServer::start(Script::new());
    let test = setup(&bin, &server, LIMITS);
    test.git(&["remote", "add", "origin", &test.capture.path().join("nowhere.git").display().to_string()]);
    server.set_script(fix_and_commit(Script::new(), test.path()).insert(3, bash_turn("git push origin HEAD:main")));
    let ran = test.run();
    assert_eq!(ran.outcome(), "success", "{}", ran.output());
    let denied: Vec<_> = audit(&ran).into_iter().filter(night::hook::AuditEntry::is_denial).collect();
    assert_eq!(denied.len(), 1, "{:#?}\n{}", audit(&ran), ran.agent_log());
    assert_eq!(denied[0].command.as_deref(), Some("git push origin HEAD:main"));
    assert!(ran.report().contains("git push origin HEAD:main"));
    assert!(!test.capture.path().join("nowhere.git").exists());
}

fn bash_turn(command: &str) -> Turn {
    Turn::Tools {
        text: None,
        calls: vec![support::model_server::ToolCall { name: "Bash".into(), input: json!({ "command": command, "description": "run" }) }],
        usage: Usage::default(),
    }
}

#[test]
fn the_token_budget_ends_the_run_as_budget() {
    let Some(bin) = claude() else { return };
    let server = ModelServer::start(Script::new());
    let test = setup(&bin, &server, &["timeout 300s", "attempts 2", "stuck 3", "idle 10m", "tokens 5k"]);
    let mut script = Script::new();
    for _ in 0..10 {
        script = script.bash("ls").usage(3000, 100).bash("pwd").usage(3000, 100);
    }
    server.set_script(script);
    let ran = test.run();
    assert_eq!(ran.outcome(), "budget", "{}", ran.output());
    assert_eq!(ran.code, Some(1));
    let limit = ran.event("limit");
    assert_eq!(limit["limit"], "tokens");
    // night stopped Claude Code early: far from every scripted turn was used.
    assert!(server.turns_used() < 10, "{}", server.turns_used());
}

#[test]
fn a_usage_limit_without_quota_wait_ends_the_run_as_budget() {
    let Some(bin) = claude() else { return };
    let server = ModelServer::start(Script::new());
    let mut test = setup(&bin, &server, LIMITS);
    let reset = u64::try_from(chrono::Utc::now().timestamp() + 3600).expect("positive");
    server.set_script(Script::new().bash("ls").usage_limit(reset));
    let ran = subscription(&mut test).run();
    assert_eq!(ran.outcome(), "budget", "{}", ran.output());
    assert_eq!(ran.event("limit")["limit"], "quota");
    assert_eq!(ran.events_named("attempt-start").len(), 1);
}

#[test]
fn a_usage_limit_with_quota_wait_waits_and_goes_on() {
    let Some(bin) = claude() else { return };
    let server = ModelServer::start(Script::new());
    let test = setup(&bin, &server, &["timeout 300s", "attempts 2", "stuck 3", "idle 10m", "tokens 1M", "quota wait 2s"]);
    server.set_script(fix_and_commit(Script::new().rate_limit("Number of request tokens has exceeded your per-minute rate limit"), test.path()));
    let ran = test.run();
    assert_eq!(ran.outcome(), "success", "{}", ran.output());
    // One attempt, two sessions: the second after the wait.
    assert_eq!(ran.events_named("attempt-start").len(), 1);
    let sessions = ran.events_named("session-end");
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions[0]["reason"], "quota");
}

/// Claude Code as a Pro/Max subscriber: an OAuth token instead of an API key, so that it reads
/// the unified rate-limit headers. (`Test::env` appends; the later value wins.)
fn subscription(test: &mut Test) -> &Test {
    test.env("ANTHROPIC_API_KEY", "");
    test.env("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-scripted");
    test
}

#[test]
fn repeated_identical_tool_calls_make_the_run_stuck() {
    let Some(bin) = claude() else { return };
    let server = ModelServer::start(Script::new());
    let test = setup(&bin, &server, &["timeout 300s", "attempts 3", "stuck 3", "idle 10m", "tokens 1M"]);
    server.set_script(Script::new().then(bash_turn("ls src")));
    let ran = test.run();
    assert_eq!(ran.outcome(), "stuck", "{}\n{}", ran.output(), ran.agent_log().chars().take(6000).collect::<String>());
    let limits = ran.events_named("limit");
    let names: Vec<_> = limits.iter().map(|l| l["limit"].as_str().unwrap_or_default()).collect();
    assert_eq!(names, ["tool-loop", "tool-loop", "tool-loop", "stuck"], "{limits:?}");
}

#[test]
fn the_cost_budget_ends_the_run_as_budget() {
    let Some(bin) = claude() else { return };
    let server = ModelServer::start(Script::new());
    let test = setup(&bin, &server, &["timeout 300s", "attempts 2", "stuck 3", "idle 10m", "cost $0.05"]);
    let mut script = Script::new();
    for _ in 0..10 {
        // 20k input tokens a turn: $0.06 at Sonnet's list price, $0.10 at Opus's.
        script = script.bash("ls").usage(20_000, 100).bash("pwd").usage(20_000, 100);
    }
    server.set_script(script);
    let ran = test.run();
    assert_eq!(ran.outcome(), "budget", "{}", ran.output());
    assert_eq!(ran.event("limit")["limit"], "cost");
    assert!(server.turns_used() < 10, "{}", server.turns_used());
}
