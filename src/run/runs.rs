//! The runs of a repository, `.night/runs/<run-id>/`: finding the repository from anywhere in
//! it (its worktrees too), naming a run by id or unique prefix, and what state each is in.

use crate::report::ReportData;
use crate::run::lock;
use std::path::{Path, PathBuf};

/// Where a run is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// A supervisor holds the lock.
    Running {
        /// Its pid.
        pid: u32,
    },
    /// The journal has its end.
    Finished {
        /// The outcome.
        outcome: String,
    },
    /// No supervisor is alive and the journal has no end: it was killed or the machine stopped.
    Died,
}

impl RunState {
    /// `running`, the outcome, or `crashed` for a run whose supervisor died.
    pub fn label(&self) -> &str {
        match self {
            RunState::Running { .. } => "running",
            RunState::Finished { outcome } => outcome,
            RunState::Died => "crashed",
        }
    }
}

/// One run folder.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The run id (the folder's name).
    pub id: String,
    /// The run folder.
    pub dir: PathBuf,
    /// The report gathered from its journal.
    pub data: ReportData,
    /// Its state.
    pub state: RunState,
}

impl RunInfo {
    /// Read a run folder.
    pub fn read(dir: &Path) -> RunInfo {
        let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let data = crate::report::load(dir).map(|(_, data)| data).unwrap_or_default();
        let state = state_of(dir, &data);
        RunInfo { id, dir: dir.to_path_buf(), data, state }
    }
}

/// The state of the run in `dir` whose journal says `data`.
pub fn state_of(dir: &Path, data: &ReportData) -> RunState {
    if let Some(pid) = lock::holder(dir) {
        return RunState::Running { pid };
    }
    match &data.outcome {
        Some(outcome) => RunState::Finished { outcome: outcome.clone() },
        None => RunState::Died,
    }
}

/// The repository whose runs to look at, from a folder inside it or inside one of its
/// worktrees (the runs live in the main checkout's `.night/runs`).
pub fn repo_root(from: &Path) -> Result<PathBuf, String> {
    let repository = git2::Repository::discover(from).map_err(|_| format!("`{}` is not inside a git repository", from.display()))?;
    let main = if repository.is_worktree() { git2::Repository::open(repository.commondir()).ok() } else { None };
    let workdir = main.as_ref().unwrap_or(&repository).workdir().map(Path::to_path_buf);
    workdir.ok_or_else(|| "the repository has no work tree".to_string())
}

/// `<repo>/.night/runs`.
pub fn runs_dir(repo: &Path) -> PathBuf {
    repo.join(".night").join("runs")
}

/// Every run folder of the repository, newest first.
pub fn list(repo: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(runs_dir(repo)) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.join("journal.jsonl").is_file()).collect();
    // Ids end in `YYYYMMDD-HHMMSS`: order by that stamp, whatever the run's name.
    dirs.sort_by_key(|dir| {
        let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stamp = id.len().checked_sub(15).and_then(|start| id.get(start..)).unwrap_or_default().to_string();
        std::cmp::Reverse((stamp, id))
    });
    dirs
}

/// The run named `name` (an id, a unique prefix of one, or a run folder's path), or the newest
/// run when `name` is `None`.
pub fn resolve(repo: &Path, name: Option<&str>) -> Result<PathBuf, String> {
    let all = list(repo);
    let Some(name) = name else {
        return all.into_iter().next().ok_or_else(|| format!("no run in this repository yet (`{}` is empty)", runs_dir(repo).display()));
    };
    let as_path = Path::new(name);
    if as_path.join("journal.jsonl").is_file() {
        return Ok(as_path.to_path_buf());
    }
    let id_of = |dir: &PathBuf| dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if let Some(exact) = all.iter().find(|dir| id_of(dir) == name) {
        return Ok(exact.clone());
    }
    let matching: Vec<&PathBuf> = all.iter().filter(|dir| id_of(dir).starts_with(name)).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            // A run folder without a journal whose preflight.json is still there: its supervisor
            // died during preflight (supervisor.rs, `undo_dead_preflights`).
            let dead_preflight = std::fs::read_dir(runs_dir(repo)).ok().and_then(|entries| {
                entries.flatten().map(|e| e.path()).find(|dir| id_of(dir).starts_with(name) && dir.join("preflight.json").is_file())
            });
            if let Some(dir) = dead_preflight {
                return Err(format!("run `{}` was killed during its preflight, before it started: there is nothing to resume or report; `night run` puts the repository back and starts afresh", id_of(&dir)));
            }
            let known: Vec<String> = all.iter().take(5).map(id_of).collect();
            let hint = if known.is_empty() { String::new() } else { format!("; the newest: {}", known.join(", ")) };
            Err(format!("no run `{name}` in this repository{hint}"))
        }
        many => {
            let ids: Vec<String> = many.iter().map(|dir| id_of(dir)).collect();
            Err(format!("`{name}` names {} runs: {}; give more of the id", ids.len(), ids.join(", ")))
        }
    }
}

/// The runs whose supervisor is alive, with their pids.
pub fn live(repo: &Path) -> Vec<(String, u32)> {
    list(repo)
        .into_iter()
        .filter_map(|dir| {
            let pid = lock::holder(&dir)?;
            Some((dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), pid))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(repo: &Path, id: &str) {
        let dir = runs_dir(repo).join(id);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("journal.jsonl"), "").expect("journal");
    }

    #[test]
    fn newest_first_by_stamp_and_names_by_prefix() {
        let repo = tempfile::tempdir().expect("temp dir");
        run(repo.path(), "zeta-20250101-000000");
        run(repo.path(), "alpha-20250102-000000");
        run(repo.path(), "alpha-20250103-000000");
        let ids: Vec<String> = list(repo.path()).iter().map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()).collect();
        assert_eq!(ids, ["alpha-20250103-000000", "alpha-20250102-000000", "zeta-20250101-000000"]);
        assert!(resolve(repo.path(), None).expect("newest").ends_with("alpha-20250103-000000"));
        assert!(resolve(repo.path(), Some("zeta")).expect("prefix").ends_with("zeta-20250101-000000"));
        let ambiguous = resolve(repo.path(), Some("alpha")).expect_err("two runs");
        assert!(ambiguous.contains("names 2 runs"), "{ambiguous}");
        assert!(resolve(repo.path(), Some("nope")).expect_err("none").starts_with("no run `nope`"));
    }
}
