//! The other agents' real CLIs against the scripted model server, where their packages install
//! here: Codex (`@openai/codex`, Responses API). Each prints a loud SKIPPED line when its CLI is
//! missing, and fails under `CI` (`.ci/agents-setup` installs them).

#[path = "support/model_server.rs"]
mod model_server;
#[path = "support/git.rs"]
mod git_support;

use git_support::git;
use model_server::{ModelServer, Script};
use night::run::agent::codex::{CodexOptions, CodexStream};
use night::run::agent::stream::{AgentEvent, Ending};
use night::hook::PolicyNetwork;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

fn require(bin: &str, setup: &str) -> bool {
    let found = Command::new(bin).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "`{bin}` is missing and CI is set: run {setup}");
        // Straight to the process's stderr: the harness captures `eprintln!` of a passing test.
        let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: `{bin}` is not installed here (run {setup}); this test did not run. ***\n");
    }
    found
}


fn repo(dir: &Path) -> std::path::PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("src")).expect("mkdir");
    std::fs::write(repo.join("src/lib.txt"), "one\n").expect("write");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "start"]);
    repo
}

/// Codex pointed at the scripted server through a custom model provider (`args` in the runbook).
fn codex_options(server: &ModelServer) -> CodexOptions {
    let provider = [
        "model_provider=\"scripted\"".to_string(),
        "model_providers.scripted.name=\"scripted\"".to_string(),
        format!("model_providers.scripted.base_url=\"{}/v1\"", server.url()),
        "model_providers.scripted.wire_api=\"responses\"".to_string(),
        "model_providers.scripted.env_key=\"OPENAI_API_KEY\"".to_string(),
        "model_providers.scripted.request_max_retries=0".to_string(),
        "model_providers.scripted.stream_max_retries=0".to_string(),
    ];
    CodexOptions(night::run::agent::AgentOptions { bin: None, model: Some("gpt-5-codex".into()), args: provider.iter().flat_map(|c| ["-c".to_string(), c.clone()]).collect(), max_turns: None })
}

fn run_codex(server: &ModelServer, dir: &Path, repo: &Path, prompt: &str) -> Vec<AgentEvent> {
    run_codex_with(server, dir, repo, prompt, None)
}

/// With `run_dir`, night's hooks are registered and find their policy there.
fn run_codex_with(server: &ModelServer, dir: &Path, repo: &Path, prompt: &str, run_dir: Option<&Path>) -> Vec<AgentEvent> {
    let options = codex_options(server);
    let night = Path::new(env!("CARGO_BIN_EXE_night"));
    let (args, stdin) = options.arguments(prompt, repo, &PolicyNetwork::Off, run_dir.map(|_| night));
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".codex")).expect("mkdir");
    let mut child = Command::new(options.program())
        .args(&args)
        .current_dir(repo)
        .env("HOME", &home)
        .env("CODEX_HOME", home.join(".codex"))
        .env("OPENAI_API_KEY", "sk-scripted")
        .env("NIGHT_RUN_DIR", run_dir.unwrap_or(Path::new("")))
        .env("GIT_AUTHOR_NAME", "agent")
        .env("GIT_AUTHOR_EMAIL", "agent@example.com")
        .env("GIT_COMMITTER_NAME", "agent")
        .env("GIT_COMMITTER_EMAIL", "agent@example.com")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("codex runs");
    if let Some(mut input) = child.stdin.take() {
        use std::io::Write;
        input.write_all(&stdin).expect("prompt");
    }
    let output = child.wait_with_output().expect("codex ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut stream = CodexStream::new();
    let events: Vec<_> = stdout.lines().flat_map(|line| stream.line(line)).collect();
    assert!(!events.is_empty(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    events
}

#[test]
fn codex_runs_commits_and_reports_usage() {
    if !require("codex", ".ci/agents-setup") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = repo(dir.path());
    let server = ModelServer::start(
        Script::new()
            .exec("echo two >> src/lib.txt && git add -A && git commit -qm 'two' && git log --oneline | head -1")
            .usage(1000, 50)
            .text("Committed."),
    );
    let events = run_codex(&server, dir.path(), &repo, "Add a line and commit.");
    assert!(git(&repo, &["log", "--oneline"]).contains("two"), "{events:?}");
    assert!(matches!(&events[0], AgentEvent::Init { session_id, .. } if !session_id.is_empty()));
    let calls: Vec<_> = events.iter().filter_map(|e| match e { AgentEvent::ToolCall { signature, .. } => Some(signature.as_str()), _ => None }).collect();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].starts_with("command_execution ") && calls[0].contains("git commit"), "{calls:?}");
    let tokens: u64 = events.iter().map(|e| match e { AgentEvent::Usage { tokens, .. } => *tokens, _ => 0 }).sum();
    assert!(tokens >= 1050 + 120, "{tokens}");
    assert!(matches!(events.last(), Some(AgentEvent::Result(result)) if result.ending() == Ending::Done));
    // The prompt went through standard input.
    let first = &server.turn_requests()[0];
    assert!(first.body.to_string().contains("Add a line and commit."));
}

