//! `night hook EVENT`: the entry point an agent's hooks call (Claude Code: PreToolUse,
//! PostToolUse, PostToolUseFailure, Stop, SessionEnd …).
//!
//! It runs before every tool call, so it is small and fast: it reads the hook's JSON from
//! standard input, finds its run only from `NIGHT_RUN_DIR`, loads the policy the supervisor
//! wrote there at run start (`policy.json`), decides, and appends one line to `audit.jsonl`.
//! No async runtime, no git, no network, no re-check of the runbook. What the policy means
//! (write, deny, allow, irreversible) is [`crate::policy`]'s; this file is only the command.
//!
//! A denial is answered with Claude Code's documented JSON decision on standard output
//! (`hookSpecificOutput.permissionDecision = "deny"` with a one-sentence reason the agent can
//! act on). When the hook itself cannot decide (no run folder, no policy, unreadable input) it
//! fails closed for PreToolUse: exit status 2 with the reason on standard error, which Claude
//! Code also treats as a denial.

// The policy and the audit trail live in `policy/`; callers that name them here keep working.
pub use crate::policy::audit::{read_audit, try_read_audit, AuditEntry, AUDIT_FILE};
pub use crate::policy::decide::{CompiledPolicy, Decision, Policy, PolicyError, PolicyNetwork, POLICY_ENV, POLICY_FILE, RUN_DIR_ENV};

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the process prints and returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HookOutput {
    /// Exit status.
    pub code: u8,
    /// Standard output (the JSON decision).
    pub stdout: String,
    /// Standard error (the reason, when failing closed).
    pub stderr: String,
}

/// The canonical event name: `pre-tool-use`, `pretooluse` and `PreToolUse` are the same.
pub fn canonical_event(event: &str) -> String {
    const KNOWN: &[&str] = &[
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PermissionDenied",
        "Stop",
        "StopFailure",
        "SubagentStop",
        "SessionStart",
        "SessionEnd",
        "Notification",
        "UserPromptSubmit",
        "PreCompact",
        REFUSED_PUSH,
    ];
    let folded: String = event.chars().filter(|c| *c != '-' && *c != '_').flat_map(char::to_lowercase).collect();
    KNOWN.iter().find(|known| known.to_lowercase() == folded).map_or_else(|| event.to_string(), |known| (*known).to_string())
}

/// Handle one hook call: `event` from the command line, `input` from standard input, `run_dir`
/// from `NIGHT_RUN_DIR`, `inline_policy` from `NIGHT_POLICY` (else `policy.json` is read).
pub fn handle(event: &str, input: &[u8], run_dir: Option<&Path>, inline_policy: Option<&str>) -> HookOutput {
    let event = canonical_event(event);
    let pre = event == "PreToolUse";
    let fail = |message: String| {
        if pre {
            HookOutput { code: 2, stdout: String::new(), stderr: format!("{message}\n") }
        } else {
            HookOutput::default()
        }
    };
    if event == REFUSED_PUSH {
        if let Some(run_dir) = run_dir {
            append_audit(run_dir, &refused_push(input));
        }
        return HookOutput::default();
    }
    let Some(run_dir) = run_dir else {
        return fail(format!(
            "night hook: `{RUN_DIR_ENV}` is not set, so night cannot find its run; this tool call is denied until the agent runs under `night run`."
        ));
    };
    let input: Value = match serde_json::from_slice(input) {
        Ok(value) => value,
        Err(error) => return fail(format!("night hook: the hook input is not JSON ({error}); this tool call is denied.")),
    };
    let text = |key: &str| input.get(key).and_then(Value::as_str).map(str::to_string);
    let tool = text("tool_name");
    let tool_input = input.get("tool_input").cloned().unwrap_or(Value::Null);
    let field = |key: &str| tool_input.get(key).and_then(Value::as_str).map(str::to_string);
    let mut entry = AuditEntry {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        event: event.clone(),
        tool: tool.clone(),
        path: field("file_path").or_else(|| field("notebook_path")).or_else(|| field("path")).or_else(|| field("url")),
        command: field("command"),
        decision: None,
        reason: None,
        session_id: text("session_id"),
        tool_use_id: text("tool_use_id"),
    };
    let mut output = HookOutput::default();
    match event.as_str() {
        "PreToolUse" => {
            let policy = match inline_policy {
                Some(text) => Policy::from_json(text),
                None => Policy::read_from(run_dir),
            };
            let decision = match policy.and_then(|policy| policy.compile()) {
                Ok(policy) => {
                    let cwd = text("cwd").map(PathBuf::from);
                    policy.decide(tool.as_deref().unwrap_or_default(), &tool_input, cwd.as_deref())
                }
                Err(error) => {
                    let reason = format!("night hook: {error}; this tool call is denied.");
                    entry.decision = Some("denied".into());
                    entry.reason = Some(reason.clone());
                    append_audit(run_dir, &entry);
                    return fail(reason);
                }
            };
            match decision {
                Decision::Allow => entry.decision = Some("allowed".into()),
                Decision::Deny(reason) => {
                    entry.decision = Some("denied".into());
                    output.stdout = serde_json::json!({
                        "hookSpecificOutput": {
                            "hookEventName": "PreToolUse",
                            "permissionDecision": "deny",
                            "permissionDecisionReason": reason,
                        }
                    })
                    .to_string();
                    entry.reason = Some(reason);
                }
            }
        }
        "PostToolUse" => entry.decision = Some("ok".into()),
        "PostToolUseFailure" => {
            // A command that night's layers (or the OS sandbox) stopped after the hook let it
            // run counts as a denial; its reason is the line that says so.
            let error = text("error");
            match error.as_deref().and_then(refusal_line) {
                Some(line) => {
                    entry.decision = Some("denied".into());
                    entry.reason = Some(line);
                }
                None => {
                    entry.decision = Some("failed".into());
                    entry.reason = error;
                }
            }
        }
        "PermissionDenied" => {
            entry.decision = Some("denied".into());
            entry.reason = text("reason").or_else(|| text("message")).or_else(|| Some("denied by the agent's permission rules".into()));
        }
        "StopFailure" => entry.reason = text("error"),
        "SessionEnd" => entry.reason = text("reason"),
        _ => {}
    }
    append_audit(run_dir, &entry);
    output
}

