//! Naming a run on the command line: the repository around the current folder (from any of
//! its worktrees too: the runs live in the main checkout's `.night/runs`), then an id, a unique
//! prefix, or the newest run.

use super::error::CliError;
use crate::record::{RunDir, RunsDir};

/// The runs of the repository around the current folder.
pub(super) fn runs() -> Result<RunsDir, CliError> {
    let cwd = std::env::current_dir().map_err(|source| CliError::System { doing: "read the current folder", source })?;
    Ok(RunsDir::of_repo(&crate::run::git::repo_root(&cwd)?))
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

/// A run in progress in the runbook's repository, said before the checklist: the live run's
/// own work would otherwise show up as a dirty tree, hiding the real reason.
pub(super) fn live_run_here(runbook: &std::path::Path) -> Option<CliError> {
    let dir = std::path::absolute(runbook).ok()?.parent()?.to_path_buf();
    let repo = crate::run::git::repo_root(&dir).ok()?;
    let (run, pid) = RunsDir::of_repo(&repo).live().into_iter().next()?;
    Some(CliError::LiveRun { id: run.id(), pid })
}
