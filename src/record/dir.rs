//! Run folders: [`RunsDir`] is a repository's `.night/runs/`, [`RunDir`] one run's folder, and
//! every file night keeps there is named here (docs/run.md, "The run folder"). Files another
//! part owns are named by it from [`RunDir::path`]: `policy.json` and the hook's trail are the
//! hook's, `claude-settings.json` and aider's histories their adapters', the sandbox's object
//! store the sandbox's.

use crate::os::lock::{self, LockError, PidLock};
use crate::record::audit;
use crate::record::history::History;
use crate::record::journal;
use crate::record::Outcome;
use std::io;
use std::path::{Path, PathBuf};

/// One run's folder, `.night/runs/<run-id>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

/// The reports a run folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFile {
    /// `report.md`.
    Markdown,
    /// `report.json`.
    Json,
    /// `report.html`.
    Html,
}

impl ReportFile {
    /// The file's name.
    pub fn name(self) -> &'static str {
        match self {
            ReportFile::Markdown => "report.md",
            ReportFile::Json => "report.json",
            ReportFile::Html => "report.html",
        }
    }
}

impl RunDir {
    /// The trail `night hook` writes; named by the hook, read here.
    pub const AUDIT: &'static str = "audit.jsonl";

    /// The run folder at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run id: the folder's name.
    pub fn id(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// `journal.jsonl`: the events.
    pub fn journal(&self) -> PathBuf {
        self.path.join("journal.jsonl")
    }

    /// `runbook.night`: an exact copy of the runbook as it ran.
    pub fn runbook(&self) -> PathBuf {
        self.path.join("runbook.night")
    }

    /// `agent.log`: the agent's output.
    pub fn agent_log(&self) -> PathBuf {
        self.path.join("agent.log")
    }

    /// `prompt-<attempt>-<session>.md`.
    pub fn prompt(&self, attempt: u64, session: u64) -> PathBuf {
        self.path.join(format!("prompt-{attempt}-{session}.md"))
    }

    /// A report.
    pub fn report(&self, file: ReportFile) -> PathBuf {
        self.path.join(file.name())
    }

    /// Where a report is written before it is renamed into place.
    pub fn partial(&self, file: ReportFile) -> PathBuf {
        self.path.join(format!(".{}.partial", file.name()))
    }

    /// `supervisor.lock`: held by the live supervisor, holding its pid.
    pub fn lock_file(&self) -> PathBuf {
        self.path.join("supervisor.lock")
    }

    /// `pulled.json`: where `night pull --on` brought the run from (a run that ran on a host).
    pub fn pulled(&self) -> PathBuf {
        self.path.join("pulled.json")
    }

    /// `night.out`: a detached supervisor's own output.
    pub fn night_out(&self) -> PathBuf {
        self.path.join("night.out")
    }

    /// `preflight.json`: what a preflight under way is about to change.
    pub fn preflight(&self) -> PathBuf {
        self.path.join("preflight.json")
    }

    /// `baseline-tests-<index>.jsonl`: the tests `tests` check `index` ran at the baseline, by
    /// name (written and read by [`crate::record::baseline_tests`]).
    pub fn baseline_tests(&self, index: usize) -> PathBuf {
        self.path.join(format!("baseline-tests-{index}.jsonl"))
    }

    /// `check-process.json`: the success check command running now (its process group).
    pub fn running_check(&self) -> PathBuf {
        self.path.join("check-process.json")
    }

    /// `reserve`: room kept free on the disk for the end of the run.
    pub fn reserve(&self) -> PathBuf {
        self.path.join("reserve")
    }

    /// `paused-at-<point>`: a fault-injection test's marker.
    pub fn paused_at(&self, point: &str) -> PathBuf {
        self.path.join(format!("paused-at-{point}"))
    }

    /// `audit.jsonl`: the tool calls the agent's hooks reported.
    pub fn audit(&self) -> PathBuf {
        self.path.join(Self::AUDIT)
    }

    /// Take the run's lock: one supervisor per run.
    pub fn lock(&self) -> Result<PidLock, LockError> {
        PidLock::acquire(&self.lock_file())
    }

    /// The pid of the supervisor holding the run's lock, if one is alive.
    pub fn supervisor(&self) -> Option<u32> {
        lock::holder(&self.lock_file())
    }

    /// Whether a supervisor is alive.
    pub fn is_live(&self) -> bool {
        self.supervisor().is_some()
    }

    /// The journal folded, with the audit trail's summary.
    pub fn load(&self) -> io::Result<History> {
        let lines = journal::read(&self.journal())?;
        Ok(History::from_lines(&lines, audit::read(&self.audit())))
    }

    /// Whether the run is going on, finished or died, given its history.
    pub fn status(&self, history: &History) -> RunStatus {
        if let Some(pid) = self.supervisor() {
            return RunStatus::Running { pid };
        }
        match history.outcome() {
            Some(outcome) => RunStatus::Finished { outcome },
            None => RunStatus::Died,
        }
    }
}

/// Where a run is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// A supervisor holds the lock.
    Running {
        /// Its pid.
        pid: u32,
    },
    /// The journal has its end.
    Finished {
        /// The outcome.
        outcome: Outcome,
    },
    /// No supervisor is alive and the journal has no end: it was killed or the machine stopped.
    Died,
}

impl RunStatus {
    /// `running`, the outcome, or `crashed` for a run whose supervisor died.
    pub fn label(&self) -> &'static str {
        match self {
            RunStatus::Running { .. } => "running",
            RunStatus::Finished { outcome } => outcome.name(),
            RunStatus::Died => "crashed",
        }
    }
}