#[test]
fn codex_runs_night_hook_before_each_command() {
    if !require("codex", ".ci/agents-setup") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = repo(dir.path());
    let run_dir = dir.path().join("run");
    std::fs::create_dir_all(&run_dir).expect("mkdir");
    let policy = night::hook::Policy { write: vec!["src/**".into()], ..night::hook::Policy::locked(&repo) };
    policy.write_to(&run_dir).expect("policy");
    let server = ModelServer::start(Script::new().exec("git push origin main").exec("echo two >> src/lib.txt").text("Done."));
    let events = run_codex_with(&server, dir.path(), &repo, "Push, then add a line.", Some(&run_dir));
    assert!(matches!(events.last(), Some(AgentEvent::Result(result)) if !result.is_error), "{events:?}");
    // The push was denied before it ran, and Codex told the model why; the second command ran.
    let audit = night::hook::read_audit(&run_dir);
    let pre: Vec<_> = audit.iter().filter(|e| e.event == "PreToolUse").map(|e| (e.command.clone().unwrap_or_default(), e.decision.clone().unwrap_or_default())).collect();
    assert_eq!(pre, [("git push origin main".to_string(), "denied".to_string()), ("echo two >> src/lib.txt".to_string(), "allowed".to_string())], "{audit:#?}");
    let told = server.turn_requests()[1].body.to_string();
    assert!(told.contains("night denies `git push origin main`"), "{told}");
    assert_eq!(std::fs::read_to_string(repo.join("src/lib.txt")).expect("lib"), "one\ntwo\n");
}

#[test]
fn codex_usage_limit_is_quota() {
    if !require("codex", ".ci/agents-setup") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = repo(dir.path());
    let server = ModelServer::start(Script::new().turn(model_server::Turn::Error {
        status: 429,
        body: serde_json::json!({ "error": { "type": "usage_limit_reached", "message": "The usage limit has been reached", "plan_type": "plus" } }),
        headers: Vec::new(),
    }));
    let events = run_codex(&server, dir.path(), &repo, "Work.");
    assert_eq!(events.iter().filter(|e| matches!(e, AgentEvent::Quota { .. })).count(), 1, "{events:?}");
    assert!(matches!(events.last(), Some(AgentEvent::Result(result)) if result.is_error));
}

