//! `night hook EVENT`: the entry point an agent's hooks call (Claude Code: PreToolUse,
//! PostToolUse, PostToolUseFailure, Stop, SessionEnd …).
//!
//! It runs before every tool call, so it is small and fast: it reads the hook's JSON from
//! standard input, finds its run only from `NIGHT_RUN_DIR`, loads the policy the supervisor
//! wrote there at run start (`policy.json`), decides, and appends one line to `audit.jsonl`.
//! No async runtime, no git, no network, no re-check of the runbook.
//!
//! A denial is answered with Claude Code's documented JSON decision on standard output
//! (`hookSpecificOutput.permissionDecision = "deny"` with a one-sentence reason the agent can
//! act on). When the hook itself cannot decide (no run folder, no policy, unreadable input) it
//! fails closed for PreToolUse: exit status 2 with the reason on standard error, which Claude
//! Code also treats as a denial.

use crate::ast::{CommandPattern, Glob, Network, OnViolation, Sandbox};
use crate::plan::{Plan, PlanPermissions};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// The environment variable naming the run folder; the hook's only way to find its run.
pub const RUN_DIR_ENV: &str = "NIGHT_RUN_DIR";
/// The policy file in the run folder.
pub const POLICY_FILE: &str = "policy.json";
/// The audit trail in the run folder.
pub const AUDIT_FILE: &str = "audit.jsonl";
/// The policy itself, as JSON, in the agent's environment: preferred over `policy.json`, which
/// an agent's shell command could rewrite, while the agent's own environment it cannot.
pub const POLICY_ENV: &str = "NIGHT_POLICY";

/// What the hook enforces, precomputed by the supervisor at run start from the [`Plan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// The directory the agent works in (the repository, or the run's worktree), absolute.
    pub repo_root: PathBuf,
    /// `read` globs, repository-relative.
    pub read: Vec<String>,
    /// `write` globs, repository-relative.
    pub write: Vec<String>,
    /// `deny` command patterns.
    pub deny: Vec<String>,
    /// `allow` command patterns (exemptions from `deny`).
    pub allow: Vec<String>,
    /// Whether the built-in irreversible set is denied.
    pub deny_irreversible: bool,
    /// Outbound network for the agent's web tools.
    pub network: PolicyNetwork,
}

/// `network` as the hook applies it to web tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyNetwork {
    /// `network on`.
    On,
    /// `network off`.
    Off,
    /// `network allow "host" …`.
    Allow(Vec<String>),
}

/// The policy could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read or written.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a policy.
    #[error("`{path}` is not a night policy: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// A glob or pattern does not compile.
    #[error("bad pattern `{pattern}` in the policy: {source}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// Why.
        source: globset::Error,
    },
}

impl Policy {
    /// The policy for a plan whose agent works in `repo_root` (the worktree when there is one).
    pub fn from_plan(plan: &Plan, repo_root: &Path) -> Self {
        let permissions = &plan.permissions;
        Self {
            repo_root: repo_root.to_path_buf(),
            read: permissions.read.iter().map(|glob| glob.pattern.clone()).collect(),
            write: permissions.write.iter().map(|glob| glob.pattern.clone()).collect(),
            deny: permissions.deny.iter().map(|pattern| pattern.pattern.clone()).collect(),
            allow: permissions.allow.iter().map(|pattern| pattern.pattern.clone()).collect(),
            deny_irreversible: permissions.deny_irreversible,
            network: match &permissions.network {
                Network::On => PolicyNetwork::On,
                Network::Off => PolicyNetwork::Off,
                Network::Allow(hosts) => PolicyNetwork::Allow(hosts.clone()),
            },
        }
    }

    /// The strictest policy for `repo_root`: nothing may be written, nothing irreversible run,
    /// no network. Used when the run's own policy cannot be read.
    pub fn locked(repo_root: &Path) -> Self {
        Self {
            repo_root: repo_root.to_path_buf(),
            read: vec!["**".into()],
            write: Vec::new(),
            deny: Vec::new(),
            allow: Vec::new(),
            deny_irreversible: true,
            network: PolicyNetwork::Off,
        }
    }

    /// Write `policy.json` into the run folder; returns its path.
    pub fn write_to(&self, run_dir: &Path) -> Result<PathBuf, PolicyError> {
        let path = run_dir.join(POLICY_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|source| PolicyError::Format { path: path.clone(), source })?;
        std::fs::write(&path, text).map_err(|source| PolicyError::Io { action: "write", path: path.clone(), source })?;
        Ok(path)
    }

