//! `night status [RUN]`: whether a run is running, finished or died, and what it is doing now
//! or did, from its journal and its supervisor's lock.

use super::locate;
use crate::run::journal;
use crate::run::runs::{state_of, RunState};
use crate::run::status_line::LiveState;
use std::fmt::Write as _;

pub fn run(name: Option<&str>) -> u8 {
    let dir = match locate::live_or_newest(name) {
        Ok(dir) => dir,
        Err(message) => return locate::fail(&message),
    };
    let entries = match journal::read(&dir.join("journal.jsonl")) {
        Ok(entries) => entries,
        Err(e) => return locate::fail(&format!("cannot read the journal of `{}`: {e}", dir.display())),
    };
    let mut data = crate::report::ReportData::from_journal(&entries);
    let state = state_of(&dir, &data);
    let live = LiveState::from_entries(&entries);
    let now = chrono::Utc::now();
    let mut out = String::new();
    let id = if data.run_id.is_empty() { dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default() } else { data.run_id.clone() };
    match &state {
        RunState::Running { pid } => {
            let _ = writeln!(out, "{id}: running (supervisor pid {pid})");
            let _ = writeln!(out, "  now       {}", live.doing(now));
            let _ = writeln!(out, "  progress  {}", live.line(now));
        }
        RunState::Finished { outcome } => {
            let _ = writeln!(out, "{id}: {outcome} — {}", data.reason.as_deref().unwrap_or(""));
            if let Some(ms) = data.duration_ms {
                let _ = writeln!(out, "  duration  {}", crate::time::format_duration(std::time::Duration::from_millis(ms)));
            }
        }
        RunState::Died => {
            data.mark_died();
            let _ = writeln!(out, "{id}: crashed — {}", data.reason.as_deref().unwrap_or(""));
            let _ = writeln!(out, "  progress  {}", live.line(data.last_at.as_deref().and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok()).map_or(now, |t| t.with_timezone(&chrono::Utc))));
        }
    }
    let _ = writeln!(out, "  branch    {}", data.branch);
    if data.worktree {
        let _ = writeln!(out, "  worktree  {}", data.work_dir);
    }
    if let Some(started) = &data.started_at {
        let _ = writeln!(out, "  started   {started}");
    }
    if let Some((short, summary)) = &live.last_commit {
        let _ = writeln!(out, "  commits   {} (last: {short} {summary})", live.commits);
    }
    if let Some((attempt, held, of, _)) = live.last_checks {
        let _ = writeln!(out, "  checks    {held}/{of} hold after attempt {attempt}");
    }
    if !live.limits_fired.is_empty() {
        let _ = writeln!(out, "  limits    {}", live.limits_fired.join(", "));
    }
    if live.resumes > 0 {
        let _ = writeln!(out, "  resumed   {} time(s)", live.resumes);
    }
    let _ = writeln!(out, "  folder    {}", dir.display());
    match &state {
        RunState::Running { .. } => {
            let _ = writeln!(out, "  follow    night log -f {id}");
            let _ = writeln!(out, "  stop      night stop {id}");
        }
        RunState::Finished { .. } => {
            let _ = writeln!(out, "  report    night report {id}");
        }
        RunState::Died => {
            let _ = writeln!(out, "  continue  night resume {id}");
        }
    }
    print!("{out}");
    0
}