/// What night's layers print when they refuse something (git's helper, the proxy), and what
/// the OS says when the sandbox refuses a write (Landlock: EACCES; a read-only mount: EROFS).
const LAYER_REFUSALS: &[&str] = &["night: pushing is refused during this run", "is not in the runbook's `network allow` list"];

/// The line of a failed tool's error that says night's layers or the sandbox refused it
/// (bounded), if one does.
fn refusal_line(error: &str) -> Option<String> {
    let line = error.lines().find(|line| LAYER_REFUSALS.iter().chain(crate::sandbox::OS_REFUSALS).any(|said| line.contains(said)))?;
    Some(line.trim().chars().take(300).collect())
}

/// The event night's git helper sends (`git-remote-night-refused`): a push git refused during
/// the run, whatever the agent typed; standard input holds the remote's URL.
pub const REFUSED_PUSH: &str = "RefusedPush";

fn refused_push(input: &[u8]) -> AuditEntry {
    // A password in the URL (`https://user:token@host/…`) stays out of the audit trail and the report.
    let url = crate::secrets::without_passwords(String::from_utf8_lossy(input).trim()).chars().take(500).collect::<String>();
    AuditEntry {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        event: REFUSED_PUSH.to_string(),
        tool: Some("git push".to_string()),
        path: None,
        command: Some(format!("git push to {url}")),
        decision: Some("denied".to_string()),
        reason: Some("git refused the push: during the run every push goes to night's helper, which refuses it".to_string()),
        session_id: None,
        tool_use_id: None,
    }
}

/// Append one line with a single `write`, so that concurrent hooks do not interleave.
fn append_audit(run_dir: &Path, entry: &AuditEntry) {
    let Ok(mut line) = serde_json::to_string(entry) else { return };
    line.push('\n');
    let file = std::fs::OpenOptions::new().create(true).append(true).open(run_dir.join(AUDIT_FILE));
    if let Ok(mut file) = file {
        let _ = file.write_all(line.as_bytes());
    }
}