    /// The policy as one line of JSON (for [`POLICY_ENV`]).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A policy from [`POLICY_ENV`]'s JSON.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        serde_json::from_str(text).map_err(|source| PolicyError::Format { path: PathBuf::from(format!("${POLICY_ENV}")), source })
    }

    /// Read `policy.json` from the run folder.
    pub fn read_from(run_dir: &Path) -> Result<Self, PolicyError> {
        let path = run_dir.join(POLICY_FILE);
        let text = std::fs::read(&path).map_err(|source| PolicyError::Io { action: "read", path: path.clone(), source })?;
        serde_json::from_slice(&text).map_err(|source| PolicyError::Format { path, source })
    }

    /// Compile the globs and patterns.
    pub fn compile(&self) -> Result<CompiledPolicy, PolicyError> {
        let glob = |pattern: &String| Glob::new(pattern).map_err(|source| PolicyError::Pattern { pattern: pattern.clone(), source });
        let command = |pattern: &String| {
            CommandPattern::new(pattern).map_err(|source| PolicyError::Pattern { pattern: pattern.clone(), source })
        };
        let permissions = PlanPermissions {
            read: self.read.iter().map(glob).collect::<Result<_, _>>()?,
            write: self.write.iter().map(glob).collect::<Result<_, _>>()?,
            deny: self.deny.iter().map(command).collect::<Result<_, _>>()?,
            deny_irreversible: self.deny_irreversible,
            allow: self.allow.iter().map(command).collect::<Result<_, _>>()?,
            network: match &self.network {
                PolicyNetwork::On => Network::On,
                PolicyNetwork::Off => Network::Off,
                PolicyNetwork::Allow(hosts) => Network::Allow(hosts.clone()),
            },
            sandbox: Sandbox::Auto,
            on_violation: OnViolation::Revert,
        };
        let repo_root = canonical_prefix(&self.repo_root);
        Ok(CompiledPolicy { repo_root, permissions, write_list: self.write.iter().map(|glob| format!("`{glob}`")).collect::<Vec<_>>().join(", ") })
    }
}

/// A policy ready to decide.
#[derive(Debug)]
pub struct CompiledPolicy {
    repo_root: PathBuf,
    permissions: PlanPermissions,
    write_list: String,
}

/// What the hook decided about one tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the agent's own permission system go on.
    Allow,
    /// Deny, with a one-sentence reason for the agent.
    Deny(String),
}

/// The tools whose input names a file they change, and the input field holding it.
const FILE_TOOLS: &[(&str, &str)] =
    &[("Edit", "file_path"), ("Write", "file_path"), ("MultiEdit", "file_path"), ("NotebookEdit", "notebook_path")];

/// The tools whose input names a file they read.
const READ_TOOLS: &[(&str, &str)] = &[("Read", "file_path"), ("NotebookRead", "notebook_path")];

impl CompiledPolicy {
    /// Decide about one PreToolUse call. `cwd` resolves relative paths (the hook input's `cwd`).
    pub fn decide(&self, tool: &str, input: &Value, cwd: Option<&Path>) -> Decision {
        if let Some((_, field)) = FILE_TOOLS.iter().find(|(name, _)| *name == tool) {
            let Some(path) = input.get(*field).and_then(Value::as_str) else {
                return Decision::Deny(format!("night denies this {tool} call: it names no `{field}`, so night cannot check it against `write`."));
            };
            return self.decide_write(path, cwd);
        }
        if let Some((_, field)) = READ_TOOLS.iter().find(|(name, _)| *name == tool) {
            if let Some(path) = input.get(*field).and_then(Value::as_str) {
                return self.decide_read(path, cwd);
            }
            return Decision::Allow;
        }
        match tool {
            "Bash" => match input.get("command").and_then(Value::as_str) {
                Some(command) => self.decide_command(command),
                None => Decision::Deny("night denies this Bash call: it has no `command` to check.".to_string()),
            },
            "WebFetch" | "WebSearch" => self.decide_network(tool, input),
            _ => Decision::Allow,
        }
    }

    /// Decide about writing a path (absolute, or relative to `cwd`, or to the repository).
    pub fn decide_write(&self, path: &str, cwd: Option<&Path>) -> Decision {
        match self.relative(path, cwd) {
            None => Decision::Deny(format!(
                "night denies writing `{path}`: it is outside the repository, and this run may only write {} inside it.",
                self.write_list
            )),
            Some(relative) if relative == ".git" || relative.starts_with(".git/") => Decision::Deny(format!(
                "night denies writing `{relative}`: git internals are never written directly; use git commands (commit) instead."
            )),
            Some(relative) if self.permissions.may_write(&relative) => Decision::Allow,
            Some(relative) => Decision::Deny(format!(
                "night denies writing `{relative}`: this run may only write {}; make the change there or leave this file alone.",
                self.write_list
            )),
        }
    }

