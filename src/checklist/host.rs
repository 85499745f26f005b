//! What the checker asks of the machine: where the runbook is, which repository holds it,
//! whether files next to it exist, and whether programs resolve. `night check` asks the real
//! machine; the fuzz target asks a sealed one, so that the same text always checks the same.
//!
//! The rules that read the repository itself (`git-dirty`, `write-matches-nothing`) run only
//! when [`Host::repository`] found one, so a host without repositories keeps them away.

use crate::agent_program::{AgentProgram, PreflightError};
use std::path::{Path, PathBuf};

/// The machine as the checker sees it.
pub trait Host {
    /// The absolute form of the runbook's path.
    fn absolute(&self, path: &Path) -> PathBuf;
    /// The work tree of the git repository that contains `start`, and the repository opened
    /// (the rules share it).
    fn repository(&self, start: &Path) -> Option<(PathBuf, git2::Repository)>;
    /// Whether `path` is a regular file.
    fn is_file(&self, path: &Path) -> bool;
    /// A file's text, when it exists and is UTF-8.
    fn read_to_string(&self, path: &Path) -> Option<String>;
    /// The canonical path, with links resolved.
    fn canonicalize(&self, path: &Path) -> Option<PathBuf>;
    /// Whether `program` is an executable: a path relative to `base`, or a name on `path_var`.
    fn resolves(&self, program: &str, base: &Path, path_var: &str) -> bool;
    /// Whether an agent's program `bin` can be used, as `night run` will ask before it starts
    /// (found, and new enough where night reads its version).
    fn agent_usable(&self, program: &AgentProgram, bin: &str, base: &Path, path_var: &str) -> Result<(), PreflightError>;
}

/// The real machine: the file system, git and PATH.
#[derive(Debug, Clone, Copy, Default)]
pub struct Machine;

impl Host for Machine {
    fn absolute(&self, path: &Path) -> PathBuf {
        path.canonicalize().unwrap_or_else(|_| std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path)))
    }

    fn repository(&self, start: &Path) -> Option<(PathBuf, git2::Repository)> {
        let repository = git2::Repository::discover(start).ok()?;
        let root = repository.workdir().map(|dir| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()))?;
        Some((root, repository))
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn read_to_string(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    fn canonicalize(&self, path: &Path) -> Option<PathBuf> {
        path.canonicalize().ok()
    }

    fn resolves(&self, program: &str, base: &Path, path_var: &str) -> bool {
        crate::agent_program::locate(program, base, path_var).is_some()
    }

    fn agent_usable(&self, program: &AgentProgram, bin: &str, base: &Path, path_var: &str) -> Result<(), PreflightError> {
        crate::agent_program::usable(program, bin, base, path_var).map(|_| ())
    }
}

/// A machine with nothing on it: no repository, no files, no programs. The runbook lives in
/// `/sealed`. Checking on it depends on the text alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sealed;

impl Host for Sealed {
    fn absolute(&self, path: &Path) -> PathBuf {
        Path::new("/sealed").join(path)
    }

    fn repository(&self, _start: &Path) -> Option<(PathBuf, git2::Repository)> {
        None
    }

    fn is_file(&self, _path: &Path) -> bool {
        false
    }

    fn read_to_string(&self, _path: &Path) -> Option<String> {
        None
    }

    fn canonicalize(&self, _path: &Path) -> Option<PathBuf> {
        None
    }

    fn resolves(&self, _program: &str, _base: &Path, _path_var: &str) -> bool {
        false
    }

    fn agent_usable(&self, program: &AgentProgram, bin: &str, _base: &Path, _path_var: &str) -> Result<(), PreflightError> {
        Err(PreflightError::Missing { bin: bin.to_string(), kind: program.kind, install: program.install })
    }
}
