//! The program behind each agent kind: its name, how to install it, and whether the installed
//! one can be used — found (`bin`, a path, or a name on PATH) and, for Claude Code, new enough.
//! `night check` asks before bed and `night run` asks again before it changes anything, with
//! the same answers. Reading a version starts the agent (about 200 ms for Claude Code), so it is
//! cached by the program's path, size, inode and times: `night check` stays fast, and a program
//! that is updated or replaced is asked again.

use crate::ast::AgentKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The oldest Claude Code night supports: the oldest that tests/claude.rs was seen to pass
/// against (2.1.150; 2.1.197 is pinned in CI). 2.0.30 has no `dontAsk` permission mode; 2.1.0
/// to 2.1.100 report tool calls and API-key rate limits differently.
pub const MIN_VERSION: Version = Version(2, 1, 150);

/// A program version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Version {
    /// Read the version from `--version` output, e.g. `2.1.197 (Claude Code)` or `codex-cli 0.169.0`.
    pub fn parse(text: &str) -> Option<Self> {
        let word = text.split_whitespace().map(|word| word.trim_start_matches('v')).find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
        let mut numbers = word.split(['.', '-', '+']).map(|part| part.parse::<u64>().ok());
        Some(Self(numbers.next()??, numbers.next()??, numbers.next().flatten().unwrap_or(0)))
    }
}

/// What an agent kind runs by default and how to get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentProgram {
    /// The kind's name, as in the runbook.
    pub kind: &'static str,
    /// The program run when the block has no `bin`.
    pub default: &'static str,
    /// How to install it, for messages.
    pub install: &'static str,
    /// Whether night reads its version before a run ([`MIN_VERSION`]).
    pub versioned: bool,
}

/// The real agents, in the order `night init` prefers them.
pub const PROGRAMS: &[AgentProgram] = &[
    AgentProgram { kind: "claude", default: "claude", install: "`npm install -g @anthropic-ai/claude-code`", versioned: true },
    AgentProgram { kind: "codex", default: "codex", install: "`npm install -g @openai/codex`", versioned: false },
    AgentProgram { kind: "gemini", default: "gemini", install: "`npm install -g @google/gemini-cli`", versioned: false },
    AgentProgram { kind: "aider", default: "aider", install: "`python3 -m pip install aider-chat`", versioned: false },
    AgentProgram { kind: "goose", default: "goose", install: "see block.github.io/goose", versioned: false },
];

/// The program of a kind; `None` for `agent command`, which is a shell command.
pub fn program_of(kind: &AgentKind) -> Option<&'static AgentProgram> {
    PROGRAMS.iter().find(|program| program.kind == kind.name())
}

/// Why an agent's program cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreflightError {
    /// Not installed.
    #[error("`{bin}` was not found: install it ({install}) or set `bin` in the `agent {kind}` block")]
    Missing {
        /// The program looked for.
        bin: String,
        /// The agent kind.
        kind: &'static str,
        /// How to install it.
        install: &'static str,
    },
    /// `--version` failed or said something else.
    #[error("`{bin} --version` did not print a Claude Code version ({detail}); is `{bin}` Claude Code?")]
    Unreadable {
        /// The program.
        bin: String,
        /// What happened.
        detail: String,
    },
    /// Older than [`MIN_VERSION`].
    #[error("Claude Code {found} is too old: night needs {MIN_VERSION} or newer (its hooks and stream format); update it with `claude update` or `npm install -g @anthropic-ai/claude-code`")]
    TooOld {
        /// The version found.
        found: Version,
    },
}

/// Check that `bin` is Claude Code, new enough; returns its version. A name is looked up on
/// the PATH night runs with.
pub fn preflight(bin: &str) -> Result<Version, PreflightError> {
    let path = std::env::var("PATH").unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    usable(&PROGRAMS[0], bin, &cwd, &path).map(|version| version.unwrap_or(MIN_VERSION))
}

/// Whether the program `bin` of `program`'s kind can be used: found (a path relative to `base`,
/// or a name on `path_var`) and, when the kind is versioned, new enough (its version returned).
pub fn usable(program: &AgentProgram, bin: &str, base: &Path, path_var: &str) -> Result<Option<Version>, PreflightError> {
    let missing = || PreflightError::Missing { bin: bin.to_string(), kind: program.kind, install: program.install };
    let found = locate(bin, base, path_var).ok_or_else(missing)?;
    if !program.versioned {
        return Ok(None);
    }
    let version = match cache::get(&found) {
        Some(version) => version,
        None => {
            let version = read_version(&found).map_err(|error| match error {
                VersionError::NotFound => missing(),
                VersionError::Unreadable(detail) => PreflightError::Unreadable { bin: bin.to_string(), detail },
            })?;
            cache::put(&found, version);
            version
        }
    };
    if version < MIN_VERSION {
        return Err(PreflightError::TooOld { found: version });
    }
    Ok(Some(version))
}

/// The executable `bin` names: a path (relative to `base`, `~/` expanded) or a name on `path_var`.
pub fn locate(bin: &str, base: &Path, path_var: &str) -> Option<PathBuf> {
    if bin.contains('/') {
        let path = match bin.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME").map_or_else(|| base.join(bin), |home| Path::new(&home).join(rest)),
            None => base.join(bin),
        };
        return is_executable(&path).then_some(path);
    }
    // One `stat` a PATH folder (relative folders and empty entries are relative to `base`).
    std::env::split_paths(path_var).find_map(|dir| {
        let dir = if dir.is_absolute() { dir } else { base.join(dir) };
        let candidate = dir.join(bin);
        is_executable(&candidate).then_some(candidate)
    })
}