/// A repository's runs, `<repo>/.night/runs/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunsDir {
    path: PathBuf,
}

/// Why a run could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    /// The repository has no run.
    #[error("no run in this repository yet (`{}` is empty)", .0.display())]
    NoRuns(PathBuf),
    /// No run has this id or prefix.
    #[error("no run `{name}` in this repository{}", if .newest.is_empty() { String::new() } else { format!("; the newest: {}", .newest.join(", ")) })]
    NotFound {
        /// What was asked for.
        name: String,
        /// The newest run ids.
        newest: Vec<String>,
    },
    /// The prefix names several runs.
    #[error("`{name}` names {} runs: {}; give more of the id", .ids.len(), .ids.join(", "))]
    Ambiguous {
        /// What was asked for.
        name: String,
        /// The runs it names.
        ids: Vec<String>,
    },
    /// The run's supervisor died during preflight: it never started.
    #[error("run `{0}` was killed during its preflight, before it started: there is nothing to resume or report; `night run` puts the repository back and starts afresh")]
    KilledInPreflight(String),
}

impl RunsDir {
    /// The runs of the repository at `repo`.
    pub fn of_repo(repo: &Path) -> Self {
        Self { path: repo.join(".night").join("runs") }
    }

    /// `.night/runs`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder of run `id`.
    pub fn run(&self, id: &str) -> RunDir {
        RunDir::new(self.path.join(id))
    }

    /// Every run folder with a journal, newest first.
    pub fn list(&self) -> Vec<RunDir> {
        let mut runs: Vec<RunDir> = self.folders().into_iter().filter(|run| run.journal().is_file()).collect();
        // Ids end in `YYYYMMDD-HHMMSS`: order by that stamp, whatever the run's name.
        runs.sort_by_key(|run| {
            let id = run.id();
            let stamp = id.len().checked_sub(15).and_then(|start| id.get(start..)).unwrap_or_default().to_string();
            std::cmp::Reverse((stamp, id))
        });
        runs
    }

    /// Every folder under `.night/runs`, a journal or not (a preflight that died has none).
    pub fn folders(&self) -> Vec<RunDir> {
        let Ok(entries) = std::fs::read_dir(&self.path) else { return Vec::new() };
        entries.flatten().map(|e| RunDir::new(e.path())).collect()
    }

    /// The run named `name` (an id, a unique prefix of one, or a run folder's path), or the
    /// newest run when `name` is `None`.
    pub fn resolve(&self, name: Option<&str>) -> Result<RunDir, FindError> {
        let all = self.list();
        let Some(name) = name else {
            return all.into_iter().next().ok_or_else(|| FindError::NoRuns(self.path.clone()));
        };
        let as_path = RunDir::new(name);
        if as_path.journal().is_file() {
            return Ok(as_path);
        }
        if let Some(exact) = all.iter().find(|run| run.id() == name) {
            return Ok(exact.clone());
        }
        let matching: Vec<&RunDir> = all.iter().filter(|run| run.id().starts_with(name)).collect();
        match matching.as_slice() {
            [one] => Ok((*one).clone()),
            [] => {
                // A run folder without a journal whose preflight marker is still there: its
                // supervisor died during preflight.
                if let Some(dead) = self.folders().into_iter().find(|run| run.id().starts_with(name) && run.preflight().is_file()) {
                    return Err(FindError::KilledInPreflight(dead.id()));
                }
                Err(FindError::NotFound { name: name.to_string(), newest: all.iter().take(5).map(RunDir::id).collect() })
            }
            many => Err(FindError::Ambiguous { name: name.to_string(), ids: many.iter().map(|run| run.id()).collect() }),
        }
    }

    /// The runs whose supervisor is alive, with its pid.
    pub fn live(&self) -> Vec<(RunDir, u32)> {
        self.list().into_iter().filter_map(|run| run.supervisor().map(|pid| (run, pid))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(runs: &RunsDir, id: &str) {
        let dir = runs.run(id);
        std::fs::create_dir_all(dir.path()).expect("mkdir");
        std::fs::write(dir.journal(), "").expect("journal");
    }

    #[test]
    fn newest_first_by_stamp_and_names_by_prefix() {
        let repo = tempfile::tempdir().expect("temp dir");
        let runs = RunsDir::of_repo(repo.path());
        run(&runs, "zeta-20250101-000000");
        run(&runs, "alpha-20250102-000000");
        run(&runs, "alpha-20250103-000000");
        let ids: Vec<String> = runs.list().iter().map(RunDir::id).collect();
        assert_eq!(ids, ["alpha-20250103-000000", "alpha-20250102-000000", "zeta-20250101-000000"]);
        assert_eq!(runs.resolve(None).expect("newest").id(), "alpha-20250103-000000");
        assert_eq!(runs.resolve(Some("zeta")).expect("prefix").id(), "zeta-20250101-000000");
        let ambiguous = runs.resolve(Some("alpha")).expect_err("two runs").to_string();
        assert!(ambiguous.contains("names 2 runs"), "{ambiguous}");
        assert!(runs.resolve(Some("nope")).expect_err("none").to_string().starts_with("no run `nope`"));
        std::fs::create_dir_all(runs.run("beta-20250104-000000").path()).expect("mkdir");
        std::fs::write(runs.run("beta-20250104-000000").preflight(), "{}").expect("marker");
        assert_eq!(runs.resolve(Some("beta")), Err(FindError::KilledInPreflight("beta-20250104-000000".into())));
    }
}
