//! Naming a run on the command line: the repository around the current folder (from any of
//! its worktrees too: the runs live in the main checkout's `.night/runs`), then an id, a unique
//! prefix, or the newest run.

use super::error::CliError;
use crate::record::{RunDir, RunsDir};
use std::path::{Path, PathBuf};

/// The repository whose runs to look at, from a folder inside it or inside one of its worktrees.
pub(super) fn repo_root(from: &Path) -> Result<PathBuf, CliError> {
    let repository = git2::Repository::discover(from).map_err(|_| CliError::NotInRepository(from.to_path_buf()))?;
    let main = if repository.is_worktree() { git2::Repository::open(repository.commondir()).ok() } else { None };
    main.as_ref().unwrap_or(&repository).workdir().map(Path::to_path_buf).ok_or(CliError::NoWorkTree)
}

/// The runs of the repository around the current folder.
pub(super) fn runs() -> Result<RunsDir, CliError> {
    let cwd = std::env::current_dir().map_err(|source| CliError::System { doing: "read the current folder", source })?;
    Ok(RunsDir::of_repo(&repo_root(&cwd)?))
}

/// The run `run` names.
pub(super) fn run_dir(run: Option<&str>) -> Result<RunDir, CliError> {
    Ok(runs()?.resolve(run)?)
}

/// The run `run` names; without a name, the newest live run if there is one, else the newest.
pub(super) fn live_or_newest(run: Option<&str>) -> Result<RunDir, CliError> {
    let runs = runs()?;
    if run.is_none() {
        if let Some((live, _)) = runs.live().into_iter().next() {
            return Ok(live);
        }
    }
    Ok(runs.resolve(run)?)
}
