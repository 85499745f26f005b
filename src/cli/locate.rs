//! Naming a run on the command line: the repository around the current folder, then an id,
//! a unique prefix, or the newest run.

use crate::run::runs;
use std::path::PathBuf;

/// The run folder `run` names, or a message for the user.
pub(super) fn run_dir(run: Option<&str>) -> Result<PathBuf, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?;
    let repo = runs::repo_root(&cwd)?;
    runs::resolve(&repo, run)
}

/// The run `run` names; without a name, the newest live run if there is one, else the newest.
pub(super) fn live_or_newest(run: Option<&str>) -> Result<PathBuf, String> {
    if run.is_none() {
        let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?;
        let repo = runs::repo_root(&cwd)?;
        if let Some(live) = runs::list(&repo).into_iter().find(|dir| crate::run::lock::is_live(dir)) {
            return Ok(live);
        }
    }
    run_dir(run)
}

/// Print an error the way every command does; exit status 2.
pub(super) fn fail(message: &str) -> u8 {
    eprintln!("error: {message}");
    2
}