fn run_gemini(server: &ModelServer, dir: &Path, repo: &Path, prompt: &str) -> (Vec<AgentEvent>, String) {
    let options = night::run::agent::gemini::GeminiOptions::default();
    let (args, _) = options.arguments(prompt);
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".gemini")).expect("mkdir");
    // An API key, not the gateway auth that GOOGLE_GEMINI_BASE_URL alone selects.
    std::fs::write(home.join(".gemini/settings.json"), r#"{"security":{"auth":{"selectedType":"gemini-api-key"}}}"#).expect("settings");
    let output = Command::new(options.program())
        .args(&args)
        .current_dir(repo)
        .env("HOME", &home)
        .env("GEMINI_API_KEY", "scripted")
        .env("GOOGLE_GEMINI_BASE_URL", server.url())
        .env("GIT_AUTHOR_NAME", "agent")
        .env("GIT_AUTHOR_EMAIL", "agent@example.com")
        .env("GIT_COMMITTER_NAME", "agent")
        .env("GIT_COMMITTER_EMAIL", "agent@example.com")
        .stdin(Stdio::null())
        .output()
        .expect("gemini runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut stream = night::run::agent::gemini::GeminiStream::new();
    let events: Vec<_> = stdout.lines().flat_map(|line| stream.line(line)).collect();
    (events, format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn gemini_runs_commits_and_reports_usage() {
    if !require("gemini", ".ci/agents-setup") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = repo(dir.path());
    let server = ModelServer::start(
        Script::new().shell("echo two >> src/lib.txt && git add -A && git commit -qm 'two'").usage(1000, 50).text("Committed."),
    );
    let (events, output) = run_gemini(&server, dir.path(), &repo, "-Add a line and commit.");
    assert!(git(&repo, &["log", "--oneline"]).contains("two"), "{output}");
    assert!(matches!(&events[0], AgentEvent::Init { session_id, .. } if !session_id.is_empty()), "{output}");
    let calls: Vec<_> = events.iter().filter_map(|e| match e { AgentEvent::ToolCall { name, .. } => Some(name.as_str()), _ => None }).collect();
    assert_eq!(calls, ["run_shell_command"]);
    let tokens: u64 = events.iter().map(|e| match e { AgentEvent::Usage { tokens, .. } => *tokens, _ => 0 }).sum();
    assert!(tokens >= 1050, "{tokens}");
    assert!(matches!(events.last(), Some(AgentEvent::Result(result)) if result.ending() == Ending::Done), "{output}");
    assert!(server.turn_requests()[0].body.to_string().contains("-Add a line and commit."));
}

#[test]
fn gemini_quota_is_reported() {
    if !require("gemini", ".ci/agents-setup") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = repo(dir.path());
    let exhausted = model_server::Turn::Error {
        status: 429,
        body: serde_json::json!({ "error": { "code": 429, "message": "You exceeded your current quota, please check your plan and billing details.", "status": "RESOURCE_EXHAUSTED",
            "details": [{ "@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{ "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier" }] }] } }),
        headers: Vec::new(),
    };
    let server = ModelServer::start(Script::new().turn(exhausted.clone()).then(exhausted));
    let (events, output) = run_gemini(&server, dir.path(), &repo, "Work.");
    assert_eq!(events.iter().filter(|e| matches!(e, AgentEvent::Quota { .. })).count(), 1, "{output}");
}

#[test]
fn aider_edits_commits_and_reports_usage() {
    let aider = std::env::var("NIGHT_TEST_AIDER").unwrap_or_else(|_| "aider".to_string());
    if !require(&aider, ".ci/agents-setup") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = repo(dir.path());
    let run_dir = repo.join(".night/runs/demo-1");
    std::fs::create_dir_all(&run_dir).expect("mkdir");
    std::fs::write(repo.join(".git/info/exclude"), ".night/\n").expect("exclude");
    let prompt = run_dir.join("prompt-1-1.md");
    std::fs::write(&prompt, "Add a line `two` to src/lib.txt.").expect("prompt");
    // aider's "whole" edit format for an unknown model: the file's new content in a fence.
    let server = ModelServer::start(Script::new().text("src/lib.txt\n```\none\ntwo\n```\n").usage(2000, 40));
    let options = night::run::agent::aider::AiderOptions(night::run::agent::AgentOptions {
        bin: Some(aider.clone()),
        model: Some("openai/scripted".into()),
        args: vec!["--openai-api-base".into(), format!("{}/v1", server.url()), "--map-tokens".into(), "0".into(), "src/lib.txt".into()],
        max_turns: None,
    });
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    let output = Command::new(options.program())
        .args(options.arguments(&prompt, &run_dir))
        .current_dir(&repo)
        .envs(night::run::agent::aider::AiderOptions::env())
        .env("HOME", &home)
        .env("OPENAI_API_KEY", "sk-scripted")
        .env("GIT_AUTHOR_NAME", "agent")
        .env("GIT_AUTHOR_EMAIL", "agent@example.com")
        .env("GIT_COMMITTER_NAME", "agent")
        .env("GIT_COMMITTER_EMAIL", "agent@example.com")
        .stdin(Stdio::null())
        .output()
        .expect("aider runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(std::fs::read_to_string(repo.join("src/lib.txt")).expect("lib"), "one\ntwo\n", "{stdout}");
    assert_eq!(git(&repo, &["log", "--oneline"]).lines().count(), 2, "aider committed its edit");
    // Nothing outside the edited file: history files went to the run folder.
    assert_eq!(git(&repo, &["status", "--porcelain"]), "", "{stdout}");
    assert!(run_dir.join("aider.chat.history.md").exists());
    let mut stream = night::run::agent::aider::AiderStream::new();
    let tokens: u64 = stdout.lines().flat_map(|line| stream.line(line)).map(|e| match e { AgentEvent::Usage { tokens, .. } => tokens, _ => 0 }).sum();
    assert!(tokens > 0, "{stdout}");
}