/// A regular file (links followed) with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

enum VersionError {
    NotFound,
    Unreadable(String),
}

/// `program --version`, read within 20 s.
fn read_version(program: &Path) -> Result<Version, VersionError> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .arg("--version")
        .env("DISABLE_AUTOUPDATER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => VersionError::NotFound,
            _ => VersionError::Unreadable(error.to_string()),
        })?;
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < Duration::from_secs(20) => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(VersionError::Unreadable("it did not answer within 20s".into()));
            }
        }
    }
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut output);
    }
    Version::parse(&output).ok_or_else(|| VersionError::Unreadable(format!("it printed `{}`", output.trim().chars().take(80).collect::<String>())))
}

/// Versions read before, in `$XDG_CACHE_HOME/night/agent-versions` (or `~/.cache/night/…`):
/// one line per program, `<path>\t<identity>\t<version>`. The identity is the file's size,
/// inode, modification and change times: an update or a replacement changes it (the change
/// time cannot be set back). Nothing is cached without a cache folder; a broken file is ignored.
mod cache {
    use super::Version;
    use std::path::{Path, PathBuf};

    /// At most this many programs are remembered.
    const ENTRIES: usize = 32;

    fn file() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|dir| Path::new(dir).is_absolute())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|home| !home.is_empty()).map(|home| Path::new(&home).join(".cache")))?;
        Some(base.join("night").join("agent-versions"))
    }

    fn identity(program: &Path) -> Option<(String, String)> {
        use std::os::unix::fs::MetadataExt;
        let canonical = program.canonicalize().ok()?;
        let meta = canonical.metadata().ok()?;
        let identity = format!("{}:{}:{}.{}:{}.{}", meta.size(), meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.ctime(), meta.ctime_nsec());
        Some((canonical.to_string_lossy().into_owned(), identity))
    }

    fn read(file: &Path) -> Vec<(String, String, String)> {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, '\t');
                Some((parts.next()?.to_string(), parts.next()?.to_string(), parts.next()?.to_string()))
            })
            .collect()
    }

    /// The cached version of `program`, when the file is the one it was read from.
    pub(super) fn get(program: &Path) -> Option<Version> {
        let (path, identity) = identity(program)?;
        read(&file()?)
            .into_iter()
            .find(|(p, i, _)| *p == path && *i == identity)
            .and_then(|(_, _, version)| Version::parse(&version))
    }

    /// Remember `version` for `program`; a failure to write only loses the cache.
    pub(super) fn put(program: &Path, version: Version) {
        let (Some((path, identity)), Some(file)) = (identity(program), file()) else { return };
        if path.contains(['\t', '\n']) {
            return;
        }
        let mut entries: Vec<(String, String, String)> = read(&file).into_iter().filter(|(p, _, _)| *p != path).collect();
        entries.push((path, identity, version.to_string()));
        let skip = entries.len().saturating_sub(ENTRIES);
        let text: String = entries.iter().skip(skip).map(|(p, i, v)| format!("{p}\t{i}\t{v}\n")).collect();
        let Some(folder) = file.parent() else { return };
        if std::fs::create_dir_all(folder).is_err() {
            return;
        }
        // Written whole, then renamed: two checks at once never read half a file.
        let temporary = folder.join(format!(".agent-versions.{}", std::process::id()));
        if std::fs::write(&temporary, text).is_ok() && std::fs::rename(&temporary, &file).is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(Version::parse("2.1.197 (Claude Code)"), Some(Version(2, 1, 197)));
        assert_eq!(Version::parse("v1.0.3"), Some(Version(1, 0, 3)));
        assert_eq!(Version::parse("claude 2.0"), Some(Version(2, 0, 0)));
        assert_eq!(Version::parse("codex-cli 0.169.0"), Some(Version(0, 169, 0)));
        assert_eq!(Version::parse("Claude Code"), None);
        assert!(Version(2, 1, 100) < MIN_VERSION && Version(2, 1, 197) > MIN_VERSION);
    }

    #[test]
    fn every_kind_but_command_has_a_program() {
        for name in AgentKind::NAMES.iter().filter(|name| **name != "command") {
            assert!(PROGRAMS.iter().any(|program| program.kind == *name), "{name}");
        }
    }

    #[test]
    fn a_missing_binary_says_how_to_install() {
        let error = preflight("/nonexistent/claude").expect_err("missing");
        assert!(matches!(error, PreflightError::Missing { .. }));
        assert!(error.to_string().contains("npm install -g @anthropic-ai/claude-code"));
        let error = preflight("night-no-such-claude").expect_err("missing");
        assert!(error.to_string().contains("`night-no-such-claude` was not found"));
    }

    #[cfg(unix)]
    #[test]
    fn an_old_or_foreign_binary_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = dir.path().join("claude");
        for (script, expect) in [("echo '1.0.44 (Claude Code)'", "too old"), ("echo hello", "did not print"), ("echo '2.1.197 (Claude Code)'", "")] {
            std::fs::write(&fake, format!("#!/bin/sh\n{script}\n")).expect("write");
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            let found = preflight(&fake.display().to_string());
            if expect.is_empty() {
                assert_eq!(found, Ok(Version(2, 1, 197)));
            } else {
                assert!(found.expect_err("refused").to_string().contains(expect));
            }
        }
    }
}
