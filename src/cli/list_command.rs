//! `night list`: the runs of this repository, newest first: id, outcome (or `running`),
//! duration, branch.

use super::locate;
use crate::run::runs::{self, RunInfo, RunState};
use crate::run::status_line::LiveState;
use std::fmt::Write as _;

pub fn run() -> u8 {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => return locate::fail(&format!("cannot read the current folder: {e}")),
    };
    let repo = match runs::repo_root(&cwd) {
        Ok(repo) => repo,
        Err(message) => return locate::fail(&message),
    };
    let runs: Vec<RunInfo> = runs::list(&repo).iter().map(|dir| RunInfo::read(dir)).collect();
    if runs.is_empty() {
        println!("no run in this repository yet");
        return 0;
    }
    let rows: Vec<[String; 4]> = runs.iter().map(row).collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0).max(3), width(1).max(7), width(2).max(8));
    let mut out = String::new();
    let _ = writeln!(out, "{:w0$}  {:w1$}  {:w2$}  BRANCH", "RUN", "OUTCOME", "DURATION");
    for [id, outcome, duration, branch] in rows {
        let _ = writeln!(out, "{id:w0$}  {outcome:w1$}  {duration:>w2$}  {branch}");
    }
    print!("{out}");
    0
}

fn row(run: &RunInfo) -> [String; 4] {
    let duration = match (&run.state, run.data.duration_ms) {
        (RunState::Finished { .. }, Some(ms)) => crate::time::format_duration(std::time::Duration::from_millis(ms)),
        (RunState::Running { .. }, _) => {
            let entries = crate::run::journal::read(&run.dir.join("journal.jsonl")).unwrap_or_default();
            crate::time::format_duration(LiveState::from_entries(&entries).elapsed(chrono::Utc::now()))
        }
        (RunState::Died, _) => {
            let mut data = run.data.clone();
            data.mark_died();
            data.duration_ms.map_or_else(|| "-".to_string(), |ms| crate::time::format_duration(std::time::Duration::from_millis(ms)))
        }
        _ => "-".to_string(),
    };
    [run.id.clone(), run.state.label().to_string(), duration, run.data.branch.clone()]
}
