//! What the hook enforces, precomputed by the supervisor at run start from the plan, and how
//! it decides about one tool call: a file tool's path against `read`/`write`, a shell command
//! against `deny`/`allow`/`deny irreversible` ([`super::commands`]), a web tool against `network`.

use crate::ast::{CommandPattern, Glob, Network, OnViolation, Sandbox};
use super::commands::Rule;
use super::{shell, writes};
use crate::plan::{Plan, PlanPermissions};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

/// The environment variable naming the run folder; the hook's only way to find its run.
pub const RUN_DIR_ENV: &str = "NIGHT_RUN_DIR";
/// The policy file in the run folder.
pub const POLICY_FILE: &str = "policy.json";
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
            network: match super::network::resolve(&permissions.network, &plan.agent.kind) {
                Network::On | Network::Auto => PolicyNetwork::On,
                Network::Off => PolicyNetwork::Off,
                Network::Allow(hosts) => PolicyNetwork::Allow(hosts),
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
            pass: Vec::new(),
            reveal: Vec::new(),
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
                Some(command) => self.decide_command_in(command, cwd),
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
        self.decide_command_in(command, None)
    }

    /// Decide about a shell command run in `cwd`: script files it runs are read from there.
    pub fn decide_command_in(&self, command: &str, cwd: Option<&Path>) -> Decision {
        let base = cwd.unwrap_or(&self.repo_root).to_path_buf();
        let read_file = |path: &str| read_script(&base, path);
        let Some(refusal) = super::commands::CommandRules::of(&self.permissions).refusal(command, &read_file) else {
            return self.decide_command_writes(command, &base);
        };
        let part = &refusal.command;
        let inside = refusal.inside.as_ref().map(|i| format!(" ({i})")).unwrap_or_default();
        Decision::Deny(match &refusal.rule {
            Rule::Denied(pattern) => format!("night denies `{part}`{inside}: it matches the denied pattern `{pattern}`; do the work without running it."),
            Rule::Target { category, runner, target } => format!(
                "night denies `{part}`{inside}: a `{runner}` target named `{target}` is irreversible ({category}) and this run denies irreversible commands; keep the work local (commit it) and leave this step to the user."
            ),
            rule => format!(
                "night denies `{part}`{inside}: it is irreversible ({}) and this run denies irreversible commands; keep the work local (commit it) and leave this step to the user.",
                rule.category().unwrap_or_default()
            ),
        })
    }

    /// A shell command's literal targets (`rm x`, `> x`, `sed -i … x` …, [`writes`]) against
    /// `write`, as an Edit's path is: each is resolved from `base`, followed through `cd` to a
    /// literal folder (after a `cd` to a folder known only at run time, relative targets are
    /// left to the checks after the session). The null device, the terminal and the
    /// temporary folders are always writable.
    fn decide_command_writes(&self, line: &str, base: &Path) -> Decision {
        let mut cwd = Some(base.to_path_buf());
        for command in shell::parse(line).commands {
            if command.name() == Some("cd") {
                cwd = match (cwd, command.args().first().map(|w| w.value.clone())) {
                    (Some(dir), Some(Some(to))) => Some(dir.join(expand_home(&to))),
                    (_, None) => std::env::var_os("HOME").map(PathBuf::from),
                    _ => None,
                };
                continue;
            }
            for target in writes::literal_targets(&command) {
                let path = expand_home(&target);
                if writes::always_writable(&target) || (path.is_relative() && cwd.is_none()) {
                    continue;
                }
                // Outside the work tree, the temporary folders are free (a repository may
                // itself live in one: inside it, `write` decides).
                let inside = self.relative(&path.to_string_lossy(), cwd.as_deref()).is_some();
                if !inside && is_temporary(&path, cwd.as_deref()) {
                    continue;
                }
                if let Decision::Deny(why) = self.decide_write(&path.to_string_lossy(), cwd.as_deref()) {
                    // What git ignores (a build folder) is no violation after the session either.
                    if self.relative(&path.to_string_lossy(), cwd.as_deref()).is_some_and(|relative| self.ignored_by_git(&relative)) {
                        continue;
                    }
                    let why = why.split_once(": ").map_or(why.as_str(), |(_, rest)| rest);
                    let shown = shown_with_redirect(&command, &target);
                    return Decision::Deny(format!("night denies `{shown}`: it writes `{target}`, and {why} Deleting or moving a file counts as writing it."));
                }
            }
        }
        Decision::Allow
    }

    /// Whether git ignores `relative` in the repository (`git check-ignore`; asked only for a
    /// command about to be denied, so the hook stays fast for every other call).
    fn ignored_by_git(&self, relative: &str) -> bool {
        !relative.is_empty()
            && std::process::Command::new("git")
                .arg("-C")
                .arg(&self.repo_root)
                .args(["check-ignore", "-q", "--", relative])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
    }

    fn decide_network(&self, tool: &str, input: &Value) -> Decision {
        match &self.permissions.network {
            Network::On | Network::Auto => Decision::Allow,
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

/// `~/x` → `$HOME/x`; anything else as it is.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/").or_else(|| (path == "~").then_some("")), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The command as the denial shows it: with the redirection when that is what writes
/// `target` (`echo x > NOTES.txt`, not `echo x`; `> x` alone, not an empty command).
fn shown_with_redirect(command: &shell::Command, target: &str) -> String {
    let line = command.line();
    let redirect = command.redirects.iter().find(|r| r.writes() && r.target.value.as_deref() == Some(target));
    let Some(redirect) = redirect else { return line };
    let fd = redirect.fd.map(|fd| fd.to_string()).unwrap_or_default();
    let operator = match redirect.kind {
        shell::RedirectKind::Append => ">>",
        shell::RedirectKind::ReadWrite => "<>",
        _ => ">",
    };
    format!("{line} {fd}{operator} {target}").trim_start().to_string()
}

/// Whether `path` (from `cwd`) is in a temporary folder: `$TMPDIR` (the sandbox's own, in the
/// agent's environment), `/tmp`, `/var/tmp`.
fn is_temporary(path: &Path, cwd: Option<&Path>) -> bool {
    let absolute = match cwd {
        Some(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    };
    let absolute = canonical_prefix(&absolute);
    [std::env::temp_dir(), PathBuf::from("/tmp"), PathBuf::from("/var/tmp")].iter().any(|dir| absolute.starts_with(canonical_prefix(dir)))
}

/// A script file a command runs, for the hook to read: a regular file of at most 256 KiB.
fn read_script(base: &Path, path: &str) -> Option<String> {
    let path = base.join(path);
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > 256 * 1024 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = host.split(':').next()?;
    (!host.is_empty()).then_some(host)
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("https://user@docs.rs:443/x?y"), Some("docs.rs"));
        assert_eq!(url_host("example.com/path"), Some("example.com"));
        assert_eq!(url_host("https:///x"), None);
    }
}