/// The `night hook` command: read standard input, decide, print; returns the exit status.
pub fn main(event: &str) -> u8 {
    use std::io::Read;
    let mut input = Vec::new();
    let _ = std::io::stdin().lock().read_to_end(&mut input);
    let run_dir = std::env::var_os(RUN_DIR_ENV).filter(|dir| !dir.is_empty()).map(PathBuf::from);
    let inline = std::env::var(POLICY_ENV).ok().filter(|text| !text.is_empty());
    let output = handle(event, &input, run_dir.as_deref(), inline.as_deref());
    if !output.stdout.is_empty() {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", output.stdout);
        let _ = stdout.flush();
    }
    if !output.stderr.is_empty() {
        let _ = std::io::stderr().lock().write_all(output.stderr.as_bytes());
    }
    output.code
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(root: &Path) -> Policy {
        Policy {
            repo_root: root.to_path_buf(),
            read: vec!["**".into()],
            write: vec!["src/**".into(), "README.md".into()],
            deny: vec!["rm -rf *".into()],
            allow: vec!["git push origin night/*".into()],
            deny_irreversible: true,
            network: PolicyNetwork::Off,
        }
    }

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = dir.path().join("repo");
        let run = repo.join(".night/runs/r1");
        std::fs::create_dir_all(repo.join("src")).expect("mkdir");
        std::fs::create_dir_all(&run).expect("mkdir");
        policy(&repo).write_to(&run).expect("write policy");
        (dir, repo, run)
    }

    fn pre(run: &Path, tool: &str, input: Value, cwd: &Path) -> HookOutput {
        let payload = json!({ "session_id": "s1", "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": input, "cwd": cwd, "tool_use_id": "t1" });
        handle("PreToolUse", payload.to_string().as_bytes(), Some(run), None)
    }

    fn denied_reason(output: &HookOutput) -> Option<String> {
        let value: Value = serde_json::from_str(&output.stdout).ok()?;
        assert_eq!(value["hookSpecificOutput"]["permissionDecision"], "deny");
        value["hookSpecificOutput"]["permissionDecisionReason"].as_str().map(str::to_string)
    }

    #[test]
    fn writes_inside_the_globs_are_allowed_and_audited() {
        let (_dir, repo, run) = setup();
        let output = pre(&run, "Edit", json!({ "file_path": repo.join("src/lib.rs"), "old_string": "a", "new_string": "b" }), &repo);
        assert_eq!(output, HookOutput::default());
        let output = pre(&run, "Write", json!({ "file_path": "README.md", "content": "x" }), &repo);
        assert_eq!(output, HookOutput::default());
        let audit = read_audit(&run);
        assert_eq!(audit.len(), 2);
        assert_eq!(audit[0].decision.as_deref(), Some("allowed"));
        assert_eq!(audit[0].tool.as_deref(), Some("Edit"));
        assert_eq!(audit[1].path.as_deref(), Some("README.md"));
    }

    #[test]
    fn a_folder_without_a_glob_means_its_contents() {
        let (_dir, repo, run) = setup();
        let mut folder = policy(&repo);
        folder.write = vec!["src".into()];
        folder.write_to(&run).expect("write policy");
        let output = pre(&run, "Edit", json!({ "file_path": repo.join("src/deep/lib.rs"), "old_string": "a", "new_string": "b" }), &repo);
        assert_eq!(output, HookOutput::default(), "`write \"src\"` allows what is under `src/`");
        let output = pre(&run, "Write", json!({ "file_path": repo.join("srcs/x"), "content": "x" }), &repo);
        assert!(denied_reason(&output).is_some(), "`srcs/x` is not under `src/`");
    }

    #[test]
    fn writes_outside_the_globs_are_denied_with_a_reason() {
        let (_dir, repo, run) = setup();
        let output = pre(&run, "Write", json!({ "file_path": repo.join("docs/x.md"), "content": "x" }), &repo);
        let reason = denied_reason(&output).expect("denied");
        assert_eq!(output.code, 0);
        assert!(reason.contains("`docs/x.md`") && reason.contains("`src/**`"), "{reason}");
        let output = pre(&run, "MultiEdit", json!({ "file_path": "../outside.txt", "edits": [] }), &repo);
        assert!(denied_reason(&output).expect("denied").contains("outside the repository"));
        let output = pre(&run, "NotebookEdit", json!({ "notebook_path": "src/../.git/config" }), &repo);
        assert!(denied_reason(&output).expect("denied").contains("git internals"));
        let output = pre(&run, "Edit", json!({ "old_string": "a" }), &repo);
        assert!(denied_reason(&output).is_some());
        let audit = read_audit(&run);
        assert_eq!(audit.iter().filter(|entry| entry.is_denial()).count(), 4);
        assert!(audit[0].reason.as_deref().is_some_and(|reason| reason.contains("docs/x.md")));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_leaving_the_repository_is_outside() {
        let (dir, repo, run) = setup();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).expect("mkdir");
        std::os::unix::fs::symlink(&elsewhere, repo.join("src/link")).expect("symlink");
        let output = pre(&run, "Write", json!({ "file_path": "src/link/x.rs", "content": "x" }), &repo);
        assert!(denied_reason(&output).expect("denied").contains("outside the repository"));
    }

    #[test]
    fn commands_follow_deny_allow_and_irreversible() {
        let (_dir, repo, run) = setup();
        let reason = denied_reason(&pre(&run, "Bash", json!({ "command": "cargo test && git push origin main" }), &repo)).expect("denied");
        assert!(reason.contains("`git push origin main`") && reason.contains("irreversible"), "{reason}");
        assert_eq!(pre(&run, "Bash", json!({ "command": "git push origin night/x" }), &repo), HookOutput::default());
        let reason = denied_reason(&pre(&run, "Bash", json!({ "command": "ls | rm -rf build" }), &repo)).expect("denied");
        assert!(reason.contains("`rm -rf *`"), "{reason}");
        assert_eq!(pre(&run, "Bash", json!({ "command": "cargo test" }), &repo), HookOutput::default());
        let audit = read_audit(&run);
        assert_eq!(audit[0].command.as_deref(), Some("cargo test && git push origin main"));
    }

    #[test]
    fn shell_commands_that_name_a_file_outside_write_are_denied_with_a_reason() {
        let (_dir, repo, run) = setup();
        for command in ["git rm -q tests/test_a.py", "rm docs/x.md", "echo x > NOTES.txt", "sed -i 's/a/b/' setup.py", "mv src/a.rs docs/a.rs", "cd docs && truncate -s 0 x.md", "echo x | tee -a /srv/elsewhere.txt"] {
            let reason = denied_reason(&pre(&run, "Bash", json!({ "command": command }), &repo)).unwrap_or_else(|| panic!("`{command}` was allowed"));
            assert!(reason.contains("`src/**`") || reason.contains("outside the repository"), "{command}: {reason}");
        }
        let reason = denied_reason(&pre(&run, "Bash", json!({ "command": "git rm -q tests/test_a.py" }), &repo)).expect("denied");
        assert!(reason.contains("night denies `git rm -q tests/test_a.py`: it writes `tests/test_a.py`"), "{reason}");
        // A redirection is shown with the command it belongs to, never as an empty one.
        for (command, shown) in [("echo x >> NOTES.txt", "echo x >> NOTES.txt"), ("> NOTES.txt", "> NOTES.txt"), ("cargo test 2> log.txt", "cargo test 2> log.txt")] {
            let reason = denied_reason(&pre(&run, "Bash", json!({ "command": command }), &repo)).expect("denied");
            assert!(reason.contains(&format!("night denies `{shown}`: it writes")), "{command}: {reason}");
        }
        let tmp = std::env::temp_dir().join("night-hook-test.log");
        for command in ["rm src/old.rs", "echo x > src/new.rs", "cargo test > /dev/null 2>&1", "sed -i 's/a/b/' src/lib.rs", "rm \"$FILE\"", "cd \"$DIR\" && rm x"] {
            assert_eq!(pre(&run, "Bash", json!({ "command": command }), &repo), HookOutput::default(), "{command}");
        }
        let command = format!("cargo test > {} && echo x > /tmp/night-x", tmp.display());
        assert_eq!(pre(&run, "Bash", json!({ "command": command }), &repo), HookOutput::default());
    }

    #[test]
    fn a_write_the_sandbox_refused_is_a_denial() {
        let (_dir, _repo, run) = setup();
        let failure = json!({ "tool_name": "Bash", "tool_input": { "command": "git rm -q tests/a.py" }, "error": "Exit code 128\nfatal: Unable to create '/r/.git/index.lock': Read-only file system" });
        handle("PostToolUseFailure", failure.to_string().as_bytes(), Some(&run), None);
        let failure = json!({ "tool_name": "Bash", "tool_input": { "command": "echo > NOTES.txt" }, "error": "Exit code 2\n/bin/sh: 1: cannot create NOTES.txt: Permission denied" });
        handle("PostToolUseFailure", failure.to_string().as_bytes(), Some(&run), None);
        let audit = read_audit(&run);
        assert!(audit.iter().all(AuditEntry::is_denial), "{audit:?}");
        assert_eq!(audit[1].reason.as_deref(), Some("/bin/sh: 1: cannot create NOTES.txt: Permission denied"));
    }

    #[test]
    fn web_tools_follow_network() {
        let (_dir, repo, run) = setup();
        assert!(denied_reason(&pre(&run, "WebFetch", json!({ "url": "https://example.com" }), &repo)).is_some());
        assert_eq!(pre(&run, "Read", json!({ "file_path": repo.join("src/lib.rs") }), &repo), HookOutput::default());
        let mut allow = policy(&repo);
        allow.network = PolicyNetwork::Allow(vec!["docs.rs".into()]);
        let compiled = allow.compile().expect("compile");
        assert_eq!(compiled.decide("WebFetch", &json!({ "url": "https://docs.rs/serde" }), None), Decision::Allow);
        assert!(matches!(compiled.decide("WebFetch", &json!({ "url": "https://evil.com/docs.rs" }), None), Decision::Deny(_)));
    }

    #[test]
    fn it_fails_closed_without_a_run_or_policy() {
        let output = handle("PreToolUse", b"{}", None, None);
        assert_eq!(output.code, 2);
        assert!(output.stderr.contains("NIGHT_RUN_DIR"));
        let dir = tempfile::tempdir().expect("temp dir");
        let output = handle("pre-tool-use", b"{\"tool_name\":\"Bash\"}", Some(dir.path()), None);
        assert_eq!(output.code, 2);
        assert!(output.stderr.contains("policy.json"), "{}", output.stderr);
        assert_eq!(handle("PreToolUse", b"not json", Some(dir.path()), None).code, 2);
        // Events after the fact never block.
        assert_eq!(handle("PostToolUse", b"{}", None, None), HookOutput::default());
    }

    #[test]
    fn post_and_end_events_are_recorded() {
        let (_dir, _repo, run) = setup();
        let failure = json!({ "tool_name": "Bash", "tool_input": { "command": "false" }, "error": "Exit code 1" });
        handle("PostToolUseFailure", failure.to_string().as_bytes(), Some(&run), None);
        handle("PostToolUse", json!({ "tool_name": "Read", "tool_input": { "file_path": "a" } }).to_string().as_bytes(), Some(&run), None);
        handle("Stop", b"{\"session_id\":\"s\"}", Some(&run), None);
        handle("SessionEnd", b"{\"reason\":\"other\"}", Some(&run), None);
        let audit = read_audit(&run);
        let events: Vec<_> = audit.iter().map(|entry| (entry.event.as_str(), entry.decision.as_deref())).collect();
        assert_eq!(
            events,
            [("PostToolUseFailure", Some("failed")), ("PostToolUse", Some("ok")), ("Stop", None), ("SessionEnd", None)]
        );
        assert_eq!(audit[0].reason.as_deref(), Some("Exit code 1"));
    }

    #[test]
    fn the_policy_in_the_environment_wins_over_a_rewritten_file() {
        let (_dir, repo, run) = setup();
        let inline = policy(&repo).to_json();
        let mut loose = policy(&repo);
        loose.write = vec!["**".into()];
        loose.write_to(&run).expect("rewrite");
        let payload = json!({ "tool_name": "Write", "tool_input": { "file_path": "docs/x.md", "content": "x" }, "cwd": repo });
        let output = handle("PreToolUse", payload.to_string().as_bytes(), Some(&run), Some(&inline));
        assert!(denied_reason(&output).is_some());
        assert_eq!(handle("PreToolUse", payload.to_string().as_bytes(), Some(&run), None), HookOutput::default());
        assert_eq!(handle("PreToolUse", payload.to_string().as_bytes(), Some(&run), Some("{")).code, 2);
    }

    #[test]
    fn event_names_are_canonical() {
        assert_eq!(canonical_event("pre-tool-use"), "PreToolUse");
        assert_eq!(canonical_event("post_tool_use_failure"), "PostToolUseFailure");
        assert_eq!(canonical_event("SessionEnd"), "SessionEnd");
        assert_eq!(canonical_event("Whatever"), "Whatever");
    }

}