    /// Decide about reading a path: `read` globs apply inside the repository.
    pub fn decide_read(&self, path: &str, cwd: Option<&Path>) -> Decision {
        match self.relative(path, cwd) {
            Some(relative) if !relative.is_empty() && !self.permissions.read.iter().any(|glob| glob.is_match(&relative)) => {
                Decision::Deny(format!("night denies reading `{relative}`: it is outside this run's `read` globs."))
            }
            _ => Decision::Allow,
        }
    }

    /// Decide about a shell command with `deny`, `allow` and `deny irreversible`.
    pub fn decide_command(&self, command: &str) -> Decision {
        match self.permissions.denied(command) {
            None => Decision::Allow,
            Some((part, why)) if why.starts_with("irreversible") => Decision::Deny(format!(
                "night denies `{part}`: it is {why} and this run denies irreversible commands; keep the work local (commit it) and leave this step to the user."
            )),
            Some((part, why)) => Decision::Deny(format!(
                "night denies `{part}`: it matches the denied pattern {why}; do the work without running it."
            )),
        }
    }

    fn decide_network(&self, tool: &str, input: &Value) -> Decision {
        match &self.permissions.network {
            Network::On => Decision::Allow,
            Network::Off => Decision::Deny(format!("night denies {tool}: this run has `network off`; work from the repository's contents.")),
            Network::Allow(hosts) => {
                let host = input.get("url").and_then(Value::as_str).and_then(url_host);
                match host {
                    Some(host) if hosts.iter().any(|allowed| host == *allowed || host.ends_with(&format!(".{allowed}"))) => Decision::Allow,
                    _ => Decision::Deny(format!(
                        "night denies {tool}: this run allows network access only to {}.",
                        hosts.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
        }
    }

    /// The repository-relative form of a path (`/` separators), or `None` outside the repository.
    fn relative(&self, path: &str, cwd: Option<&Path>) -> Option<String> {
        let path = Path::new(path);
        let absolute = if path.is_absolute() { path.to_path_buf() } else { cwd.unwrap_or(&self.repo_root).join(path) };
        let resolved = canonical_prefix(&absolute);
        let relative = resolved.strip_prefix(&self.repo_root).ok()?;
        let parts: Vec<String> = relative.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
        Some(parts.join("/"))
    }
}

/// Resolve `.` and `..` lexically, then symlinks in the longest existing ancestor, so that a
/// path through a symlink that leaves the repository is seen as outside it.
fn canonical_prefix(path: &Path) -> PathBuf {
    let mut lexical = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other.as_os_str()),
        }
    }
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut result = canonical;
            for part in rest.iter().rev() {
                result.push(part);
            }
            return result;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return lexical,
        }
    }
}

fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = host.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// One line of `audit.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The hook event, e.g. `PreToolUse`.
    pub event: String,
    /// The tool, for tool events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The file a file tool names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The shell command a Bash call runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `allowed` or `denied` (PreToolUse); `ok` or `failed` (PostToolUse, PostToolUseFailure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Why it was denied, or the error of a failed tool or turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The agent's session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The agent's id for the tool call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
}

impl AuditEntry {
    /// Whether this entry records a denial.
    pub fn is_denial(&self) -> bool {
        self.decision.as_deref() == Some("denied")
    }
}

/// Read every entry of a run's `audit.jsonl`, if there is one. Lines that do not parse (torn by
/// a killed hook, or from a newer night) are skipped, not fatal.
pub fn try_read_audit(run_dir: &Path) -> Option<Vec<AuditEntry>> {
    let bytes = std::fs::read(run_dir.join(AUDIT_FILE)).ok()?;
    Some(bytes.split(|b| *b == b'\n').filter_map(|line| serde_json::from_slice(line).ok()).collect())
}

/// Every entry of a run's `audit.jsonl`; none without one.
pub fn read_audit(run_dir: &Path) -> Vec<AuditEntry> {
    try_read_audit(run_dir).unwrap_or_default()
}

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
            entry.decision = Some("failed".into());
            entry.reason = text("error");
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

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("https://user@docs.rs:443/x?y"), Some("docs.rs"));
        assert_eq!(url_host("example.com/path"), Some("example.com"));
        assert_eq!(url_host("https:///x"), None);
    }
}
